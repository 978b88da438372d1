//! The record book: one record per classloader the agent has seen, JVM-wide counters, and the
//! leak bookkeeping.
//!
//! The agent feeds it events (a loader appeared, a class was defined or unloaded, a loader was
//! collected or released) and asks it two questions: which released loaders must be checked for a
//! leak now, and what the telemetry looks like ([`Telemetry::report`], a plain [`Report`] value
//! that [`super::report`] and [`super::prometheus`] render). The model never touches a JVM and
//! never prints; the agent keeps it behind one mutex and never holds that mutex across a JVMTI
//! call.
//!
//! Leak rule: a loader marked released at the moment the JVM had run `F` full collections is
//! *leaked* once it is confirmed alive after `F + leak-gc-cycles` full collections. A leaked loader
//! that is collected later is no longer leaked.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::duplicates::DuplicateClass;
use super::kind::{classify, is_user_code, LoaderKind};

/// A loader's identity in the agent: assigned in order of discovery, carried in its JVMTI tag.
/// Id 0 is the bootstrap loader.
pub type LoaderId = u32;

/// The bootstrap loader (`GetClassLoader` returns null for its classes).
pub const BOOTSTRAP: LoaderId = 0;

/// How many collected loaders' records are kept for the report; older ones are dropped so that a
/// long-lived TaskManager running many jobs does not grow the agent without bound.
pub const COLLECTED_KEPT: usize = 4096;

/// What the agent learns about a loader when it first sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoaderInfo {
    /// The loader's class, binary name (`jdk.internal.loader.ClassLoaders$AppClassLoader`).
    pub class: String,
    /// `ClassLoader.getName()`, when the loader has a name.
    pub name: Option<String>,
    /// The parent loader's id; `None` when the parent is the bootstrap loader (or for bootstrap).
    pub parent: Option<LoaderId>,
    /// Whether the loader is a `java.net.URLClassLoader` (it can be closed, and has URLs).
    pub is_url: bool,
    /// When the agent first saw it (milliseconds since the epoch).
    pub seen_unix_ms: u64,
}

/// When a loader was released: the wall clock and the JVM's full-collection count at that
/// moment (the leak rule counts full collections from there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Release {
    pub unix_ms: u64,
    pub full_gc_count: u64,
}

/// What a leak suspect is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SuspectKind {
    /// A live thread tied to the loader: its class, its task, or its stack.
    #[serde(rename = "thread")]
    Thread,
    /// A live thread whose context classloader is the loader.
    #[serde(rename = "context-classloader")]
    ContextClassLoader,
    /// A `ThreadLocal` value of the loader's classes on a live thread.
    #[serde(rename = "thread-local")]
    ThreadLocal,
    /// A static field of a class outside the job that reaches the loader's objects.
    #[serde(rename = "static-field")]
    StaticField,
    /// A chain of references from a GC root to the loader (or why there is none).
    #[serde(rename = "reference-path")]
    ReferencePath,
}

impl SuspectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SuspectKind::Thread => "thread",
            SuspectKind::ContextClassLoader => "context-classloader",
            SuspectKind::ThreadLocal => "thread-local",
            SuspectKind::StaticField => "static-field",
            SuspectKind::ReferencePath => "reference-path",
        }
    }
}

/// One reason a leaked loader is still alive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suspect {
    pub kind: SuspectKind,
    pub description: String,
}

/// JVM-wide figures read from the platform MXBeans (`-1` where the JVM reports "undefined", as
/// `MemoryUsage.getMax()` does for an unlimited metaspace).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JvmFigures {
    pub metaspace_used: i64,
    pub metaspace_committed: i64,
    pub metaspace_max: i64,
    pub compressed_class_space_used: i64,
    pub compressed_class_space_committed: i64,
    pub compressed_class_space_max: i64,
    /// Sum of all `GarbageCollectorMXBean.getCollectionCount()`.
    pub gc_count: u64,
    /// Collections of the full collectors (see [`super::gc::is_full_collector`]).
    pub full_gc_count: u64,
    /// Bytes used in the Java heap (`MemoryMXBean.getHeapMemoryUsage().getUsed()`).
    pub heap_used: i64,
}

