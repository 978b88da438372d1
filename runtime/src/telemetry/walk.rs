//! The bookkeeping of a reference-path search: what the agent's `FollowReferences` callback
//! decides for each reference the JVM reports, and the path it yields.
//!
//! The JVM reports references from the GC roots outwards, each with a kind (the JVMTI
//! `jvmtiHeapReferenceKind` numbers below), the referrer's tag and a pointer to the referred
//! object's tag. [`ReferenceWalk::visit`] tags an object the first time it is reached (a walk
//! tag, numbered in order, unless it carries a tag already), remembers the edge it came through
//! (24 bytes per object, in a vector indexed by the walk number), and says whether to follow its
//! references; one walk looks for several targets at once and stops when all are found, at the
//! object budget, or at the deadline — checked every 64 references, because the walk runs at a
//! safepoint and its length is the pause every application thread sees. It never follows
//! `java.lang.ref.Reference.referent` (a weakly, softly or phantom reachable loader is not held
//! by that edge), nor the stack and JNI locals of the analysing thread itself.
//! [`ReferenceWalk::outcome`] then gives the chain of edges from a root to a target, which
//! [`render_path`] turns into one line.

use std::collections::HashMap;
use std::time::Instant;

use super::Tag;

/// `jvmtiHeapReferenceKind` values (JVMTI specification).
pub mod kind {
    pub const CLASS: i32 = 1;
    pub const FIELD: i32 = 2;
    pub const ARRAY_ELEMENT: i32 = 3;
    pub const CLASS_LOADER: i32 = 4;
    pub const SIGNERS: i32 = 5;
    pub const PROTECTION_DOMAIN: i32 = 6;
    pub const INTERFACE: i32 = 7;
    pub const STATIC_FIELD: i32 = 8;
    pub const CONSTANT_POOL: i32 = 9;
    pub const SUPERCLASS: i32 = 10;
    pub const JNI_GLOBAL: i32 = 21;
    pub const SYSTEM_CLASS: i32 = 22;
    pub const MONITOR: i32 = 23;
    pub const STACK_LOCAL: i32 = 24;
    pub const JNI_LOCAL: i32 = 25;
    pub const THREAD: i32 = 26;
    pub const OTHER: i32 = 27;
}

/// How one object was first reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Edge {
    /// The referrer's tag; 0 when the object is a GC root.
    pub referrer: i64,
    /// The reference kind ([`kind`]).
    pub kind: i32,
    /// Field or array index (JVMTI numbering), -1 for other kinds.
    pub index: i32,
    /// The tag of the object's class (0 when its class carries no tag).
    pub class_tag: i64,
}

/// Where a stack-local or JNI-local root lives: the thread's tag, and the frame's method and
/// location (`jmethodID` as an integer; 0 when unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RootFrame {
    pub thread_tag: i64,
    pub method: u64,
    pub location: i64,
    pub depth: i32,
}

/// What the callback returns to the JVM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visit {
    /// Visit the object's references (`JVMTI_VISIT_OBJECTS`).
    Follow,
    /// Do not visit them through this reference (0).
    Skip,
    /// Stop the walk (`JVMTI_VISIT_ABORT`).
    Abort,
}

/// How a walk ended for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The chain `(tag, edge)` from a root (first) to the target (last).
    Found(Vec<(i64, Edge)>),
    /// The whole reachable heap was walked without reaching the target.
    Unreachable,
    /// The walk was cut short: why, and after how many objects.
    Stopped(&'static str, usize),
}

/// Why a walk stops early.
pub const OVER_BUDGET: &str = "over the pause budget";
pub const OBJECT_BUDGET: &str = "object budget exhausted";

/// One search for paths to the objects tagged `targets`, in one heap walk. See the module
/// documentation.
#[derive(Debug)]
pub struct ReferenceWalk {
    targets: HashMap<i64, bool>,
    remaining: usize,
    first: u64,
    next: u64,
    /// Edges of the objects this walk tagged, by walk number - first - 1.
    walked: Vec<Edge>,
    /// Edges of objects that carried a tag already (classes, threads, targets).
    pretagged: HashMap<i64, Edge>,
    roots: HashMap<i64, RootFrame>,
    skip_thread: i64,
    stop: Option<&'static str>,
    max_objects: usize,
    deadline: Option<Instant>,
    referent_index: HashMap<i64, i32>,
    visits: u64,
    past_roots: bool,
    last_check: Option<Instant>,
}

