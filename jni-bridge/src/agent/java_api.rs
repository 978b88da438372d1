//! JNI side of `dev.tmrt.telemetry.Telemetry`: is the agent loaded, mark a loader released, take
//! a snapshot (optionally after forcing full collections), write the report.
//!
//! These run on the calling Java thread, which may call JNI and JVMTI freely. Every entry point
//! goes through [`crate::ffi::jni_entry`]. When `libtmrt.so` was loaded as a plain library rather
//! than as an agent, they report "not loaded" and the Java side falls back to JVM-wide figures.

use std::path::Path;

use jni::objects::{JClass, JObject, JObjectArray, JString};
use jni::sys::{jboolean, jint, jobjectArray, jstring, JNI_FALSE, JNI_TRUE};
use jni::JNIEnv;
use runtime::telemetry::report::render_json;
use runtime::telemetry::{LogLevel, Report};

use super::analysis;
use super::state::{self, Agent};
use crate::ffi::{jni_entry, JavaError};

/// The report now, with leak verdicts brought up to date.
pub fn current_report(agent: &Agent, env: &mut JNIEnv<'_>) -> Result<Report, jni::errors::Error> {
    let figures = analysis::refresh(agent, env, true)?;
    Ok(agent.model.lock().report(&figures))
}

/// Writes the JSON report to `path` (through a temporary file and a rename).
pub fn write_report(agent: &Agent, env: &mut JNIEnv<'_>, path: &Path) -> Result<(), String> {
    let report = current_report(agent, env).map_err(|e| format!("reading JVM figures: {e}"))?;
    let json = super::dropin::add_to_json(render_json(&report));
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
        // SAFETY: a live, non-null ClassLoader reference (the native method's argument).
        let id = unsafe { super::loaders::loader_id(agent, env, loader.as_raw()) }
            .ok_or_else(|| JavaError::illegal_state("the tmrt agent cannot register more classloaders"))?;
        let figures = super::figures::read(env)?;
        let awaiting = agent.model.lock().mark_released(id, figures.full_gc_count);
        agent.log(LogLevel::Debug, || {
            format!(
                "classloader #{id} released at {} full collections (awaiting collection: {awaiting})",
                figures.full_gc_count
            )
        });
        Ok(())
    })
}

/// `static native Object[] nativeSnapshot(int fullGcs)`: forces `fullGcs` full collections, then
/// returns `{String json, long[] totals, long[] loaderNumbers, String[] loaderStrings,
/// String[] suspectStrings}` (see `Snapshot.fromNative`).
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_telemetry_Telemetry_nativeSnapshot<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    full_gcs: jint,
) -> jobjectArray {
    jni_entry(&mut env, std::ptr::null_mut(), |env| {
        let agent = loaded_agent()?;
        for _ in 0..full_gcs.max(0) {
            // SAFETY: live phase, on a Java thread.
            unsafe { agent.jvmti.force_garbage_collection() };
        }
        let report = current_report(agent, env)?;
        Ok(encode(env, &report)?.into_raw())
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

fn encode<'l>(env: &mut JNIEnv<'l>, r: &Report) -> Result<JObject<'l>, jni::errors::Error> {
    let json = env.new_string(super::dropin::add_to_json(render_json(r)))?;
    let totals = [
        r.classes_loaded_total as i64,
        r.classes_unloaded_total as i64,
        r.metaspace_used_bytes,
        r.metaspace_max_bytes,
        r.gc_count as i64,
        r.metaspace_committed_bytes,
        r.compressed_class_space_used_bytes,
        r.compressed_class_space_committed_bytes,
        r.compressed_class_space_max_bytes,
        r.full_gc_count as i64,
    ];
    let totals_arr = env.new_long_array(totals.len() as i32)?;
    env.set_long_array_region(&totals_arr, 0, &totals)?;
    let mut nums = Vec::with_capacity(r.loaders.len() * 8);
    let mut strs: Vec<Option<String>> = Vec::with_capacity(r.loaders.len() * 2);
    let mut sus: Vec<Option<String>> = Vec::new();
    for l in &r.loaders {
        nums.extend_from_slice(&[
            i64::from(l.id),
            l.parent.map_or(-1, i64::from),
            l.classes_defined as i64,
            l.classes_unloaded as i64,
            i64::from(l.released),
            i64::from(l.alive),
            i64::from(l.leaked),
            l.suspects.len() as i64,
        ]);
        strs.push(Some(l.class.clone()));
        strs.push(l.name.clone());
        for s in &l.suspects {
            sus.push(Some(s.kind.as_str().to_string()));
            sus.push(Some(s.description.clone()));
        }
    }
    let nums_arr = env.new_long_array(nums.len() as i32)?;
    env.set_long_array_region(&nums_arr, 0, &nums)?;
    let strs_arr = string_array(env, &strs)?;
    let sus_arr = string_array(env, &sus)?;
    let out = env.new_object_array(5, "java/lang/Object", JObject::null())?;
    env.set_object_array_element(&out, 0, json)?;
    env.set_object_array_element(&out, 1, totals_arr)?;
    env.set_object_array_element(&out, 2, nums_arr)?;
    env.set_object_array_element(&out, 3, strs_arr)?;
    env.set_object_array_element(&out, 4, sus_arr)?;
    Ok(out.into())
}

/// A `String[]` of these strings (`None` stays a null element).
fn string_array<'l>(env: &mut JNIEnv<'l>, items: &[Option<String>]) -> Result<JObjectArray<'l>, jni::errors::Error> {
    let arr = env.new_object_array(items.len() as i32, "java/lang/String", JObject::null())?;
    for (i, s) in items.iter().enumerate() {
        if let Some(s) = s {
            let js = env.new_string(s)?;
            env.set_object_array_element(&arr, i as i32, &js)?;
            env.delete_local_ref(js)?;
        }
    }
    Ok(arr)
}