#[derive(Debug, Clone)]
struct LoaderRecord {
    info: LoaderInfo,
    kind: LoaderKind,
    user_code: bool,
    urls: Vec<String>,
    flink_job_id: Option<String>,
    classes_defined: u64,
    classes_unloaded: u64,
    released_at: Option<Release>,
    collected_unix_ms: Option<u64>,
    alive: bool,
    leaked: bool,
    suspects: Vec<Suspect>,
    /// What the leak analysis of this loader could not do (cut short by a budget, ...).
    limits: Vec<String>,
}

impl LoaderRecord {
    fn new(info: LoaderInfo, kind: LoaderKind, user_code: bool) -> Self {
        LoaderRecord {
            info,
            kind,
            user_code,
            urls: Vec::new(),
            flink_job_id: None,
            classes_defined: 0,
            classes_unloaded: 0,
            released_at: None,
            collected_unix_ms: None,
            alive: true,
            leaked: false,
            suspects: Vec::new(),
            limits: Vec::new(),
        }
    }
}

/// The agent's record book. See the module documentation.
#[derive(Debug, Clone)]
pub struct Telemetry {
    loaders: BTreeMap<LoaderId, LoaderRecord>,
    next_id: LoaderId,
    collected_order: VecDeque<LoaderId>,
    classes_loaded_total: u64,
    classes_unloaded_total: u64,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}

impl Telemetry {
    /// A record book that knows only the bootstrap loader.
    pub fn new() -> Self {
        let mut loaders = BTreeMap::new();
        loaders.insert(
            BOOTSTRAP,
            LoaderRecord::new(
                LoaderInfo {
                    class: "<bootstrap>".to_string(),
                    ..LoaderInfo::default()
                },
                LoaderKind::Bootstrap,
                false,
            ),
        );
        Telemetry {
            loaders,
            next_id: BOOTSTRAP + 1,
            collected_order: VecDeque::new(),
            classes_loaded_total: 0,
            classes_unloaded_total: 0,
        }
    }

