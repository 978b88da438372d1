//! Seeing a classloader released without any change to the application: every
//! `java.net.URLClassLoader` the agent registers is watched until its owner closes it.
//!
//! Flink's user-code loaders (`ChildFirstClassLoader`, `ParentFirstClassLoader`, in every
//! release), tmrt's, and any other `URLClassLoader` are released by `close()`, which marks the
//! loader's `URLClassPath` closed; Flink's `SafetyNetWrapperClassLoader.close()` closes the loader
//! it wraps. The agent thread polls the watched loaders — after every garbage collection, on
//! every scrape and snapshot, and once a second while any is open — reading that flag with JNI
//! through a weak reference (which keeps nothing alive). The release is recorded with the time
//! and the JVM's full-collection count at the poll that saw it, so the leak rule ("alive after
//! `leak-gc-cycles` full collections") only ever counts collections that came after the close.
//! The first poll of a loader also reads its class path, which names the Flink job.
//!
//! A loader that is closed and collected between two polls is simply collected: never judged,
//! never leaked. Everything here runs on a thread that may call Java; the table's lock is never
//! held across a call into the JVM (reading URLs runs JDK code, which may load classes, whose
//! `ClassLoad` callback takes the lock).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use jni::objects::{JObject, WeakRef};
use jni::JNIEnv;
use runtime::telemetry::{LoaderId, LogLevel, Release};

use super::figures;
use super::state::Agent;

struct Watched {
    id: LoaderId,
    weak: Arc<WeakRef>,
    enriched: bool,
}

/// The loaders watched for their release.
#[derive(Default)]
pub struct Watch {
    entries: Vec<Watched>,
}

impl Watch {
    /// Watches loader `id` (a `URLClassLoader`).
    pub fn add(&mut self, id: LoaderId, weak: WeakRef) {
        self.entries.push(Watched {
            id,
            weak: Arc::new(weak),
            enriched: false,
        });
    }

    /// Whether any watched loader is still open (the agent thread then polls once a second).
    pub fn any(&self) -> bool {
        !self.entries.is_empty()
    }
}

/// Milliseconds since the epoch.
pub fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Adds `loader` (a live `URLClassLoader` reference, registered as `id`) to the watch. Safe in a
/// `ClassLoad` callback: it creates a weak global reference and runs no Java code.
pub fn watch(agent: &Agent, env: &JNIEnv<'_>, id: LoaderId, loader: &JObject<'_>) {
    if let Ok(Some(weak)) = env.new_weak_ref(loader) {
        agent.watch.lock().add(id, weak);
    }
}

/// Polls every watched loader (see the module documentation). Returns how many were found
/// released.
pub fn poll(agent: &Agent, env: &mut JNIEnv<'_>) -> usize {
    let Some(jdk) = agent.jdk.get() else { return 0 };
    let snapshot: Vec<(LoaderId, Arc<WeakRef>, bool)> = agent
        .watch
        .lock()
        .entries
        .iter()
        .map(|w| (w.id, w.weak.clone(), w.enriched))
        .collect();
    if snapshot.is_empty() {
        return 0;
    }
    let mut gone = Vec::new();
    let mut enriched = Vec::new();
    let mut closed = Vec::new();
    for (id, weak, was_enriched) in &snapshot {
        let _ = env.with_local_frame(16, |env| -> jni::errors::Result<()> {
            let Some(loader) = weak.upgrade_local(env)? else {
                gone.push(*id);
                return Ok(());
            };
            if !was_enriched {
                let urls = jdk.urls(env, &loader);
                agent.model.lock().set_class_path(*id, urls);
                enriched.push(*id);
            }
            if jdk.is_closed(env, &loader) == Some(true) {
                closed.push(*id);
            }
            Ok(())
        });
    }
    if !closed.is_empty() {
        let full_gc_count = figures::read(env).map(|f| f.full_gc_count).ok();
        let unix_ms = now_unix_ms();
        let mut model = agent.model.lock();
        for id in &closed {
            match full_gc_count {
                Some(full_gc_count) => {
                    model.mark_released_at(*id, Release { unix_ms, full_gc_count });
                }
                // Without the count the release cannot be dated for the leak rule: try again at
                // the next poll.
                None => continue,
            }
            agent.log(LogLevel::Debug, || {
                format!("classloader #{id} closed (seen at {unix_ms})")
            });
            gone.push(*id);
        }
    }
    let mut watch = agent.watch.lock();
    watch.entries.retain(|w| !gone.contains(&w.id));
    for w in watch.entries.iter_mut() {
        if enriched.contains(&w.id) {
            w.enriched = true;
        }
    }
    closed.len()
}
