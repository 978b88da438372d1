//! A reference path from a GC root to a leaked loader, found with a JVMTI heap walk
//! (`FollowReferences`), bounded in objects and time, and run only for leaked loaders.
//!
//! The decisions are [`runtime::telemetry::walk::ReferenceWalk`]'s (tag on first reach, remember
//! the edge, stop at the target or a budget, skip `Reference.referent`); this module feeds it the
//! JVM's callbacks, names what is on the path — classes by tags given to every loaded class for
//! the walk, field indices with JVMTI's numbering (the fields of all implemented interfaces first,
//! then each class's fields from `java.lang.Object` down) — and removes the walk tags afterwards
//! with one `IterateThroughHeap` pass.

use std::collections::HashMap;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use jni::objects::{JClass, JObject};
use jni::sys::{jclass, jfieldID, jint, jlong, jobject};
use jni::JNIEnv;
use runtime::telemetry::walk::{edge_label, render_path, Edge, Outcome, ReferenceWalk, Step, Visit};
use runtime::telemetry::{LoaderId, Tag};

use super::jvmti::*;
use super::state::Agent;

/// Most heap walks one leak analysis runs (one per newly leaked loader).
pub const MAX_WALKS_PER_ANALYSIS: usize = 4;
/// Most objects one walk may tag before giving up.
pub const MAX_OBJECTS: usize = 1_000_000;
/// Longest one walk may run before giving up. The walk runs at a safepoint (application threads
/// stopped), so this also bounds the pause it causes, plus one heap iteration to remove the tags.
pub const MAX_TIME: Duration = Duration::from_secs(2);

#[allow(clippy::too_many_arguments)]
unsafe extern "system" fn on_reference(
    kind: jint,
    info: *const c_void,
    class_tag: jlong,
    referrer_class_tag: jlong,
    _size: jlong,
    tag_ptr: *mut jlong,
    referrer_tag_ptr: *mut jlong,
    _length: jint,
    user_data: *mut c_void,
) -> jint {
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `user_data` is the `ReferenceWalk` that `describe_path` passed, alive for the
        // whole FollowReferences call, and only this callback touches it meanwhile.
        let w = unsafe { &mut *(user_data as *mut ReferenceWalk) };
        let index = if matches!(kind, REF_FIELD | REF_STATIC_FIELD | REF_ARRAY_ELEMENT) && !info.is_null() {
            // SAFETY: for these kinds `info` points to a struct whose first member is the jint
            // index (jvmtiHeapReferenceInfoField / Array).
            unsafe { *(info as *const jint) }
        } else {
            -1
        };
        let referrer = if referrer_tag_ptr.is_null() {
            None
        } else {
            // SAFETY: non-null pointers from the JVM are valid for the call.
            Some(unsafe { *referrer_tag_ptr })
        };
        // SAFETY: `tag_ptr` is valid for the call; writing it is how a callback tags an object.
        let tag = unsafe { &mut *tag_ptr };
        match w.visit(kind, index, class_tag, referrer_class_tag, referrer, tag) {
            Visit::Follow => VISIT_OBJECTS,
            Visit::Skip => 0,
            Visit::Abort => VISIT_ABORT,
        }
    }))
    .unwrap_or(VISIT_ABORT)
}

unsafe extern "system" fn clear_walk_tag(
    _class_tag: jlong,
    _size: jlong,
    tag_ptr: *mut jlong,
    _length: jint,
    _user_data: *mut c_void,
) -> jint {
    // Nothing here should panic, but no panic may unwind into the JVM: abort the iteration.
    catch_unwind(|| {
        // SAFETY: `tag_ptr` is valid for the call (JVMTI contract).
        let tag = unsafe { *tag_ptr };
        if matches!(Tag::decode(tag), Some(Tag::Walk(_))) {
            // SAFETY: as above.
            unsafe { *tag_ptr = 0 };
        }
        0
    })
    .unwrap_or(VISIT_ABORT)
}