impl ReferenceWalk {
    /// A walk for `targets`. Walk tags are numbered after `first_walk_number` (numbers up to it
    /// are taken, e.g. by classes tagged for naming). `referent_index` maps the class tag of every
    /// `java.lang.ref.Reference` subclass to the field index of `referent`. `deadline`: `None`
    /// walks until done.
    pub fn new(
        targets: &[i64],
        first_walk_number: u64,
        max_objects: usize,
        deadline: Option<Instant>,
        referent_index: HashMap<i64, i32>,
    ) -> Self {
        ReferenceWalk {
            targets: targets.iter().map(|t| (*t, false)).collect(),
            remaining: targets.len(),
            first: first_walk_number,
            next: first_walk_number,
            walked: Vec::new(),
            pretagged: HashMap::new(),
            roots: HashMap::new(),
            skip_thread: 0,
            stop: None,
            max_objects,
            deadline,
            referent_index,
            visits: 0,
            past_roots: false,
            last_check: None,
        }
    }

    /// Whether the walk went past the GC roots (after which HotSpot before JDK 19 ends it with a
    /// pass over the whole heap).
    pub fn past_roots(&self) -> bool {
        self.past_roots
    }

    /// About when the last reference was reported (to the 64 references): the end of the walk
    /// proper, after which the JVM only cleans up.
    pub fn last_visit(&self) -> Option<Instant> {
        self.last_check
    }

    /// Stack-local and JNI-local roots of the thread tagged `tag` (the analysing thread itself)
    /// are not followed: they are the analysis' own references.
    pub fn skip_roots_of_thread(&mut self, tag: i64) {
        self.skip_thread = tag;
    }

    fn edge_of(&self, tag: i64) -> Option<&Edge> {
        match Tag::decode(tag) {
            Some(Tag::Walk(n)) if n > self.first => self.walked.get((n - self.first - 1) as usize),
            _ => self.pretagged.get(&tag),
        }
    }

    /// Decides for one reported reference. `referrer` is the referrer's tag (`None` for a root);
    /// `tag` is the referred object's tag, which this may set; `frame`, for stack and JNI local
    /// roots, where the reference lives.
    #[allow(clippy::too_many_arguments)]
    pub fn visit(
        &mut self,
        kind: i32,
        index: i32,
        class_tag: i64,
        referrer_class_tag: i64,
        referrer: Option<i64>,
        frame: Option<RootFrame>,
        tag: &mut i64,
    ) -> Visit {
        if self.remaining == 0 || self.stop.is_some() {
            return Visit::Abort;
        }
        self.visits += 1;
        self.past_roots |= referrer.is_some();
        if self.visits.is_multiple_of(64) {
            let now = Instant::now();
            self.last_check = Some(now);
            if self.deadline.is_some_and(|d| now > d) {
                self.stop = Some(OVER_BUDGET);
                return Visit::Abort;
            }
        }
        if let Some(f) = frame {
            if self.skip_thread != 0 && f.thread_tag == self.skip_thread {
                return Visit::Skip;
            }
        }
        if kind == kind::FIELD && self.referent_index.get(&referrer_class_tag) == Some(&index) {
            return Visit::Skip;
        }
        let fresh = *tag == 0;
        if fresh {
            if self.walked.len() >= self.max_objects {
                self.stop = Some(OBJECT_BUDGET);
                return Visit::Abort;
            }
            self.next += 1;
            *tag = Tag::Walk(self.next).encode();
        } else if self.edge_of(*tag).is_some() {
            return Visit::Skip;
        }
        let edge = Edge {
            referrer: referrer.unwrap_or(0),
            kind,
            index,
            class_tag,
        };
        if fresh {
            self.walked.push(edge);
        } else {
            self.pretagged.insert(*tag, edge);
        }
        if let Some(f) = frame {
            self.roots.insert(*tag, f);
        }
        if let Some(found) = self.targets.get_mut(tag) {
            if !*found {
                *found = true;
                self.remaining -= 1;
            }
            return if self.remaining == 0 { Visit::Abort } else { Visit::Skip };
        }
        Visit::Follow
    }

    /// Objects reached.
    pub fn reached(&self) -> usize {
        self.walked.len() + self.pretagged.len()
    }

