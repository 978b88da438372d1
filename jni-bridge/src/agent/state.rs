//! The agent's state: one per `libtmrt.so` in a process, created by `Agent_OnLoad` or
//! `Agent_OnAttach` and never freed (event callbacks may run until the process ends).
//!
//! Locking, the part that keeps the JVM safe:
//! - `model` (the record book) is held only for pure-Rust bookkeeping, never across a JVMTI or
//!   JNI call, so `ObjectFree` (which the JVM may post from the VM thread during a safepoint) can
//!   always take it.
//! - `registration` is a JVMTI raw monitor that makes "is this loader tagged? no: tag it"
//!   atomic across class-loading threads. Only `ClassLoad` callbacks and Java-thread entry points
//!   take it, never a callback that runs inside a GC or on the VM thread.
//! - `watch` (the loaders watched for their release) is taken by `ClassLoad` (to add one) and by
//!   the agent thread (to poll), never across a call into Java, and never by a GC callback.
//! - `analysis` serialises leak analyses (agent thread, `Telemetry.snapshot()`, VM death). It is
//!   held across JVMTI calls, which is safe because no callback ever takes it.
//! - GC callbacks take nothing: they bump an atomic and unpark the agent thread.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

use jni::sys::JavaVM;
use parking_lot::Mutex;
use runtime::telemetry::{AgentOptions, JvmFigures, LogLevel, Telemetry};

use super::jdk::JdkClasses;
use super::jvmti::{Jvmti, Monitor};
use super::metrics::Exposition;
use super::watch::Watch;

/// What this JVM's agent can do, from the capabilities it obtained.
#[derive(Debug, Clone, Copy)]
pub struct Features {
    /// `can_generate_object_free_events`: collected loaders and unloaded classes are seen.
    pub object_free: bool,
    /// `can_generate_garbage_collection_events`: leak checks run after collections by themselves.
    pub gc_events: bool,
    /// `can_get_line_numbers`: thread suspects show the line of their frames.
    pub line_numbers: bool,
    /// `can_get_source_file_name`.
    pub source_file: bool,
}

/// The `JavaVM*` of this process.
#[derive(Clone, Copy)]
pub struct VmPtr(pub *mut JavaVM);
// SAFETY: a JavaVM* is valid on every thread for the life of the JVM.
unsafe impl Send for VmPtr {}
// SAFETY: as above; only the pointer is shared.
unsafe impl Sync for VmPtr {}

pub struct Agent {
    pub jvmti: Jvmti,
    pub vm: VmPtr,
    pub options: AgentOptions,
    /// `report=` with `%p` expanded for this process.
    pub report_path: Option<PathBuf>,
    pub features: Features,
    /// Loaded with `Agent_OnAttach`: classes loaded before were enumerated, not observed.
    pub late: bool,
    pub model: Mutex<Telemetry>,
    pub registration: Monitor,
    pub analysis: Mutex<()>,
    /// Makes "not tagged yet, so count and tag" one step for a class whose `ClassLoad` two
    /// threads post at once (see `loaders::on_class`); held only around that step.
    pub class_once: Mutex<()>,
    /// Completed garbage collections seen by `GarbageCollectionFinish`.
    pub gc_epoch: AtomicU64,
    /// Set at VM death: the agent thread stops, callbacks do nothing.
    pub dead: AtomicBool,
    /// The last JVM-wide figures read (for the metrics endpoint).
    pub figures: Mutex<JvmFigures>,
    /// The metrics endpoint's exchange with the agent thread: scrapes waiting for a rendering,
    /// and the Prometheus text rendered last.
    pub metrics: Exposition,
    pub agent_thread: OnceLock<std::thread::Thread>,
    /// At `log=debug`: `ClassLoad` events handled and the thread CPU time spent in tmrt's code for them,
    /// reported at VM death (the agent's own share of class-loading cost).
    pub class_load_events: AtomicU64,
    pub class_load_nanos: AtomicU64,
    /// JDK classes and fields the agent reads (set once the JVM is live).
    pub jdk: OnceLock<JdkClasses>,
    /// `URLClassLoader`s watched for their release.
    pub watch: Mutex<Watch>,
    /// What the agent cannot do in this JVM (one line each; the report's top-level `limits`).
    pub limits: Mutex<Vec<String>>,
    /// `Telemetry.requestFullReferencePaths()`: the next analysis walks the whole heap once.
    pub full_walk_requested: AtomicBool,
    /// Whether this JDK ends a heap walk with a pass over the whole heap (before JDK 19; set once
    /// the JVM is live), and that pass's measured cost in picoseconds per heap byte (see
    /// `runtime::telemetry::budget`).
    pub walk_resets_heap: AtomicBool,
    pub heap_pass_rate: AtomicU64,
}

static AGENT: OnceLock<Agent> = OnceLock::new();

/// The agent, once loaded.
pub fn agent() -> Option<&'static Agent> {
    AGENT.get()
}

/// Installs the agent; `None` if one is already installed in this library.
pub fn install(a: Agent) -> Option<&'static Agent> {
    AGENT.set(a).ok()?;
    AGENT.get()
}

impl Agent {
    pub fn log(&self, level: LogLevel, msg: impl FnOnce() -> String) {
        if self.options.log >= level && level != LogLevel::Off {
            eprintln!("tmrt agent: {}", msg());
        }
    }

    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    /// Wakes the agent thread (lock-free: safe from a GC callback).
    pub fn wake(&self) {
        if let Some(t) = self.agent_thread.get() {
            t.unpark();
        }
    }

    /// Records something the agent cannot do in this JVM, once, and says it in one line.
    pub fn limit(&self, text: impl Into<String>) {
        let text = text.into();
        let mut limits = self.limits.lock();
        if !limits.contains(&text) {
            eprintln!("tmrt agent: warning: {text}");
            limits.push(text);
        }
    }
}
