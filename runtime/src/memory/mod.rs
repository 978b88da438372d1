//! Flink's TaskExecutor memory model, byte for byte, for Flink 1.13, 1.20 and 2.2.
//!
//! The layering follows Flink's own utilities, one concern per file. [`MemorySize`] (`size`) is
//! Flink's size type with its grammar and printed forms; `number` is Java's number parsing as
//! Flink's `Configuration` applies it. `options` is the per-version option catalogue (keys,
//! deprecated keys, defaults, removed keys) and `read` reads typed values from a
//! [`Configuration`](crate::config::Configuration) the way Flink does, fallback keys included.
//! `fraction` is Flink's exact `BigDecimal` arithmetic for fractions and their min/max ranges.
//! The derivation proper is `flink_memory` (the six components of total Flink memory) and
//! `process` (legacy heap mapping, JVM metaspace and overhead, CPU cores: what
//! `BashJavaUtils GET_TM_RESOURCE_PARAMS` computes), with `local` for local execution. They
//! produce plain values, [`TaskExecutorProcessSpec`] and [`LocalExecutionSpec`], which carry the
//! record of how every component was determined ([`Origin`]) and what Flink adjusted on the way
//! ([`Adjustment`]). Nothing in this module prints: the `tmrt memory` command renders these values.
//! A refused configuration is a [`MemoryConfigError`] carrying Flink's message.

mod context;
mod error;
mod flink_memory;
mod fraction;
mod java_hash_order;
mod java_text;
mod local;
mod number;
mod options;
mod process;
mod read;
mod size;
mod spec;

pub use error::{ErrorKind, MemoryConfigError};
pub use fraction::{multiply, Bound, RangeFraction};
pub use java_text::{double_to_string, format_fixed3};
pub use local::local_spec_from_config;
pub use number::{parse_double, parse_float, parse_int};
pub use options::{Catalogue, MemoryOption, OptionDefault, LEGACY_HEAP_ENV};
pub use process::{process_spec_from_config, process_spec_from_config_with_env};
pub(crate) use size::java_trim;
pub use size::{MemorySize, MemorySizeError, MemoryUnit, ALL_UNITS};
pub use spec::{Adjustment, Component, LocalExecutionSpec, Origin, Source, TaskExecutorProcessSpec};
