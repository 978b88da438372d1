//! A heap search with JNI reads, outside any safepoint: from starting objects (threads, static
//! fields) breadth first to the objects that keep a leaked loader alive.
//!
//! [`runtime::telemetry::search::Search`] decides the order and keeps the paths; this module
//! reads the JVM. Each reached object is tagged in a [`ScratchEnv`] of its own (so that an object
//! reached twice is expanded once, and all tags vanish with the environment) and held in Java
//! `Object[]` chunks until the search ends. Per class it learns once, with JVMTI, which of its
//! fields hold references (`GetClassFields`, the superclasses' too) and who defined it; an object
//! whose class a *target* loader defined, a target loader itself, or a `Class` of a target loader
//! is a *hit*: the search records the path to it and does not go further. Classloaders, thread
//! groups and live threads other than the root are not expanded: a loader reaches every class it
//! defined, a group every thread, and live threads are the thread search's roots. Every JNI call here runs ordinary Java-thread code — no
//! safepoint is requested — and the search stops at its object budget or deadline.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use jni::objects::{GlobalRef, JClass, JFieldID, JObject, JObjectArray, JStaticFieldID};
use jni::signature::{JavaType, ReturnType};
use jni::sys::jfieldID;
use jni::JNIEnv;
use runtime::telemetry::search::{follows_field, is_leaf_class, Edge, NodeId, Search, Work, ARRAY_PREFIX, ARRAY_STEP};
use runtime::telemetry::{LoaderId, Tag};

use super::jvmti::{FieldId, ScratchEnv, ACC_STATIC};
use super::loaders::known_loader_id;
use super::state::Agent;

/// Objects per `Object[]` chunk that holds the reached objects.
const CHUNK: usize = 4096;
/// Scratch tags at or above this name classes (class-table index + base); below, nodes (id + 1).
const CLASS_TAG_BASE: i64 = 1 << 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Nothing to follow (strings, boxed values, primitive arrays).
    Leaf,
    ObjectArray,
    Instance,
    /// A `java.lang.Class`.
    Mirror,
    /// A `java.lang.ClassLoader` (followed only through a wrapper's field to the loader it wraps).
    Loader,
    /// A `java.lang.Thread`.
    Thread,
    /// A `java.lang.ThreadGroup`.
    Group,
}

struct ClassInfo {
    name: String,
    /// The defining loader (registered id), `None` for the bootstrap loader or unknown.
    loader: Option<LoaderId>,
    shape: Shape,
    /// Reference-typed instance fields: (field id, declaring class, name).
    fields: Vec<(usize, String, String)>,
    /// The wrapped loader's field, for a wrapper loader class.
    wrapper: Option<usize>,
}

/// A hit: the leaked loader it keeps alive, the root it was reached from, and the node.
#[derive(Debug, Clone, Copy)]
pub struct Hit {
    pub loader: LoaderId,
    pub root: u32,
    pub node: NodeId,
}

/// Limits of one search.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub max_objects: usize,
    pub max_depth: u16,
    pub deadline: Instant,
    /// Most hits per loader (the shortest ones are found first).
    pub max_hits_per_loader: usize,
}

/// One search. See the module documentation.
pub struct JniSearch<'a> {
    agent: &'a Agent,
    scratch: ScratchEnv,
    targets: HashSet<LoaderId>,
    from_thread: bool,
    classes: Vec<ClassInfo>,
    search: Search,
    chunks: Vec<GlobalRef>,
    hits: Vec<Hit>,
    hits_per_loader: HashMap<LoaderId, usize>,
    budget: Budget,
    roots: u32,
}

fn field_id(raw: usize) -> JFieldID {
    // SAFETY: an instance field id JVMTI's GetClassFields returned for a class that is still
    // loaded (the search holds an instance of it, or the class itself, while it runs).
    unsafe { JFieldID::from_raw(raw as jfieldID) }
}

