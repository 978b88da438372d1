//! Reference paths from GC roots to leaked loaders, found with one JVMTI heap walk
//! (`FollowReferences`) per analysis, within the pause budget.
//!
//! The walk runs at a safepoint: every application thread waits while it runs, so it is the one
//! place where the agent's cost is a pause. It runs in a [`ScratchEnv`]: the loaded classes
//! (named for rendering), the live threads (so that a stack or JNI local root names its thread)
//! and the target loaders are tagged there first, outside the safepoint, and every tag vanishes
//! with the environment — no heap iteration to clean up. One walk looks for all targets at once
//! ([`runtime::telemetry::walk::ReferenceWalk`]); with `reference-paths=budget` it stops at three
//! quarters of the pause budget (the rest is the JVM's own work around the walk), and a target
//! not reached by then is reported "not computed: over the pause budget". `reference-paths=full`
//! (or `Telemetry.requestFullReferencePaths()`, once) walks the whole heap: a pause of roughly
//! the time the JVM takes to visit every live object, and about 24 bytes of native memory per
//! object reached.

use std::collections::HashMap;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use jni::objects::{JClass, JObject};
use jni::sys::{jint, jlong, jmethodID};
use jni::JNIEnv;
use runtime::telemetry::walk::{edge_label, render_path, Edge, Outcome, ReferenceWalk, RootFrame, Step};
use runtime::telemetry::{LoaderId, Tag};

use super::jvmti::{
    HeapCallbacks, Jvmti, ScratchEnv, StackLocalInfo, REF_ARRAY_ELEMENT, REF_FIELD, REF_JNI_LOCAL, REF_STACK_LOCAL,
    REF_STATIC_FIELD, VISIT_ABORT, VISIT_OBJECTS,
};
use super::state::Agent;
use super::threads::describe_frame;

/// Most objects a walk remembers (24 bytes each).
pub const MAX_OBJECTS: usize = 50_000_000;

/// How one walk went.
pub struct WalkReport {
    /// Per target: the rendered path, or why there is none.
    pub paths: HashMap<LoaderId, Result<String, String>>,
    /// The walk's own duration (the agent's pause, safepoint synchronisation aside).
    pub elapsed: Duration,
    pub reached: usize,
    /// When the walk went past the roots: how long the JVM took after the last reference
    /// (before JDK 19, its pass over the whole heap).
    pub cleanup: Option<Duration>,
}

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
        // SAFETY: `user_data` is the `ReferenceWalk` that `walk` passed, alive for the whole
        // FollowReferences call, and only this callback touches it meanwhile.
        let w = unsafe { &mut *(user_data as *mut ReferenceWalk) };
        let index = if matches!(kind, REF_FIELD | REF_STATIC_FIELD | REF_ARRAY_ELEMENT) && !info.is_null() {
            // SAFETY: for these kinds `info` points to a struct whose first member is the jint
            // index (jvmtiHeapReferenceInfoField / Array).
            unsafe { *(info as *const jint) }
        } else {
            -1
        };
        let frame = if matches!(kind, REF_STACK_LOCAL | REF_JNI_LOCAL) && !info.is_null() {
            // SAFETY: for these kinds `info` points to jvmtiHeapReferenceInfoStackLocal or
            // ...JniLocal, whose leading members (thread tag, thread id, depth, method) have the
            // layout of `StackLocalInfo`'s; `location` is read only for stack locals.
            let i = unsafe { *(info as *const StackLocalInfo) };
            Some(RootFrame {
                thread_tag: i.thread_tag,
                method: i.method as u64,
                location: if kind == REF_STACK_LOCAL { i.location } else { -1 },
                depth: i.depth,
            })
        } else {
            None
        };
        let referrer = if referrer_tag_ptr.is_null() {
            None
        } else {
            // SAFETY: non-null pointers from the JVM are valid for the call.
            Some(unsafe { *referrer_tag_ptr })
        };
        // SAFETY: `tag_ptr` is valid for the call; writing it is how a callback tags an object.
        let tag = unsafe { &mut *tag_ptr };
        match w.visit(kind, index, class_tag, referrer_class_tag, referrer, frame, tag) {
            runtime::telemetry::walk::Visit::Follow => VISIT_OBJECTS,
            runtime::telemetry::walk::Visit::Skip => 0,
            runtime::telemetry::walk::Visit::Abort => VISIT_ABORT,
        }
    }))
    .unwrap_or(VISIT_ABORT)
}

/// What was tagged in the scratch environment before the walk.
struct Prepared {
    class_names: HashMap<i64, String>,
    thread_names: HashMap<i64, String>,
    referent_index: HashMap<i64, jint>,
    analysing_thread: i64,
    next: u64,
}

