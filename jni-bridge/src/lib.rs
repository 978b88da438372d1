//! `libtmrt.so`: the part of tmrt that lives inside a JVM, plus the `tmrt` command's library.
//!
//! One shared object plays two roles. Loaded with `java -agentpath:…/libtmrt.so=opts` it is a
//! JVMTI agent that watches class loading, metaspace and classloader lifetimes. Loaded by the
//! Java library (`dev.tmrt.NativeLibrary`) it is the native side of `dev.tmrt.*`: the managed
//! memory pool and the jar index. Both roles are thin: they parse, convert and hand off to the
//! [`runtime`] crate, where all policy lives and is tested without a JVM. The same crate also
//! builds the `tmrt` command, which hosts a JVM in-process through the JNI invocation API.
//!
//! Every `extern "system"` function goes through [`ffi::jni_entry`] (or catches panics itself),
//! so no panic ever unwinds into the JVM.

pub mod agent;
pub mod classload_jni;
pub mod cli;
pub mod ffi;
pub mod host;
pub mod managed_jni;
mod native_library;

/// The version of this library, as reported to `dev.tmrt.NativeLibrary`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where the build put the Java library (`target/java/tmrt.jar`).
pub const JAR_PATH: &str = env!("TMRT_JAR_PATH");
