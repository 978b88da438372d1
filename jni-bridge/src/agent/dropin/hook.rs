//! The `ClassFileLoadHook`: runs for every class the JVM defines, so it first compares the name
//! (a few byte comparisons against the handful of substituted classes), and swaps in a
//! replacement only when the bytes are exactly the original that was checked. It calls no JNI
//! and no JVMTI function but `Allocate`, and catches every panic.

use std::ffi::{c_char, c_uchar, CStr};
use std::sync::atomic::Ordering;

use jni::sys::{jclass, jint, jobject};

use super::super::jvmti::sys::{RawEnv, RawJvmti};
use super::{calls, state};

/// `JVMTI_EVENT_CLASS_FILE_LOAD_HOOK`.
pub const EVENT_CLASS_FILE_LOAD_HOOK: jint = 54;

/// `jvmtiEventClassFileLoadHook`.
///
/// # Safety
/// Called by the JVM with the arguments `jvmti.h` describes.
#[allow(clippy::too_many_arguments)]
pub unsafe extern "system" fn class_file_load_hook(
    jvmti: RawEnv,
    _jni: *mut jni::sys::JNIEnv,
    class_being_redefined: jclass,
    _loader: jobject,
    name: *const c_char,
    _protection_domain: jobject,
    class_data_len: jint,
    class_data: *const c_uchar,
    new_class_data_len: *mut jint,
    new_class_data: *mut *mut c_uchar,
) {
    let _ = std::panic::catch_unwind(|| {
        let Some(s) = state() else { return };
        if s.swaps.is_empty() || name.is_null() || !class_being_redefined.is_null() || class_data.is_null() {
            return;
        }
        // SAFETY: the JVM passes the class's name as a NUL-terminated string valid for the call.
        let name = unsafe { CStr::from_ptr(name) }.to_bytes();
        let Some(swap) = s.swaps.iter().find(|w| w.substitution.class.as_bytes() == name) else {
            return;
        };
        // SAFETY: the JVM passes `class_data_len` readable bytes at `class_data`.
        let bytes = unsafe { std::slice::from_raw_parts(class_data, class_data_len.max(0) as usize) };
        if !swap.substitution.matches(name, bytes) {
            if !swap.warned.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "tmrt agent: runtime: {} defined from other bytes than the original checked in {}; this copy stays Flink's",
                    swap.substitution.class,
                    swap.substitution.source.display()
                );
            }
            return;
        }
        let replacement = &swap.substitution.replacement;
        let Some(p) = calls::allocate_raw(RawJvmti(jvmti), replacement.len()) else {
            return;
        };
        // SAFETY: `p` holds `replacement.len()` bytes just allocated; the out-pointers are the
        // JVM's, valid for the call; the JVM frees `p`.
        unsafe {
            std::ptr::copy_nonoverlapping(replacement.as_ptr(), p, replacement.len());
            *new_class_data_len = replacement.len() as jint;
            *new_class_data = p;
        }
        s.components[swap.component].substituted.fetch_add(1, Ordering::Relaxed);
    });
}