/// The path from a GC root to loader `id`, rendered; `Ok(None)` when no strong path was found
/// (the loader became unreachable), `Err` when the walk was cut short or failed.
pub fn describe_path(agent: &Agent, env: &mut JNIEnv<'_>, id: LoaderId) -> Result<Option<String>, String> {
    let jvmti = agent.jvmti;
    let mut class_names = HashMap::new();
    let referent_index = env
        .with_local_frame(64, |env| {
            Ok::<_, jni::errors::Error>(prepare_classes(jvmti, env, &mut class_names))
        })
        .unwrap_or_default();
    let mut walk = ReferenceWalk::new(
        Tag::Loader(id).encode(),
        class_names.len() as u64,
        MAX_OBJECTS,
        Instant::now() + MAX_TIME,
        referent_index,
    );
    let mut callbacks = HeapCallbacks {
        slots: [std::ptr::null(); 16],
    };
    callbacks.slots[1] = on_reference as HeapReferenceCallback as *const c_void;
    // SAFETY: callbacks and user data outlive the call (FollowReferences returns when done);
    // null klass / initial object mean "all objects from the roots".
    let rc = unsafe {
        jvmti.follow_references(
            0,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &callbacks,
            &mut walk as *mut ReferenceWalk as *const c_void,
        )
    };
    let result = if rc != ERROR_NONE {
        Err(format!("FollowReferences failed with JVMTI error {rc}"))
    } else {
        match walk.outcome() {
            Outcome::Found(chain) => Ok(Some(
                env.with_local_frame(64, |env| {
                    Ok::<_, jni::errors::Error>(render(agent, env, &chain, &class_names))
                })
                .unwrap_or_else(|_| "path found, but rendering it failed".to_string()),
            )),
            Outcome::Unreachable => Ok(None),
            Outcome::Stopped(why, n) => Err(format!("heap walk stopped: {why} after {n} objects")),
        }
    };
    // Remove every walk tag (objects reached, and the classes tagged for naming).
    let mut cleanup = HeapCallbacks {
        slots: [std::ptr::null(); 16],
    };
    cleanup.slots[0] = clear_walk_tag as HeapIterationCallback as *const c_void;
    // SAFETY: as above; visits tagged objects only.
    unsafe { jvmti.iterate_through_heap(HEAP_FILTER_UNTAGGED, std::ptr::null_mut(), &cleanup, std::ptr::null()) };
    result
}

/// Prepares the loaded classes for a walk: gives every class without a tag (all but the few
/// tagged while the agent enumerated the classes loaded before it) a walk tag numbered from 1 and
/// records its name, so that the walk's class tags name classes; returns the `referent` field
/// index of every loaded subclass of `java.lang.ref.Reference`, by class tag.
fn prepare_classes(jvmti: Jvmti, env: &mut JNIEnv<'_>, class_names: &mut HashMap<i64, String>) -> HashMap<i64, jint> {
    let mut out = HashMap::new();
    let Ok(reference) = env.find_class("java/lang/ref/Reference") else {
        let _ = env.exception_clear();
        return out;
    };
    let mut count = 0;
    let mut classes: *mut jclass = std::ptr::null_mut();
    // SAFETY: writable out-pointers; live phase.
    if unsafe { jvmti.get_loaded_classes(&mut count, &mut classes) } != ERROR_NONE {
        return out;
    }
    for i in 0..count.max(0) as usize {
        // SAFETY: `classes` has `count` live local references.
        let k = unsafe { JClass::from_raw(*classes.add(i)) };
        // SAFETY: a live class reference.
        let mut tag = unsafe { jvmti.tag_of(k.as_raw()) };
        if tag == 0 {
            // SAFETY: a live class reference.
            if let Some(name) = unsafe { jvmti.class_name(k.as_raw()) } {
                tag = Tag::Walk(class_names.len() as u64 + 1).encode();
                // SAFETY: a live class reference.
                unsafe { jvmti.set_tag(k.as_raw(), tag) };
                class_names.insert(tag, name);
            }
        }
        if tag != 0 && env.is_assignable_from(&k, &reference).unwrap_or(false) {
            let names = field_names(jvmti, env, &k);
            if let Some(idx) = names.iter().position(|n| n == "referent") {
                out.insert(tag, idx as jint);
            }
        }
        let _ = env.delete_local_ref(k);
    }
    // SAFETY: allocated by GetLoadedClasses.
    unsafe { jvmti.free(classes) };
    out
}

