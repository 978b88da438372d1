//! tmrt's core, with no JVM in sight: everything here is plain Rust, testable with `cargo test`.
//!
//! The crate is laid out the way Flink's own TaskExecutor utilities are. [`config`] is the input:
//! a flat map of Flink option keys to strings, read from `flink-conf.yaml` or `config.yaml` the
//! way each supported Flink line reads it, plus `-D` overrides. The models built from it never
//! print and never touch a JVM; the `jni-bridge` crate renders them, and hands them to Java.

pub mod classload;
pub mod config;
pub mod dropin;
pub mod emulator;
pub mod managed;
pub mod memory;
pub mod telemetry;
