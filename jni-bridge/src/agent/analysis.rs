//! Leak analysis: which released loaders are still alive, which of them are leaked, and why —
//! within the pause budget.
//!
//! Runs on a thread that may call JNI — the agent thread after a collection, a Java thread in
//! `Telemetry.snapshot()`, or the `VMDeath` callback — serialised by the `analysis` lock, which
//! no event callback ever takes. Liveness is checked directly with `GetObjectsWithTags` (a
//! collected loader is not returned), so verdicts never depend on when `ObjectFree` arrives.
//!
//! The causes of a leak are found in three steps, cheapest first, for all newly leaked loaders at
//! once: the live threads ([`threads`]: class, stack, context classloader, and a search from the
//! thread objects), the static fields of every class outside the leaked loaders ([`statics`]) —
//! both with JNI reads, which request no safepoint — and one heap walk for the general reference
//! path ([`heap_path`]), the only stop-the-world step, cut at the pause budget. So an analysis
//! causes at most one agent safepoint, no longer than `pause-budget` (with `reference-paths=full`,
//! or once after `Telemetry.requestFullReferencePaths()`, a full walk instead). What a step
//! could not finish is recorded per loader (`limits`).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use jni::JNIEnv;
use runtime::telemetry::budget::{self, WalkPlan};
use runtime::telemetry::suspects::Finding;
use runtime::telemetry::{JvmFigures, LoaderId, LogLevel, ReferencePaths, Suspect, SuspectKind, Tag};

use super::state::Agent;
use super::{figures, heap_path, statics, threads, watch};

/// Reads the JVM-wide figures and, with `judge`, brings the leak verdicts up to date (first
/// polling the watched loaders for their release). Returns the figures read.
pub fn refresh(agent: &Agent, env: &mut JNIEnv<'_>, judge: bool) -> Result<JvmFigures, jni::errors::Error> {
    let _serial = agent.analysis.lock();
    watch::poll(agent, env);
    let figures = figures::read(env)?;
    *agent.figures.lock() = figures;
    if judge {
        env.with_local_frame(64, |env| -> Result<(), jni::errors::Error> {
            judge_leaks(agent, env, figures.full_gc_count);
            Ok(())
        })?;
    }
    Ok(figures)
}

/// How long the searches with JNI reads may run (CPU on the analysing thread, not a pause).
fn search_time(agent: &Agent) -> Duration {
    (agent.options.pause_budget * 20).clamp(Duration::from_secs(1), Duration::from_secs(10))
}

