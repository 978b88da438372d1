//! Raw JVMTI bindings: the subset of `jvmtiInterface_1` tmrt uses, by slot.
//!
//! `jvmti.h` lays the interface out as a table of function pointers; slot `N` in its comments
//! (`/* 57 : Get Class Loader */`) is entry `N - 1` of the table. [`RawJvmti`] wraps the
//! environment pointer and exposes one `unsafe` method per function used, each reading its slot
//! and calling it with the C signature from `jvmti.h` (JDK 17). The event-callback table and the
//! capabilities bitfield are laid out the same way: callbacks by event number minus 50,
//! capabilities as four 32-bit words filled from bit 0 (GCC's bitfield layout on x86-64 and
//! AArch64 Linux). Nothing outside [`super`] calls these: the safe layer there owns every
//! JVMTI-allocated buffer and every local reference these hand out.

use std::ffi::{c_char, c_uchar, c_void};

use jni::sys::{jboolean, jclass, jfieldID, jint, jlong, jmethodID, jobject, JNIEnv, JavaVM};

pub type JvmtiError = jint;
pub const ERROR_NONE: JvmtiError = 0;
pub const ERROR_INVALID_OBJECT: JvmtiError = 20;
/// Returned by a binding whose slot is empty (never by a real JDK 11+ for the slots used here).
pub const ERROR_NOT_AVAILABLE: JvmtiError = 98;
pub const ERROR_WRONG_PHASE: JvmtiError = 112;

pub const VERSION_1_2: jint = 0x3001_0200;

pub const ENABLE: jint = 1;

pub const EVENT_VM_INIT: jint = 50;
pub const EVENT_VM_DEATH: jint = 51;
pub const EVENT_CLASS_FILE_LOAD_HOOK: jint = 54;
pub const EVENT_CLASS_LOAD: jint = 55;
pub const EVENT_GARBAGE_COLLECTION_FINISH: jint = 82;
pub const EVENT_OBJECT_FREE: jint = 83;

pub const PHASE_LIVE: jint = 4;

pub const HEAP_FILTER_UNTAGGED: jint = 0x8;
pub const VISIT_OBJECTS: jint = 0x100;
pub const VISIT_ABORT: jint = 0x8000;

pub const REF_CLASS: jint = 1;
pub const REF_FIELD: jint = 2;
pub const REF_ARRAY_ELEMENT: jint = 3;
pub const REF_CLASS_LOADER: jint = 4;
pub const REF_STATIC_FIELD: jint = 8;
pub const REF_JNI_GLOBAL: jint = 21;
pub const REF_SYSTEM_CLASS: jint = 22;
pub const REF_MONITOR: jint = 23;
pub const REF_STACK_LOCAL: jint = 24;
pub const REF_JNI_LOCAL: jint = 25;
pub const REF_THREAD: jint = 26;

/// `jvmtiHeapReferenceInfoStackLocal` (also the layout of the JNI-local info's first fields).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct StackLocalInfo {
    pub thread_tag: jlong,
    pub thread_id: jlong,
    pub depth: jint,
    pub method: jmethodID,
    pub location: jlong,
    pub slot: jint,
}

/// `ACC_STATIC`, as `GetFieldModifiers` reports it.
pub const ACC_STATIC: jint = 0x0008;

/// `jvmtiInterface_1`: 156 slots in JDK 17 (more in later JDKs; only these are read).
#[repr(C)]
pub struct Interface {
    pub functions: [*const c_void; 156],
}

/// `jvmtiEnv*`: a pointer to a pointer to the function table.
pub type RawEnv = *mut *const Interface;

/// `jrawMonitorID`.
pub type RawMonitor = *mut c_void;

/// `jvmtiThreadInfo`.
#[repr(C)]
pub struct ThreadInfo {
    pub name: *mut c_char,
    pub priority: jint,
    pub is_daemon: jboolean,
    pub thread_group: jobject,
    pub context_class_loader: jobject,
}

/// `jvmtiFrameInfo`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FrameInfo {
    pub method: jmethodID,
    pub location: jlong,
}

/// `jvmtiLineNumberEntry`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct LineNumberEntry {
    pub start_location: jlong,
    pub line_number: jint,
}

/// `jvmtiEventCallbacks`: one pointer per event from `VMInit` (50) to `SampledObjectAlloc` (86).
#[repr(C)]
pub struct EventCallbacks {
    pub slots: [*const c_void; 37],
}

