//! The one way into Rust from Java: every `extern "system"` JNI entry point runs its body through
//! [`jni_entry`], which turns an error into a pending Java exception and catches any panic, so
//! that nothing ever unwinds across the FFI boundary into the JVM.
//!
//! Entry points return a plain default value (`0`, `null`, `false`) when they throw; the JVM
//! raises the pending exception as soon as the native method returns.

use std::panic::{catch_unwind, AssertUnwindSafe};

use jni::objects::JLongArray;
use jni::sys::{jint, jlong, jlongArray};
use jni::JNIEnv;

/// A Java exception to raise: the binary class name (`java/lang/IllegalStateException`) and the
/// message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaError {
    pub class: &'static str,
    pub message: String,
}

impl JavaError {
    pub fn new(class: &'static str, message: impl Into<String>) -> Self {
        JavaError {
            class,
            message: message.into(),
        }
    }
    pub fn illegal_state(message: impl Into<String>) -> Self {
        Self::new("java/lang/IllegalStateException", message)
    }
    pub fn illegal_argument(message: impl Into<String>) -> Self {
        Self::new("java/lang/IllegalArgumentException", message)
    }
    /// An exception is already pending in the JVM (a JNI call threw); raise nothing new.
    pub fn pending() -> Self {
        Self::new("", String::new())
    }
}

impl From<jni::errors::Error> for JavaError {
    fn from(e: jni::errors::Error) -> Self {
        match e {
            jni::errors::Error::JavaException => JavaError::pending(),
            other => JavaError::new("java/lang/RuntimeException", format!("tmrt JNI: {other}")),
        }
    }
}

/// Runs the body of a JNI entry point. An `Err` is thrown as a Java exception; a panic is caught
/// and thrown as `java.lang.Error` naming the panic message. Returns `default` in both cases.
pub fn jni_entry<'local, R>(
    env: &mut JNIEnv<'local>,
    default: R,
    body: impl FnOnce(&mut JNIEnv<'local>) -> Result<R, JavaError>,
) -> R {
    let outcome = catch_unwind(AssertUnwindSafe(|| body(env)));
    match outcome {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            throw(env, &e);
            default
        }
        Err(panic) => {
            let msg = panic_message(&*panic);
            throw(
                env,
                &JavaError::new("java/lang/Error", format!("tmrt native panic: {msg}")),
            );
            default
        }
    }
}

fn throw(env: &mut JNIEnv<'_>, e: &JavaError) {
    if e.class.is_empty() {
        return; // already pending
    }
    // A pending exception wins: the JVM would report it anyway.
    if env.exception_check().unwrap_or(false) {
        return;
    }
    let _ = env.throw_new(e.class, &e.message);
}

/// A new Java `long[]` holding `values` (how batches of handles and locations cross JNI).
pub fn long_array(env: &mut JNIEnv<'_>, values: &[jlong]) -> Result<jlongArray, JavaError> {
    let len = jint::try_from(values.len())
        .map_err(|_| JavaError::illegal_state(format!("{} values do not fit a Java array", values.len())))?;
    let array = env.new_long_array(len)?;
    env.set_long_array_region(&array, 0, values)?;
    Ok(array.into_raw())
}

/// The first `count` elements of a Java `long[]`: a negative `count` is an
/// `IllegalArgumentException`, one past the array's end the JVM's
/// `ArrayIndexOutOfBoundsException`.
pub fn long_prefix(env: &mut JNIEnv<'_>, array: &JLongArray<'_>, count: jint) -> Result<Vec<jlong>, JavaError> {
    let count = usize::try_from(count).map_err(|_| JavaError::illegal_argument(format!("negative count {count}")))?;
    let mut values = vec![0 as jlong; count];
    env.get_long_array_region(array, 0, &mut values)?;
    Ok(values)
}

/// The text of a caught panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}
