//! Loading the agent and the JVMTI event callbacks.
//!
//! Every callback catches panics (nothing unwinds into the JVM) and does only what the JVMTI
//! specification allows in its context: `ClassLoad` and `VMInit`/`VMDeath` may use JNI;
//! `GarbageCollectionFinish` and `ObjectFree` call no JNI and no JVMTI function at all — the first
//! bumps an atomic and unparks the agent thread, the second (a loader was collected, and its
//! classes unloaded with it) updates the model under its mutex, which is never held across a
//! call into the JVM.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use jni::sys::{jclass, jint, jlong, jobject, JavaVM, JNI_OK};
use jni::JNIEnv;
use parking_lot::Mutex;
use runtime::telemetry::{AgentOptions, JvmFigures, LogLevel, Tag, Telemetry};

use super::jvmti::*;
use super::state::{self, Agent, Features};
use super::{figures, java_api, loaders, metrics, thread};

static VM: std::sync::atomic::AtomicPtr<JavaVM> = std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());

fn guard(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}

/// Loads the agent. Returns the `Agent_OnLoad`/`Agent_OnAttach` status.
///
/// # Safety
/// `vm` is the live `JavaVM*` the JVM passed to the entry point.
pub unsafe fn load(vm: *mut JavaVM, options: Option<&str>, late: bool) -> jint {
    let options = match AgentOptions::parse(options) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    if state::agent().is_some() {
        eprintln!("tmrt agent: already loaded in this JVM; ignoring the second load");
        return 0;
    }
    let report_path = options.report_path(std::process::id());
    if let Some(path) = &report_path {
        // A report that cannot be written is a bad option: say so now, not at exit.
        if let Err(why) = writable_parent(path) {
            eprintln!("tmrt agent: bad value '{}' for option 'report': {why}", path.display());
            return 1;
        }
    }
    // SAFETY: the caller's contract.
    let Some(jvmti) = (unsafe { Jvmti::from_vm(vm) }) else {
        eprintln!("tmrt agent: this JVM offers no JVMTI 1.2 environment");
        return 2;
    };
    VM.store(vm, Ordering::Release);

    let mut potential = Capabilities::default();
    // SAFETY: writable out-pointer; OnLoad or live phase.
    unsafe { jvmti.get_potential_capabilities(&mut potential) };
    let mut wanted = Capabilities::default();
    for bit in [
        CAN_TAG_OBJECTS,
        CAN_GENERATE_GARBAGE_COLLECTION_EVENTS,
        CAN_GENERATE_OBJECT_FREE_EVENTS,
        CAN_GET_LINE_NUMBERS,
        CAN_GET_SOURCE_FILE_NAME,
    ] {
        if potential.has(bit) {
            wanted.set(bit);
        }
    }
    // SAFETY: a valid capabilities struct.
    if unsafe { jvmti.add_capabilities(&wanted) } != ERROR_NONE || !wanted.has(CAN_TAG_OBJECTS) {
        eprintln!("tmrt agent: the JVM does not grant can_tag_objects; the agent cannot identify classloaders");
        return 3;
    }
    let features = Features {
        object_free: wanted.has(CAN_GENERATE_OBJECT_FREE_EVENTS),
        gc_events: wanted.has(CAN_GENERATE_GARBAGE_COLLECTION_EVENTS),
        line_numbers: wanted.has(CAN_GET_LINE_NUMBERS),
        source_file: wanted.has(CAN_GET_SOURCE_FILE_NAME),
    };
    let mut registration: RawMonitor = std::ptr::null_mut();
    // SAFETY: a static NUL-terminated name; writable out-pointer.
    if unsafe { jvmti.create_raw_monitor(c"tmrt-loader-registration".as_ptr(), &mut registration) } != ERROR_NONE {
        eprintln!("tmrt agent: cannot create a JVMTI raw monitor");
        return 4;
    }
    let agent = match state::install(Agent {
        jvmti,
        options,
        report_path,
        features,
        late,
        model: Mutex::new(Telemetry::new()),
        registration,
        analysis: Mutex::new(()),
        gc_epoch: AtomicU64::new(0),
        dead: AtomicBool::new(false),
        first_untracked_loader: std::sync::atomic::AtomicU32::new(u32::MAX),
        figures: Mutex::new(JvmFigures::default()),
        metrics: metrics::Exposition::new(),
        agent_thread: std::sync::OnceLock::new(),
        class_load_events: AtomicU64::new(0),
        class_load_nanos: AtomicU64::new(0),
    }) {
        Some(a) => a,
        None => return 0,
    };

    let mut callbacks = EventCallbacks::empty();
    callbacks.set(EVENT_VM_INIT, vm_init as *const c_void);
    callbacks.set(EVENT_VM_DEATH, vm_death as *const c_void);
    callbacks.set(EVENT_CLASS_LOAD, class_load as *const c_void);
    callbacks.set(EVENT_GARBAGE_COLLECTION_FINISH, gc_finish as *const c_void);
    callbacks.set(EVENT_OBJECT_FREE, object_free as *const c_void);
    // SAFETY: a valid callbacks table of the declared size.
    let rc = unsafe { jvmti.set_event_callbacks(&callbacks, std::mem::size_of::<EventCallbacks>() as jint) };
    if rc != ERROR_NONE {
        // Enabling the events without callbacks would run the JVM with an agent that sees nothing.
        eprintln!("tmrt agent: cannot set the JVMTI event callbacks (error {rc})");
        return 5;
    }
    let mut events = vec![EVENT_VM_DEATH, EVENT_CLASS_LOAD];
    if !late {
        events.push(EVENT_VM_INIT);
    }
    if features.gc_events {
        events.push(EVENT_GARBAGE_COLLECTION_FINISH);
    }
    if features.object_free {
        events.push(EVENT_OBJECT_FREE);
    }
    for e in events {
        // SAFETY: OnLoad or live phase; the capabilities for these events were added.
        let rc = unsafe { jvmti.set_event_notification_mode(ENABLE, e) };
        if rc != ERROR_NONE {
            eprintln!("tmrt agent: cannot enable JVMTI event {e} (error {rc})");
            return 5;
        }
    }

    if late {
        let mut off = Vec::new();
        if !features.object_free {
            off.push("class-unload and loader-collection events (counts from liveness checks only)");
        }
        if !features.gc_events {
            off.push("leak checks after each collection (only on Telemetry.snapshot() and at exit)");
        }
        if !features.line_numbers {
            off.push("line numbers in thread suspects");
        }
        agent.log(LogLevel::Info, || {
            format!(
                "attached late: classes loaded before attach are enumerated, not observed; per-loader unload counts start now; off: {}",
                if off.is_empty() { "nothing else".to_string() } else { off.join(", ") }
            )
        });
        let mut env_ptr: *mut c_void = std::ptr::null_mut();
        // SAFETY: live JavaVM; the attaching thread is a Java thread.
        let rc = unsafe { ((**vm).GetEnv.unwrap())(vm, &mut env_ptr, jni::sys::JNI_VERSION_1_8) };
        if rc != JNI_OK {
            eprintln!("tmrt agent: no JNI environment on the attach thread");
            return 6;
        }
        // SAFETY: a valid JNIEnv for this thread.
        if let Ok(mut env) = unsafe { JNIEnv::from_raw(env_ptr as *mut jni::sys::JNIEnv) } {
            start(agent, &mut env, vm);
            // What the JVM loaded and unloaded before the agent came, from ClassLoadingMXBean:
            // read it when no class is being loaded around the reading (the first reading loads
            // the management classes, which the agent counts itself).
            for _ in 0..10 {
                let before = agent.model.lock().classes_loaded_total();
                let Ok((loaded, unloaded)) = figures::class_loading_counts(&mut env) else {
                    break;
                };
                let mut model = agent.model.lock();
                if model.classes_loaded_total() == before {
                    model.add_unobserved(loaded.saturating_sub(before), unloaded);
                    drop(model);
                    agent.log(LogLevel::Debug, || {
                        format!(
                            "late attach: {before} classes seen; the JVM had loaded {loaded} and unloaded {unloaded}"
                        )
                    });
                    break;
                }
            }
        }
    }
    0
}