    /// How the walk ended for `target`.
    pub fn outcome(&self, target: i64) -> Outcome {
        if self.targets.get(&target) != Some(&true) {
            return match self.stop {
                Some(why) => Outcome::Stopped(why, self.reached()),
                None => Outcome::Unreachable,
            };
        }
        let mut chain = Vec::new();
        let mut t = target;
        while let Some(e) = self.edge_of(t) {
            chain.push((t, *e));
            if e.referrer == 0 || chain.len() > self.reached() {
                break;
            }
            t = e.referrer;
        }
        chain.reverse();
        Outcome::Found(chain)
    }

    /// Where the root `tag` lives, when it is a stack or JNI local.
    pub fn root_frame(&self, tag: i64) -> Option<RootFrame> {
        self.roots.get(&tag).copied()
    }
}

/// The name of a root kind.
pub fn root_name(kind: i32) -> &'static str {
    match kind {
        kind::JNI_GLOBAL => "JNI global",
        kind::SYSTEM_CLASS => "system class",
        kind::MONITOR => "monitor",
        kind::STACK_LOCAL => "stack local",
        kind::JNI_LOCAL => "JNI local",
        kind::THREAD => "thread",
        _ => "other root",
    }
}

/// The label of a non-root edge; `field` is the resolved field name for field kinds.
pub fn edge_label(kind: i32, index: i32, field: Option<&str>) -> String {
    let field = || field.map_or_else(|| format!("#{index}"), str::to_string);
    match kind {
        kind::FIELD => format!("field {}", field()),
        kind::STATIC_FIELD => format!("static field {}", field()),
        kind::ARRAY_ELEMENT => format!("element [{index}]"),
        kind::CLASS => "class".to_string(),
        kind::CLASS_LOADER => "defining loader".to_string(),
        kind::SIGNERS => "signers".to_string(),
        kind::PROTECTION_DOMAIN => "protection domain".to_string(),
        kind::INTERFACE => "interface".to_string(),
        kind::CONSTANT_POOL => "constant pool".to_string(),
        kind::SUPERCLASS => "superclass".to_string(),
        k => format!("reference kind {k}"),
    }
}

/// One step of a path: the edge label (`None` for the root) and the object reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub root_kind: i32,
    pub label: Option<String>,
    pub node: String,
}

