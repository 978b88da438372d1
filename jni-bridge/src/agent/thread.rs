//! The agent thread: a native thread attached to the JVM as a daemon (`tmrt-agent`), which does
//! everything that needs JNI and must not happen inside an event callback.
//!
//! It sleeps until a `GarbageCollectionFinish` callback, a new classloader, or a scrape of the
//! metrics endpoint unparks it, or a timeout: one second while `URLClassLoader`s are watched for
//! their release, five otherwise. Each time it polls the watched loaders (a few JNI field reads
//! each); after a collection, when released loaders await collection, it brings the leak
//! verdicts up to date; for a scrape it re-reads the JVM-wide figures and renders the exposition
//! the HTTP thread then serves. It stops at VM death.

use std::sync::atomic::Ordering;
use std::time::Duration;

use jni::JavaVM;
use runtime::telemetry::{prometheus, LogLevel};

use super::state::Agent;
use super::{analysis, watch};

pub const AGENT_THREAD_NAME: &str = "tmrt-agent";

/// How long the thread sleeps when nothing wakes it and no loader is watched.
const IDLE: Duration = Duration::from_secs(5);
/// How often watched loaders are polled when nothing else wakes the thread.
const POLL: Duration = Duration::from_secs(1);

/// Starts the agent thread.
pub fn start(agent: &'static Agent) {
    let spawned = std::thread::Builder::new()
        .name(AGENT_THREAD_NAME.into())
        .spawn(move || run(agent));
    match spawned {
        Ok(h) => {
            let _ = agent.agent_thread.set(h.thread().clone());
        }
        Err(e) => agent.limit(format!(
            "cannot start the agent thread ({e}): no leak verdicts, no metrics"
        )),
    }
}

fn run(agent: &'static Agent) {
    // SAFETY: the JavaVM* the JVM handed to the agent, valid for the life of the process.
    let vm = match unsafe { JavaVM::from_raw(agent.vm.0) } {
        Ok(vm) => vm,
        Err(e) => return agent.limit(format!("no JavaVM for the agent thread ({e})")),
    };
    let mut env = match vm.attach_current_thread_as_daemon() {
        Ok(env) => env,
        Err(e) => {
            return agent.limit(format!(
                "cannot attach the agent thread ({e}): no leak verdicts, no metrics"
            ))
        }
    };
    let mut last_epoch = agent.gc_epoch.load(Ordering::Acquire);
    loop {
        if let Some(upto) = agent.metrics.pending() {
            let text = analysis::refresh(agent, &mut env, false).ok().map(|figures| {
                // Render outside the model lock: `ClassLoad` callbacks take it for every class.
                let report = agent.model.lock().report(&figures);
                let mut text = prometheus::render(&report);
                super::dropin::add_metrics(&mut text);
                text
            });
            agent.metrics.publish(upto, text);
        }
        let timeout = if agent.watch.lock().any() { POLL } else { IDLE };
        std::thread::park_timeout(timeout);
        if agent.is_dead() {
            return;
        }
        {
            let _serial = agent.analysis.lock();
            watch::poll(agent, &mut env);
        }
        let epoch = agent.gc_epoch.load(Ordering::Acquire);
        if epoch == last_epoch {
            continue;
        }
        last_epoch = epoch;
        if agent.model.lock().awaiting_collection().is_empty() {
            continue;
        }
        if let Err(e) = analysis::refresh(agent, &mut env, true) {
            agent.log(LogLevel::Debug, || format!("leak analysis failed: {e}"));
            let _ = env.exception_clear();
        }
    }
}
