//! Live threads tied to leaked loaders, read with JNI and JVMTI thread functions (no safepoint
//! the agent requests: `GetStackTrace` of another thread is a handshake with that thread only).
//!
//! A thread is tied to a loader when the loader defined its class, when a frame of the loader's
//! code is on its stack, when the loader is its context classloader (directly, or through a
//! safety-net wrapper not yet closed — a thread that keeps only a *closed* wrapper holds no job
//! classes), or when the thread object reaches an object of the loader's classes (its task, an
//! executor's queue, a `Timer`'s tasks, a `ThreadLocal` value, the `ProtectionDomain`s captured
//! when it was created): the last found by one [`JniSearch`] from all threads at once. The facts
//! become [`Finding`]s; their wording is `runtime::telemetry::suspects`'.

use std::collections::HashSet;
use std::time::Instant;

use jni::objects::{JClass, JObject};
use jni::signature::ReturnType;
use jni::JNIEnv;
use runtime::telemetry::kind::wrapper_field;
use runtime::telemetry::search::End;
use runtime::telemetry::suspects::{render_chain, Finding, Origin, ThreadFacts, ThreadTie};
use runtime::telemetry::{LoaderId, LoaderKind, BOOTSTRAP};

use super::jni_search::{Budget, JniSearch};
use super::loaders::known_loader_id;
use super::state::Agent;

/// Frames read per thread.
const MAX_FRAMES: usize = 64;

/// A thread's name, class and origin, and the facts read per thread.
struct ThreadRead {
    facts: ThreadFacts,
    ties: Vec<(LoaderId, ThreadTie)>,
}

/// The origin of code defined by `loader` (a registered id, `None` for the bootstrap loader).
pub fn origin_of_loader(agent: &Agent, loader: Option<LoaderId>, targets: &HashSet<LoaderId>) -> Origin {
    match loader {
        None | Some(BOOTSTRAP) => Origin::Jdk,
        Some(l) if targets.contains(&l) => Origin::Job,
        Some(l) => match agent.model.lock().kind(l) {
            Some((LoaderKind::Platform, _)) => Origin::Jdk,
            Some((LoaderKind::Application, _)) => Origin::Lib,
            Some((_, true)) => Origin::Job,
            _ => Origin::Other,
        },
    }
}

fn loader_of_class(agent: &Agent, env: &mut JNIEnv<'_>, class: &JClass<'_>) -> Option<LoaderId> {
    let loader = agent.jvmti.class_loader(env, class).ok()?;
    let id = if loader.is_null() {
        Some(BOOTSTRAP)
    } else {
        known_loader_id(agent, &loader)
    };
    let _ = env.delete_local_ref(loader);
    id
}

/// The loader defining the class of `obj`.
fn loader_of_object(agent: &Agent, env: &mut JNIEnv<'_>, obj: &JObject<'_>) -> Option<LoaderId> {
    let class = env.get_object_class(obj).ok()?;
    let id = loader_of_class(agent, env, &class);
    let _ = env.delete_local_ref(class);
    id
}

/// Whose code a thread runs, when its class is the JDK's: the thread factory of the executor
/// whose worker it is, else its task's class.
fn task_origin(
    agent: &Agent,
    env: &mut JNIEnv<'_>,
    thread: &JObject<'_>,
    targets: &HashSet<LoaderId>,
) -> Option<Origin> {
    let t = task(env, thread)?;
    let mut owner = None;
    if let Ok(class) = env.get_object_class(&t) {
        if agent.jvmti.class_name(&class).as_deref() == Some("java.util.concurrent.ThreadPoolExecutor$Worker") {
            let pool = env
                .get_field(&t, "this$0", "Ljava/util/concurrent/ThreadPoolExecutor;")
                .and_then(|v| v.l())
                .ok()
                .filter(|p| !p.is_null());
            owner = pool.and_then(|p| {
                env.get_field(&p, "threadFactory", "Ljava/util/concurrent/ThreadFactory;")
                    .and_then(|v| v.l())
                    .ok()
                    .filter(|f| !f.is_null())
            });
        }
        let _ = env.delete_local_ref(class);
    }
    let _ = env.exception_clear();
    let owner = owner.unwrap_or(t);
    let origin = origin_of_loader(agent, loader_of_object(agent, env, &owner), targets);
    Some(origin)
}

