//! Why a leaked loader is alive: live threads tied to it, and a reference path from a GC root.
//!
//! Run only for loaders just judged leaked, on a thread that may call JNI (never in a callback).
//! A thread is a suspect when its context classloader is the loader, or when the loader defined
//! its class; the description gives its name and the top frame of its stack. The reference path
//! comes from [`super::heap_path`].

use jni::objects::JObject;
use jni::sys::{jclass, jobject};
use jni::JNIEnv;
use runtime::telemetry::{LoaderId, Suspect, SuspectKind, Tag};

use super::heap_path;
use super::jvmti::{FrameInfo, Jvmti, ThreadInfo, ERROR_NONE};
use super::state::Agent;

/// The suspects for the leaked loader `id`: threads first, then the reference path (searched
/// only when `with_path`; heap walks are capped per analysis).
pub fn find(agent: &Agent, env: &mut JNIEnv<'_>, id: LoaderId, with_path: bool) -> Vec<Suspect> {
    let mut out = threads(agent, env, id);
    if !with_path {
        out.push(Suspect {
            kind: SuspectKind::ReferencePath,
            description: format!(
                "not searched: more than {} loaders were judged leaked at once",
                heap_path::MAX_WALKS_PER_ANALYSIS
            ),
        });
        return out;
    }
    match heap_path::describe_path(agent, env, id) {
        Ok(Some(description)) => out.push(Suspect {
            kind: SuspectKind::ReferencePath,
            description,
        }),
        Ok(None) => {}
        Err(why) => out.push(Suspect {
            kind: SuspectKind::ReferencePath,
            description: format!("no reference path: {why}"),
        }),
    }
    out
}

fn threads(agent: &Agent, env: &mut JNIEnv<'_>, id: LoaderId) -> Vec<Suspect> {
    let jvmti = agent.jvmti;
    let target = Tag::Loader(id).encode();
    let mut out = Vec::new();
    // Inside a local frame: the thread references GetAllThreads returns must be gone before the
    // heap walk, or they would be the roots it reports.
    let _ = env.with_local_frame(32, |env| -> Result<(), jni::errors::Error> {
        let mut count = 0;
        let mut threads: *mut jobject = std::ptr::null_mut();
        // SAFETY: writable out-pointers; live phase on a JNI-attached thread.
        if unsafe { jvmti.get_all_threads(&mut count, &mut threads) } != ERROR_NONE {
            return Ok(());
        }
        for i in 0..count.max(0) as usize {
            // SAFETY: `threads` has `count` entries, each a live local reference.
            let t = unsafe { *threads.add(i) };
            // SAFETY: zeroed ThreadInfo is a valid "all null" value.
            let mut info: ThreadInfo = unsafe { std::mem::zeroed() };
            // SAFETY: `t` is a live thread reference; `info` is writable.
            if unsafe { jvmti.get_thread_info(t, &mut info) } != ERROR_NONE {
                continue;
            }
            // SAFETY: allocated by GetThreadInfo.
            let name = unsafe { jvmti.take_string(info.name) }.unwrap_or_default();
            if name == super::thread::AGENT_THREAD_NAME {
                continue;
            }
            let mut reasons = Vec::new();
            // SAFETY: a live local reference (or null, checked).
            if !info.context_class_loader.is_null() && unsafe { jvmti.tag_of(info.context_class_loader) } == target {
                reasons.push("context classloader is this loader".to_string());
            }
            // SAFETY: `t` is a live thread reference.
            let tobj = unsafe { JObject::from_raw(t) };
            if let Ok(class) = env.get_object_class(&tobj) {
                let mut loader: jobject = std::ptr::null_mut();
                // SAFETY: a live local class reference; writable out-pointer.
                let rc = unsafe { jvmti.get_class_loader(class.as_raw(), &mut loader) };
                // SAFETY: a live local reference (or null, checked).
                if rc == ERROR_NONE && !loader.is_null() && unsafe { jvmti.tag_of(loader) } == target {
                    // SAFETY: a live local class reference.
                    let cname = unsafe { jvmti.class_name(class.as_raw()) }.unwrap_or_default();
                    reasons.push(format!("thread class {cname} defined by this loader"));
                }
            }
            if reasons.is_empty() {
                continue;
            }
            // SAFETY: `t` is a live thread reference.
            let top = unsafe { top_frame(agent, t) }.unwrap_or_else(|| "no Java frames".into());
            out.push(Suspect {
                kind: SuspectKind::Thread,
                description: format!("thread \"{name}\" ({}) at {top}", reasons.join("; ")),
            });
        }
        // SAFETY: allocated by GetAllThreads.
        unsafe { jvmti.free(threads) };
        Ok(())
    });
    out
}

