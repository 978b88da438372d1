//! The bookkeeping of a heap search the agent runs with JNI reads, outside any safepoint: from
//! chosen starting objects (a thread, the static fields of classes the JVM's own loaders defined)
//! breadth first towards the objects that keep a leaked loader alive.
//!
//! The agent owns the objects (it holds them in Java arrays while the search runs) and reads
//! their fields; [`Search`] owns the decisions: every object reached gets a [`NodeId`] (the
//! agent tags the object with it, so that an object reached twice is expanded once), remembers
//! how it was reached (its parent and the [`Edge`]), and comes back out of [`Search::next_to_expand`] in
//! breadth-first order — shortest paths first — except that the elements of a big array past the
//! first [`ARRAY_PREFIX`] are deferred until everything else was expanded, so that one array of
//! millions of objects cannot hide a short path elsewhere. The search stops at an object budget
//! and a deadline (the caller's clock; checked by the agent), and [`Search::path`] gives the
//! chain from a root to any node for rendering.

use std::collections::VecDeque;

/// A reached object's number (its tag in the agent's scratch JVMTI environment is `id + 1`).
pub type NodeId = u32;

/// How an object was reached from its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// A starting object: the caller's root number.
    Root(u32),
    /// An instance field: the class-table index of the field's declaring class and the field's
    /// index in the agent's field list for it.
    Field { class: u32, field: u16 },
    /// A static field of the root class (its index in that class's static field list).
    Static { field: u16 },
    /// An element of an object array.
    Element(u32),
}

/// One reached object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    pub parent: Option<NodeId>,
    pub edge: Edge,
    /// The class-table index of the object's class (the agent's numbering).
    pub class: u32,
    pub depth: u16,
}

/// Array elements at or past this index wait until everything else was expanded.
pub const ARRAY_PREFIX: u32 = 256;

/// How many elements of a big array's tail one [`Work::ArrayTail`] step reaches.
pub const ARRAY_STEP: u32 = 4096;

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// Expand the object: reach everything it references (an array: its first
    /// [`ARRAY_PREFIX`] elements, the rest as a tail).
    Expand(NodeId),
    /// Reach the elements of array `NodeId` from this index on (at most [`ARRAY_STEP`]; queue
    /// the rest with [`Search::defer_tail`]).
    ArrayTail(NodeId, u32),
}

/// Why a search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Every reachable object (within the depth limit) was expanded.
    Exhausted,
    /// The object budget ran out.
    ObjectBudget,
    /// The deadline passed.
    Deadline,
}

/// A breadth-first search's state. See the module documentation.
#[derive(Debug)]
pub struct Search {
    nodes: Vec<Node>,
    queue: VecDeque<NodeId>,
    deferred: VecDeque<Work>,
    max_objects: usize,
    max_depth: u16,
    end: Option<End>,
}

impl Search {
    /// A search that reaches at most `max_objects` objects, `max_depth` edges from a root.
    pub fn new(max_objects: usize, max_depth: u16) -> Self {
        Search {
            nodes: Vec::new(),
            queue: VecDeque::new(),
            deferred: VecDeque::new(),
            max_objects,
            max_depth,
            end: None,
        }
    }

    /// Records a starting object; `None` when the object budget is exhausted.
    pub fn root(&mut self, root: u32, class: u32) -> Option<NodeId> {
        self.add(None, Edge::Root(root), class, 0)
    }

    /// Records an object reached from `parent` through `edge`, not reached before (the agent
    /// checks the object's tag first). `None` when the budget is exhausted, which ends the
    /// search.
    pub fn reach(&mut self, parent: NodeId, edge: Edge, class: u32) -> Option<NodeId> {
        let depth = self.nodes[parent as usize].depth.saturating_add(1);
        self.add(Some(parent), edge, class, depth)
    }

    fn add(&mut self, parent: Option<NodeId>, edge: Edge, class: u32, depth: u16) -> Option<NodeId> {
        if self.end.is_some() {
            return None;
        }
        if self.nodes.len() >= self.max_objects {
            self.end = Some(End::ObjectBudget);
            return None;
        }
        let id = self.nodes.len() as NodeId;
        self.nodes.push(Node {
            parent,
            edge,
            class,
            depth,
        });
        Some(id)
    }

    /// Queues a reached object for expansion (the caller does not queue targets or leaves).
    pub fn enqueue(&mut self, id: NodeId) {
        let node = self.nodes[id as usize];
        if node.depth >= self.max_depth {
            return;
        }
        match node.edge {
            Edge::Element(i) if i >= ARRAY_PREFIX => self.deferred.push_back(Work::Expand(id)),
            _ => self.queue.push_back(id),
        }
    }

    /// Queues the rest of a big array, from element `from`, behind everything else.
    pub fn defer_tail(&mut self, array: NodeId, from: u32) {
        self.deferred.push_back(Work::ArrayTail(array, from));
    }

    /// The next piece of work, breadth first; `None` when the search is over.
    pub fn next_to_expand(&mut self) -> Option<Work> {
        if self.end.is_some() {
            return None;
        }
        match self
            .queue
            .pop_front()
            .map(Work::Expand)
            .or_else(|| self.deferred.pop_front())
        {
            Some(w) => Some(w),
            None => {
                self.end = Some(End::Exhausted);
                None
            }
        }
    }

