//! From a class to its loader's record: what the `ClassLoad` callback does, also used for the
//! classes loaded before the agent could see them and for `Telemetry.markReleased`.
//!
//! A loader is identified by its JVMTI tag. The first time a loader shows up, the agent reads
//! its class, its `name` and its `parent` (fields of `java.lang.ClassLoader`, read with JNI
//! field access — no Java code runs inside the callback), registers it in the model and tags it;
//! the `registration` raw monitor makes that check-then-tag atomic. Classes are counted, not
//! tagged (see [`on_class`]).

use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use jni::objects::{JFieldID, JObject, JString};
use jni::signature::ReturnType;
use jni::sys::{jclass, jobject};
use jni::JNIEnv;
use runtime::telemetry::{LoaderId, LoaderInfo, LogLevel, Tag, BOOTSTRAP};

use super::jvmti::ERROR_NONE;
use super::state::Agent;

/// `java.lang.ClassLoader`'s `name` and `parent` field ids (global for the JVM's life).
static LOADER_FIELDS: OnceLock<(usize, usize)> = OnceLock::new();

fn loader_fields(env: &mut JNIEnv<'_>) -> Option<(JFieldID, JFieldID)> {
    let (name, parent) = match LOADER_FIELDS.get() {
        Some(ids) => *ids,
        None => {
            let name = env
                .get_field_id("java/lang/ClassLoader", "name", "Ljava/lang/String;")
                .ok()?;
            let parent = env
                .get_field_id("java/lang/ClassLoader", "parent", "Ljava/lang/ClassLoader;")
                .ok()?;
            *LOADER_FIELDS.get_or_init(|| (name.into_raw() as usize, parent.into_raw() as usize))
        }
    };
    // SAFETY: field ids of java.lang.ClassLoader stay valid while the class is loaded, which is
    // forever (bootstrap class).
    unsafe {
        Some((
            JFieldID::from_raw(name as jni::sys::jfieldID),
            JFieldID::from_raw(parent as jni::sys::jfieldID),
        ))
    }
}

/// Counts a newly loaded class (non-array) for its defining loader.
///
/// Classes are mostly not tagged (a tag per class would cost a tag-map insertion per class and an
/// `ObjectFree` per unload): a loader's classes are unloaded together with it, so its remaining
/// classes are counted unloaded when its own tag comes back in `ObjectFree`. The exception are the
/// classes of loaders that existed when the agent enumerated the classes loaded before its events
/// (bootstrap, platform, application, ...): the enumeration may have counted a class whose
/// `ClassLoad` event arrives later, so those classes are tagged and a tagged class is not counted
/// twice. Loaders registered after the enumeration cannot have such classes.
///
/// # Safety
/// `klass` must be a live class reference on the current thread, in the start or live phase.
pub unsafe fn on_class(agent: &Agent, env: &mut JNIEnv<'_>, klass: jclass) {
    let jvmti = agent.jvmti;
    let boundary = agent.first_untracked_loader.load(Ordering::Acquire);
    let mut loader: jobject = std::ptr::null_mut();
    // SAFETY: `klass` is a live local reference handed to us by the JVM or GetLoadedClasses;
    // `loader` is writable.
    let rc = unsafe { jvmti.get_class_loader(klass, &mut loader) };
    let id = if rc != ERROR_NONE {
        None
    } else if loader.is_null() {
        Some(BOOTSTRAP)
    } else {
        // SAFETY: a live, non-null loader reference from GetClassLoader.
        unsafe { loader_id(agent, env, loader) }
    };
    let dedupe = id.is_none_or(|id| id < boundary);
    // SAFETY: as above.
    if !(dedupe && unsafe { jvmti.tag_of(klass) } != 0) {
        let seq = agent.model.lock().class_defined(id);
        if dedupe {
            let tag = Tag::Class {
                loader: id.unwrap_or(BOOTSTRAP),
                seq,
            };
            // SAFETY: as above.
            unsafe { jvmti.set_tag(klass, tag.encode()) };
        }
    }
    if !loader.is_null() {
        // Outside a callback (initial enumeration) local references would pile up.
        // SAFETY: a local reference from GetClassLoader, not used afterwards.
        let _ = env.delete_local_ref(unsafe { JObject::from_raw(loader) });
    }
}