impl EventCallbacks {
    pub fn empty() -> Self {
        EventCallbacks {
            slots: [std::ptr::null(); 37],
        }
    }
    pub fn set(&mut self, event: jint, callback: *const c_void) {
        self.slots[(event - EVENT_VM_INIT) as usize] = callback;
    }
}

/// `jvmtiHeapCallbacks`: heap iteration, heap reference, three primitive callbacks, 11 reserved.
#[repr(C)]
pub struct HeapCallbacks {
    pub slots: [*const c_void; 16],
}

/// `jvmtiHeapReferenceCallback`.
pub type HeapReferenceCallback = unsafe extern "system" fn(
    reference_kind: jint,
    reference_info: *const c_void,
    class_tag: jlong,
    referrer_class_tag: jlong,
    size: jlong,
    tag_ptr: *mut jlong,
    referrer_tag_ptr: *mut jlong,
    length: jint,
    user_data: *mut c_void,
) -> jint;

/// `jvmtiHeapIterationCallback`.
pub type HeapIterationCallback = unsafe extern "system" fn(
    class_tag: jlong,
    size: jlong,
    tag_ptr: *mut jlong,
    length: jint,
    user_data: *mut c_void,
) -> jint;

/// `jvmtiCapabilities`: 128 bits.
#[repr(C)]
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub words: [u32; 4],
}

/// Capability bit numbers (field order in `jvmtiCapabilities`).
pub const CAN_TAG_OBJECTS: u32 = 0;
pub const CAN_GET_SOURCE_FILE_NAME: u32 = 11;
pub const CAN_GET_LINE_NUMBERS: u32 = 12;
pub const CAN_GENERATE_GARBAGE_COLLECTION_EVENTS: u32 = 31;
pub const CAN_GENERATE_OBJECT_FREE_EVENTS: u32 = 32;

impl Capabilities {
    pub fn set(&mut self, bit: u32) {
        self.words[(bit / 32) as usize] |= 1 << (bit % 32);
    }
    pub fn has(&self, bit: u32) -> bool {
        self.words[(bit / 32) as usize] & (1 << (bit % 32)) != 0
    }
}

/// A JVMTI environment pointer. Copyable; the agent's main environment is never disposed, and
/// a scratch environment is disposed only by its owner ([`super::ScratchEnv`]).
#[derive(Clone, Copy)]
pub struct RawJvmti(pub RawEnv);

// SAFETY: a jvmtiEnv may be used from any thread; JVMTI functions are thread-safe, and each
// environment outlives every use of it (see the type's documentation).
unsafe impl Send for RawJvmti {}
// SAFETY: as above; the wrapper holds only the pointer.
unsafe impl Sync for RawJvmti {}

