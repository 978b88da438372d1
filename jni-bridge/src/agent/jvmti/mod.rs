//! The agent's JVMTI layer: typed, owning wrappers over the raw table in [`sys`].
//!
//! Every JVMTI function tmrt calls goes through [`Jvmti`], which returns `Result`s instead of
//! error codes, copies JVMTI-allocated strings and arrays into Rust values and frees them at once
//! ([`Buf`] deallocates on drop, also on early return), and hands out the local references a
//! function creates as jni-rs `JObject<'local>`s tied to the caller's `JNIEnv` — the caller's
//! local frame owns them, so none outlives the frame and none is freed twice. Object arguments are
//! jni-rs references, which are live on the calling thread by construction. `unsafe` lives here,
//! in [`sys`], and at the `extern` entry points; the rest of the agent calls safe methods.
//!
//! Two kinds of environment exist: the agent's own (created at load, never disposed: event
//! callbacks may use it until the process ends) and [`ScratchEnv`]s, created for one heap search
//! or walk so that the tags it sets disappear with it in one `DisposeEnvironment` — no heap
//! iteration (a stop-the-world pause proportional to the heap) is needed to clear them.

pub mod sys;

use std::ffi::{c_char, c_uchar, c_void, CStr, CString};
use std::fmt;

use jni::objects::{JClass, JObject};
use jni::sys::{jclass, jfieldID, jint, jlong, jmethodID, jobject, JavaVM};
use jni::JNIEnv;

pub use sys::{
    signature_to_name, Capabilities, EventCallbacks, FrameInfo, HeapCallbacks, LineNumberEntry, RawEnv, RawMonitor,
    StackLocalInfo, ACC_STATIC, CAN_GENERATE_GARBAGE_COLLECTION_EVENTS, CAN_GENERATE_OBJECT_FREE_EVENTS,
    CAN_GET_LINE_NUMBERS, CAN_GET_SOURCE_FILE_NAME, CAN_TAG_OBJECTS, ENABLE, EVENT_CLASS_FILE_LOAD_HOOK,
    EVENT_CLASS_LOAD, EVENT_GARBAGE_COLLECTION_FINISH, EVENT_OBJECT_FREE, EVENT_VM_DEATH, EVENT_VM_INIT,
    HEAP_FILTER_UNTAGGED, REF_ARRAY_ELEMENT, REF_FIELD, REF_JNI_LOCAL, REF_STACK_LOCAL, REF_STATIC_FIELD, VISIT_ABORT,
    VISIT_OBJECTS,
};
use sys::{JvmtiError as Code, RawJvmti, ERROR_NONE};

/// A JVMTI error code, named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error(pub jint);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            10 => "INVALID_THREAD",
            13 => "THREAD_NOT_ALIVE",
            20 => "INVALID_OBJECT",
            21 => "INVALID_CLASS",
            22 => "CLASS_NOT_PREPARED",
            25 => "INVALID_FIELDID",
            98 => "NOT_AVAILABLE",
            99 => "MUST_POSSESS_CAPABILITY",
            100 => "NULL_POINTER",
            110 => "OUT_OF_MEMORY",
            112 => "WRONG_PHASE",
            113 => "INTERNAL",
            115 => "UNATTACHED_THREAD",
            116 => "INVALID_ENVIRONMENT",
            _ => "",
        };
        if name.is_empty() {
            write!(f, "JVMTI error {}", self.0)
        } else {
            write!(f, "JVMTI error {} ({name})", self.0)
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

fn check(code: Code) -> Result<()> {
    if code == ERROR_NONE {
        Ok(())
    } else {
        Err(Error(code))
    }
}

/// A JVMTI-allocated array, freed (`Deallocate`) when dropped.
pub struct Buf<T: Copy> {
    env: RawJvmti,
    ptr: *mut T,
    len: usize,
}

impl<T: Copy> Buf<T> {
    /// # Safety
    /// `ptr` is null or a JVMTI allocation of `env` holding `len` initialised `T`s, owned by the
    /// new `Buf` (nothing else frees it).
    unsafe fn new(env: RawJvmti, ptr: *mut T, len: jint) -> Self {
        Buf {
            env,
            ptr,
            len: if ptr.is_null() { 0 } else { len.max(0) as usize },
        }
    }
}

impl<T: Copy> std::ops::Deref for Buf<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        if self.ptr.is_null() {
            return &[];
        }
        // SAFETY: `ptr` holds `len` initialised elements (constructor's contract) and lives until
        // drop.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl<T: Copy> Drop for Buf<T> {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: allocated by this environment, freed once (here).
            unsafe { self.env.deallocate(self.ptr as *mut c_uchar) };
        }
    }
}