fn judge_leaks(agent: &Agent, env: &mut JNIEnv<'_>, full_gc_count: u64) {
    let awaiting = agent.model.lock().awaiting_collection();
    if awaiting.is_empty() {
        return;
    }
    let alive = live_loaders(agent, env, &awaiting);
    {
        let now = watch::now_unix_ms();
        let mut model = agent.model.lock();
        for id in &awaiting {
            if !alive.contains(id) {
                model.loader_collected_at(*id, now);
            }
        }
    }
    let candidates: Vec<LoaderId> = agent
        .model
        .lock()
        .leak_candidates(full_gc_count, agent.options.leak_gc_cycles)
        .into_iter()
        .filter(|id| alive.contains(id))
        .collect();
    if candidates.is_empty() {
        return;
    }
    let targets: HashSet<LoaderId> = candidates.iter().copied().collect();
    let mut suspects: HashMap<LoaderId, Vec<Suspect>> = HashMap::new();
    let mut limits: Vec<String> = Vec::new();
    let mut add = |found: Vec<(LoaderId, Finding)>| {
        for (id, f) in found {
            let s = f.suspect();
            let list = suspects.entry(id).or_default();
            if !list.contains(&s) {
                list.push(s);
            }
        }
    };
    let deadline = Instant::now() + search_time(agent);
    let (found, limit) = threads::findings(agent, env, &targets, deadline);
    add(found);
    limits.extend(limit);
    let (found, limit) = statics::findings(agent, env, &targets, Instant::now() + search_time(agent));
    add(found);
    limits.extend(limit);
    let mut paths: HashMap<LoaderId, Result<String, String>> = HashMap::new();
    let full_once = agent.full_walk_requested.swap(false, Ordering::AcqRel);
    let mode = if full_once {
        ReferencePaths::Full
    } else {
        agent.options.reference_paths
    };
    let resets_heap = agent.walk_resets_heap.load(Ordering::Acquire);
    let heap_used = figures::read(env)
        .map(|f| f.heap_used.max(0) as u64)
        .unwrap_or(u64::MAX);
    let plan = budget::plan_walk(
        mode,
        agent.options.pause_budget,
        heap_used,
        resets_heap,
        agent.heap_pass_rate.load(Ordering::Acquire),
    );
    let limit = match plan {
        WalkPlan::Full => Some(None),
        WalkPlan::Until(d) => Some(Some(d)),
        WalkPlan::Skip(why) => {
            for id in &candidates {
                paths.insert(*id, Err(format!("not computed: {why}; ask for a full walk with reference-paths=full or Telemetry.requestFullReferencePaths()")));
            }
            None
        }
    };
    if let Some(limit) = limit {
        match heap_path::walk(agent, env, &candidates, limit) {
            Ok(report) => {
                agent.log(LogLevel::Debug, || {
                    format!(
                        "heap walk for {} loader(s): {} objects in {} ms (cleanup {:?})",
                        candidates.len(),
                        report.reached,
                        report.elapsed.as_millis(),
                        report.cleanup
                    )
                });
                if let (true, Some(pass)) = (resets_heap, report.cleanup) {
                    let old = agent.heap_pass_rate.load(Ordering::Acquire);
                    agent
                        .heap_pass_rate
                        .store(budget::calibrate(old, pass, heap_used), Ordering::Release);
                }
                paths = report.paths;
            }
            Err(why) => {
                for id in &candidates {
                    paths.insert(*id, Err(why.clone()));
                }
            }
        }
    }
    for id in candidates {
        let mut list = suspects.remove(&id).unwrap_or_default();
        list.sort_by_key(|s| kind_order(s.kind));
        let mut own_limits = limits.clone();
        match paths.remove(&id) {
            Some(Ok(path)) => list.push(Suspect {
                kind: SuspectKind::ReferencePath,
                description: path,
            }),
            Some(Err(why)) => {
                if why.starts_with("not computed") {
                    own_limits.push(format!("reference path {why}"));
                }
                list.push(Suspect {
                    kind: SuspectKind::ReferencePath,
                    description: why,
                });
            }
            None => own_limits.push("reference path not searched".to_string()),
        }
        let class = agent.model.lock().info(id).map(|i| i.class.clone()).unwrap_or_default();
        agent.log(LogLevel::Info, || {
            format!(
                "classloader #{id} ({class}) leaked: alive after {} full collections since its release; {} suspect(s)",
                agent.options.leak_gc_cycles,
                list.len()
            )
        });
        for s in &list {
            agent.log(LogLevel::Debug, || format!("  {}: {}", s.kind.as_str(), s.description));
        }
        let mut model = agent.model.lock();
        model.set_leaked(id, list);
        for l in own_limits {
            model.add_limit(id, l);
        }
    }
}

fn kind_order(kind: SuspectKind) -> u8 {
    match kind {
        SuspectKind::Thread => 0,
        SuspectKind::ContextClassLoader => 1,
        SuspectKind::ThreadLocal => 2,
        SuspectKind::StaticField => 3,
        SuspectKind::ReferencePath => 4,
    }
}

/// Which of these loaders are alive. The local references the JVM hands back are deleted at
/// once: held during a heap walk, they would be the GC root it reports.
fn live_loaders(agent: &Agent, env: &mut JNIEnv<'_>, ids: &[LoaderId]) -> HashSet<LoaderId> {
    let tags: Vec<i64> = ids.iter().map(|id| Tag::Loader(*id).encode()).collect();
    match agent.jvmti.objects_with_tags(env, &tags) {
        Ok(found) => found
            .into_iter()
            .filter_map(|(obj, tag)| {
                let _ = env.delete_local_ref(obj);
                match Tag::decode(tag) {
                    Some(Tag::Loader(id)) => Some(id),
                    _ => None,
                }
            })
            .collect(),
        // Cannot tell: treat all as alive (no verdict is wrong for lack of an answer).
        Err(_) => ids.iter().copied().collect(),
    }
}
