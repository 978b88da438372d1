//! `libtmrt.so` as a JVMTI agent: `java -agentpath:/path/libtmrt.so=report=PATH,...`.
//!
//! The entry points (`Agent_OnLoad`, `Agent_OnAttach`, `Agent_OnUnload`) are thin: [`load`]
//! parses the options with [`runtime::telemetry::AgentOptions`] (a bad option prints one line and
//! returns non-zero, so the JVM does not start), takes the capabilities the phase grants,
//! registers the event callbacks of [`events`], and hands off. The callbacks only count and tag
//! (`ClassLoad`: [`loaders`], which also puts every `URLClassLoader` under [`watch`] for its
//! release; `ObjectFree`: collected loaders and unloaded classes; `GarbageCollectionFinish`: bump
//! a counter and unpark the agent thread). Everything that needs Java — MXBean figures
//! ([`figures`]), releases seen and class paths read ([`watch`]), leak verdicts and their causes
//! ([`analysis`]: [`threads`] and [`statics`] with JNI reads through [`jni_search`], the one
//! budgeted heap walk in [`heap_path`]), duplicate classes ([`classes`]) — runs on the agent
//! thread ([`thread`]), in a `dev.tmrt.telemetry.Telemetry` native method ([`java_api`]) or at
//! VM death. The Prometheus endpoint ([`metrics`]) runs on its own native thread. All policy lives
//! in `runtime::telemetry`; the locking rules are in [`state`]; JDK internals read by name are in
//! [`jdk`]; every JVMTI call goes through the typed layer in [`jvmti`].

pub mod analysis;
pub mod classes;
pub mod dropin;
pub mod events;
pub mod figures;
pub mod heap_path;
pub mod java_api;
pub mod jdk;
pub mod jni_search;
pub mod jvmti;
pub mod load;
pub mod loaders;
pub mod metrics;
pub mod state;
pub mod statics;
pub mod thread;
pub mod threads;
pub mod watch;

use std::ffi::{c_char, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use jni::sys::{jint, JavaVM};

/// `Agent_OnLoad`: the agent given with `-agentpath` (or `-agentlib`), before the JVM starts.
/// Returns non-zero — and the JVM exits — on a bad option or when JVMTI is unusable.
///
/// # Safety
/// Called by the JVM with its `JavaVM*` and the option string (or null).
#[no_mangle]
pub unsafe extern "C" fn Agent_OnLoad(vm: *mut JavaVM, options: *mut c_char, _reserved: *mut c_void) -> jint {
    // SAFETY: the JVM's contract for the arguments.
    entry(|| unsafe { load::load(vm, option_str(options).as_deref(), false) })
}

/// `Agent_OnAttach`: loaded into a running JVM (`jcmd PID JVMTI.agent_load ...`). Works with the
/// capabilities the live phase still grants and says on stderr (at `log=info`) which features
/// are off.
///
/// # Safety
/// Called by the JVM with its `JavaVM*` and the option string (or null).
#[no_mangle]
pub unsafe extern "C" fn Agent_OnAttach(vm: *mut JavaVM, options: *mut c_char, _reserved: *mut c_void) -> jint {
    // SAFETY: the JVM's contract for the arguments.
    entry(|| unsafe { load::load(vm, option_str(options).as_deref(), true) })
}

/// `Agent_OnUnload`: nothing to release — the state lives until the process ends, because a
/// callback may still be running on another thread.
///
/// # Safety
/// Called by the JVM.
#[no_mangle]
pub unsafe extern "C" fn Agent_OnUnload(_vm: *mut JavaVM) {
    let _ = catch_unwind(|| {
        if let Some(a) = state::agent() {
            a.dead.store(true, std::sync::atomic::Ordering::Release);
            a.wake();
        }
    });
}

/// # Safety
/// `p` is null or a NUL-terminated string.
unsafe fn option_str(p: *mut c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: the caller's contract.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

fn entry(f: impl FnOnce() -> jint) -> jint {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(rc) => rc,
        Err(p) => {
            eprintln!(
                "tmrt agent: internal error while loading: {}",
                crate::ffi::panic_message(&*p)
            );
            1
        }
    }
}