fn prepare(agent: &Agent, scratch: &Jvmti, env: &mut JNIEnv<'_>, targets: &[LoaderId]) -> Prepared {
    let mut p = Prepared {
        class_names: HashMap::new(),
        thread_names: HashMap::new(),
        referent_index: HashMap::new(),
        analysing_thread: 0,
        next: 0,
    };
    let _ = env.with_local_frame(64, |env| -> jni::errors::Result<()> {
        let reference = env.find_class("java/lang/ref/Reference")?;
        for k in scratch.loaded_classes(env).unwrap_or_default() {
            if let Some(name) = agent.jvmti.class_name(&k) {
                p.next += 1;
                let tag = Tag::Walk(p.next).encode();
                let _ = scratch.set_tag(&k, tag);
                if env.is_assignable_from(&k, &reference).unwrap_or(false) {
                    if let Some(idx) = field_names(agent.jvmti, env, &k).iter().position(|n| n == "referent") {
                        p.referent_index.insert(tag, idx as jint);
                    }
                }
                p.class_names.insert(tag, name);
            }
            let _ = env.delete_local_ref(k);
        }
        let current = env
            .call_static_method("java/lang/Thread", "currentThread", "()Ljava/lang/Thread;", &[])?
            .l()?;
        for t in agent.jvmti.all_threads(env).unwrap_or_default() {
            p.next += 1;
            let tag = Tag::Walk(p.next).encode();
            let _ = scratch.set_tag(&t, tag);
            if env.is_same_object(&t, &current).unwrap_or(false) {
                p.analysing_thread = tag;
            }
            if let Ok(info) = agent.jvmti.thread_info(env, &t) {
                p.thread_names.insert(tag, info.name);
                let _ = env.delete_local_ref(info.context_class_loader);
            }
            let _ = env.delete_local_ref(t);
        }
        // The targets, found by their tags in the agent's environment (local references deleted
        // at once: held during the walk, they would be the roots it reports).
        let tags: Vec<jlong> = targets.iter().map(|id| Tag::Loader(*id).encode()).collect();
        for (obj, tag) in agent.jvmti.objects_with_tags(env, &tags).unwrap_or_default() {
            let _ = scratch.set_tag(&obj, tag);
            let _ = env.delete_local_ref(obj);
        }
        Ok(())
    });
    let _ = env.exception_clear();
    p
}

/// Walks the heap for paths to `targets`, stopping after `limit` (`None`: a full walk).
pub fn walk(
    agent: &Agent,
    env: &mut JNIEnv<'_>,
    targets: &[LoaderId],
    limit: Option<Duration>,
) -> Result<WalkReport, String> {
    // SAFETY: the agent's JavaVM*, on a thread that may call JNI, in the live phase.
    let scratch = unsafe { ScratchEnv::new(agent.vm.0) }.map_err(|e| format!("no scratch JVMTI environment: {e}"))?;
    let p = prepare(agent, scratch.jvmti(), env, targets);
    let target_tags: Vec<i64> = targets.iter().map(|id| Tag::Loader(*id).encode()).collect();
    let mut w = ReferenceWalk::new(
        &target_tags,
        p.next,
        MAX_OBJECTS,
        limit.map(|l| Instant::now() + l),
        p.referent_index.clone(),
    );
    w.skip_roots_of_thread(p.analysing_thread);
    let mut callbacks = HeapCallbacks {
        slots: [std::ptr::null(); 16],
    };
    callbacks.slots[1] = on_reference as *const c_void;
    let started = Instant::now();
    // SAFETY: `on_reference` has the heap-reference callback signature, treats its user data as
    // `&mut ReferenceWalk`, catches panics and calls nothing in the JVM.
    let rc = unsafe { scratch.jvmti().follow_references(&callbacks, &mut w) };
    let elapsed = started.elapsed();
    rc.map_err(|e| format!("FollowReferences failed: {e}"))?;
    let cleanup = w
        .past_roots()
        .then(|| w.last_visit().map(|t| (started + elapsed).saturating_duration_since(t)))
        .flatten();
    let mut paths = HashMap::new();
    for (id, tag) in targets.iter().zip(&target_tags) {
        let path = match w.outcome(*tag) {
            Outcome::Found(chain) => Ok(env
                .with_local_frame(64, |env| {
                    Ok::<_, jni::errors::Error>(render(agent, scratch.jvmti(), env, &w, &chain, &p))
                })
                .unwrap_or_else(|_| "path found, but rendering it failed".to_string())),
            Outcome::Unreachable => Err("no strong path from a GC root (the loader is only weakly reachable)".to_string()),
            Outcome::Stopped(why, n) => Err(format!(
                "not computed: {why} (walked {n} objects in {} ms); ask for a full walk with reference-paths=full or Telemetry.requestFullReferencePaths()",
                elapsed.as_millis()
            )),
        };
        paths.insert(*id, path);
    }
    Ok(WalkReport {
        paths,
        elapsed,
        reached: w.reached(),
        cleanup,
    })
}

