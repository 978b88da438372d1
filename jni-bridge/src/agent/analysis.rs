//! Leak analysis: which released loaders are still alive, which of them are leaked, and why.
//!
//! Runs on a thread that may call JNI — the agent thread after a collection, a Java thread in
//! `Telemetry.snapshot()`, or the `VMDeath` callback — serialised by the `analysis` lock, which
//! no event callback ever takes. Liveness is checked directly with `GetObjectsWithTags` (a
//! collected loader is not returned; the call also makes the JVM post the pending `ObjectFree`
//! events), so verdicts never depend on when those events arrive.

use std::collections::HashSet;

use jni::objects::JObject;
use jni::sys::{jint, jlong, jobject};
use jni::JNIEnv;
use runtime::telemetry::{JvmFigures, LoaderId, LogLevel, Tag};

use super::jvmti::ERROR_NONE;
use super::state::Agent;
use super::{figures, heap_path, suspects};

/// Reads the JVM-wide figures and, with `judge`, brings the leak verdicts up to date. Returns the
/// figures read.
pub fn refresh(agent: &Agent, env: &mut JNIEnv<'_>, judge: bool) -> Result<JvmFigures, jni::errors::Error> {
    let _serial = agent.analysis.lock();
    let figures = figures::read(env)?;
    *agent.figures.lock() = figures;
    if judge {
        env.with_local_frame(64, |env| -> Result<(), jni::errors::Error> {
            judge_leaks(agent, env, figures.full_gc_count);
            Ok(())
        })?;
    }
    Ok(figures)
}

fn judge_leaks(agent: &Agent, env: &mut JNIEnv<'_>, full_gc_count: u64) {
    let awaiting = agent.model.lock().awaiting_collection();
    if awaiting.is_empty() {
        return;
    }
    let alive = live_loaders(agent, env, &awaiting);
    {
        let mut model = agent.model.lock();
        for id in &awaiting {
            if !alive.contains(id) {
                model.loader_collected(*id);
            }
        }
    }
    let candidates = agent
        .model
        .lock()
        .leak_candidates(full_gc_count, agent.options.leak_gc_cycles);
    let mut walks = 0;
    for id in candidates {
        if !alive.contains(&id) {
            continue;
        }
        let with_path = walks < heap_path::MAX_WALKS_PER_ANALYSIS;
        walks += 1;
        let found = suspects::find(agent, env, id, with_path);
        let class = agent.model.lock().info(id).map(|i| i.class.clone()).unwrap_or_default();
        agent.log(LogLevel::Info, || {
            format!(
                "classloader #{id} ({class}) leaked: alive after {} full collections since its release; {} suspect(s)",
                agent.options.leak_gc_cycles,
                found.len()
            )
        });
        for s in &found {
            agent.log(LogLevel::Debug, || format!("  {}: {}", s.kind.as_str(), s.description));
        }
        agent.model.lock().set_leaked(id, found);
    }
}

/// Which of these loaders are alive. The local references the JVM hands back are deleted at
/// once: held during a heap walk, they would be the GC root it reports.
fn live_loaders(agent: &Agent, env: &mut JNIEnv<'_>, ids: &[LoaderId]) -> HashSet<LoaderId> {
    let tags: Vec<jlong> = ids.iter().map(|id| Tag::Loader(*id).encode()).collect();
    let mut out = HashSet::new();
    let mut n = 0;
    let mut objs: *mut jobject = std::ptr::null_mut();
    let mut got: *mut jlong = std::ptr::null_mut();
    let jvmti = agent.jvmti;
    // SAFETY: `tags` has that many entries; writable out-pointers; live phase.
    let rc = unsafe { jvmti.get_objects_with_tags(tags.len() as jint, tags.as_ptr(), &mut n, &mut objs, &mut got) };
    if rc != ERROR_NONE {
        // Cannot tell: treat all as alive (no verdict is wrong for lack of an answer).
        return ids.iter().copied().collect();
    }
    for i in 0..n.max(0) as usize {
        // SAFETY: both arrays have `n` entries.
        let (obj, tag) = unsafe { (*objs.add(i), *got.add(i)) };
        if let Some(Tag::Loader(id)) = Tag::decode(tag) {
            out.insert(id);
        }
        // SAFETY: a local reference returned to us and not used again.
        let _ = env.delete_local_ref(unsafe { JObject::from_raw(obj) });
    }
    // SAFETY: allocated by GetObjectsWithTags.
    unsafe {
        jvmti.free(objs);
        jvmti.free(got);
    }
    out
}
