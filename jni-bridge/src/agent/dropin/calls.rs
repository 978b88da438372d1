//! The three JVMTI functions only the drop-in runtime calls, by slot as in `jvmti.h`:
//! `Allocate` (46, in the hook's own environment), `GetSystemProperty` (131), `AddToSystemClassLoaderSearch` (151).

use std::ffi::{c_char, c_uchar, c_void, CString};
use std::path::Path;

use jni::sys::jlong;

use super::super::jvmti::sys::{JvmtiError, RawEnv, RawJvmti, ERROR_NONE, ERROR_NOT_AVAILABLE};
use super::super::jvmti::Jvmti;

/// The function at `slot` (1-based, as `jvmti.h` numbers them), or null.
fn entry(jvmti: &Jvmti, slot: usize) -> *const c_void {
    // SAFETY: `jvmti.raw().0` is a live jvmtiEnv whose first word points to the function table,
    // which has at least 156 entries in every JDK tmrt supports; slots here are <= 151.
    unsafe { (**env(jvmti)).functions[slot - 1] }
}

fn env(jvmti: &Jvmti) -> RawEnv {
    jvmti.raw().0
}

/// `Allocate`: `size` bytes the JVM may free (what `ClassFileLoadHook` must return), in the
/// environment a callback was given.
pub fn allocate_raw(raw: RawJvmti, size: usize) -> Option<*mut c_uchar> {
    type F = unsafe extern "system" fn(RawEnv, jlong, *mut *mut c_uchar) -> JvmtiError;
    // SAFETY: `raw.0` is the live jvmtiEnv the JVM passed to the callback; slot 46 is in the
    // table of every JDK tmrt supports.
    let f = unsafe { (**raw.0).functions[45] };
    if f.is_null() {
        return None;
    }
    // SAFETY: slot 46 of jvmtiInterface_1 is Allocate with this signature.
    let f: F = unsafe { std::mem::transmute::<*const c_void, F>(f) };
    let mut p: *mut c_uchar = std::ptr::null_mut();
    // SAFETY: live env, writable out-pointer; Allocate may be called in any phase.
    let rc = unsafe { f(raw.0, size as jlong, &mut p) };
    (rc == ERROR_NONE && !p.is_null()).then_some(p)
}

/// `GetSystemProperty`: a JVM system property (OnLoad and live phase), or `None`.
pub fn system_property(jvmti: &Jvmti, name: &str) -> Option<String> {
    type F = unsafe extern "system" fn(RawEnv, *const c_char, *mut *mut c_char) -> JvmtiError;
    let f = entry(jvmti, 131);
    if f.is_null() {
        return None;
    }
    // SAFETY: slot 131 of jvmtiInterface_1 is GetSystemProperty with this signature.
    let f: F = unsafe { std::mem::transmute::<*const c_void, F>(f) };
    let name = CString::new(name).ok()?;
    let mut value: *mut c_char = std::ptr::null_mut();
    // SAFETY: live env, a NUL-terminated name, a writable out-pointer.
    let rc = unsafe { f(env(jvmti), name.as_ptr(), &mut value) };
    if rc != ERROR_NONE {
        return None;
    }
    if value.is_null() {
        return None;
    }
    // SAFETY: on success `value` is a JVMTI-allocated NUL-terminated string.
    let s = unsafe { std::ffi::CStr::from_ptr(value) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: allocated by this environment, freed once, not used afterwards.
    unsafe { jvmti.raw().deallocate(value as *mut c_uchar) };
    Some(s)
}

/// `AddToSystemClassLoaderSearch`: appends a jar to the application class path (OnLoad phase).
pub fn add_to_system_class_loader_search(jvmti: &Jvmti, jar: &Path) -> Result<(), JvmtiError> {
    type F = unsafe extern "system" fn(RawEnv, *const c_char) -> JvmtiError;
    let f = entry(jvmti, 151);
    if f.is_null() {
        return Err(ERROR_NOT_AVAILABLE);
    }
    // SAFETY: slot 151 of jvmtiInterface_1 is AddToSystemClassLoaderSearch with this signature.
    let f: F = unsafe { std::mem::transmute::<*const c_void, F>(f) };
    let path = CString::new(jar.as_os_str().as_encoded_bytes()).map_err(|_| ERROR_NOT_AVAILABLE)?;
    // SAFETY: live env, a NUL-terminated path.
    let rc = unsafe { f(env(jvmti), path.as_ptr()) };
    if rc == ERROR_NONE {
        Ok(())
    } else {
        Err(rc)
    }
}