/// Names of a class's fields by JVMTI heap-reference index: the fields of all implemented
/// interfaces first, then each class's fields from `java.lang.Object` down.
fn field_names(jvmti: Jvmti, env: &mut JNIEnv<'_>, class: &JClass<'_>) -> Vec<String> {
    let mut chain: Vec<JClass<'_>> = Vec::new();
    let is_iface = jvmti.is_interface(class);
    if let Ok(c) = env.new_local_ref(class) {
        chain.push(JClass::from(c));
    }
    if !is_iface {
        while let Some(last) = chain.last() {
            match env.get_superclass(last) {
                Ok(Some(s)) => chain.push(s),
                _ => break,
            }
        }
        chain.reverse();
    }
    let mut interfaces: Vec<JClass<'_>> = Vec::new();
    for c in &chain {
        collect_interfaces(jvmti, env, c, &mut interfaces);
    }
    let mut names = Vec::new();
    for i in &interfaces {
        for f in jvmti.class_fields(i).unwrap_or_default() {
            let n = jvmti.field_name(i, f).map(|(n, _)| n).unwrap_or_else(|| "?".into());
            names.push(format!("<interface field {n}>"));
        }
    }
    for c in &chain {
        for f in jvmti.class_fields(c).unwrap_or_default() {
            names.push(jvmti.field_name(c, f).map(|(n, _)| n).unwrap_or_else(|| "?".into()));
        }
    }
    names
}

fn collect_interfaces<'l>(jvmti: Jvmti, env: &mut JNIEnv<'l>, c: &JClass<'_>, out: &mut Vec<JClass<'l>>) {
    for iface in jvmti.implemented_interfaces(env, c).unwrap_or_default() {
        let seen = out.iter().any(|o| env.is_same_object(o, &iface).unwrap_or(false));
        if seen {
            let _ = env.delete_local_ref(iface);
        } else {
            collect_interfaces(jvmti, env, &iface, out);
            out.push(iface);
        }
    }
}

fn render(
    agent: &Agent,
    scratch: &Jvmti,
    env: &mut JNIEnv<'_>,
    w: &ReferenceWalk,
    chain: &[(i64, Edge)],
    p: &Prepared,
) -> String {
    // The classes on the path, as references (for their field names).
    let mut wanted: Vec<jlong> = Vec::new();
    for (t, e) in chain {
        for tag in [*t, e.class_tag] {
            if p.class_names.contains_key(&tag) && !wanted.contains(&tag) {
                wanted.push(tag);
            }
        }
    }
    let classes: HashMap<i64, JObject<'_>> = scratch
        .objects_with_tags(env, &wanted)
        .unwrap_or_default()
        .into_iter()
        .map(|(o, t)| (t, o))
        .collect();
    let class_name = |tag: i64| p.class_names.get(&tag).cloned().unwrap_or_else(|| "?".to_string());
    let describe = |tag: i64, e: &Edge| -> String {
        match Tag::decode(tag) {
            _ if p.class_names.contains_key(&tag) => format!("class {}", class_name(tag)),
            _ if p.thread_names.contains_key(&tag) => {
                format!("{} \"{}\"", class_name(e.class_tag), p.thread_names[&tag])
            }
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
                    Some(k) => field_names(agent.jvmti, env, <&JClass>::from(k)),
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
    let place = chain.first().and_then(|(t, _)| w.root_frame(*t)).map(|f| {
        let thread = p
            .thread_names
            .get(&f.thread_tag)
            .map(|n| format!("thread \"{n}\""))
            .unwrap_or_else(|| "an unknown thread".to_string());
        if f.method == 0 {
            thread
        } else {
            let frame = super::jvmti::Frame {
                // SAFETY: the method id the JVM reported for this root in the walk just done; its
                // class is loaded (a thread is running it, or was at the walk).
                method: unsafe { super::jvmti::MethodId::from_raw(f.method as jmethodID) },
                location: f.location,
            };
            format!("{thread} in {}", describe_frame(agent, env, &frame))
        }
    });
    render_path(&steps, place.as_deref())
}