/// Whether a file can be created at `path`: its directory exists, is a directory, and is
/// writable by this process.
fn writable_parent(path: &std::path::Path) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let meta = std::fs::metadata(&dir).map_err(|e| format!("directory {}: {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    if path.is_dir() {
        return Err(format!("{} is a directory", path.display()));
    }
    let probe = dir.join(format!(".tmrt-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| format!("directory {} is not writable: {e}", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// What happens once the JVM is live: count the classes already loaded, start the agent thread
/// and the metrics endpoint.
fn start(agent: &'static Agent, env: &mut JNIEnv<'_>, vm: *mut JavaVM) {
    loaders::enumerate_loaded(agent, env);
    thread::start(agent, vm);
    if agent.options.runtime.any() {
        eprintln!("tmrt agent: runtime= is not available in this build; Flink's own classloaders and MemoryManager stay in place");
    }
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
            eprintln!("tmrt agent: metrics endpoint {ports} unavailable: {e}; running without it");
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
        start(agent, &mut env, VM.load(Ordering::Acquire));
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
        // SAFETY: `klass` is the live class reference of this ClassLoad event.
        unsafe { loaders::on_class(agent, &mut env, klass) };
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
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: libc's clock_gettime with a valid clock id and a writable timespec (64-bit Linux
    // layout: two 64-bit fields).
    if unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
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
        // initial enumeration) and walk tags carry nothing to count.
        if let Some(Tag::Loader(id)) = Tag::decode(tag) {
            agent.model.lock().loader_collected(id);
        }
    })
}