/// The thread's task: `Thread.target` (JDK ≤ 18) or `Thread.holder.task` (JDK 19+).
fn task<'l>(env: &mut JNIEnv<'l>, thread: &JObject<'_>) -> Option<JObject<'l>> {
    let read = |env: &mut JNIEnv<'l>, obj: &JObject<'_>, name: &str, sig: &str| -> Option<JObject<'l>> {
        let v = env.get_field(obj, name, sig).and_then(|v| v.l());
        match v {
            Ok(o) if !o.is_null() => Some(o),
            _ => {
                let _ = env.exception_clear();
                None
            }
        }
    };
    if let Some(t) = read(env, thread, "target", "Ljava/lang/Runnable;") {
        return Some(t);
    }
    let holder = read(env, thread, "holder", "Ljava/lang/Thread$FieldHolder;")?;
    read(env, &holder, "task", "Ljava/lang/Runnable;")
}

/// `Class.method(File.java:LINE)` of a frame.
pub fn describe_frame(agent: &Agent, env: &mut JNIEnv<'_>, frame: &super::jvmti::Frame) -> String {
    let jvmti = agent.jvmti;
    let method = jvmti.method_name(frame.method).unwrap_or_else(|| "?".into());
    let Ok(class) = jvmti.method_declaring_class(env, frame.method) else {
        return format!("?.{method}(unknown source)");
    };
    let cname = jvmti.class_name(&class).unwrap_or_else(|| "?".into());
    let file = agent
        .features
        .source_file
        .then(|| jvmti.source_file_name(&class))
        .flatten();
    let line = agent
        .features
        .line_numbers
        .then(|| jvmti.line_number(frame.method, frame.location))
        .flatten();
    let _ = env.delete_local_ref(class);
    let place = match (file, line) {
        (Some(f), Some(l)) => format!("{f}:{l}"),
        (Some(f), None) => f,
        (None, Some(l)) => format!("line {l}"),
        (None, None) => "unknown source".to_string(),
    };
    format!("{cname}.{method}({place})")
}

/// The id of the field `name` that `class` itself declares (whatever its type).
fn declared_field(agent: &Agent, class: &JClass<'_>, name: &str) -> Option<super::jvmti::FieldId> {
    let jvmti = agent.jvmti;
    jvmti
        .class_fields(class)
        .ok()?
        .into_iter()
        .find(|f| jvmti.field_name(class, *f).is_some_and(|(n, _)| n == name))
}

/// The target a context classloader holds: the loader itself, or the loader a not-yet-closed
/// wrapper holds. `(loader, through_wrapper)`.
fn context_target(
    agent: &Agent,
    env: &mut JNIEnv<'_>,
    ctx: &JObject<'_>,
    targets: &HashSet<LoaderId>,
) -> Option<(LoaderId, bool)> {
    if let Some(id) = known_loader_id(agent, ctx).filter(|l| targets.contains(l)) {
        return Some((id, false));
    }
    let class = env.get_object_class(ctx).ok()?;
    let field = agent
        .jvmti
        .class_name(&class)
        .and_then(|name| wrapper_field(&name))
        .and_then(|f| declared_field(agent, &class, f));
    let _ = env.delete_local_ref(class);
    // SAFETY: an instance field id JVMTI returned for the context loader's own class.
    let field = unsafe { jni::objects::JFieldID::from_raw(field?.as_raw()) };
    let inner = env
        .get_field_unchecked(ctx, field, ReturnType::Object)
        .and_then(|v| v.l());
    let inner = match inner {
        Ok(i) if !i.is_null() => i,
        _ => {
            let _ = env.exception_clear();
            return None; // a closed wrapper: it holds nothing
        }
    };
    let id = known_loader_id(agent, &inner).filter(|l| targets.contains(l));
    let _ = env.delete_local_ref(inner);
    id.map(|l| (l, true))
}