impl<'a> JniSearch<'a> {
    /// A search for objects that keep any of `targets` alive. `from_thread`: the roots are
    /// threads (see [`follows_field`]).
    pub fn new(agent: &'a Agent, targets: &HashSet<LoaderId>, from_thread: bool, budget: Budget) -> Option<Self> {
        // SAFETY: the agent's JavaVM*, and we run in the live phase on a Java thread.
        let scratch = unsafe { ScratchEnv::new(agent.vm.0) }.ok()?;
        Some(JniSearch {
            agent,
            scratch,
            targets: targets.clone(),
            from_thread,
            classes: Vec::new(),
            search: Search::new(budget.max_objects, budget.max_depth),
            chunks: Vec::new(),
            hits: Vec::new(),
            hits_per_loader: HashMap::new(),
            budget,
            roots: 0,
        })
    }

    /// The hits found, in the order found (shortest paths first).
    pub fn hits(&self) -> &[Hit] {
        &self.hits
    }

    /// Objects reached and why the search ended (`None`: still running).
    pub fn summary(&self) -> (usize, Option<runtime::telemetry::search::End>) {
        (self.search.reached(), self.search.end())
    }

    fn class_index(&mut self, env: &mut JNIEnv<'_>, class: &JClass<'_>) -> Option<u32> {
        let tag = self.scratch.jvmti().tag(class);
        if tag >= CLASS_TAG_BASE {
            return Some((tag - CLASS_TAG_BASE) as u32);
        }
        let info = self.class_info(env, class)?;
        let idx = self.classes.len() as u32;
        self.classes.push(info);
        let _ = self.scratch.jvmti().set_tag(class, CLASS_TAG_BASE + i64::from(idx));
        Some(idx)
    }

