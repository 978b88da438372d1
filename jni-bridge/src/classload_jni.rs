//! JNI side of `dev.tmrt.classload.NativeJarIndex`: the jar index of [`runtime::classload`],
//! behind opaque `long` handles, built through the process-wide [`JarCache`] so that a loader
//! over unchanged jars reuses an earlier loader's index.
//!
//! A handle is a key into a process-wide registry, never a pointer: a stale, forged or closed
//! handle is an `IllegalStateException`, not a dangling dereference, and `close` racing with a
//! lookup on another thread is safe (the lookup holds its own `Arc`). Lookups take the
//! registry's read lock only long enough to clone that `Arc`. Every function is a thin shell:
//! convert the arguments, call `runtime`, convert the answer, all inside [`jni_entry`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};

use jni::objects::{JClass, JObjectArray, JString, ReleaseMode};
use jni::sys::{jboolean, jbyteArray, jint, jlong, jlongArray, jstring, JNI_FALSE, JNI_TRUE};
use jni::JNIEnv;
use parking_lot::RwLock;
use runtime::classload::{JarCache, JarIndex, Location, Reuse};

use crate::ffi::{jni_entry, long_array, JavaError};

/// Lookup answer: not in these jars.
const NOT_FOUND: jlong = -1;

struct NativeIndex {
    index: Arc<JarIndex>,
    reuse: Reuse,
}

fn registry() -> &'static RwLock<HashMap<jlong, Arc<NativeIndex>>> {
    static REGISTRY: OnceLock<RwLock<HashMap<jlong, Arc<NativeIndex>>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(HashMap::new()))
}

static NEXT_HANDLE: AtomicI64 = AtomicI64::new(1);

fn lookup(handle: jlong) -> Result<Arc<NativeIndex>, JavaError> {
    registry()
        .read()
        .get(&handle)
        .cloned()
        .ok_or_else(|| JavaError::illegal_state(format!("tmrt jar index {handle} is closed or was never opened")))
}

fn strings(env: &mut JNIEnv<'_>, array: &JObjectArray<'_>) -> Result<Vec<String>, JavaError> {
    if array.is_null() {
        return Ok(Vec::new());
    }
    let n = env.get_array_length(array)?;
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let element = env.get_object_array_element(array, i)?;
        if element.is_null() {
            return Err(JavaError::illegal_argument(format!("element {i} is null")));
        }
        let s = JString::from(element);
        out.push(env.get_string(&s)?.into());
    }
    Ok(out)
}

fn string(env: &mut JNIEnv<'_>, s: &JString<'_>) -> Result<String, JavaError> {
    if s.is_null() {
        return Err(JavaError::new("java/lang/NullPointerException", "name"));
    }
    Ok(env.get_string(s)?.into())
}

/// `static native long open(String[] jars, int release)`: an index over the jars (absolute
/// paths, search order), reused from the cache when they are unchanged.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_classload_NativeJarIndex_open<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    jars: JObjectArray<'local>,
    release: jint,
) -> jlong {
    jni_entry(&mut env, 0, |env| {
        let jars = strings(env, &jars)?;
        let (index, reuse) = JarCache::global()
            .index(&jars, release.max(8) as u32)
            .map_err(|e| JavaError::illegal_argument(format!("tmrt: {e}")))?;
        let handle = NEXT_HANDLE.fetch_add(1, Ordering::Relaxed);
        registry()
            .write()
            .insert(handle, Arc::new(NativeIndex { index, reuse }));
        Ok(handle)
    })
}

/// `static native int probe(String jar)`: the jar's flags (`runtime::classload::jar::flags`), or
/// `-1` when it cannot be indexed (the caller then leaves the jar to the JDK).
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_classload_NativeJarIndex_probe<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    jar: JString<'local>,
) -> jint {
    jni_entry(&mut env, -1, |env| {
        let path = string(env, &jar)?;
        Ok(JarCache::global()
            .jar(std::path::Path::new(&path))
            .map_or(-1, |j| j.flags()))
    })
}

/// `static native byte[] manifestOf(String jar)`: the jar's manifest bytes, or null.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_classload_NativeJarIndex_manifestOf<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    jar: JString<'local>,
) -> jbyteArray {
    jni_entry(&mut env, std::ptr::null_mut(), |env| {
        let path = string(env, &jar)?;
        let jar = JarCache::global()
            .jar(std::path::Path::new(&path))
            .map_err(|e| JavaError::new("java/io/IOException", format!("tmrt: {e}")))?;
        match jar.manifest_entry() {
            None => Ok(std::ptr::null_mut()),
            Some(i) => {
                let bytes = jar
                    .read(i)
                    .map_err(|e| JavaError::new("java/io/IOException", format!("tmrt: {e}")))?;
                Ok(env.byte_array_from_slice(&bytes)?.into_raw())
            }
        }
    })
}

/// `static native boolean wasReused(long handle)`: whether the index came from the cache.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_classload_NativeJarIndex_wasReused<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jboolean {
    jni_entry(&mut env, JNI_FALSE, |_| {
        Ok(if lookup(handle)?.reuse == Reuse::Reused {
            JNI_TRUE
        } else {
            JNI_FALSE
        })
    })
}