/// Names of a class's fields by JVMTI heap-reference index.
fn field_names(jvmti: Jvmti, env: &mut JNIEnv<'_>, klass: &JClass<'_>) -> Vec<String> {
    let mut is_iface = 0;
    // SAFETY: a live class reference; writable out-pointer.
    unsafe { jvmti.is_interface(klass.as_raw(), &mut is_iface) };
    let mut chain: Vec<jclass> = vec![klass.as_raw()];
    if is_iface == 0 {
        let mut k = env.new_local_ref(klass).map(JClass::from).ok();
        while let Some(c) = k.take() {
            match env.get_superclass(&c) {
                Ok(Some(s)) => {
                    chain.push(s.as_raw());
                    k = Some(s);
                }
                _ => break,
            }
        }
        chain.reverse();
    }
    let mut interfaces: Vec<jclass> = Vec::new();
    let roots: Vec<jclass> = if is_iface == 0 {
        chain.clone()
    } else {
        vec![klass.as_raw()]
    };
    for c in roots {
        collect_interfaces(jvmti, env, c, &mut interfaces);
    }
    let mut names = Vec::new();
    for i in &interfaces {
        for (n, _) in declared_fields(jvmti, *i) {
            names.push(format!("<interface field {n}>"));
        }
    }
    for c in chain {
        for (_, name) in declared_fields(jvmti, c) {
            names.push(name);
        }
    }
    names
}

fn collect_interfaces(jvmti: Jvmti, env: &mut JNIEnv<'_>, c: jclass, out: &mut Vec<jclass>) {
    let mut count = 0;
    let mut list: *mut jclass = std::ptr::null_mut();
    // SAFETY: a live class reference; writable out-pointers.
    if unsafe { jvmti.get_implemented_interfaces(c, &mut count, &mut list) } != ERROR_NONE {
        return;
    }
    for i in 0..count.max(0) as usize {
        // SAFETY: `list` has `count` live local references.
        let iface = unsafe { *list.add(i) };
        let seen = out.iter().any(|o| {
            // SAFETY: both are live local references.
            env.is_same_object(unsafe { JObject::from_raw(*o) }, unsafe { JObject::from_raw(iface) })
                .unwrap_or(false)
        });
        if !seen {
            out.push(iface);
            collect_interfaces(jvmti, env, iface, out);
        }
    }
    // SAFETY: allocated by GetImplementedInterfaces.
    unsafe { jvmti.free(list) };
}

fn declared_fields(jvmti: Jvmti, c: jclass) -> Vec<(usize, String)> {
    let mut count = 0;
    let mut fields: *mut jfieldID = std::ptr::null_mut();
    // SAFETY: a live class reference; writable out-pointers.
    if unsafe { jvmti.get_class_fields(c, &mut count, &mut fields) } != ERROR_NONE {
        return Vec::new();
    }
    let mut out = Vec::new();
    for i in 0..count.max(0) as usize {
        let mut name = std::ptr::null_mut();
        // SAFETY: `fields` has `count` field ids of `c`; null signature pointers are allowed.
        unsafe { jvmti.get_field_name(c, *fields.add(i), &mut name, std::ptr::null_mut(), std::ptr::null_mut()) };
        // SAFETY: allocated by GetFieldName (or null).
        out.push((i, unsafe { jvmti.take_string(name) }.unwrap_or_else(|| "?".into())));
    }
    // SAFETY: allocated by GetClassFields.
    unsafe { jvmti.free(fields) };
    out
}

