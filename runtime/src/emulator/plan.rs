//! The TaskManager an emulator run hosts, derived from a Flink configuration exactly as Flink
//! would start it: the memory model's JVM parameters, the managed memory split equally over
//! `taskmanager.numberOfTaskSlots` slots (Flink's `MemorySize.divide`), pages of
//! `taskmanager.memory.segment-size`, and the classloading options of the Flink line.
//!
//! One deliberate addition: `dev.tmrt.` is appended to the always-parent-first patterns. The
//! emulator's API (`dev.tmrt.emulator.Task`, `dev.tmrt.memory.MemoryManager`) plays the part of
//! Flink's own API, which Flink keeps parent-first through its `org.apache.flink.` pattern; a
//! job jar that bundles a copy must still see the host's classes.

use std::fmt;

use crate::classload::{ClassLoadConfigError, ClassLoadingOptions};
use crate::config::{Configuration, FlinkVersion};
use crate::memory::{process_spec_from_config, MemoryConfigError, MemorySize, TaskExecutorProcessSpec};

/// Flink's key for the managed-memory page size.
pub const SEGMENT_SIZE: &str = "taskmanager.memory.segment-size";
/// Flink's default page size (`MemoryManager.DEFAULT_PAGE_SIZE`).
pub const DEFAULT_PAGE_SIZE: u64 = 32 * 1024;
/// Flink's `MemoryManager.MIN_PAGE_SIZE`.
pub const MIN_PAGE_SIZE: u64 = 4 * 1024;
/// The parent-first pattern the emulator adds for its own API.
pub const EMULATOR_API_PATTERN: &str = "dev.tmrt.";

/// A TaskManager as the emulator hosts it.
#[derive(Debug, Clone)]
pub struct TaskManagerPlan {
    pub version: FlinkVersion,
    /// The derived memory layout.
    pub spec: TaskExecutorProcessSpec,
    /// `-Xmx… -Xms… -XX:MaxDirectMemorySize=… -XX:MaxMetaspaceSize=…`, one option per item.
    pub jvm_options: Vec<String>,
    /// Managed memory per slot, bytes.
    pub slot_managed_bytes: Vec<u64>,
    /// Managed-memory page size, bytes.
    pub page_size: u64,
    /// Resolve order and parent-first patterns (with [`EMULATOR_API_PATTERN`] appended).
    pub classloading: ClassLoadingOptions,
}

/// Why a configuration cannot be hosted.
#[derive(Debug, Clone)]
pub enum PlanError {
    Memory(MemoryConfigError),
    ClassLoading(ClassLoadConfigError),
    /// `taskmanager.memory.segment-size` is not a valid page size.
    PageSize {
        value: String,
        message: String,
    },
    /// No slot to run in.
    NoSlots(i64),
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::Memory(e) => write!(f, "{e}"),
            PlanError::ClassLoading(e) => write!(f, "{e}"),
            PlanError::PageSize { value, message } => {
                write!(f, "Could not parse value '{value}' for key '{SEGMENT_SIZE}': {message}")
            }
            PlanError::NoSlots(n) => write!(
                f,
                "taskmanager.numberOfTaskSlots must be at least 1 to run a job, got {n}"
            ),
        }
    }
}

impl std::error::Error for PlanError {}

impl TaskManagerPlan {
    /// Derives the TaskManager `version` would start from `conf`.
    pub fn from_config(conf: &Configuration, version: FlinkVersion) -> Result<Self, PlanError> {
        let spec = process_spec_from_config(conf, version).map_err(PlanError::Memory)?;
        let mut classloading = ClassLoadingOptions::from_config(conf, version).map_err(PlanError::ClassLoading)?;
        if !classloading
            .parent_first_patterns
            .iter()
            .any(|p| p == EMULATOR_API_PATTERN)
        {
            classloading
                .parent_first_patterns
                .push(EMULATOR_API_PATTERN.to_string());
        }
        let page_size = page_size(conf)?;
        let slots = i64::from(spec.num_slots);
        if slots < 1 {
            return Err(PlanError::NoSlots(slots));
        }
        let per_slot = spec.managed.bytes() / slots as u64;
        let jvm_options = spec.jvm_params().split_whitespace().map(str::to_string).collect();
        Ok(TaskManagerPlan {
            version,
            slot_managed_bytes: vec![per_slot; slots as usize],
            jvm_options,
            page_size,
            classloading,
            spec,
        })
    }
}

/// The page size from `taskmanager.memory.segment-size`: Flink's rules, a power of two of at
/// least 4 KiB.
pub fn page_size(conf: &Configuration) -> Result<u64, PlanError> {
    let Some(value) = conf.get(SEGMENT_SIZE) else {
        return Ok(DEFAULT_PAGE_SIZE);
    };
    let bytes = MemorySize::parse(value)
        .map_err(|e| PlanError::PageSize {
            value: value.to_string(),
            message: e.to_string(),
        })?
        .bytes();
    if bytes < MIN_PAGE_SIZE || !bytes.is_power_of_two() || bytes > 1 << 30 {
        return Err(PlanError::PageSize {
            value: value.to_string(),
            message: "the page size must be a power of two of at least 4 KiB (and at most 1 GiB)".to_string(),
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flink_default_taskmanager_with_two_slots() {
        let conf = Configuration::from_pairs([
            ("taskmanager.memory.process.size", "1728m"),
            ("taskmanager.numberOfTaskSlots", "2"),
        ]);
        let plan = TaskManagerPlan::from_config(&conf, FlinkVersion::V1_20).unwrap();
        assert_eq!(plan.slot_managed_bytes.len(), 2);
        assert_eq!(plan.slot_managed_bytes[0], plan.spec.managed.bytes() / 2);
        assert_eq!(plan.page_size, 32 * 1024);
        assert!(plan.jvm_options.iter().any(|o| o.starts_with("-Xmx")));
        assert!(plan.jvm_options.iter().any(|o| o.starts_with("-XX:MaxMetaspaceSize=")));
        assert_eq!(
            plan.classloading.parent_first_patterns.last().unwrap(),
            EMULATOR_API_PATTERN
        );
        assert_eq!(plan.classloading.parent_first_patterns[0], "java.");
    }

    #[test]
    fn bad_page_size_names_the_option() {
        for bad in ["3kb", "48kb", "lots"] {
            let conf = Configuration::from_pairs([(SEGMENT_SIZE, bad)]);
            let e = page_size(&conf).unwrap_err().to_string();
            assert!(e.contains(SEGMENT_SIZE) && e.contains(bad), "{e}");
        }
        let conf = Configuration::from_pairs([(SEGMENT_SIZE, "64kb")]);
        assert_eq!(page_size(&conf).unwrap(), 65536);
    }
}