/// `static native void close(long handle)`: a second close is an `IllegalStateException`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_classload_NativeJarIndex_close<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    jni_entry(&mut env, (), |_| match registry().write().remove(&handle) {
        Some(_) => Ok(()),
        None => Err(JavaError::illegal_state(format!(
            "tmrt jar index {handle} is already closed"
        ))),
    })
}

/// `static native long findClass(long handle, String binaryName)`: `-1` when no jar holds
/// `a/b/C.class`, else the packed location of the first jar's entry.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_classload_NativeJarIndex_findClass<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    name: JString<'local>,
) -> jlong {
    jni_entry(&mut env, NOT_FOUND, |env| {
        let native = lookup(handle)?;
        if name.is_null() {
            return Err(JavaError::new("java/lang/NullPointerException", "name"));
        }
        let java = env.get_string(&name)?;
        let name = java.to_str().map_err(|e| JavaError::illegal_argument(e.to_string()))?;
        Ok(RESOURCE.with(|cell| {
            let mut resource = cell.borrow_mut();
            resource.clear();
            resource.extend(name.chars().map(|c| if c == '.' { '/' } else { c }));
            resource.push_str(".class");
            native.index.find(&resource).map_or(NOT_FOUND, Location::pack)
        }))
    })
}

thread_local! {
    /// `a/b/C.class` of the class being looked up, reused.
    static RESOURCE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// `static native long find(long handle, String resourceName)`: first location or `-1`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_classload_NativeJarIndex_find<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    name: JString<'local>,
) -> jlong {
    jni_entry(&mut env, NOT_FOUND, |env| {
        let native = lookup(handle)?;
        let name = string(env, &name)?;
        Ok(native.index.find(&name).map_or(NOT_FOUND, Location::pack))
    })
}

/// `static native long[] findAll(long handle, String resourceName)`: every location, in
/// classpath order.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_classload_NativeJarIndex_findAll<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    name: JString<'local>,
) -> jlongArray {
    jni_entry(&mut env, std::ptr::null_mut(), |env| {
        let native = lookup(handle)?;
        let name = string(env, &name)?;
        let locs: Vec<jlong> = native.index.find_all(&name).iter().map(|l| l.pack()).collect();
        long_array(env, &locs)
    })
}

/// `static native byte[] read(long handle, long location)`: the entry's bytes, inflated
/// straight into the new Java array.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_classload_NativeJarIndex_read<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    location: jlong,
) -> jbyteArray {
    jni_entry(&mut env, std::ptr::null_mut(), |env| {
        let native = lookup(handle)?;
        let loc = Location::unpack(location)
            .ok_or_else(|| JavaError::illegal_argument(format!("bad location {location}")))?;
        let size = native
            .index
            .entry_size(loc)
            .ok_or_else(|| JavaError::illegal_argument(format!("bad location {location}")))?;
        let len = i32::try_from(size)
            .map_err(|_| JavaError::new("java/io/IOException", format!("tmrt: entry of {size} bytes")))?;
        let array = env.new_byte_array(len)?;
        let result = {
            // SAFETY: `array` is a live local reference to a byte[] of `len` elements created
            // just above; no JNI function is called while the critical elements are held, and
            // the read (a positioned read of page-cached data and an inflate) waits for no Java
            // thread. The elements are released (copied back on success) when `elements` drops.
            let mut elements = unsafe { env.get_array_elements_critical(&array, ReleaseMode::CopyBack) }?;
            let out: &mut [i8] = &mut elements;
            // SAFETY: i8 and u8 have the same size and alignment; the slice covers the array.
            let out: &mut [u8] = unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<u8>(), out.len()) };
            native.index.read_into(loc, out)
        };
        result.map_err(|e| JavaError::new("java/io/IOException", format!("tmrt: {e}")))?;
        Ok(array.into_raw())
    })
}

/// `static native String entryName(long handle, long location)`: the real entry name.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_classload_NativeJarIndex_entryName<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    location: jlong,
) -> jstring {
    jni_entry(&mut env, std::ptr::null_mut(), |env| {
        let native = lookup(handle)?;
        let name = Location::unpack(location)
            .and_then(|l| native.index.entry_name(l))
            .ok_or_else(|| JavaError::illegal_argument(format!("bad location {location}")))?;
        Ok(env.new_string(name)?.into_raw())
    })
}

/// `static native long manifest(long handle, int jar)`: the location of the jar's manifest, or `-1`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_classload_NativeJarIndex_manifest<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    jar: jint,
) -> jlong {
    jni_entry(&mut env, NOT_FOUND, |_| {
        let native = lookup(handle)?;
        let j = native
            .index
            .jar(jar as u32)
            .ok_or_else(|| JavaError::illegal_argument(format!("no jar {jar}")))?;
        Ok(j.manifest_entry().map_or(NOT_FOUND, |e| {
            Location {
                jar: jar as u32,
                entry: e as u32,
            }
            .pack()
        }))
    })
}
