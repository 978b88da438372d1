//! Flink's TaskExecutor memory model: sizes, options, derivation, and the spec a TaskManager starts with.
//!
//! The layering follows Flink's own utilities. [`MemorySize`] is Flink's size type with its text
//! grammar and printed forms; nothing else in tmrt parses or prints a memory size.

mod java_text;
mod size;

pub use java_text::{double_to_string, format_fixed3};
pub use size::{MemorySize, MemorySizeError, MemoryUnit, ALL_UNITS};