/// A field id JVMTI returned for a class (`GetClassFields`): valid while the class is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldId(jfieldID);

impl FieldId {
    pub fn as_raw(self) -> jfieldID {
        self.0
    }
}

/// A method id JVMTI returned (a stack frame's method).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodId(jmethodID);

impl MethodId {
    /// # Safety
    /// `m` must be a method id the JVM handed out (a heap-walk callback's frame, say) whose
    /// class is still loaded.
    pub unsafe fn from_raw(m: jmethodID) -> Self {
        MethodId(m)
    }
}

/// One stack frame: its method and the bytecode location in it.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub method: MethodId,
    pub location: jlong,
}

/// A JVMTI raw monitor, created by [`Jvmti::create_raw_monitor`] and never destroyed.
#[derive(Debug, Clone, Copy)]
pub struct Monitor(RawMonitor);

// SAFETY: a raw monitor is a JVMTI handle usable from any thread.
unsafe impl Send for Monitor {}
// SAFETY: as above.
unsafe impl Sync for Monitor {}

/// What `GetThreadInfo` says of a thread.
pub struct ThreadInfo<'local> {
    pub name: String,
    pub daemon: bool,
    /// Null when the thread has none.
    pub context_class_loader: JObject<'local>,
}

/// A JVMTI environment of this JVM. See the module documentation.
#[derive(Clone, Copy)]
pub struct Jvmti(RawJvmti);

impl Jvmti {
    /// A new environment of the JVM `vm` (JVMTI 1.2).
    ///
    /// # Safety
    /// `vm` must be a live `JavaVM*`.
    pub unsafe fn new(vm: *mut JavaVM) -> Option<Jvmti> {
        // SAFETY: the caller's contract.
        unsafe { RawJvmti::from_vm(vm) }.map(Jvmti)
    }

    /// The raw table, for the heap-walk and event plumbing in [`crate::agent`] that must pass
    /// function pointers.
    pub fn raw(&self) -> RawJvmti {
        self.0
    }

    fn take_string(&self, p: *mut c_char) -> Option<String> {
        if p.is_null() {
            return None;
        }
        // SAFETY: JVMTI strings are NUL-terminated (modified UTF-8); `p` is this environment's
        // allocation (every caller passes a pointer a JVMTI function of this env just returned).
        let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
        // SAFETY: as above; freed once.
        unsafe { self.0.deallocate(p as *mut c_uchar) };
        Some(s)
    }

    // --- capabilities and events -------------------------------------------------------------

