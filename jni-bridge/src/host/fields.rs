//! Reading the driver's plain result objects (`dev.tmrt.emulator.RoundResult` and friends) field
//! by field through JNI: typed values, no second encoding between Java and Rust. A `null` string
//! reads as empty, a `null` array as empty.

use jni::objects::{JObject, JObjectArray, JPrimitiveArray};
use jni::JNIEnv;

use super::throwable::java_string;

pub type JniResult<T> = jni::errors::Result<T>;

pub fn int(env: &mut JNIEnv<'_>, obj: &JObject<'_>, name: &str) -> JniResult<i32> {
    env.get_field(obj, name, "I")?.i()
}

pub fn long(env: &mut JNIEnv<'_>, obj: &JObject<'_>, name: &str) -> JniResult<i64> {
    env.get_field(obj, name, "J")?.j()
}

pub fn boolean(env: &mut JNIEnv<'_>, obj: &JObject<'_>, name: &str) -> JniResult<bool> {
    env.get_field(obj, name, "Z")?.z()
}

/// An object field of type `sig` (`Ljava/lang/String;`, `[I`, …).
pub fn object<'l>(env: &mut JNIEnv<'l>, obj: &JObject<'_>, name: &str, sig: &str) -> JniResult<JObject<'l>> {
    env.get_field(obj, name, sig)?.l()
}

pub fn string(env: &mut JNIEnv<'_>, obj: &JObject<'_>, name: &str) -> JniResult<String> {
    let s = object(env, obj, name, "Ljava/lang/String;")?;
    java_string(env, s)
}

/// A `String` field that may be null.
pub fn opt_string(env: &mut JNIEnv<'_>, obj: &JObject<'_>, name: &str) -> JniResult<Option<String>> {
    let s = object(env, obj, name, "Ljava/lang/String;")?;
    if s.is_null() {
        return Ok(None);
    }
    Ok(Some(java_string(env, s)?))
}

/// The elements of an object-array field, each mapped by `f` inside a local frame.
pub fn objects<T>(
    env: &mut JNIEnv<'_>,
    obj: &JObject<'_>,
    name: &str,
    sig: &str,
    mut f: impl FnMut(&mut JNIEnv<'_>, &JObject<'_>) -> JniResult<T>,
) -> JniResult<Vec<T>> {
    let arr = JObjectArray::from(object(env, obj, name, sig)?);
    if arr.is_null() {
        return Ok(Vec::new());
    }
    let n = env.get_array_length(&arr)?;
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let item = env.with_local_frame(8, |env| -> JniResult<T> {
            let e = env.get_object_array_element(&arr, i)?;
            f(env, &e)
        })?;
        out.push(item);
    }
    env.delete_local_ref(arr)?;
    Ok(out)
}

/// A `String[]` field.
pub fn strings(env: &mut JNIEnv<'_>, obj: &JObject<'_>, name: &str) -> JniResult<Vec<String>> {
    objects(env, obj, name, "[Ljava/lang/String;", |env, e| {
        let s = env.new_local_ref(e)?;
        java_string(env, s)
    })
}

/// An `int[]` field.
pub fn ints(env: &mut JNIEnv<'_>, obj: &JObject<'_>, name: &str) -> JniResult<Vec<i32>> {
    let arr: JPrimitiveArray<'_, i32> = JPrimitiveArray::from(object(env, obj, name, "[I")?);
    if arr.is_null() {
        return Ok(Vec::new());
    }
    let n = env.get_array_length(&arr)?;
    let mut out = vec![0; n as usize];
    env.get_int_array_region(&arr, 0, &mut out)?;
    Ok(out)
}
