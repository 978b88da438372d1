//! The bookkeeping of a reference-path search: what the agent's `FollowReferences` callback
//! decides for each reference the JVM reports, and the path it yields.
//!
//! The JVM reports references from the GC roots outwards, each with a kind (the JVMTI
//! `jvmtiHeapReferenceKind` numbers below), the referrer's tag and a pointer to the referred
//! object's tag. [`ReferenceWalk::visit`] tags an object the first time it is reached (a walk
//! tag, unless it carries one of tmrt's tags already), remembers the edge it came through, and
//! says whether to follow its references; it stops at the target, at the object budget or at the
//! deadline, and never follows `java.lang.ref.Reference.referent` (a weakly, softly or phantom
//! reachable loader is not held by that edge). [`ReferenceWalk::outcome`] then gives the chain
//! of edges from a root to the target, which [`render_path`] turns into one line.

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// How a walk ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The chain `(tag, edge)` from a root (first) to the target (last).
    Found(Vec<(i64, Edge)>),
    /// The whole reachable heap was walked without reaching the target.
    Unreachable,
    /// The walk was cut short: why, and after how many objects.
    Stopped(&'static str, usize),
}

/// One search for a path to the object tagged `target`. See the module documentation.
#[derive(Debug)]
pub struct ReferenceWalk {
    target: i64,
    next: u64,
    edges: HashMap<i64, Edge>,
    found: bool,
    stop: Option<&'static str>,
    max_objects: usize,
    deadline: Instant,
    referent_index: HashMap<i64, i32>,
}

impl ReferenceWalk {
    /// A walk for `target`. Walk tags are numbered after `first_walk_number` (numbers up to it
    /// are taken, e.g. by array classes tagged for naming). `referent_index` maps the class tag
    /// of every `java.lang.ref.Reference` subclass to the field index of `referent`.
    pub fn new(
        target: i64,
        first_walk_number: u64,
        max_objects: usize,
        deadline: Instant,
        referent_index: HashMap<i64, i32>,
    ) -> Self {
        ReferenceWalk {
            target,
            next: first_walk_number,
            edges: HashMap::new(),
            found: false,
            stop: None,
            max_objects,
            deadline,
            referent_index,
        }
    }

    /// Decides for one reported reference. `referrer` is the referrer's tag (`None` for a root);
    /// `tag` is the referred object's tag, which this may set.
    pub fn visit(
        &mut self,
        kind: i32,
        index: i32,
        class_tag: i64,
        referrer_class_tag: i64,
        referrer: Option<i64>,
        tag: &mut i64,
    ) -> Visit {
        if self.found || self.stop.is_some() {
            return Visit::Abort;
        }
        if kind == kind::FIELD && self.referent_index.get(&referrer_class_tag) == Some(&index) {
            return Visit::Skip;
        }
        if *tag == 0 {
            self.next += 1;
            *tag = Tag::Walk(self.next).encode();
        }
        if self.edges.contains_key(tag) {
            return Visit::Skip;
        }
        self.edges.insert(
            *tag,
            Edge {
                referrer: referrer.unwrap_or(0),
                kind,
                index,
                class_tag,
            },
        );
        if *tag == self.target {
            self.found = true;
            return Visit::Abort;
        }
        if self.edges.len() >= self.max_objects {
            self.stop = Some("object budget exhausted");
            return Visit::Abort;
        }
        if self.edges.len().is_multiple_of(4096) && Instant::now() > self.deadline {
            self.stop = Some("time budget exhausted");
            return Visit::Abort;
        }
        Visit::Follow
    }

    /// How the walk ended.
    pub fn outcome(&self) -> Outcome {
        if !self.found {
            return match self.stop {
                Some(why) => Outcome::Stopped(why, self.edges.len()),
                None => Outcome::Unreachable,
            };
        }
        let mut chain = Vec::new();
        let mut t = self.target;
        while let Some(e) = self.edges.get(&t) {
            chain.push((t, *e));
            if e.referrer == 0 || chain.len() > self.edges.len() {
                break;
            }
            t = e.referrer;
        }
        chain.reverse();
        Outcome::Found(chain)
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

/// `GC root (thread): Lingerer -> field x: Y -> ...`.
pub fn render_path(steps: &[Step]) -> String {
    let mut out = String::new();
    for s in steps {
        match &s.label {
            None => out.push_str(&format!("GC root ({}): {}", root_name(s.root_kind), s.node)),
            Some(l) => out.push_str(&format!(" -> {l}: {}", s.node)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(3600)
    }

    #[test]
    fn finds_the_chain_from_a_root_and_skips_referents() {
        let target = Tag::Loader(7).encode();
        let weak_ref_class = Tag::Class { loader: 0, seq: 9 }.encode();
        let mut w = ReferenceWalk::new(target, 0, 100, far(), HashMap::from([(weak_ref_class, 0)]));
        let mut root = 0;
        assert_eq!(w.visit(kind::SYSTEM_CLASS, -1, 0, 0, None, &mut root), Visit::Follow);
        assert!(matches!(Tag::decode(root), Some(Tag::Walk(1))));
        // A WeakReference reached from the root; its referent (index 0) is not followed.
        let mut weak = 0;
        assert_eq!(
            w.visit(kind::STATIC_FIELD, 3, weak_ref_class, 0, Some(root), &mut weak),
            Visit::Follow
        );
        let mut t = target;
        assert_eq!(
            w.visit(kind::FIELD, 0, 0, weak_ref_class, Some(weak), &mut t),
            Visit::Skip
        );
        // Reached again from the root through a map: seen objects are not revisited.
        let mut map = 0;
        assert_eq!(
            w.visit(kind::STATIC_FIELD, 4, 0, 0, Some(root), &mut map),
            Visit::Follow
        );
        let mut again = map;
        assert_eq!(w.visit(kind::FIELD, 1, 0, 0, Some(root), &mut again), Visit::Skip);
        let mut t = target;
        assert_eq!(w.visit(kind::FIELD, 2, 0, 0, Some(map), &mut t), Visit::Abort);
        let Outcome::Found(chain) = w.outcome() else { panic!() };
        let tags: Vec<i64> = chain.iter().map(|(t, _)| *t).collect();
        assert_eq!(tags, vec![root, map, target]);
        assert_eq!(chain[2].1.index, 2);
        let mut late = 0;
        assert_eq!(
            w.visit(kind::FIELD, 0, 0, 0, Some(map), &mut late),
            Visit::Abort,
            "done"
        );
    }

    #[test]
    fn budget_and_unreachable() {
        let mut w = ReferenceWalk::new(Tag::Loader(1).encode(), 5, 2, far(), HashMap::new());
        let (mut a, mut b) = (0, 0);
        assert_eq!(w.visit(kind::THREAD, -1, 0, 0, None, &mut a), Visit::Follow);
        assert_eq!(a, Tag::Walk(6).encode(), "numbering starts after the reserved ones");
        assert_eq!(w.visit(kind::FIELD, 0, 0, 0, Some(a), &mut b), Visit::Abort);
        assert_eq!(w.outcome(), Outcome::Stopped("object budget exhausted", 2));
        let w = ReferenceWalk::new(Tag::Loader(1).encode(), 0, 10, far(), HashMap::new());
        assert_eq!(w.outcome(), Outcome::Unreachable);
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
            render_path(&steps),
            "GC root (thread): Lingerer -> static field CACHE: java.util.HashMap -> field #5: X -> element [4]: Y"
        );
    }
}