macro_rules! jvmti_fn {
    ($(#[$doc:meta])* $name:ident = $slot:literal ($($arg:ident : $ty:ty),*)) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// The arguments must be valid as `jvmti.h` requires (live local or global references,
        /// writable out-pointers), and the call must be allowed in the current phase and thread.
        pub unsafe fn $name(&self, $($arg: $ty),*) -> JvmtiError {
            type F = unsafe extern "system" fn(RawEnv, $($ty),*) -> JvmtiError;
            // SAFETY: `self.0` is a live jvmtiEnv (see the type's invariant), whose first word
            // points to the function table; the table has at least 156 entries in every JDK
            // tmrt supports.
            let entry = unsafe { (**self.0).functions[$slot - 1] };
            if entry.is_null() {
                return ERROR_NOT_AVAILABLE;
            }
            // SAFETY: slot $slot of jvmtiInterface_1 has exactly this C signature (jvmti.h).
            let f: F = unsafe { std::mem::transmute::<*const c_void, F>(entry) };
            // SAFETY: the caller upholds the argument contract stated above.
            unsafe { f(self.0, $($arg),*) }
        }
    };
}

impl RawJvmti {
    /// Gets a new JVMTI environment of a JVM (every call makes a new one).
    ///
    /// # Safety
    /// `vm` must be a live `JavaVM*`.
    pub unsafe fn from_vm(vm: *mut JavaVM) -> Option<RawJvmti> {
        let mut env: *mut c_void = std::ptr::null_mut();
        // SAFETY: the caller guarantees `vm` is live; GetEnv is in every invocation table.
        let rc = unsafe { ((**vm).GetEnv?)(vm, &mut env, VERSION_1_2) };
        (rc == 0 && !env.is_null()).then_some(RawJvmti(env as RawEnv))
    }

    /// `SetEventNotificationMode` (slot 2), which is variadic in C.
    ///
    /// # Safety
    /// Must be called in a phase that allows it (OnLoad or live).
    pub unsafe fn set_event_notification_mode(&self, mode: jint, event: jint) -> JvmtiError {
        type F = unsafe extern "C" fn(RawEnv, jint, jint, jobject, ...) -> JvmtiError;
        // SAFETY: see `jvmti_fn!`: live env, slot 2 has this variadic C signature.
        let entry = unsafe { (**self.0).functions[1] };
        if entry.is_null() {
            return ERROR_NOT_AVAILABLE;
        }
        // SAFETY: as above.
        let f: F = unsafe { std::mem::transmute::<*const c_void, F>(entry) };
        // SAFETY: a null thread means "all threads"; no variadic arguments are read.
        unsafe { f(self.0, mode, event, std::ptr::null_mut()) }
    }

    jvmti_fn!(
        /// `GetAllThreads`: live threads, as local references in a JVMTI-allocated array.
        get_all_threads = 4 (count: *mut jint, threads: *mut *mut jobject));
    jvmti_fn!(
        /// `GetThreadInfo`.
        get_thread_info = 9 (thread: jobject, info: *mut ThreadInfo));
    jvmti_fn!(
        /// `GetThreadState`.
        get_thread_state = 17 (thread: jobject, state: *mut jint));
    jvmti_fn!(
        /// `CreateRawMonitor`.
        create_raw_monitor = 31 (name: *const c_char, monitor: *mut RawMonitor));
    jvmti_fn!(
        /// `RawMonitorEnter`.
        raw_monitor_enter = 33 (monitor: RawMonitor));
    jvmti_fn!(
        /// `RawMonitorExit`.
        raw_monitor_exit = 34 (monitor: RawMonitor));
    jvmti_fn!(
        /// `Deallocate` memory the JVMTI allocated.
        deallocate = 47 (mem: *mut c_uchar));
    jvmti_fn!(
        /// `GetClassSignature` (`Ljava/lang/String;`).
        get_class_signature = 48 (klass: jclass, signature: *mut *mut c_char, generic: *mut *mut c_char));
    jvmti_fn!(
        /// `GetSourceFileName`.
        get_source_file_name = 50 (klass: jclass, name: *mut *mut c_char));
    jvmti_fn!(
        /// `GetClassFields`: the fields the class declares.
        get_class_fields = 53 (klass: jclass, count: *mut jint, fields: *mut *mut jfieldID));
    jvmti_fn!(
        /// `GetImplementedInterfaces`: direct superinterfaces.
        get_implemented_interfaces = 54 (klass: jclass, count: *mut jint, interfaces: *mut *mut jclass));
    jvmti_fn!(
        /// `IsInterface`.
        is_interface = 55 (klass: jclass, result: *mut jboolean));
    jvmti_fn!(
        /// `IsArrayClass`.
        is_array_class = 56 (klass: jclass, result: *mut jboolean));
    jvmti_fn!(
        /// `GetClassLoader`: the defining loader (null for the bootstrap loader).
        get_class_loader = 57 (klass: jclass, loader: *mut jobject));
    jvmti_fn!(
        /// `GetFieldModifiers`.
        get_field_modifiers = 62 (klass: jclass, field: jfieldID, modifiers: *mut jint));
    jvmti_fn!(
        /// `GetFieldName`.
        get_field_name = 60 (klass: jclass, field: jfieldID, name: *mut *mut c_char, signature: *mut *mut c_char, generic: *mut *mut c_char));
    jvmti_fn!(
        /// `GetMethodName`.
        get_method_name = 64 (method: jmethodID, name: *mut *mut c_char, signature: *mut *mut c_char, generic: *mut *mut c_char));
    jvmti_fn!(
        /// `GetMethodDeclaringClass`.
        get_method_declaring_class = 65 (method: jmethodID, klass: *mut jclass));
    jvmti_fn!(
        /// `GetLineNumberTable` (needs `can_get_line_numbers`).
        get_line_number_table = 70 (method: jmethodID, count: *mut jint, table: *mut *mut LineNumberEntry));
    jvmti_fn!(
        /// `GetLoadedClasses`.
        get_loaded_classes = 78 (count: *mut jint, classes: *mut *mut jclass));
    jvmti_fn!(
        /// `GetStackTrace`.
        get_stack_trace = 104 (thread: jobject, start_depth: jint, max_frames: jint, frames: *mut FrameInfo, count: *mut jint));
    jvmti_fn!(
        /// `GetTag`.
        get_tag = 106 (object: jobject, tag: *mut jlong));
    jvmti_fn!(
        /// `SetTag`.
        set_tag = 107 (object: jobject, tag: jlong));
    jvmti_fn!(
        /// `ForceGarbageCollection`: a full collection.
        force_garbage_collection = 108 ());
    jvmti_fn!(
        /// `GetObjectsWithTags`: live objects carrying any of the tags, as local references.
        get_objects_with_tags = 114 (tag_count: jint, tags: *const jlong, count: *mut jint, objects: *mut *mut jobject, tags_out: *mut *mut jlong));
    jvmti_fn!(
        /// `FollowReferences`.
        follow_references = 115 (heap_filter: jint, klass: jclass, initial_object: jobject, callbacks: *const HeapCallbacks, user_data: *const c_void));
    jvmti_fn!(
        /// `IterateThroughHeap`.
        iterate_through_heap = 116 (heap_filter: jint, klass: jclass, callbacks: *const HeapCallbacks, user_data: *const c_void));
    jvmti_fn!(
        /// `SetEventCallbacks`.
        set_event_callbacks = 122 (callbacks: *const EventCallbacks, size: jint));
    jvmti_fn!(
        /// `DisposeEnvironment`.
        dispose_environment = 127 ());
    jvmti_fn!(
        /// `GetSystemProperty`.
        get_system_property = 131 (property: *const c_char, value: *mut *mut c_char));
    jvmti_fn!(
        /// `AddToSystemClassLoaderSearch`.
        add_to_system_class_loader_search = 151 (segment: *const c_char));
    jvmti_fn!(
        /// `GetPhase`.
        get_phase = 133 (phase: *mut jint));
    jvmti_fn!(
        /// `GetPotentialCapabilities`.
        get_potential_capabilities = 140 (caps: *mut Capabilities));
    jvmti_fn!(
        /// `AddCapabilities`.
        add_capabilities = 142 (caps: *const Capabilities));
}

/// `Ljava/lang/String;` -> `java.lang.String`, `[I` -> `int[]`, `[[Lx/Y;` -> `x.Y[][]`.
pub fn signature_to_name(sig: &str) -> String {
    let dims = sig.bytes().take_while(|b| *b == b'[').count();
    let base = &sig[dims..];
    let name = match base {
        "Z" => "boolean".to_string(),
        "B" => "byte".to_string(),
        "C" => "char".to_string(),
        "S" => "short".to_string(),
        "I" => "int".to_string(),
        "J" => "long".to_string(),
        "F" => "float".to_string(),
        "D" => "double".to_string(),
        "V" => "void".to_string(),
        _ => base
            .strip_prefix('L')
            .and_then(|b| b.strip_suffix(';'))
            .unwrap_or(base)
            .replace('/', "."),
    };
    format!("{name}{}", "[]".repeat(dims))
}

/// The JNI environment type the event callbacks receive.
pub type RawJniEnv = *mut JNIEnv;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_to_names() {
        assert_eq!(signature_to_name("Ljava/lang/String;"), "java.lang.String");
        assert_eq!(signature_to_name("[I"), "int[]");
        assert_eq!(
            signature_to_name("[[Ljava/util/HashMap$Node;"),
            "java.util.HashMap$Node[][]"
        );
    }

    #[test]
    fn capability_bits_follow_the_bitfield() {
        let mut c = Capabilities::default();
        c.set(CAN_TAG_OBJECTS);
        c.set(CAN_GENERATE_OBJECT_FREE_EVENTS);
        c.set(CAN_GENERATE_GARBAGE_COLLECTION_EVENTS);
        assert_eq!(c.words, [0x8000_0001, 1, 0, 0]);
        assert!(c.has(CAN_GENERATE_OBJECT_FREE_EVENTS) && !c.has(CAN_GET_LINE_NUMBERS));
        assert_eq!(std::mem::size_of::<Capabilities>(), 16);
        assert_eq!(std::mem::size_of::<EventCallbacks>(), 37 * 8);
    }
}