    pub fn potential_capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        // SAFETY: a writable capabilities struct.
        let _ = unsafe { self.0.get_potential_capabilities(&mut caps) };
        caps
    }

    pub fn add_capabilities(&self, caps: &Capabilities) -> Result<()> {
        // SAFETY: a valid capabilities struct.
        check(unsafe { self.0.add_capabilities(caps) })
    }

    pub fn set_event_callbacks(&self, callbacks: &EventCallbacks) -> Result<()> {
        // SAFETY: a valid table of the declared size, whose entries are functions of the event
        // signatures (the caller builds it with `EventCallbacks::set` from such functions).
        check(unsafe {
            self.0
                .set_event_callbacks(callbacks, std::mem::size_of::<EventCallbacks>() as jint)
        })
    }

    pub fn enable_event(&self, event: jint) -> Result<()> {
        // SAFETY: a null thread means "all threads"; wrong phases are reported as errors.
        check(unsafe { self.0.set_event_notification_mode(ENABLE, event) })
    }

    pub fn create_raw_monitor(&self, name: &CStr) -> Result<Monitor> {
        let mut m: RawMonitor = std::ptr::null_mut();
        // SAFETY: a NUL-terminated name; a writable out-pointer.
        check(unsafe { self.0.create_raw_monitor(name.as_ptr(), &mut m) })?;
        Ok(Monitor(m))
    }

    /// Enters a raw monitor this environment created; the guard exits it.
    pub fn enter(&self, monitor: Monitor) -> MonitorGuard {
        // SAFETY: a monitor created by `create_raw_monitor` and never destroyed; raw monitors are
        // reentrant.
        unsafe { self.0.raw_monitor_enter(monitor.0) };
        MonitorGuard {
            env: self.0,
            monitor: monitor.0,
        }
    }

    pub fn system_property(&self, name: &str) -> Option<String> {
        let name = CString::new(name).ok()?;
        let mut value = std::ptr::null_mut();
        // SAFETY: a NUL-terminated name; a writable out-pointer.
        check(unsafe { self.0.get_system_property(name.as_ptr(), &mut value) }).ok()?;
        self.take_string(value)
    }

    pub fn force_garbage_collection(&self) -> Result<()> {
        // SAFETY: no arguments; reported as an error in a wrong phase.
        check(unsafe { self.0.force_garbage_collection() })
    }

    // --- tags ------------------------------------------------------------------------------------

    /// The object's tag in this environment (0: untagged or not an object).
    pub fn tag(&self, object: &JObject<'_>) -> jlong {
        let mut tag = 0;
        // SAFETY: a live reference (jni-rs invariant; null is reported as an error); writable out.
        if unsafe { self.0.get_tag(object.as_raw(), &mut tag) } != ERROR_NONE {
            return 0;
        }
        tag
    }

    pub fn set_tag(&self, object: &JObject<'_>, tag: jlong) -> Result<()> {
        // SAFETY: a live reference (null is reported as an error).
        check(unsafe { self.0.set_tag(object.as_raw(), tag) })
    }

    /// The live objects carrying any of `tags`, with their tags, as local references of `env`.
    pub fn objects_with_tags<'l>(&self, _env: &JNIEnv<'l>, tags: &[jlong]) -> Result<Vec<(JObject<'l>, jlong)>> {
        let (mut n, mut objs, mut got) = (0, std::ptr::null_mut(), std::ptr::null_mut());
        // SAFETY: `tags` has that many entries; writable out-pointers.
        check(unsafe {
            self.0
                .get_objects_with_tags(tags.len() as jint, tags.as_ptr(), &mut n, &mut objs, &mut got)
        })?;
        // SAFETY: both arrays were just allocated with `n` entries; the Bufs own them.
        let (objs, got) = unsafe { (Buf::<jobject>::new(self.0, objs, n), Buf::<jlong>::new(self.0, got, n)) };
        Ok(objs
            .iter()
            .zip(got.iter())
            // SAFETY: each is a new local reference of this thread, owned by the caller's frame.
            .map(|(o, t)| (unsafe { JObject::from_raw(*o) }, *t))
            .collect())
    }

    // --- classes ---------------------------------------------------------------------------------

    /// Every loaded class, as local references of `env` (use inside a local frame).
    pub fn loaded_classes<'l>(&self, _env: &JNIEnv<'l>) -> Result<Vec<JClass<'l>>> {
        let (mut n, mut classes) = (0, std::ptr::null_mut());
        // SAFETY: writable out-pointers.
        check(unsafe { self.0.get_loaded_classes(&mut n, &mut classes) })?;
        // SAFETY: just allocated with `n` entries.
        let classes = unsafe { Buf::<jclass>::new(self.0, classes, n) };
        // SAFETY: new local references of this thread.
        Ok(classes.iter().map(|c| unsafe { JClass::from_raw(*c) }).collect())
    }

    /// The defining loader of `class` (a null reference for the bootstrap loader).
    pub fn class_loader<'l>(&self, _env: &JNIEnv<'l>, class: &JClass<'_>) -> Result<JObject<'l>> {
        let mut loader: jobject = std::ptr::null_mut();
        // SAFETY: a live class reference; a writable out-pointer.
        check(unsafe { self.0.get_class_loader(class.as_raw(), &mut loader) })?;
        // SAFETY: a new local reference (or null) of this thread.
        Ok(unsafe { JObject::from_raw(loader) })
    }

    /// The class's binary name (`java.util.HashMap$Node`, `int[]`).
    pub fn class_name(&self, class: &JClass<'_>) -> Option<String> {
        let mut sig = std::ptr::null_mut();
        // SAFETY: a live class reference; a null generic pointer is allowed.
        check(unsafe {
            self.0
                .get_class_signature(class.as_raw(), &mut sig, std::ptr::null_mut())
        })
        .ok()?;
        self.take_string(sig).map(|s| signature_to_name(&s))
    }

    pub fn is_array_class(&self, class: &JClass<'_>) -> bool {
        let mut r = 0;
        // SAFETY: a live class reference; a writable out-pointer.
        let rc = unsafe { self.0.is_array_class(class.as_raw(), &mut r) };
        rc == ERROR_NONE && r != 0
    }

    pub fn is_interface(&self, class: &JClass<'_>) -> bool {
        let mut r = 0;
        // SAFETY: as above.
        let rc = unsafe { self.0.is_interface(class.as_raw(), &mut r) };
        rc == ERROR_NONE && r != 0
    }

    pub fn source_file_name(&self, class: &JClass<'_>) -> Option<String> {
        let mut f = std::ptr::null_mut();
        // SAFETY: a live class reference; a writable out-pointer.
        check(unsafe { self.0.get_source_file_name(class.as_raw(), &mut f) }).ok()?;
        self.take_string(f)
    }

    /// The fields `class` declares, in declaration order.
    pub fn class_fields(&self, class: &JClass<'_>) -> Result<Vec<FieldId>> {
        let (mut n, mut fields) = (0, std::ptr::null_mut());
        // SAFETY: a live class reference; writable out-pointers.
        check(unsafe { self.0.get_class_fields(class.as_raw(), &mut n, &mut fields) })?;
        // SAFETY: just allocated with `n` entries.
        let fields = unsafe { Buf::<jfieldID>::new(self.0, fields, n) };
        Ok(fields.iter().map(|f| FieldId(*f)).collect())
    }

    /// A field's name and JNI signature.
    pub fn field_name(&self, class: &JClass<'_>, field: FieldId) -> Option<(String, String)> {
        let (mut name, mut sig) = (std::ptr::null_mut(), std::ptr::null_mut());
        // SAFETY: a field id JVMTI returned (it checks it against the class); writable
        // out-pointers.
        check(unsafe {
            self.0
                .get_field_name(class.as_raw(), field.0, &mut name, &mut sig, std::ptr::null_mut())
        })
        .ok()?;
        let name = self.take_string(name);
        let sig = self.take_string(sig);
        Some((name?, sig?))
    }

    pub fn field_modifiers(&self, class: &JClass<'_>, field: FieldId) -> Result<jint> {
        let mut m = 0;
        // SAFETY: as above.
        check(unsafe { self.0.get_field_modifiers(class.as_raw(), field.0, &mut m) })?;
        Ok(m)
    }

    /// The interfaces `class` implements directly, as local references of `env`.
    pub fn implemented_interfaces<'l>(&self, _env: &JNIEnv<'l>, class: &JClass<'_>) -> Result<Vec<JClass<'l>>> {
        let (mut n, mut list) = (0, std::ptr::null_mut());
        // SAFETY: a live class reference; writable out-pointers.
        check(unsafe { self.0.get_implemented_interfaces(class.as_raw(), &mut n, &mut list) })?;
        // SAFETY: just allocated with `n` entries.
        let list = unsafe { Buf::<jclass>::new(self.0, list, n) };
        // SAFETY: new local references of this thread.
        Ok(list.iter().map(|c| unsafe { JClass::from_raw(*c) }).collect())
    }

    // --- methods ---------------------------------------------------------------------------------

    pub fn method_name(&self, method: MethodId) -> Option<String> {
        let mut name = std::ptr::null_mut();
        // SAFETY: a method id the JVM returned (`MethodId`'s invariant); null signature pointers
        // are allowed.
        check(unsafe {
            self.0
                .get_method_name(method.0, &mut name, std::ptr::null_mut(), std::ptr::null_mut())
        })
        .ok()?;
        self.take_string(name)
    }

    pub fn method_declaring_class<'l>(&self, _env: &JNIEnv<'l>, method: MethodId) -> Result<JClass<'l>> {
        let mut class: jclass = std::ptr::null_mut();
        // SAFETY: as above; a writable out-pointer.
        check(unsafe { self.0.get_method_declaring_class(method.0, &mut class) })?;
        // SAFETY: a new local reference of this thread.
        Ok(unsafe { JClass::from_raw(class) })
    }

    /// The source line of `location` in `method` (needs `can_get_line_numbers`).
    pub fn line_number(&self, method: MethodId, location: jlong) -> Option<i32> {
        let (mut n, mut table) = (0, std::ptr::null_mut());
        // SAFETY: as above; writable out-pointers.
        check(unsafe { self.0.get_line_number_table(method.0, &mut n, &mut table) }).ok()?;
        // SAFETY: just allocated with `n` entries.
        let table = unsafe { Buf::<LineNumberEntry>::new(self.0, table, n) };
        table
            .iter()
            .filter(|e| e.start_location <= location)
            .max_by_key(|e| e.start_location)
            .map(|e| e.line_number)
    }

    // --- threads ---------------------------------------------------------------------------------

    /// Live threads, as local references of `env`.
    pub fn all_threads<'l>(&self, _env: &JNIEnv<'l>) -> Result<Vec<JObject<'l>>> {
        let (mut n, mut threads) = (0, std::ptr::null_mut());
        // SAFETY: writable out-pointers.
        check(unsafe { self.0.get_all_threads(&mut n, &mut threads) })?;
        // SAFETY: just allocated with `n` entries.
        let threads = unsafe { Buf::<jobject>::new(self.0, threads, n) };
        // SAFETY: new local references of this thread.
        Ok(threads.iter().map(|t| unsafe { JObject::from_raw(*t) }).collect())
    }

    pub fn thread_info<'l>(&self, _env: &JNIEnv<'l>, thread: &JObject<'_>) -> Result<ThreadInfo<'l>> {
        // SAFETY: an all-null ThreadInfo is a valid value to be overwritten.
        let mut info: sys::ThreadInfo = unsafe { std::mem::zeroed() };
        // SAFETY: a live thread reference; a writable out-struct.
        check(unsafe { self.0.get_thread_info(thread.as_raw(), &mut info) })?;
        let name = self.take_string(info.name).unwrap_or_default();
        if !info.thread_group.is_null() {
            // The group is a new local reference nobody asked for: let go of it now.
            // SAFETY: a local reference created by GetThreadInfo on this thread.
            let _ = _env.delete_local_ref(unsafe { JObject::from_raw(info.thread_group) });
        }
        Ok(ThreadInfo {
            name,
            daemon: info.is_daemon != 0,
            // SAFETY: a new local reference (or null) of this thread.
            context_class_loader: unsafe { JObject::from_raw(info.context_class_loader) },
        })
    }

    /// Whether the thread was started and has not terminated.
    pub fn thread_alive(&self, thread: &JObject<'_>) -> bool {
        let mut state = 0;
        // SAFETY: a live reference to a java.lang.Thread (JVMTI checks it is one); writable out.
        let rc = unsafe { self.0.get_thread_state(thread.as_raw(), &mut state) };
        rc == ERROR_NONE && state & 1 != 0
    }

    /// Up to `max` frames of the thread's stack, top first.
    pub fn stack_trace(&self, thread: &JObject<'_>, max: usize) -> Result<Vec<Frame>> {
        let mut frames = vec![
            FrameInfo {
                method: std::ptr::null_mut(),
                location: 0
            };
            max
        ];
        let mut n = 0;
        // SAFETY: a live thread reference; `frames` has room for `max` frames.
        check(unsafe {
            self.0
                .get_stack_trace(thread.as_raw(), 0, max as jint, frames.as_mut_ptr(), &mut n)
        })?;
        frames.truncate(n.max(0) as usize);
        Ok(frames
            .into_iter()
            .map(|f| Frame {
                method: MethodId(f.method),
                location: f.location,
            })
            .collect())
    }

    // --- heap walks ------------------------------------------------------------------------------

    /// `FollowReferences` from the heap roots with `callbacks`, handing `state` to them.
    ///
    /// # Safety
    /// The callbacks must be `extern "system"` functions of the JVMTI heap-callback signatures
    /// that treat their `user_data` as `&mut S` and touch nothing else that the JVM may be using;
    /// they run at a safepoint, may not call JNI or JVMTI functions, and must not unwind.
    pub unsafe fn follow_references<S>(&self, callbacks: &HeapCallbacks, state: &mut S) -> Result<()> {
        // SAFETY: the caller's contract for the callbacks; `state` outlives the call, which
        // returns when the walk is done; null class and initial object mean "from the roots".
        check(unsafe {
            self.0.follow_references(
                0,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                callbacks,
                state as *mut S as *const c_void,
            )
        })
    }
}