fn render(agent: &Agent, env: &mut JNIEnv<'_>, chain: &[(i64, Edge)], class_names: &HashMap<i64, String>) -> String {
    let jvmti = agent.jvmti;
    // Resolve every class tag on the path (objects' classes and class objects) to a jclass.
    let mut wanted: Vec<jlong> = Vec::new();
    for (t, e) in chain {
        for tag in [*t, e.class_tag] {
            let is_class = matches!(Tag::decode(tag), Some(Tag::Class { .. })) || class_names.contains_key(&tag);
            if is_class && !wanted.contains(&tag) {
                wanted.push(tag);
            }
        }
    }
    let mut classes: HashMap<i64, jobject> = HashMap::new();
    if !wanted.is_empty() {
        let mut n = 0;
        let mut objs: *mut jobject = std::ptr::null_mut();
        let mut tags: *mut jlong = std::ptr::null_mut();
        // SAFETY: `wanted` has that many tags; writable out-pointers.
        if unsafe { jvmti.get_objects_with_tags(wanted.len() as jint, wanted.as_ptr(), &mut n, &mut objs, &mut tags) }
            == ERROR_NONE
        {
            for i in 0..n.max(0) as usize {
                // SAFETY: both arrays have `n` entries.
                unsafe { classes.insert(*tags.add(i), *objs.add(i)) };
            }
            // SAFETY: allocated by GetObjectsWithTags.
            unsafe {
                jvmti.free(objs);
                jvmti.free(tags);
            }
        }
    }
    let class_name = |tag: i64| -> String {
        if let Some(name) = class_names.get(&tag) {
            return name.clone();
        }
        classes
            .get(&tag)
            // SAFETY: a live local class reference from GetObjectsWithTags.
            .and_then(|k| unsafe { jvmti.class_name(*k) })
            .unwrap_or_else(|| "?".to_string())
    };
    let describe = |tag: i64, e: &Edge| -> String {
        match Tag::decode(tag) {
            Some(Tag::Class { .. }) => format!("class {}", class_name(tag)),
            Some(Tag::Walk(_)) if class_names.contains_key(&tag) => format!("class {}", class_name(tag)),
            Some(Tag::Loader(id)) => {
                let class = agent.model.lock().info(id).map(|i| i.class.clone()).unwrap_or_default();
                format!("loader #{id} ({class})")
            }
            _ => class_name(e.class_tag),
        }
    };
    let mut field_cache: HashMap<i64, Vec<String>> = HashMap::new();
    let mut steps = Vec::with_capacity(chain.len());
    let mut prev: Option<(i64, Edge)> = None;
    for (tag, e) in chain {
        let node = describe(*tag, e);
        let label = prev.map(|(ptag, pedge)| {
            let field = if matches!(e.kind, REF_FIELD | REF_STATIC_FIELD) {
                // The class whose fields are numbered: the referrer's class for an instance
                // field, the referrer itself for a static one.
                let owner = if e.kind == REF_FIELD { pedge.class_tag } else { ptag };
                let names = field_cache.entry(owner).or_insert_with(|| match classes.get(&owner) {
                    // SAFETY: a live local class reference from GetObjectsWithTags.
                    Some(k) => field_names(jvmti, env, &unsafe { JClass::from_raw(*k) }),
                    None => Vec::new(),
                });
                names.get(e.index as usize).cloned()
            } else {
                None
            };
            edge_label(e.kind, e.index, field.as_deref())
        });
        steps.push(Step {
            root_kind: e.kind,
            label,
            node,
        });
        prev = Some((*tag, *e));
    }
    render_path(&steps)
}
