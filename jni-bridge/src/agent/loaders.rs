//! From a class to its loader's record: what the `ClassLoad` callback does, also used for the
//! classes loaded before the agent could see them and for `Telemetry.markReleased`.
//!
//! A loader is identified by its JVMTI tag. The first time a loader shows up, the agent reads
//! its class, its `name` and its `parent` (fields of `java.lang.ClassLoader`, read with JNI
//! field access — no Java code runs inside the callback), whether it is a `URLClassLoader`,
//! registers it in the model (which classifies it), tags it, and watches it for its release when
//! it can be closed ([`super::watch`]); the `registration` raw monitor makes that check-then-tag
//! atomic. Classes are counted, not tagged (see [`on_class`]).

use jni::objects::{JClass, JObject};
use jni::JNIEnv;
use runtime::telemetry::{LoaderId, LoaderInfo, LogLevel, Tag, BOOTSTRAP};

use super::state::Agent;
use super::watch;

/// The id of a class's defining loader (`BOOTSTRAP` for the bootstrap loader), registering the
/// loader the first time; `None` when it cannot be registered.
pub fn defining_loader(agent: &Agent, env: &mut JNIEnv<'_>, class: &JClass<'_>) -> Option<LoaderId> {
    let loader = agent.jvmti.class_loader(env, class).ok()?;
    if loader.is_null() {
        return Some(BOOTSTRAP);
    }
    let id = loader_id(agent, env, &loader);
    let _ = env.delete_local_ref(loader);
    id
}

/// Counts a newly loaded class (non-array) for its defining loader, once.
///
/// `ClassLoad` is not posted once per class: HotSpot posts it again for an already defined class
/// each time another loader becomes one of its initiating loaders (a child loader delegating to
/// its parent: every Flink class a job's `ChildFirstClassLoader` resolves through the
/// application loader, every tmrt class a round's loader sees). So every counted class is tagged
/// (its loader and a per-loader sequence number) and a tagged class is not counted again; the
/// same tag makes the classes enumerated before the agent's events count once. A loader's
/// classes are still counted unloaded together, when the loader's own tag comes back in
/// `ObjectFree` (the class tags that come back with them carry nothing to count).
pub fn on_class(agent: &Agent, env: &mut JNIEnv<'_>, class: &JClass<'_>) {
    if agent.jvmti.tag(class) != 0 {
        return;
    }
    let id = defining_loader(agent, env, class);
    // Tag and count as one step: two threads may see the same class at once (its definition
    // and a child loader delegating to its parent in parallel). A plain mutex, not a JVMTI raw
    // monitor: this runs for every class, and nothing under it waits for another lock of ours
    // but the record book's.
    let _once = agent.class_once.lock();
    if agent.jvmti.tag(class) != 0 {
        return;
    }
    let seq = agent.model.lock().class_defined(id);
    let tag = Tag::Class {
        loader: id.unwrap_or(BOOTSTRAP),
        seq,
    };
    let _ = agent.jvmti.set_tag(class, tag.encode());
}

/// The id of a loader (a live, non-null reference), registering and tagging it the first time.
/// `None` when the loader cannot be registered (tag space exhausted).
pub fn loader_id(agent: &Agent, env: &mut JNIEnv<'_>, loader: &JObject<'_>) -> Option<LoaderId> {
    if let Some(Tag::Loader(id)) = Tag::decode(agent.jvmti.tag(loader)) {
        return Some(id);
    }
    // Raw monitors are reentrant, so registering the parent below may enter it again.
    let _registration = agent.jvmti.enter(agent.registration);
    if let Some(Tag::Loader(id)) = Tag::decode(agent.jvmti.tag(loader)) {
        return Some(id); // another thread registered it while we waited
    }
    let info = loader_info(agent, env, loader);
    let (class, is_url) = (info.class.clone(), info.is_url);
    let id = agent.model.lock().register_loader(info)?;
    let _ = agent.jvmti.set_tag(loader, Tag::Loader(id).encode());
    if is_url && agent.jdk.get().is_some_and(|j| j.can_see_release()) {
        watch::watch(agent, env, id, loader);
        agent.wake(); // the agent thread reads its class path soon
    }
    agent.log(LogLevel::Debug, || format!("new classloader #{id}: {class}"));
    Some(id)
}

/// The id of a loader already registered (no registration).
pub fn known_loader_id(agent: &Agent, loader: &JObject<'_>) -> Option<LoaderId> {
    match Tag::decode(agent.jvmti.tag(loader)) {
        Some(Tag::Loader(id)) => Some(id),
        _ => None,
    }
}

fn loader_info(agent: &Agent, env: &mut JNIEnv<'_>, loader: &JObject<'_>) -> LoaderInfo {
    let class = env
        .get_object_class(loader)
        .ok()
        .and_then(|c| agent.jvmti.class_name(&c))
        .unwrap_or_else(|| "?".to_string());
    let mut info = LoaderInfo {
        class,
        parent: Some(BOOTSTRAP),
        seen_unix_ms: watch::now_unix_ms(),
        ..LoaderInfo::default()
    };
    if let Some(jdk) = agent.jdk.get() {
        info.name = jdk.loader_name(env, loader);
        info.is_url = jdk.is_url_loader(env, loader);
        if let Some(p) = jdk.loader_parent(env, loader) {
            info.parent = loader_id(agent, env, &p);
            let _ = env.delete_local_ref(p);
        }
    }
    if env.exception_check().unwrap_or(false) {
        let _ = env.exception_clear();
    }
    info
}

/// Counts the classes loaded before the agent's events were on (VM init, late attach): every
/// non-array class `GetLoadedClasses` returns that no event has tagged yet. Returns how many.
pub fn enumerate_loaded(agent: &Agent, env: &mut JNIEnv<'_>) -> u64 {
    let mut seen = 0;
    let _ = env.with_local_frame(16, |env| -> jni::errors::Result<()> {
        let Ok(classes) = agent.jvmti.loaded_classes(env) else {
            return Ok(());
        };
        for k in classes {
            if !agent.jvmti.is_array_class(&k) {
                on_class(agent, env, &k);
                seen += 1;
            }
            let _ = env.delete_local_ref(k);
        }
        Ok(())
    });
    seen
}