/// `Class.method(File.java:LINE)` of the thread's top frame.
///
/// # Safety
/// `thread` must be a live thread reference on a JNI-attached thread in the live phase.
unsafe fn top_frame(agent: &Agent, thread: jobject) -> Option<String> {
    let jvmti = agent.jvmti;
    let mut frame = FrameInfo {
        method: std::ptr::null_mut(),
        location: 0,
    };
    let mut n = 0;
    // SAFETY: one writable frame slot; the caller's contract for `thread`.
    if unsafe { jvmti.get_stack_trace(thread, 0, 1, &mut frame, &mut n) } != ERROR_NONE || n < 1 {
        return None;
    }
    // SAFETY: `frame.method` is a method id the JVM just returned.
    Some(unsafe { describe_frame(agent, jvmti, frame) })
}

/// # Safety
/// `frame.method` must be a valid method id.
pub unsafe fn describe_frame(agent: &Agent, jvmti: Jvmti, frame: FrameInfo) -> String {
    let mut mname = std::ptr::null_mut();
    // SAFETY: valid method id; writable out-pointers; null ones are allowed.
    unsafe { jvmti.get_method_name(frame.method, &mut mname, std::ptr::null_mut(), std::ptr::null_mut()) };
    // SAFETY: allocated by GetMethodName (or null).
    let method = unsafe { jvmti.take_string(mname) }.unwrap_or_else(|| "?".into());
    let mut class: jclass = std::ptr::null_mut();
    // SAFETY: valid method id; writable out-pointer.
    unsafe { jvmti.get_method_declaring_class(frame.method, &mut class) };
    let cname = if class.is_null() {
        "?".to_string()
    } else {
        // SAFETY: a live local class reference.
        unsafe { jvmti.class_name(class) }.unwrap_or_else(|| "?".into())
    };
    let mut file = None;
    if agent.features.source_file && !class.is_null() {
        let mut f = std::ptr::null_mut();
        // SAFETY: live class; writable out-pointer.
        if unsafe { jvmti.get_source_file_name(class, &mut f) } == ERROR_NONE {
            // SAFETY: allocated by GetSourceFileName.
            file = unsafe { jvmti.take_string(f) };
        }
    }
    let mut line = None;
    if agent.features.line_numbers {
        let mut count = 0;
        let mut table = std::ptr::null_mut();
        // SAFETY: valid method id; writable out-pointers.
        if unsafe { jvmti.get_line_number_table(frame.method, &mut count, &mut table) } == ERROR_NONE {
            let mut best: Option<(i64, i32)> = None;
            for i in 0..count.max(0) as usize {
                // SAFETY: `table` has `count` entries.
                let e = unsafe { *table.add(i) };
                if e.start_location <= frame.location && best.is_none_or(|(s, _)| e.start_location >= s) {
                    best = Some((e.start_location, e.line_number));
                }
            }
            line = best.map(|(_, l)| l);
            // SAFETY: allocated by GetLineNumberTable.
            unsafe { jvmti.free(table) };
        }
    }
    let place = match (file, line) {
        (Some(f), Some(l)) => format!("{f}:{l}"),
        (Some(f), None) => f,
        (None, Some(l)) => format!("line {l}"),
        (None, None) => "unknown source".to_string(),
    };
    format!("{cname}.{method}({place})")
}
