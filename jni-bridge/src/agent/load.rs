//! Loading the agent: options, capabilities, state, callbacks, events — one function each, in
//! the order `Agent_OnLoad` / `Agent_OnAttach` need them. A bad option or an unusable JVMTI
//! stops the load with one line on stderr (the JVM then does not start); a missing optional
//! capability only turns a feature off and is said in the report's `limits`.

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::OnceLock;

use jni::sys::{jint, JavaVM};
use jni::JavaVM as Vm;
use parking_lot::Mutex;
use runtime::telemetry::{AgentOptions, JvmFigures, LogLevel, Telemetry};

use super::events;
use super::figures;
use super::jvmti::{
    Capabilities, EventCallbacks, Jvmti, CAN_GENERATE_GARBAGE_COLLECTION_EVENTS, CAN_GENERATE_OBJECT_FREE_EVENTS,
    CAN_GET_LINE_NUMBERS, CAN_GET_SOURCE_FILE_NAME, CAN_TAG_OBJECTS, EVENT_CLASS_LOAD, EVENT_GARBAGE_COLLECTION_FINISH,
    EVENT_OBJECT_FREE, EVENT_VM_DEATH, EVENT_VM_INIT,
};
use super::metrics::Exposition;
use super::state::{self, Agent, Features, VmPtr};
use super::watch::Watch;

/// A failed load: the line to print and the status to return to the JVM.
struct Refused(jint, String);

/// Loads the agent. Returns the `Agent_OnLoad`/`Agent_OnAttach` status.
///
/// # Safety
/// `vm` is the live `JavaVM*` the JVM passed to the entry point.
pub unsafe fn load(vm: *mut JavaVM, options: Option<&str>, late: bool) -> jint {
    // SAFETY: the caller's contract.
    match unsafe { try_load(vm, options, late) } {
        Ok(()) => 0,
        Err(Refused(rc, line)) => {
            eprintln!("{line}");
            rc
        }
    }
}

/// # Safety
/// As [`load`].
unsafe fn try_load(vm: *mut JavaVM, options: Option<&str>, late: bool) -> Result<(), Refused> {
    let options = AgentOptions::parse(options).map_err(|e| Refused(1, e.to_string()))?;
    if state::agent().is_some() {
        eprintln!("tmrt agent: already loaded in this JVM; ignoring the second load");
        return Ok(());
    }
    let report_path = options.report_path(std::process::id());
    if let Some(path) = &report_path {
        writable_parent(path).map_err(|why| {
            Refused(
                1,
                format!("tmrt agent: bad value '{}' for option 'report': {why}", path.display()),
            )
        })?;
    }
    // SAFETY: the caller's contract.
    let jvmti = unsafe { Jvmti::new(vm) }
        .ok_or_else(|| Refused(2, "tmrt agent: this JVM offers no JVMTI 1.2 environment".into()))?;
    let features = capabilities(&jvmti)?;
    // The drop-in runtime decides before any of Flink's classes loads.
    super::dropin::on_load(&jvmti, &options, late);
    let registration = jvmti
        .create_raw_monitor(c"tmrt-loader-registration")
        .map_err(|e| Refused(4, format!("tmrt agent: cannot create a JVMTI raw monitor ({e})")))?;
    let Some(agent) = state::install(Agent {
        jvmti,
        vm: VmPtr(vm),
        options,
        report_path,
        features,
        late,
        model: Mutex::new(Telemetry::new()),
        registration,
        analysis: Mutex::new(()),
        class_once: Mutex::new(()),
        gc_epoch: AtomicU64::new(0),
        dead: AtomicBool::new(false),
        figures: Mutex::new(JvmFigures::default()),
        metrics: Exposition::new(),
        agent_thread: OnceLock::new(),
        class_load_events: AtomicU64::new(0),
        class_load_nanos: AtomicU64::new(0),
        jdk: OnceLock::new(),
        watch: Mutex::new(Watch::default()),
        limits: Mutex::new(Vec::new()),
        full_walk_requested: AtomicBool::new(false),
        walk_resets_heap: AtomicBool::new(true),
        heap_pass_rate: AtomicU64::new(runtime::telemetry::budget::DEFAULT_RESET_PS_PER_BYTE),
    }) else {
        return Ok(());
    };
    register_events(agent, late)?;
    if late {
        attach_late(agent, vm)?;
    }
    Ok(())
}

