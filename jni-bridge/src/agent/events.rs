//! The JVMTI event callbacks, and what happens once the JVM is live.
//!
//! Every callback catches panics (nothing unwinds into the JVM) and does only what the JVMTI
//! specification allows in its context: `ClassLoad` and `VMInit`/`VMDeath` may use JNI;
//! `GarbageCollectionFinish` and `ObjectFree` call no JNI and no JVMTI function at all — the first
//! bumps an atomic and unparks the agent thread, the second (a loader was collected, and its
//! classes unloaded with it) updates the model under its mutex, which is never held across a
//! call into the JVM.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;

use jni::objects::JClass;
use jni::sys::{jclass, jlong, jobject};
use jni::JNIEnv;
use runtime::telemetry::{LogLevel, Tag};

use super::jdk::JdkClasses;
use super::jvmti::{
    EventCallbacks, RawEnv, EVENT_CLASS_LOAD, EVENT_GARBAGE_COLLECTION_FINISH, EVENT_OBJECT_FREE, EVENT_VM_DEATH,
    EVENT_VM_INIT,
};
use super::state::{self, Agent};
use super::{java_api, loaders, metrics, thread};

fn guard(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}

/// Puts the agent's callbacks in a table.
pub fn fill(callbacks: &mut EventCallbacks) {
    callbacks.set(EVENT_VM_INIT, vm_init as *const c_void);
    callbacks.set(EVENT_VM_DEATH, vm_death as *const c_void);
    callbacks.set(EVENT_CLASS_LOAD, class_load as *const c_void);
    callbacks.set(EVENT_GARBAGE_COLLECTION_FINISH, gc_finish as *const c_void);
    callbacks.set(EVENT_OBJECT_FREE, object_free as *const c_void);
}

/// What happens once the JVM is live: look up the JDK classes the agent reads, count the
/// classes already loaded, start the agent thread and the metrics endpoint.
pub fn start(agent: &'static Agent, env: &mut JNIEnv<'_>) {
    match JdkClasses::load(env) {
        Ok(jdk) => {
            if !jdk.can_see_release() {
                agent.limit(
                    "this JDK's URLClassLoader has no ucp.closed field: releases are seen only through Telemetry.markReleased",
                );
            }
            let _ = agent.jdk.set(jdk);
        }
        Err(why) => agent.limit(format!("{why}: loader names, parents and releases are not read")),
    }
    // JDK 19 marks the objects of a heap walk in a side bitmap; before, in their headers, which
    // costs a pass over the whole heap at the end of every walk (see runtime::telemetry::budget).
    let feature = agent
        .jvmti
        .system_property("java.specification.version")
        .and_then(|v| v.split('.').next_back().and_then(|n| n.parse::<u32>().ok()));
    agent
        .walk_resets_heap
        .store(feature.is_none_or(|v| v < 19), Ordering::Release);
    loaders::enumerate_loaded(agent, env);
    thread::start(agent);
    if let Some(addr) = &agent.options.metrics {
        if !addr.is_loopback() {
            agent.log(LogLevel::Info, || {
                format!("metrics endpoint on non-loopback host {} (given explicitly)", addr.host)
            });
        }
        if let Err(e) = metrics::start(agent, addr) {
            let ports = if addr.port == addr.last_port {
                addr.socket_addr_string()
            } else {
                format!("{}-{}", addr.socket_addr_string(), addr.last_port)
            };
            agent.limit(format!("metrics endpoint {ports} unavailable: {e}; running without it"));
        }
    }
}

unsafe extern "system" fn vm_init(_jvmti: RawEnv, jni: *mut jni::sys::JNIEnv, _thread: jobject) {
    guard(|| {
        let Some(agent) = state::agent() else { return };
        // SAFETY: the JNIEnv of the current thread, valid for the callback.
        let Ok(mut env) = (unsafe { JNIEnv::from_raw(jni) }) else {
            return;
        };
        start(agent, &mut env);
    })
}

unsafe extern "system" fn vm_death(_jvmti: RawEnv, jni: *mut jni::sys::JNIEnv) {
    guard(|| {
        let Some(agent) = state::agent() else { return };
        // SAFETY: the JNIEnv of the current thread, valid for the callback.
        if let Ok(mut env) = unsafe { JNIEnv::from_raw(jni) } {
            if let Some(path) = agent.report_path.clone() {
                match java_api::write_report(agent, &mut env, &path) {
                    Ok(()) => agent.log(LogLevel::Info, || format!("report written to {}", path.display())),
                    Err(e) => eprintln!("tmrt agent: cannot write the report to {}: {e}", path.display()),
                }
            }
        }
        agent.log(LogLevel::Debug, || {
            let n = agent.class_load_events.load(Ordering::Relaxed);
            let ns = agent.class_load_nanos.load(Ordering::Relaxed);
            format!(
                "ClassLoad callbacks: {n} events, {:.1} ms CPU in tmrt code ({:.2} us per class)",
                ns as f64 / 1e6,
                if n == 0 { 0.0 } else { ns as f64 / n as f64 / 1e3 }
            )
        });
        agent.dead.store(true, Ordering::Release);
        agent.wake();
    })
}

unsafe extern "system" fn class_load(_jvmti: RawEnv, jni: *mut jni::sys::JNIEnv, _thread: jobject, klass: jclass) {
    guard(|| {
        let Some(agent) = state::agent() else { return };
        if agent.is_dead() {
            return;
        }
        // SAFETY: the JNIEnv of the current thread, valid for the callback.
        let Ok(mut env) = (unsafe { JNIEnv::from_raw(jni) }) else {
            return;
        };
        let timed = (agent.options.log >= LogLevel::Debug).then(thread_cpu_nanos);
        // SAFETY: `klass` is the live class reference of this ClassLoad event; wrapping it does
        // not take ownership (the JVM frees it when the callback returns).
        let class = unsafe { JClass::from_raw(klass) };
        loaders::on_class(agent, &mut env, &class);
        if let Some(t0) = timed {
            agent.class_load_events.fetch_add(1, Ordering::Relaxed);
            agent
                .class_load_nanos
                .fetch_add(thread_cpu_nanos().saturating_sub(t0), Ordering::Relaxed);
        }
    })
}

/// CPU time of the calling thread (not wall time: immune to the thread being descheduled).
fn thread_cpu_nanos() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and a writable timespec.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

unsafe extern "system" fn gc_finish(_jvmti: RawEnv) {
    guard(|| {
        if let Some(agent) = state::agent() {
            agent.gc_epoch.fetch_add(1, Ordering::AcqRel);
            agent.wake();
        }
    })
}

unsafe extern "system" fn object_free(_jvmti: RawEnv, tag: jlong) {
    guard(|| {
        let Some(agent) = state::agent() else { return };
        // A collected loader's classes were unloaded with it. Class tags (set only during the
        // initial enumeration) carry nothing to count.
        if let Some(Tag::Loader(id)) = Tag::decode(tag) {
            agent.model.lock().loader_collected_at(id, super::watch::now_unix_ms());
        }
    })
}