    /// Records a newly seen loader and returns its id (to put in its tag). `None` when the id
    /// space of tags is exhausted; the agent then attributes the loader's classes to no one.
    pub fn register_loader(&mut self, info: LoaderInfo) -> Option<LoaderId> {
        if self.next_id > super::tag::MAX_LOADER_ID {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        let kind = classify(&info.class, info.is_url);
        let user_code = is_user_code(kind, self.below_application(info.parent));
        self.loaders.insert(id, LoaderRecord::new(info, kind, user_code));
        Some(id)
    }

    /// Whether the application loader is `parent` or one of its ancestors.
    fn below_application(&self, mut parent: Option<LoaderId>) -> bool {
        let mut steps = 0;
        while let Some(p) = parent {
            let Some(r) = self.loaders.get(&p) else { return false };
            if r.kind == LoaderKind::Application {
                return true;
            }
            parent = r.info.parent;
            steps += 1;
            if steps > 1000 {
                return false;
            }
        }
        false
    }

    /// The loader's kind and whether it is user code (`None` for an unknown loader).
    pub fn kind(&self, id: LoaderId) -> Option<(LoaderKind, bool)> {
        self.loaders.get(&id).map(|r| (r.kind, r.user_code))
    }

    /// Records a loader's class path and the Flink job it belongs to (read by the agent thread).
    pub fn set_class_path(&mut self, id: LoaderId, urls: Vec<String>) {
        if let Some(r) = self.loaders.get_mut(&id) {
            r.flink_job_id = super::flink_job::job_id(urls.iter().map(String::as_str));
            r.urls = urls;
        }
    }

    /// What an analysis of the loader could not do.
    pub fn add_limit(&mut self, id: LoaderId, limit: String) {
        if let Some(r) = self.loaders.get_mut(&id) {
            if !r.limits.contains(&limit) {
                r.limits.push(limit);
            }
        }
    }

    /// The id the next registered loader will get.
    pub fn next_loader_id(&self) -> LoaderId {
        self.next_id
    }

    /// Whether a loader is known (registered and its record not yet dropped).
    pub fn knows(&self, id: LoaderId) -> bool {
        self.loaders.contains_key(&id)
    }

    /// A class was defined by `loader` (`None`: by a loader the agent could not register).
    /// Returns the class's sequence number within its loader, for its tag.
    pub fn class_defined(&mut self, loader: Option<LoaderId>) -> u32 {
        self.classes_loaded_total += 1;
        match loader.and_then(|id| self.loaders.get_mut(&id)) {
            Some(r) => {
                r.classes_defined += 1;
                (r.classes_defined & 0xffff_ffff) as u32
            }
            None => 0,
        }
    }

    /// A class defined by `loader` was unloaded while the loader lives on (a non-strong hidden
    /// class); classes unloaded with their loader are counted by [`Self::loader_collected`].
    pub fn class_unloaded(&mut self, loader: LoaderId) {
        self.classes_unloaded_total += 1;
        if let Some(r) = self.loaders.get_mut(&loader) {
            r.classes_unloaded += 1;
        }
    }

    /// The loader object was collected (its tag came back in `ObjectFree`, or a liveness check
    /// did not find it): its classes not yet counted unloaded were unloaded with it.
    pub fn loader_collected(&mut self, id: LoaderId) {
        self.loader_collected_at(id, 0);
    }

    /// [`Self::loader_collected`], at `unix_ms` (0: unknown).
    pub fn loader_collected_at(&mut self, id: LoaderId, unix_ms: u64) {
        if id == BOOTSTRAP {
            return;
        }
        let Some(r) = self.loaders.get_mut(&id) else { return };
        if !r.alive {
            return;
        }
        let remaining = r.classes_defined.saturating_sub(r.classes_unloaded);
        r.classes_unloaded += remaining;
        self.classes_unloaded_total += remaining;
        r.collected_unix_ms = (unix_ms > 0).then_some(unix_ms);
        r.alive = false;
        r.leaked = false;
        r.suspects.clear();
        self.collected_order.push_back(id);
        while self.collected_order.len() > COLLECTED_KEPT {
            if let Some(old) = self.collected_order.pop_front() {
                self.loaders.remove(&old);
            }
        }
    }

    /// The loader was released (closed by its owner, or `Telemetry.markReleased`) when the JVM
    /// had run `full_gc_count` full collections. Releasing twice keeps the first release;
    /// releasing the bootstrap loader or a collected one does nothing. Returns whether the loader
    /// is now awaiting collection.
    pub fn mark_released(&mut self, id: LoaderId, full_gc_count: u64) -> bool {
        self.mark_released_at(
            id,
            Release {
                unix_ms: 0,
                full_gc_count,
            },
        )
    }

    /// [`Self::mark_released`] with the wall-clock time of the release.
    pub fn mark_released_at(&mut self, id: LoaderId, release: Release) -> bool {
        if id == BOOTSTRAP {
            return false;
        }
        match self.loaders.get_mut(&id) {
            Some(r) if r.alive => {
                r.released_at.get_or_insert(release);
                true
            }
            _ => false,
        }
    }

    /// Whether the loader is known, alive and already released.
    pub fn is_released(&self, id: LoaderId) -> bool {
        self.loaders.get(&id).is_some_and(|r| r.released_at.is_some())
    }

    /// Released loaders not yet judged: alive as far as the model knows, not leaked.
    pub fn awaiting_collection(&self) -> Vec<LoaderId> {
        self.loaders
            .iter()
            .filter(|(_, r)| r.alive && !r.leaked && r.released_at.is_some())
            .map(|(id, _)| *id)
            .collect()
    }

    /// Released loaders whose grace has run out at `full_gc_count` full collections with a grace
    /// of `cycles`: if the agent finds them alive now, they are leaked.
    pub fn leak_candidates(&self, full_gc_count: u64, cycles: u32) -> Vec<LoaderId> {
        self.loaders
            .iter()
            .filter(|(_, r)| r.alive && !r.leaked)
            .filter(|(_, r)| {
                r.released_at
                    .is_some_and(|at| full_gc_count.saturating_sub(at.full_gc_count) >= u64::from(cycles))
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// Every loader the model believes alive, bootstrap excepted (for a liveness check).
    pub fn believed_alive(&self) -> Vec<LoaderId> {
        self.loaders
            .iter()
            .filter(|(id, r)| **id != BOOTSTRAP && r.alive)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The agent confirmed a candidate alive: it is leaked, for these reasons.
    pub fn set_leaked(&mut self, id: LoaderId, suspects: Vec<Suspect>) {
        if let Some(r) = self.loaders.get_mut(&id) {
            if r.alive && r.released_at.is_some() {
                r.leaked = true;
                r.suspects = suspects;
            }
        }
    }

    /// The info of a known loader.
    pub fn info(&self, id: LoaderId) -> Option<&LoaderInfo> {
        self.loaders.get(&id).map(|r| &r.info)
    }

    pub fn classes_loaded_total(&self) -> u64 {
        self.classes_loaded_total
    }

    pub fn classes_unloaded_total(&self) -> u64 {
        self.classes_unloaded_total
    }

    /// Adds classes the agent could not observe being loaded (late attach: the JVM's own count
    /// minus the classes still loaded that the agent enumerated), so that totals stay JVM-wide.
    pub fn add_unobserved(&mut self, loaded: u64, unloaded: u64) {
        self.classes_loaded_total += loaded;
        self.classes_unloaded_total += unloaded;
    }

    /// The telemetry as a plain value, with the JVM-wide figures read by the agent.
    pub fn report(&self, figures: &JvmFigures) -> Report {
        Report {
            classes_loaded_total: self.classes_loaded_total,
            classes_unloaded_total: self.classes_unloaded_total,
            metaspace_used_bytes: figures.metaspace_used,
            metaspace_max_bytes: figures.metaspace_max,
            gc_count: figures.gc_count,
            metaspace_committed_bytes: figures.metaspace_committed,
            compressed_class_space_used_bytes: figures.compressed_class_space_used,
            compressed_class_space_committed_bytes: figures.compressed_class_space_committed,
            compressed_class_space_max_bytes: figures.compressed_class_space_max,
            full_gc_count: figures.full_gc_count,
            loaders: self
                .loaders
                .iter()
                .map(|(id, r)| LoaderReport {
                    id: *id,
                    class: r.info.class.clone(),
                    name: r.info.name.clone(),
                    parent: r.info.parent,
                    classes_defined: r.classes_defined,
                    classes_unloaded: r.classes_unloaded,
                    released: r.released_at.is_some(),
                    alive: r.alive,
                    leaked: r.leaked,
                    suspects: r.suspects.clone(),
                    kind: r.kind,
                    user_code: r.user_code,
                    flink_job_id: r.flink_job_id.clone(),
                    urls: r.urls.clone(),
                    seen_unix_ms: r.info.seen_unix_ms,
                    released_at: r.released_at,
                    collected_unix_ms: r.collected_unix_ms,
                    limits: r.limits.clone(),
                })
                .collect(),
            duplicate_classes: Vec::new(),
            duplicate_classes_cut: 0,
            limits: Vec::new(),
        }
    }
}

/// The telemetry at one moment: what the JSON report, the Prometheus endpoint and
/// `Telemetry.snapshot()` show. Field order is the JSON report's. Reading one back (the emulator
/// reads the agent's report) takes a missing field as its default and ignores unknown ones, so the
/// report may grow.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Report {
    pub classes_loaded_total: u64,
    pub classes_unloaded_total: u64,
    pub metaspace_used_bytes: i64,
    pub metaspace_max_bytes: i64,
    pub gc_count: u64,
    pub metaspace_committed_bytes: i64,
    pub compressed_class_space_used_bytes: i64,
    pub compressed_class_space_committed_bytes: i64,
    pub compressed_class_space_max_bytes: i64,
    pub full_gc_count: u64,
    pub loaders: Vec<LoaderReport>,
    /// Class names defined by two or more live loaders, biggest first (capped).
    pub duplicate_classes: Vec<DuplicateClass>,
    /// Duplicate names left out by the cap.
    pub duplicate_classes_cut: usize,
    /// What the agent could not do in this JVM (a missing capability, a class of unexpected
    /// shape), one line each.
    pub limits: Vec<String>,
}

/// One loader in a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LoaderReport {
    pub id: LoaderId,
    pub class: String,
    pub name: Option<String>,
    pub parent: Option<LoaderId>,
    pub classes_defined: u64,
    pub classes_unloaded: u64,
    pub released: bool,
    pub alive: bool,
    pub leaked: bool,
    pub suspects: Vec<Suspect>,
    /// See [`LoaderKind`].
    pub kind: LoaderKind,
    /// One job's (or one plugin use's) loader, expected to be released and collected.
    pub user_code: bool,
    /// The Flink job whose jars the loader loads (from its blob-cache URLs).
    pub flink_job_id: Option<String>,
    /// The loader's class path (for `URLClassLoader`s).
    pub urls: Vec<String>,
    /// When the agent first saw the loader (milliseconds since the epoch; 0: unknown).
    pub seen_unix_ms: u64,
    /// When it was released, if it was.
    pub released_at: Option<Release>,
    /// When the agent saw it collected, if it was and the time is known.
    pub collected_unix_ms: Option<u64>,
    /// What the leak analysis could not do for this loader (e.g. cut short by the pause budget).
    pub limits: Vec<String>,
}

impl Report {
    /// Loaders currently judged leaked.
    pub fn leaked_count(&self) -> usize {
        self.loaders.iter().filter(|l| l.leaked).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(class: &str) -> LoaderInfo {
        LoaderInfo {
            class: class.to_string(),
            ..LoaderInfo::default()
        }
    }

    #[test]
    fn counts_per_loader_and_jvm_wide() {
        let mut t = Telemetry::new();
        let a = t.register_loader(info("A")).unwrap();
        assert_eq!(t.class_defined(Some(a)), 1);
        assert_eq!(t.class_defined(Some(a)), 2);
        t.class_defined(Some(BOOTSTRAP));
        t.class_defined(None);
        t.class_unloaded(a);
        let r = t.report(&JvmFigures::default());
        assert_eq!(r.classes_loaded_total, 4);
        assert_eq!(r.classes_unloaded_total, 1);
        let la = r.loaders.iter().find(|l| l.id == a).unwrap();
        assert_eq!((la.classes_defined, la.classes_unloaded), (2, 1));
        assert_eq!(r.loaders[0].class, "<bootstrap>");
        assert_eq!(r.loaders[0].classes_defined, 1);
        // Collecting the loader unloads its remaining class, once.
        t.loader_collected(a);
        t.loader_collected(a);
        let r = t.report(&JvmFigures::default());
        let la = r.loaders.iter().find(|l| l.id == a).unwrap();
        assert_eq!((la.classes_defined, la.classes_unloaded), (2, 2));
        assert_eq!(r.classes_unloaded_total, 2);
    }

    #[test]
    fn released_loader_leaks_after_the_grace_of_full_collections() {
        let mut t = Telemetry::new();
        let a = t.register_loader(info("A")).unwrap();
        let b = t.register_loader(info("B")).unwrap();
        assert!(t.mark_released(a, 10));
        assert!(t.mark_released(a, 12), "second release keeps the first");
        assert!(t.mark_released(b, 11));
        assert_eq!(t.awaiting_collection(), vec![a, b]);
        assert!(t.leak_candidates(12, 3).is_empty());
        assert_eq!(t.leak_candidates(13, 3), vec![a]);
        assert_eq!(t.leak_candidates(14, 3), vec![a, b]);
        t.loader_collected(b);
        t.set_leaked(
            a,
            vec![Suspect {
                kind: SuspectKind::Thread,
                description: "thread \"x\"".into(),
            }],
        );
        assert!(t.leak_candidates(20, 3).is_empty(), "judged loaders are not candidates");
        let r = t.report(&JvmFigures::default());
        assert_eq!(r.leaked_count(), 1);
        let lb = r.loaders.iter().find(|l| l.id == b).unwrap();
        assert!(lb.released && !lb.alive && !lb.leaked);
        // A leaked loader collected later is no longer leaked.
        t.loader_collected(a);
        assert_eq!(t.report(&JvmFigures::default()).leaked_count(), 0);
        assert!(!t.mark_released(a, 30), "a collected loader cannot be released");
        assert!(!t.mark_released(BOOTSTRAP, 30));
    }

    #[test]
    fn set_leaked_ignores_unreleased_or_collected() {
        let mut t = Telemetry::new();
        let a = t.register_loader(info("A")).unwrap();
        t.set_leaked(a, vec![]);
        assert_eq!(t.report(&JvmFigures::default()).leaked_count(), 0);
    }

    #[test]
    fn collected_records_are_bounded() {
        let mut t = Telemetry::new();
        let ids: Vec<_> = (0..COLLECTED_KEPT + 10)
            .map(|i| t.register_loader(info(&format!("L{i}"))).unwrap())
            .collect();
        for id in &ids {
            t.loader_collected(*id);
        }
        assert!(!t.knows(ids[0]));
        assert!(t.knows(*ids.last().unwrap()));
        assert_eq!(t.report(&JvmFigures::default()).loaders.len(), COLLECTED_KEPT + 1);
        t.class_unloaded(ids[0]); // a dropped record still counts JVM-wide
        assert_eq!(t.classes_unloaded_total(), 1);
    }
}