fn read_thread(
    agent: &Agent,
    env: &mut JNIEnv<'_>,
    thread: &JObject<'_>,
    targets: &HashSet<LoaderId>,
) -> Option<ThreadRead> {
    let jvmti = agent.jvmti;
    let info = jvmti.thread_info(env, thread).ok()?;
    if info.name == super::thread::AGENT_THREAD_NAME {
        return None;
    }
    let class = env.get_object_class(thread).ok()?;
    let class_name = jvmti.class_name(&class).unwrap_or_default();
    let class_loader = loader_of_class(agent, env, &class);
    let _ = env.delete_local_ref(class);
    let mut ties = Vec::new();
    if let Some(l) = class_loader.filter(|l| targets.contains(l)) {
        ties.push((l, ThreadTie::ClassDefined));
    }
    // Whose thread: its class's code, or, for a JDK thread class, its task's.
    let mut origin = origin_of_loader(agent, class_loader, targets);
    if origin == Origin::Jdk {
        origin = task_origin(agent, env, thread, targets).unwrap_or(origin);
    }
    if !info.context_class_loader.is_null() {
        if let Some((l, through_wrapper)) = context_target(agent, env, &info.context_class_loader, targets) {
            ties.push((l, ThreadTie::ContextClassLoader { through_wrapper }));
        }
    }
    let _ = env.delete_local_ref(info.context_class_loader);
    let frames = jvmti.stack_trace(thread, MAX_FRAMES).unwrap_or_default();
    let top = frames.first().map(|f| describe_frame(agent, env, f));
    let mut running: HashSet<LoaderId> = HashSet::new();
    for f in &frames {
        let Ok(class) = jvmti.method_declaring_class(env, f.method) else {
            continue;
        };
        let l = loader_of_class(agent, env, &class);
        let _ = env.delete_local_ref(class);
        if let Some(l) = l.filter(|l| targets.contains(l) && !running.contains(l)) {
            running.insert(l);
            let frame = describe_frame(agent, env, f);
            ties.push((l, ThreadTie::Running { frame }));
        }
    }
    Some(ThreadRead {
        facts: ThreadFacts {
            name: info.name,
            class: class_name,
            origin,
            top,
        },
        ties,
    })
}

/// Every thread tie to any of `targets`, as findings per loader. Returns also what could not be
/// done (e.g. the search from the threads was cut short).
pub fn findings(
    agent: &Agent,
    env: &mut JNIEnv<'_>,
    targets: &HashSet<LoaderId>,
    deadline: Instant,
) -> (Vec<(LoaderId, Finding)>, Option<String>) {
    let mut out = Vec::new();
    let mut limit = None;
    let _ = env.with_local_frame(64, |env| -> jni::errors::Result<()> {
        let Ok(threads) = agent.jvmti.all_threads(env) else {
            limit = Some("live threads could not be listed".to_string());
            return Ok(());
        };
        let mut search = JniSearch::new(
            agent,
            targets,
            true,
            Budget {
                max_objects: 500_000,
                max_depth: 24,
                deadline,
                max_hits_per_loader: 8,
            },
        );
        let mut facts: Vec<(Option<u32>, ThreadRead)> = Vec::new();
        for t in &threads {
            let read = env.with_local_frame(32, |env| -> jni::errors::Result<Option<ThreadRead>> {
                Ok(read_thread(agent, env, t, targets))
            })?;
            let Some(read) = read else { continue };
            let root = search.as_mut().map(|s| s.add_root(env, t));
            facts.push((root, read));
        }
        for t in threads {
            let _ = env.delete_local_ref(t);
        }
        match search.as_mut() {
            Some(search) => {
                search.run(env);
                for hit in search.hits().to_vec() {
                    let Some((_, read)) = facts.iter_mut().find(|(r, _)| *r == Some(hit.root)) else {
                        continue;
                    };
                    let steps = search.steps(&hit);
                    let thread_locals = steps.first().is_some_and(|(label, _)| {
                        label == "field threadLocals" || label == "field inheritableThreadLocals"
                    });
                    let start = format!("thread \"{}\"", read.facts.name);
                    let chain = render_chain(&start, steps.iter().map(|(a, b)| (a.as_str(), b.as_str())));
                    read.ties
                        .push((hit.loader, ThreadTie::Reaches { chain, thread_locals }));
                }
                let (reached, end) = search.summary();
                if matches!(end, Some(End::Deadline | End::ObjectBudget)) {
                    limit = Some(format!(
                        "the search from live threads was cut short after {reached} objects"
                    ));
                }
            }
            None => limit = Some("the search from the threads could not start (no JVMTI environment)".into()),
        }
        for (_, read) in facts {
            let mut loaders: Vec<LoaderId> = read.ties.iter().map(|(l, _)| *l).collect();
            loaders.dedup();
            loaders.sort_unstable();
            loaders.dedup();
            for l in loaders {
                let ties: Vec<ThreadTie> = read
                    .ties
                    .iter()
                    .filter(|(x, _)| *x == l)
                    .map(|(_, t)| t.clone())
                    .collect();
                for f in Finding::threads(&read.facts, ties) {
                    out.push((l, f));
                }
            }
        }
        Ok(())
    });
    (out, limit)
}