    fn class_info(&self, env: &mut JNIEnv<'_>, class: &JClass<'_>) -> Option<ClassInfo> {
        let jvmti = self.agent.jvmti;
        let jdk = self.agent.jdk.get()?;
        let name = jvmti.class_name(class)?;
        let loader = jvmti.class_loader(env, class).ok()?;
        let loader_id = if loader.is_null() {
            None
        } else {
            known_loader_id(self.agent, &loader)
        };
        let _ = env.delete_local_ref(loader);
        let assignable = |env: &mut JNIEnv<'_>, to: &GlobalRef| {
            env.is_assignable_from(class, <&JClass>::from(to.as_obj()))
                .unwrap_or(false)
        };
        let shape = if is_leaf_class(&name) {
            Shape::Leaf
        } else if name == "java.lang.Class" {
            Shape::Mirror
        } else if name.ends_with("[]") {
            Shape::ObjectArray
        } else if assignable(env, &jdk.class_loader) {
            Shape::Loader
        } else if assignable(env, &jdk.thread) {
            Shape::Thread
        } else if name == "java.lang.ThreadGroup" {
            Shape::Group
        } else {
            Shape::Instance
        };
        let mut fields = Vec::new();
        let mut wrapper = None;
        if matches!(shape, Shape::Instance | Shape::Thread | Shape::Loader) {
            let wrapper_field = runtime::telemetry::kind::wrapper_field(&name);
            let mut c = env.new_local_ref(class).ok().map(JClass::from);
            while let Some(k) = c {
                let kname = jvmti.class_name(&k).unwrap_or_default();
                for f in jvmti.class_fields(&k).unwrap_or_default() {
                    let Some((fname, sig)) = jvmti.field_name(&k, f) else {
                        continue;
                    };
                    let is_static = jvmti.field_modifiers(&k, f).is_ok_and(|m| m & ACC_STATIC != 0);
                    if is_static || !(sig.starts_with('L') || sig.starts_with('[')) {
                        continue;
                    }
                    if wrapper_field == Some(fname.as_str()) && kname == name {
                        wrapper = Some(f.as_raw() as usize);
                    }
                    if follows_field(&kname, &fname, self.from_thread) {
                        fields.push((f.as_raw() as usize, kname.clone(), fname));
                    }
                }
                let sup = env.get_superclass(&k).ok().flatten();
                let _ = env.delete_local_ref(k);
                c = sup;
            }
        }
        Some(ClassInfo {
            name,
            loader: loader_id,
            shape,
            fields,
            wrapper,
        })
    }

    fn store(&mut self, env: &mut JNIEnv<'_>, id: NodeId, obj: &JObject<'_>) -> jni::errors::Result<()> {
        let (chunk, slot) = (id as usize / CHUNK, id as usize % CHUNK);
        while self.chunks.len() <= chunk {
            let array = env.new_object_array(CHUNK as i32, "java/lang/Object", JObject::null())?;
            let global = env.new_global_ref(&array)?;
            env.delete_local_ref(array)?;
            self.chunks.push(global);
        }
        let array = <&JObjectArray>::from(self.chunks[chunk].as_obj());
        env.set_object_array_element(array, slot as i32, obj)
    }

    fn load<'l>(&self, env: &mut JNIEnv<'l>, id: NodeId) -> jni::errors::Result<JObject<'l>> {
        let (chunk, slot) = (id as usize / CHUNK, id as usize % CHUNK);
        let array = <&JObjectArray>::from(self.chunks[chunk].as_obj());
        env.get_object_array_element(array, slot as i32)
    }

    fn record_hit(&mut self, loader: LoaderId, node: NodeId) {
        let n = self.hits_per_loader.entry(loader).or_default();
        if *n >= self.budget.max_hits_per_loader {
            return;
        }
        *n += 1;
        let mut root = node;
        while let Some(p) = self.search.node(root).parent {
            root = p;
        }
        let Edge::Root(r) = self.search.node(root).edge else {
            return;
        };
        self.hits.push(Hit { loader, root: r, node });
    }

    /// Whether every target has all the hits it may get.
    fn saturated(&self) -> bool {
        self.targets
            .iter()
            .all(|l| self.hits_per_loader.get(l).copied().unwrap_or(0) >= self.budget.max_hits_per_loader)
    }

    /// The target loader `obj` keeps alive by itself: it is one, or a `Class` one defined, or an
    /// instance of a class one defined.
    fn target_of(&self, env: &mut JNIEnv<'_>, obj: &JObject<'_>, class: u32) -> Option<LoaderId> {
        let info = &self.classes[class as usize];
        if info.loader.is_some_and(|l| self.targets.contains(&l)) {
            return info.loader;
        }
        match info.shape {
            Shape::Loader => known_loader_id(self.agent, obj).filter(|l| self.targets.contains(l)),
            Shape::Mirror => {
                let mirror = <&JClass>::from(obj);
                let loader = self.agent.jvmti.class_loader(env, mirror).ok()?;
                let id = if loader.is_null() {
                    None
                } else {
                    known_loader_id(self.agent, &loader)
                };
                let _ = env.delete_local_ref(loader);
                id.filter(|l| self.targets.contains(l))
            }
            _ => None,
        }
    }

    /// Reaches `obj` from `parent` (a root when `None`) through `edge`.
    fn reach(&mut self, env: &mut JNIEnv<'_>, parent: Option<NodeId>, edge: Edge, obj: &JObject<'_>) {
        if obj.is_null() || self.scratch.jvmti().tag(obj) != 0 {
            return; // reached before (or a class of the class table: see `class_index`)
        }
        let Ok(class) = env.get_object_class(obj) else { return };
        let class_idx = self.class_index(env, &class);
        let _ = env.delete_local_ref(class);
        let Some(class_idx) = class_idx else { return };
        let id = match parent {
            None => self.search.root(
                match edge {
                    Edge::Root(r) => r,
                    _ => 0,
                },
                class_idx,
            ),
            Some(p) => self.search.reach(p, edge, class_idx),
        };
        let Some(id) = id else { return };
        let _ = self.scratch.jvmti().set_tag(obj, i64::from(id) + 1);
        if let Some(loader) = self.target_of(env, obj, class_idx) {
            self.record_hit(loader, id);
            return;
        }
        let shape = self.classes[class_idx as usize].shape;
        let expand = match shape {
            Shape::Leaf | Shape::Mirror | Shape::Group => false,
            Shape::Loader => self.classes[class_idx as usize].wrapper.is_some(),
            // From a thread, other threads are roots of their own; from static fields, a live
            // thread is judged by the thread search, an unstarted one (a shutdown hook) here.
            Shape::Thread => parent.is_none() || (!self.from_thread && !self.agent.jvmti.thread_alive(obj)),
            Shape::Instance | Shape::ObjectArray => true,
        };
        if expand && self.store(env, id, obj).is_ok() {
            self.search.enqueue(id);
        }
    }

    /// Adds a starting object (root number `root`).
    pub fn add_root(&mut self, env: &mut JNIEnv<'_>, obj: &JObject<'_>) -> u32 {
        let r = self.roots;
        self.roots += 1;
        let _ = env.with_local_frame(8, |env| -> jni::errors::Result<()> {
            self.reach(env, None, Edge::Root(r), obj);
            Ok(())
        });
        r
    }

    /// Adds the value of a static field of `class` as a root; returns its root number.
    pub fn add_static_root(&mut self, env: &mut JNIEnv<'_>, class: &JClass<'_>, field: FieldId) -> Option<u32> {
        // SAFETY: a static field id JVMTI returned for `class` (the caller checked it is static),
        // and the caller holds the class.
        let id = unsafe { JStaticFieldID::from_raw(field.as_raw()) };
        let value = env
            .get_static_field_unchecked(class, id, JavaType::Object("java/lang/Object".into()))
            .and_then(|v| v.l());
        match value {
            Ok(v) if !v.is_null() => {
                let r = self.add_root(env, &v);
                let _ = env.delete_local_ref(v);
                Some(r)
            }
            Ok(_) => None,
            Err(_) => {
                let _ = env.exception_clear();
                None
            }
        }
    }

    /// Runs the search to its end (exhausted, budget or deadline, or every target saturated).
    pub fn run(&mut self, env: &mut JNIEnv<'_>) {
        let mut steps = 0u32;
        while let Some(work) = self.search.next_to_expand() {
            steps += 1;
            if steps.is_multiple_of(64) && (Instant::now() > self.budget.deadline || self.agent.is_dead()) {
                self.search.deadline_passed();
                break;
            }
            if self.saturated() {
                break;
            }
            let (id, from) = match work {
                Work::Expand(id) => (id, 0),
                Work::ArrayTail(id, from) => (id, from),
            };
            let _ = env.with_local_frame(32, |env| -> jni::errors::Result<()> {
                let obj = self.load(env, id)?;
                if obj.is_null() {
                    return Ok(());
                }
                self.expand(env, id, &obj, from);
                Ok(())
            });
            if env.exception_check().unwrap_or(false) {
                let _ = env.exception_clear();
            }
        }
    }

    /// Reaches what `obj` references; an array's elements from `from` on, a slice at a time.
    fn expand(&mut self, env: &mut JNIEnv<'_>, id: NodeId, obj: &JObject<'_>, from: u32) {
        let class_idx = self.search.node(id).class;
        let info = &self.classes[class_idx as usize];
        match info.shape {
            Shape::ObjectArray => {
                let array = <&JObjectArray>::from(obj);
                let n = env.get_array_length(array).unwrap_or(0).max(0) as u32;
                let end = if from == 0 {
                    ARRAY_PREFIX
                } else {
                    from.saturating_add(ARRAY_STEP)
                };
                if end < n {
                    self.search.defer_tail(id, end);
                }
                for i in from..end.min(n) {
                    let i = i as i32;
                    let Ok(el) = env.get_object_array_element(array, i) else {
                        let _ = env.exception_clear();
                        break;
                    };
                    self.reach(env, Some(id), Edge::Element(i as u32), &el);
                    let _ = env.delete_local_ref(el);
                    if self.search.end().is_some() {
                        return;
                    }
                }
            }
            Shape::Loader => {
                if let Some(f) = info.wrapper {
                    if let Ok(inner) = env
                        .get_field_unchecked(obj, field_id(f), ReturnType::Object)
                        .and_then(|v| v.l())
                    {
                        let idx = info.fields.iter().position(|(fid, _, _)| *fid == f).unwrap_or(0);
                        self.reach(
                            env,
                            Some(id),
                            Edge::Field {
                                class: class_idx,
                                field: idx as u16,
                            },
                            &inner,
                        );
                    }
                }
            }
            _ => {
                let fields: Vec<usize> = info.fields.iter().map(|(f, _, _)| *f).collect();
                for (i, f) in fields.into_iter().enumerate() {
                    let v = env
                        .get_field_unchecked(obj, field_id(f), ReturnType::Object)
                        .and_then(|v| v.l());
                    match v {
                        Ok(v) => {
                            if !v.is_null() {
                                self.reach(
                                    env,
                                    Some(id),
                                    Edge::Field {
                                        class: class_idx,
                                        field: i as u16,
                                    },
                                    &v,
                                );
                                let _ = env.delete_local_ref(v);
                            }
                        }
                        Err(_) => {
                            let _ = env.exception_clear();
                        }
                    }
                    if self.search.end().is_some() {
                        return;
                    }
                }
            }
        }
    }

    /// The chain from the root to hit `hit`, as `(edge label, node)` steps after the root, and
    /// the root's first edge's field name (for classifying it).
    pub fn steps(&self, hit: &Hit) -> Vec<(String, String)> {
        let path = self.search.path(hit.node);
        let mut out = Vec::with_capacity(path.len());
        for (i, n) in path.iter().enumerate() {
            let class = &self.classes[n.class as usize];
            let label = match n.edge {
                Edge::Root(_) => continue,
                Edge::Field { class: c, field } => {
                    let fname = self.classes[c as usize]
                        .fields
                        .get(field as usize)
                        .map(|(_, _, name)| name.as_str())
                        .unwrap_or("?");
                    format!("field {fname}")
                }
                Edge::Static { field } => format!("static field #{field}"),
                Edge::Element(e) => format!("element [{e}]"),
            };
            let last = i + 1 == path.len();
            let node = if last {
                self.describe_hit(hit, class)
            } else {
                class.name.clone()
            };
            out.push((label, node));
        }
        out
    }

    fn describe_hit(&self, hit: &Hit, class: &ClassInfo) -> String {
        let loader_class = self
            .agent
            .model
            .lock()
            .info(hit.loader)
            .map(|i| i.class.clone())
            .unwrap_or_default();
        match class.shape {
            Shape::Loader if class.loader != Some(hit.loader) => format!("loader #{} ({loader_class})", hit.loader),
            Shape::Mirror => format!("a class defined by loader #{}", hit.loader),
            _ => format!("{} (defined by loader #{})", class.name, hit.loader),
        }
    }

    /// The root object of hit `hit`: its class name, or the hit's description when the root is
    /// the hit itself.
    pub fn root_text(&self, hit: &Hit) -> String {
        let path = self.search.path(hit.node);
        match path.first() {
            Some(n) if path.len() == 1 => self.describe_hit(hit, &self.classes[n.class as usize]),
            Some(n) => self.classes[n.class as usize].name.clone(),
            None => String::new(),
        }
    }
}

/// Whether `tag` (main environment) is one of the targets (used by the thread checks).
pub fn is_target(tag: i64, targets: &HashSet<LoaderId>) -> bool {
    matches!(Tag::decode(tag), Some(Tag::Loader(id)) if targets.contains(&id))
}