/// `GC root (thread): Lingerer -> field x: Y -> ...`; `root_place` names the thread and frame of
/// a stack or JNI local root.
pub fn render_path(steps: &[Step], root_place: Option<&str>) -> String {
    let mut out = String::new();
    for s in steps {
        match &s.label {
            None => match root_place {
                Some(place) => out.push_str(&format!("GC root ({}, {place}): {}", root_name(s.root_kind), s.node)),
                None => out.push_str(&format!("GC root ({}): {}", root_name(s.root_kind), s.node)),
            },
            Some(l) => out.push_str(&format!(" -> {l}: {}", s.node)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn finds_the_chains_from_a_root_and_skips_referents() {
        let target = Tag::Loader(7).encode();
        let weak_ref_class = Tag::Class { loader: 0, seq: 9 }.encode();
        let mut w = ReferenceWalk::new(&[target], 0, 100, None, HashMap::from([(weak_ref_class, 0)]));
        let mut root = 0;
        assert_eq!(
            w.visit(kind::SYSTEM_CLASS, -1, 0, 0, None, None, &mut root),
            Visit::Follow
        );
        assert!(matches!(Tag::decode(root), Some(Tag::Walk(1))));
        // A WeakReference reached from the root; its referent (index 0) is not followed.
        let mut weak = 0;
        assert_eq!(
            w.visit(kind::STATIC_FIELD, 3, weak_ref_class, 0, Some(root), None, &mut weak),
            Visit::Follow
        );
        let mut t = target;
        assert_eq!(
            w.visit(kind::FIELD, 0, 0, weak_ref_class, Some(weak), None, &mut t),
            Visit::Skip
        );
        // Reached again from the root through a map: seen objects are not revisited.
        let mut map = 0;
        assert_eq!(
            w.visit(kind::STATIC_FIELD, 4, 0, 0, Some(root), None, &mut map),
            Visit::Follow
        );
        let mut again = map;
        assert_eq!(w.visit(kind::FIELD, 1, 0, 0, Some(root), None, &mut again), Visit::Skip);
        let mut t = target;
        assert_eq!(
            w.visit(kind::FIELD, 2, 0, 0, Some(map), None, &mut t),
            Visit::Abort,
            "all found"
        );
        let Outcome::Found(chain) = w.outcome(target) else {
            panic!()
        };
        let tags: Vec<i64> = chain.iter().map(|(t, _)| *t).collect();
        assert_eq!(tags, vec![root, map, target]);
        assert_eq!(chain[2].1.index, 2);
        let mut late = 0;
        assert_eq!(
            w.visit(kind::FIELD, 0, 0, 0, Some(map), None, &mut late),
            Visit::Abort,
            "done"
        );
    }

    #[test]
    fn several_targets_in_one_walk_and_stack_roots() {
        let (a, b) = (Tag::Loader(1).encode(), Tag::Loader(2).encode());
        let agent_thread = Tag::Walk(3).encode();
        let mut w = ReferenceWalk::new(&[a, b], 5, 100, None, HashMap::new());
        w.skip_roots_of_thread(agent_thread);
        let own = RootFrame {
            thread_tag: agent_thread,
            ..RootFrame::default()
        };
        let mut t = a;
        assert_eq!(
            w.visit(kind::JNI_LOCAL, -1, 0, 0, None, Some(own), &mut t),
            Visit::Skip,
            "the analysis' own reference"
        );
        let frame = RootFrame {
            thread_tag: Tag::Walk(2).encode(),
            method: 77,
            location: 4,
            depth: 1,
        };
        let mut local = 0;
        assert_eq!(
            w.visit(kind::STACK_LOCAL, -1, 0, 0, None, Some(frame), &mut local),
            Visit::Follow
        );
        let mut t = a;
        assert_eq!(
            w.visit(kind::FIELD, 0, 0, 0, Some(local), None, &mut t),
            Visit::Skip,
            "found, not followed"
        );
        assert!(matches!(w.outcome(a), Outcome::Found(c) if c.len() == 2));
        assert_eq!(w.root_frame(local), Some(frame));
        assert_eq!(w.outcome(b), Outcome::Unreachable);
    }

    #[test]
    fn budgets_and_unreachable() {
        let mut w = ReferenceWalk::new(&[Tag::Loader(1).encode()], 5, 1, None, HashMap::new());
        let (mut a, mut b) = (0, 0);
        assert_eq!(w.visit(kind::THREAD, -1, 0, 0, None, None, &mut a), Visit::Follow);
        assert_eq!(a, Tag::Walk(6).encode(), "numbering starts after the reserved ones");
        assert_eq!(w.visit(kind::FIELD, 0, 0, 0, Some(a), None, &mut b), Visit::Abort);
        assert_eq!(w.outcome(Tag::Loader(1).encode()), Outcome::Stopped(OBJECT_BUDGET, 1));
        let past = Instant::now() - Duration::from_secs(1);
        let mut w = ReferenceWalk::new(&[Tag::Loader(1).encode()], 0, 1000, Some(past), HashMap::new());
        let mut last = Visit::Follow;
        for _ in 0..64 {
            let mut t = 0;
            last = w.visit(kind::THREAD, -1, 0, 0, None, None, &mut t);
        }
        assert_eq!(last, Visit::Abort);
        assert_eq!(w.outcome(Tag::Loader(1).encode()), Outcome::Stopped(OVER_BUDGET, 63));
        let w = ReferenceWalk::new(&[Tag::Loader(1).encode()], 0, 10, None, HashMap::new());
        assert_eq!(w.outcome(Tag::Loader(1).encode()), Outcome::Unreachable);
    }

    #[test]
    fn renders_roots_and_edges() {
        let steps = vec![
            Step {
                root_kind: kind::THREAD,
                label: None,
                node: "Lingerer".into(),
            },
            Step {
                root_kind: 0,
                label: Some(edge_label(kind::STATIC_FIELD, 3, Some("CACHE"))),
                node: "java.util.HashMap".into(),
            },
            Step {
                root_kind: 0,
                label: Some(edge_label(kind::FIELD, 5, None)),
                node: "X".into(),
            },
            Step {
                root_kind: 0,
                label: Some(edge_label(kind::ARRAY_ELEMENT, 4, None)),
                node: "Y".into(),
            },
        ];
        assert_eq!(
            render_path(&steps, None),
            "GC root (thread): Lingerer -> static field CACHE: java.util.HashMap -> field #5: X -> element [4]: Y"
        );
        assert_eq!(
            render_path(&steps[..1], Some("thread \"worker\" in Job.run(Job.java:7)")),
            "GC root (thread, thread \"worker\" in Job.run(Job.java:7)): Lingerer"
        );
    }
}