/// Takes the capabilities the agent needs (tagging) and those it can use (the rest).
fn capabilities(jvmti: &Jvmti) -> Result<Features, Refused> {
    let potential = jvmti.potential_capabilities();
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
    if jvmti.add_capabilities(&wanted).is_err() || !wanted.has(CAN_TAG_OBJECTS) {
        return Err(Refused(
            3,
            "tmrt agent: the JVM does not grant can_tag_objects; the agent cannot identify classloaders".into(),
        ));
    }
    Ok(Features {
        object_free: wanted.has(CAN_GENERATE_OBJECT_FREE_EVENTS),
        gc_events: wanted.has(CAN_GENERATE_GARBAGE_COLLECTION_EVENTS),
        line_numbers: wanted.has(CAN_GET_LINE_NUMBERS),
        source_file: wanted.has(CAN_GET_SOURCE_FILE_NAME),
    })
}

/// Sets the callbacks and enables the events the features allow.
fn register_events(agent: &Agent, late: bool) -> Result<(), Refused> {
    let jvmti = agent.jvmti;
    let mut callbacks = EventCallbacks::empty();
    events::fill(&mut callbacks);
    super::dropin::fill(&mut callbacks);
    // Enabling the events without callbacks would run the JVM with an agent that sees nothing.
    jvmti
        .set_event_callbacks(&callbacks)
        .map_err(|e| Refused(5, format!("tmrt agent: cannot set the JVMTI event callbacks ({e})")))?;
    let mut wanted = vec![EVENT_VM_DEATH, EVENT_CLASS_LOAD];
    if !late {
        wanted.push(EVENT_VM_INIT);
    }
    if agent.features.gc_events {
        wanted.push(EVENT_GARBAGE_COLLECTION_FINISH);
    }
    if agent.features.object_free {
        wanted.push(EVENT_OBJECT_FREE);
    }
    if super::dropin::wants_hook() {
        wanted.push(super::dropin::hook::EVENT_CLASS_FILE_LOAD_HOOK);
    }
    for e in wanted {
        jvmti
            .enable_event(e)
            .map_err(|err| Refused(5, format!("tmrt agent: cannot enable JVMTI event {e} ({err})")))?;
    }
    Ok(())
}

/// `Agent_OnAttach`: the JVM is live already. Says which features are off, starts the agent,
/// and accounts for the classes loaded and unloaded before it came.
fn attach_late(agent: &'static Agent, vm: *mut JavaVM) -> Result<(), Refused> {
    let mut off = Vec::new();
    if !agent.features.object_free {
        off.push("class-unload and loader-collection events (counts from liveness checks only)");
    }
    if !agent.features.gc_events {
        off.push("leak checks after each collection (only on Telemetry.snapshot() and at exit)");
    }
    if !agent.features.line_numbers {
        off.push("line numbers in thread suspects");
    }
    agent.log(LogLevel::Info, || {
        format!(
            "attached late: classes loaded before attach are enumerated, not observed; per-loader unload counts start now; off: {}",
            if off.is_empty() { "nothing else".to_string() } else { off.join(", ") }
        )
    });
    // SAFETY: the live JavaVM* the JVM passed to Agent_OnAttach.
    let vm = unsafe { Vm::from_raw(vm) }.map_err(|e| Refused(6, format!("tmrt agent: no JavaVM ({e})")))?;
    let mut env = vm
        .get_env()
        .map_err(|_| Refused(6, "tmrt agent: no JNI environment on the attach thread".into()))?;
    events::start(agent, &mut env);
    // What the JVM loaded and unloaded before the agent came, from ClassLoadingMXBean: read it
    // when no class is being loaded around the reading (the first reading loads the management
    // classes, which the agent counts itself).
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
                format!("late attach: {before} classes seen; the JVM had loaded {loaded} and unloaded {unloaded}")
            });
            break;
        }
    }
    Ok(())
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