/// The id of a loader (a live, non-null reference), registering and tagging it the first time.
/// `None` when the loader cannot be registered (tag space exhausted, JNI failure).
///
/// # Safety
/// `loader` must be a live reference to a `java.lang.ClassLoader` on the current thread.
pub unsafe fn loader_id(agent: &Agent, env: &mut JNIEnv<'_>, loader: jobject) -> Option<LoaderId> {
    let jvmti = agent.jvmti;
    // SAFETY: `loader` is a live reference (caller's contract).
    if let Some(Tag::Loader(id)) = Tag::decode(unsafe { jvmti.tag_of(loader) }) {
        return Some(id);
    }
    // SAFETY: the monitor was created at load time and is never destroyed; raw monitors are
    // reentrant, so registering the parent below may enter it again.
    unsafe { jvmti.raw_monitor_enter(agent.registration) };
    // SAFETY: the caller's contract for `loader`.
    let id = unsafe { register_locked(agent, env, loader) };
    // SAFETY: entered above.
    unsafe { jvmti.raw_monitor_exit(agent.registration) };
    id
}

/// # Safety
/// As [`loader_id`].
unsafe fn register_locked(agent: &Agent, env: &mut JNIEnv<'_>, loader: jobject) -> Option<LoaderId> {
    let jvmti = agent.jvmti;
    // SAFETY: as in `loader_id`.
    if let Some(Tag::Loader(id)) = Tag::decode(unsafe { jvmti.tag_of(loader) }) {
        return Some(id); // another thread registered it while we waited
    }
    // SAFETY: the caller's contract for `loader`.
    let info = unsafe { loader_info(agent, env, loader) };
    let class = info.class.clone();
    let id = agent.model.lock().register_loader(info)?;
    // SAFETY: as in `loader_id`.
    unsafe { jvmti.set_tag(loader, Tag::Loader(id).encode()) };
    agent.log(LogLevel::Debug, || format!("new classloader #{id}: {class}"));
    Some(id)
}

/// # Safety
/// As [`loader_id`].
unsafe fn loader_info(agent: &Agent, env: &mut JNIEnv<'_>, loader: jobject) -> LoaderInfo {
    // SAFETY: `loader` is a live reference; wrapping it does not take ownership.
    let obj = unsafe { JObject::from_raw(loader) };
    let class = env
        .get_object_class(&obj)
        .ok()
        // SAFETY: a live local class reference from GetObjectClass.
        .and_then(|c| unsafe { agent.jvmti.class_name(c.as_raw()) })
        .unwrap_or_else(|| "?".to_string());
    let mut name = None;
    let mut parent = Some(BOOTSTRAP);
    if let Some((name_id, parent_id)) = loader_fields(env) {
        // `obj` is a ClassLoader and the field id is ClassLoader.name (a String).
        let n = env
            .get_field_unchecked(&obj, name_id, ReturnType::Object)
            .and_then(|v| v.l());
        if let Ok(n) = n {
            if !n.is_null() {
                name = env.get_string(&JString::from(n)).ok().map(String::from);
            }
        }
        // The field id is ClassLoader.parent (a ClassLoader).
        let p = env
            .get_field_unchecked(&obj, parent_id, ReturnType::Object)
            .and_then(|v| v.l());
        if let Ok(p) = p {
            if !p.is_null() {
                // SAFETY: a live, non-null ClassLoader reference just read from the field.
                parent = unsafe { loader_id(agent, env, p.as_raw()) };
            }
        }
    }
    if env.exception_check().unwrap_or(false) {
        let _ = env.exception_clear();
    }
    LoaderInfo { class, name, parent }
}

/// Counts the classes loaded before the agent's events were on (VM init, late attach): every
/// non-array class `GetLoadedClasses` returns that no event has tagged yet. Returns how many.
pub fn enumerate_loaded(agent: &Agent, env: &mut JNIEnv<'_>) -> u64 {
    let jvmti = agent.jvmti;
    let mut count = 0;
    let mut classes: *mut jclass = std::ptr::null_mut();
    // SAFETY: out-pointers are writable; live phase.
    if unsafe { jvmti.get_loaded_classes(&mut count, &mut classes) } != ERROR_NONE {
        return 0;
    }
    let mut seen = 0;
    let _ = env.with_local_frame(16, |env| -> Result<(), jni::errors::Error> {
        for i in 0..count.max(0) as usize {
            // SAFETY: `classes` has `count` entries.
            let k = unsafe { *classes.add(i) };
            let mut is_array = 0;
            // SAFETY: `k` is a live local reference from GetLoadedClasses.
            unsafe { jvmti.is_array_class(k, &mut is_array) };
            if is_array == 0 {
                // SAFETY: `k` is a live local class reference.
                unsafe { on_class(agent, env, k) };
                seen += 1;
            }
            let _ = env.delete_local_ref(
                // SAFETY: `k` is a local reference we own and no longer use.
                unsafe { JObject::from_raw(k) },
            );
        }
        Ok(())
    });
    // SAFETY: allocated by GetLoadedClasses.
    unsafe { jvmti.free(classes) };
    let boundary = agent.model.lock().next_loader_id();
    agent.first_untracked_loader.store(boundary, Ordering::Release);
    seen
}