/// Holds a raw monitor; exits it when dropped.
pub struct MonitorGuard {
    env: RawJvmti,
    monitor: RawMonitor,
}

impl Drop for MonitorGuard {
    fn drop(&mut self) {
        // SAFETY: entered by `Jvmti::enter` on this thread.
        unsafe { self.env.raw_monitor_exit(self.monitor) };
    }
}

/// A JVMTI environment for one heap search or walk: its tags are private to it and all vanish
/// when it is dropped (`DisposeEnvironment`), with no heap iteration.
pub struct ScratchEnv {
    env: Jvmti,
}

impl ScratchEnv {
    /// A new environment with `can_tag_objects` (and, when the JVM grants it in this phase,
    /// `can_get_line_numbers` for naming frames).
    ///
    /// # Safety
    /// `vm` must be the live `JavaVM*`, and the call made in the live phase.
    pub unsafe fn new(vm: *mut JavaVM) -> Result<ScratchEnv> {
        // SAFETY: the caller's contract.
        let env = unsafe { Jvmti::new(vm) }.ok_or(Error(sys::ERROR_NOT_AVAILABLE))?;
        let scratch = ScratchEnv { env };
        let mut caps = Capabilities::default();
        caps.set(CAN_TAG_OBJECTS);
        scratch.env.add_capabilities(&caps)?;
        Ok(scratch)
    }

    pub fn jvmti(&self) -> &Jvmti {
        &self.env
    }
}

impl Drop for ScratchEnv {
    fn drop(&mut self) {
        // SAFETY: this environment is used only through `self`, which is going away.
        unsafe { self.env.0.dispose_environment() };
    }
}

/// Checks that a JVMTI error constant exists for callers matching on invalid objects.
pub const INVALID_OBJECT: Error = Error(sys::ERROR_INVALID_OBJECT);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_named() {
        assert_eq!(Error(112).to_string(), "JVMTI error 112 (WRONG_PHASE)");
        assert_eq!(Error(7).to_string(), "JVMTI error 7");
        assert_eq!(INVALID_OBJECT, Error(20));
    }
}
