//! JNI side of `dev.tmrt.telemetry.Telemetry`: is the agent loaded, mark a loader released, take
//! a snapshot (optionally after forcing full collections), ask for one full reference-path walk,
//! write the report.
//!
//! These run on the calling Java thread, which may call JNI and JVMTI freely. Every entry point
//! goes through [`crate::ffi::jni_entry`]. A snapshot crosses JNI as the JSON report itself —
//! the one encoding of the report, which `Snapshot` parses. When `libtmrt.so` was loaded as a
//! plain library rather than as an agent, they report "not loaded" and the Java side falls back
//! to JVM-wide figures.

use std::path::Path;
use std::sync::atomic::Ordering;

use jni::objects::{JClass, JObject, JString};
use jni::sys::{jboolean, jint, jstring, JNI_FALSE, JNI_TRUE};
use jni::JNIEnv;
use runtime::telemetry::report::render_json;
use runtime::telemetry::{LogLevel, Release, Report};

use super::state::{self, Agent};
use super::{analysis, classes, watch};
use crate::ffi::{jni_entry, JavaError};

/// The report now, with leak verdicts brought up to date and the duplicate classes listed.
pub fn current_report(agent: &Agent, env: &mut JNIEnv<'_>) -> Result<Report, jni::errors::Error> {
    let figures = analysis::refresh(agent, env, true)?;
    let (duplicates, cut) = classes::duplicates(agent, env);
    let mut report = agent.model.lock().report(&figures);
    report.duplicate_classes = duplicates;
    report.duplicate_classes_cut = cut;
    report.limits = agent.limits.lock().clone();
    Ok(report)
}

/// Writes the JSON report to `path` (through a temporary file and a rename).
pub fn write_report(agent: &Agent, env: &mut JNIEnv<'_>, path: &Path) -> Result<(), String> {
    let report = current_report(agent, env).map_err(|e| format!("reading JVM figures: {e}"))?;
    let json = super::dropin::add_to_json(env, render_json(&report));
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, json).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())
}

fn loaded_agent() -> Result<&'static Agent, JavaError> {
    state::agent().ok_or_else(|| {
        JavaError::illegal_state("the tmrt agent is not loaded (start the JVM with -agentpath:/path/libtmrt.so)")
    })
}

/// `static native boolean nativeAgentLoaded()`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_telemetry_Telemetry_nativeAgentLoaded<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
) -> jboolean {
    jni_entry(&mut env, JNI_FALSE, |_| {
        Ok(if state::agent().is_some_and(|a| !a.is_dead()) {
            JNI_TRUE
        } else {
            JNI_FALSE
        })
    })
}

/// `static native void nativeMarkReleased(ClassLoader loader)` (non-null, checked in Java).
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_telemetry_Telemetry_nativeMarkReleased<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    loader: JObject<'l>,
) {
    jni_entry(&mut env, (), |env| {
        let agent = loaded_agent()?;
        if loader.is_null() {
            return Err(JavaError::new("java/lang/NullPointerException", "loader"));
        }
        let id = super::loaders::loader_id(agent, env, &loader)
            .ok_or_else(|| JavaError::illegal_state("the tmrt agent cannot register more classloaders"))?;
        let figures = super::figures::read(env)?;
        let awaiting = agent.model.lock().mark_released_at(
            id,
            Release {
                unix_ms: watch::now_unix_ms(),
                full_gc_count: figures.full_gc_count,
            },
        );
        agent.log(LogLevel::Debug, || {
            format!(
                "classloader #{id} released at {} full collections (awaiting collection: {awaiting})",
                figures.full_gc_count
            )
        });
        Ok(())
    })
}

/// `static native String nativeSnapshot(int fullGcs)`: forces `fullGcs` full collections, then
/// returns the JSON report.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_telemetry_Telemetry_nativeSnapshot<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    full_gcs: jint,
) -> jstring {
    jni_entry(&mut env, std::ptr::null_mut(), |env| {
        let agent = loaded_agent()?;
        for _ in 0..full_gcs.max(0) {
            agent
                .jvmti
                .force_garbage_collection()
                .map_err(|e| JavaError::illegal_state(format!("ForceGarbageCollection failed: {e}")))?;
        }
        let report = current_report(agent, env)?;
        let json = super::dropin::add_to_json(env, render_json(&report));
        Ok(env.new_string(json)?.into_raw())
    })
}

/// `static native void nativeRequestFullReferencePaths()`: the next leak analysis walks the whole
/// heap once, whatever the pause budget.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_telemetry_Telemetry_nativeRequestFullReferencePaths<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
) {
    jni_entry(&mut env, (), |_| {
        loaded_agent()?.full_walk_requested.store(true, Ordering::Release);
        Ok(())
    })
}

/// `static native String nativeWriteReport(String pathOrNull)`: returns the path written.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_telemetry_Telemetry_nativeWriteReport<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    path: JString<'l>,
) -> jstring {
    jni_entry(&mut env, std::ptr::null_mut(), |env| {
        let agent = loaded_agent()?;
        let path: std::path::PathBuf = if path.is_null() {
            agent
                .report_path
                .clone()
                .ok_or_else(|| JavaError::illegal_state("no path given and the agent has no report=PATH option"))?
        } else {
            String::from(env.get_string(&path)?).into()
        };
        write_report(agent, env, &path).map_err(|e| {
            JavaError::new(
                "java/io/UncheckedIOException",
                format!("cannot write {}: {e}", path.display()),
            )
        })?;
        Ok(env.new_string(path.display().to_string())?.into_raw())
    })
}
