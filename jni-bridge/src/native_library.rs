//! JNI entry points of `dev.tmrt.NativeLibrary`: the probe that tells the Java side the library
//! is loaded (including when it was loaded as a `-agentpath` agent).

use jni::objects::JClass;
use jni::sys::jstring;
use jni::JNIEnv;

use crate::ffi::jni_entry;

/// `static native String nativeVersion()`.
#[no_mangle]
pub extern "system" fn Java_dev_tmrt_NativeLibrary_nativeVersion<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
) -> jstring {
    jni_entry(&mut env, std::ptr::null_mut(), |env| {
        Ok(env.new_string(crate::VERSION)?.into_raw())
    })
}
