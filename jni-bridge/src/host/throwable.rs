//! Turning a pending Java exception into text the host can report, and clearing it, so that a
//! failed call leaves the attached thread usable for the next one.
//!
//! Describing an exception runs Java (`printStackTrace`, `toString`), which fails when the JVM is
//! out of heap — exactly when a job that fills the heap makes the driver fail. The last resort
//! therefore reads the exception's class name and `detailMessage` through JNI field access, which
//! allocates nothing on the Java heap, so that even then the error says what happened
//! (`java.lang.OutOfMemoryError: Java heap space`).

use std::fmt;

use jni::objects::{JObject, JString, JThrowable};
use jni::JNIEnv;

/// A call into Java that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaCallError {
    /// What the host was doing (`RoundDriver.runRound(3)`).
    pub call: String,
    /// The Java exception (`toString()` and stack trace) or the JNI error.
    pub detail: String,
}

impl fmt::Display for JavaCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.call, self.detail)
    }
}

impl std::error::Error for JavaCallError {}

impl JavaCallError {
    /// Builds the error for `call` from a JNI error, taking the pending exception (if any)
    /// as the detail and clearing it.
    pub fn from_jni(env: &mut JNIEnv<'_>, call: impl Into<String>, err: jni::errors::Error) -> Self {
        let detail = take_pending(env).unwrap_or_else(|| err.to_string());
        JavaCallError {
            call: call.into(),
            detail,
        }
    }
}

/// Clears the pending exception, if any, and returns its stack trace as text (as
/// `printStackTrace` writes it), or its `toString()` when even that fails.
pub fn take_pending(env: &mut JNIEnv<'_>) -> Option<String> {
    if !env.exception_check().unwrap_or(false) {
        return None;
    }
    let throwable = env.exception_occurred().ok()?;
    env.exception_clear().ok()?;
    let text = env
        .with_local_frame(8, |env| stack_trace_text(env, &throwable))
        .ok()
        .or_else(|| {
            let _ = env.exception_clear();
            env.with_local_frame(4, |env| to_string(env, &throwable)).ok()
        })
        .or_else(|| {
            let _ = env.exception_clear();
            env.with_local_frame(4, |env| from_fields(env, &throwable)).ok()
        })
        .unwrap_or_else(|| "(exception could not be described)".to_string());
    let _ = env.exception_clear();
    Some(text)
}

fn stack_trace_text(env: &mut JNIEnv<'_>, t: &JThrowable<'_>) -> jni::errors::Result<String> {
    let sw = env.new_object("java/io/StringWriter", "()V", &[])?;
    let pw = env.new_object("java/io/PrintWriter", "(Ljava/io/Writer;)V", &[(&sw).into()])?;
    env.call_method(t, "printStackTrace", "(Ljava/io/PrintWriter;)V", &[(&pw).into()])?;
    env.call_method(&pw, "flush", "()V", &[])?;
    let s = env.call_method(&sw, "toString", "()Ljava/lang/String;", &[])?.l()?;
    java_string(env, s)
}

fn to_string(env: &mut JNIEnv<'_>, t: &JThrowable<'_>) -> jni::errors::Result<String> {
    let s = env.call_method(t, "toString", "()Ljava/lang/String;", &[])?.l()?;
    java_string(env, s)
}

/// `class: message` read from the throwable's fields (`Class.name`, cached by the JVM for any class
/// whose name was asked for, and `Throwable.detailMessage`), without running Java code that
/// allocates; `(stack trace not available)` says why there is no more.
fn from_fields(env: &mut JNIEnv<'_>, t: &JThrowable<'_>) -> jni::errors::Result<String> {
    let class = env.get_object_class(t)?;
    let name_obj = env.get_field(&class, "name", "Ljava/lang/String;")?.l()?;
    let name = if name_obj.is_null() {
        "(class name not available)".to_string()
    } else {
        java_string(env, name_obj)?
    };
    let message_obj = env.get_field(t, "detailMessage", "Ljava/lang/String;")?.l()?;
    let message = java_string(env, message_obj)?;
    Ok(format!(
        "{name}: {message} (stack trace not available: the JVM could not describe it)"
    ))
}

/// A Java string as a Rust `String` (`null` becomes empty).
pub fn java_string(env: &mut JNIEnv<'_>, obj: JObject<'_>) -> jni::errors::Result<String> {
    if obj.is_null() {
        return Ok(String::new());
    }
    let s = JString::from(obj);
    let text: String = env.get_string(&s)?.into();
    Ok(text)
}
