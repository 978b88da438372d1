//! The agent thread: a native thread attached to the JVM as a daemon (`tmrt-agent`), which does
//! everything that needs JNI and must not happen inside an event callback.
//!
//! It sleeps until a `GarbageCollectionFinish` callback or a scrape of the metrics endpoint
//! unparks it (or a timeout). After a collection, when released loaders await collection, it
//! brings the leak verdicts up to date; for a scrape it re-reads the JVM-wide figures and renders
//! the exposition the HTTP thread then serves. Nothing runs periodically: without collections
//! and scrapes the thread costs nothing. It stops at VM death.

use std::ffi::c_void;
use std::sync::atomic::Ordering;
use std::time::Duration;

use jni::sys::{JavaVM, JavaVMAttachArgs, JNI_OK, JNI_VERSION_1_8};
use jni::JNIEnv;
use runtime::telemetry::{prometheus, LogLevel};

use super::analysis;
use super::state::Agent;

pub const AGENT_THREAD_NAME: &str = "tmrt-agent";

/// How long the thread sleeps when nothing wakes it.
const IDLE: Duration = Duration::from_secs(5);

struct VmPtr(*mut JavaVM);
// SAFETY: a JavaVM* is valid on every thread for the life of the JVM.
unsafe impl Send for VmPtr {}

/// Starts the agent thread.
pub fn start(agent: &'static Agent, vm: *mut JavaVM) {
    let vm = VmPtr(vm);
    let spawned = std::thread::Builder::new()
        .name(AGENT_THREAD_NAME.into())
        .spawn(move || {
            let vm = vm;
            run(agent, vm.0)
        });
    match spawned {
        Ok(h) => {
            let _ = agent.agent_thread.set(h.thread().clone());
        }
        Err(e) => agent.log(LogLevel::Info, || format!("cannot start the agent thread: {e}")),
    }
}

fn run(agent: &'static Agent, vm: *mut JavaVM) {
    let mut raw_env: *mut c_void = std::ptr::null_mut();
    let name = c"tmrt-agent";
    let mut args = JavaVMAttachArgs {
        version: JNI_VERSION_1_8,
        name: name.as_ptr() as *mut _,
        group: std::ptr::null_mut(),
    };
    // SAFETY: `vm` is the live JavaVM; the args outlive the call.
    let rc =
        unsafe { ((**vm).AttachCurrentThreadAsDaemon.unwrap())(vm, &mut raw_env, &mut args as *mut _ as *mut c_void) };
    if rc != JNI_OK {
        agent.log(LogLevel::Info, || {
            format!("cannot attach the agent thread (JNI error {rc})")
        });
        return;
    }
    // SAFETY: a valid JNIEnv for this (now attached) thread.
    let Ok(mut env) = (unsafe { JNIEnv::from_raw(raw_env as *mut jni::sys::JNIEnv) }) else {
        return;
    };
    let mut last_epoch = agent.gc_epoch.load(Ordering::Acquire);
    loop {
        if let Some(upto) = agent.metrics.pending() {
            let text = analysis::refresh(agent, &mut env, false).ok().map(|figures| {
                // Render outside the model lock: `ClassLoad` callbacks take it for every class.
                let report = agent.model.lock().report(&figures);
                prometheus::render(&report)
            });
            agent.metrics.publish(upto, text);
        }
        std::thread::park_timeout(IDLE);
        if agent.is_dead() {
            return;
        }
        let epoch = agent.gc_epoch.load(Ordering::Acquire);
        if epoch == last_epoch {
            continue;
        }
        last_epoch = epoch;
        if agent.model.lock().awaiting_collection().is_empty() {
            continue;
        }
        let _ = analysis::refresh(agent, &mut env, true);
    }
}