    /// The caller's clock ran out.
    pub fn deadline_passed(&mut self) {
        self.end.get_or_insert(End::Deadline);
    }

    /// Why the search ended (`None` while it runs).
    pub fn end(&self) -> Option<End> {
        self.end
    }

    /// Objects reached so far.
    pub fn reached(&self) -> usize {
        self.nodes.len()
    }

    pub fn node(&self, id: NodeId) -> Node {
        self.nodes[id as usize]
    }

    /// The chain from the root to `id`, root first.
    pub fn path(&self, id: NodeId) -> Vec<Node> {
        let mut out = Vec::new();
        let mut at = Some(id);
        while let Some(i) = at {
            let n = self.nodes[i as usize];
            out.push(n);
            at = n.parent;
            if out.len() > self.nodes.len() {
                break; // cannot happen (parents are older), but never loop
            }
        }
        out.reverse();
        out
    }
}

/// Whether a search follows the instance field `field` declared by `class` (binary names).
/// Weak, soft and phantom references do not hold their referent (`Reference.referent`, and the
/// GC's own `discovered` list); a thread's context classloader is judged on its own (by the
/// agent's thread check), so the search from a thread does not also report it as a path
/// (`from_thread`).
pub fn follows_field(class: &str, field: &str, from_thread: bool) -> bool {
    let weak = class == "java.lang.ref.Reference" && (field == "referent" || field == "discovered");
    let context = from_thread && class == "java.lang.Thread" && field == "contextClassLoader";
    !weak && !context
}

/// Whether objects of a class have nothing worth following (the search reaches them but never
/// expands them): strings, boxed primitives and arrays of primitives.
pub fn is_leaf_class(class: &str) -> bool {
    matches!(
        class,
        "java.lang.String"
            | "java.lang.Integer"
            | "java.lang.Long"
            | "java.lang.Short"
            | "java.lang.Byte"
            | "java.lang.Character"
            | "java.lang.Boolean"
            | "java.lang.Float"
            | "java.lang.Double"
            | "java.math.BigInteger"
            | "java.math.BigDecimal"
    ) || (class.ends_with("[]")
        && matches!(
            class.trim_end_matches("[]"),
            "boolean" | "byte" | "char" | "short" | "int" | "long" | "float" | "double"
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breadth_first_with_big_arrays_deferred() {
        let mut s = Search::new(10_000, 50);
        let a = s.root(0, 1).unwrap();
        let b = s.root(1, 1).unwrap();
        s.enqueue(a);
        s.enqueue(b);
        assert_eq!(s.next_to_expand(), Some(Work::Expand(a)));
        // `a` is a big array: its first elements go in order, the tail waits.
        let early = s.reach(a, Edge::Element(0), 2).unwrap();
        s.defer_tail(a, ARRAY_PREFIX);
        let late = s.reach(a, Edge::Element(ARRAY_PREFIX + 5), 2).unwrap();
        s.enqueue(late);
        s.enqueue(early);
        assert_eq!(s.next_to_expand(), Some(Work::Expand(b)));
        let deep = s.reach(b, Edge::Field { class: 1, field: 0 }, 3).unwrap();
        s.enqueue(deep);
        assert_eq!(s.next_to_expand(), Some(Work::Expand(early)));
        assert_eq!(
            s.next_to_expand(),
            Some(Work::Expand(deep)),
            "a short path beats the array's tail"
        );
        assert_eq!(s.next_to_expand(), Some(Work::ArrayTail(a, ARRAY_PREFIX)));
        assert_eq!(s.next_to_expand(), Some(Work::Expand(late)));
        assert_eq!(s.next_to_expand(), None);
        assert_eq!(s.end(), Some(End::Exhausted));
        let path = s.path(deep);
        assert_eq!(path.len(), 2);
        assert_eq!(path[0].edge, Edge::Root(1));
        assert_eq!(path[1].edge, Edge::Field { class: 1, field: 0 });
    }

    #[test]
    fn field_and_leaf_policy() {
        assert!(!follows_field("java.lang.ref.Reference", "referent", false));
        assert!(follows_field("java.lang.Thread", "contextClassLoader", false));
        assert!(!follows_field("java.lang.Thread", "contextClassLoader", true));
        assert!(follows_field("java.util.HashMap", "table", true));
        assert!(is_leaf_class("byte[]") && is_leaf_class("int[][]") && is_leaf_class("java.lang.String"));
        assert!(!is_leaf_class("java.lang.Object[]") && !is_leaf_class("java.util.HashMap"));
    }

    #[test]
    fn budgets_and_depth() {
        let mut s = Search::new(2, 1);
        let r = s.root(0, 0).unwrap();
        s.enqueue(r);
        assert_eq!(s.next_to_expand(), Some(Work::Expand(r)));
        let c = s.reach(r, Edge::Static { field: 0 }, 0).unwrap();
        s.enqueue(c); // at the depth limit: not expanded
        assert_eq!(s.reach(r, Edge::Static { field: 1 }, 0), None);
        assert_eq!(s.end(), Some(End::ObjectBudget));
        assert_eq!(s.next_to_expand(), None);
        let mut s = Search::new(10, 5);
        let r = s.root(0, 0).unwrap();
        s.enqueue(r);
        s.deadline_passed();
        assert_eq!(s.next_to_expand(), None);
        assert_eq!(s.end(), Some(End::Deadline));
        assert_eq!(s.reached(), 1);
    }
}
