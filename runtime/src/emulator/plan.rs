//! The TaskManager an emulator run hosts, derived from a Flink configuration exactly as Flink
//! would start it: the memory model's JVM parameters, the managed memory split equally over
//! `taskmanager.numberOfTaskSlots` slots (Flink's `MemorySize.divide`), pages of
//! `taskmanager.memory.segment-size`, and the classloading options of the Flink line.
//!
//! A configuration that sets no memory size gets Flink's shipped defaults
//! (`taskmanager.memory.process.size: 1728m` from the distribution's configuration file,
//! `taskmanager.numberOfTaskSlots: 1`), recorded in [`TaskManagerPlan::defaults_applied`] so that
//! the output says so. Slots are checked before the derivation (Flink would report zero slots as
//! a CPU-cores error). [`TaskManagerPlan::check_fits`] refuses a TaskManager whose JVM heap (Flink
//! starts it with `-Xms` = `-Xmx`, committed at start) the machine cannot commit, before a JVM is
//! tried.
//!
//! One deliberate addition for the plain mode: `dev.tmrt.` is appended to the always-parent-first
//! patterns. The emulator's API (`dev.tmrt.emulator.Task`, `dev.tmrt.memory.MemoryManager`) plays
//! the part of Flink's own API, which Flink keeps parent-first through its `org.apache.flink.`
//! pattern; a job jar that bundles a copy must still see the host's classes.

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
/// Flink's key for the number of slots.
pub const SLOTS: &str = "taskmanager.numberOfTaskSlots";
/// Flink's key for the total process memory.
pub const PROCESS_SIZE: &str = "taskmanager.memory.process.size";
/// What Flink's distribution ships in its configuration file when nothing else is configured.
pub const SHIPPED_DEFAULTS: [(&str, &str); 2] = [(PROCESS_SIZE, "1728m"), (SLOTS, "1")];
/// The start of Flink's message for a configuration that sets no memory size at all.
const NOTHING_CONFIGURED: &str = "Either required fine-grained memory";
/// The TaskManager JVM options Flink's start scripts add from the configuration, in their order
/// (1.13 reads `env.java.opts`, later lines `env.java.opts.all` with `env.java.opts` deprecated).
pub const JAVA_OPTS_KEYS: [&str; 4] = [
    "env.java.default-opts.all",
    "env.java.opts.all",
    "env.java.opts",
    "env.java.opts.taskmanager",
];

/// How much memory this machine can commit to a new process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MachineMemory {
    /// Physical memory (`MemTotal`).
    pub ram_bytes: u64,
    /// Swap (`SwapTotal`).
    pub swap_bytes: u64,
    /// With strict overcommit (`vm.overcommit_memory = 2`): what may still be committed
    /// (`CommitLimit - Committed_AS`).
    pub strict_commit_left: Option<u64>,
}

impl MachineMemory {
    /// The largest single commitment a new process can make.
    pub fn commit_limit(&self) -> u64 {
        let total = self.ram_bytes.saturating_add(self.swap_bytes);
        self.strict_commit_left.map_or(total, |left| left.min(total))
    }
}

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
    /// Options the configuration did not set, given Flink's shipped defaults: `(key, value)`.
    pub defaults_applied: Vec<(String, String)>,
    /// The configuration the plan was derived from, defaults applied.
    pub config: Configuration,
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
    NoSlots(String),
    /// The machine cannot commit the JVM heap this TaskManager starts with.
    WontFit {
        /// The JVM heap (`-Xms`), bytes.
        heap: u64,
        /// What the machine can commit, bytes.
        limit: u64,
        /// The option(s) that sized it, `key: value`.
        sized_by: String,
    },
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::Memory(e) => write!(f, "{e}"),
            PlanError::ClassLoading(e) => write!(f, "{e}"),
            PlanError::PageSize { value, message } => {
                write!(f, "Could not parse value '{value}' for key '{SEGMENT_SIZE}': {message}")
            }
            PlanError::NoSlots(n) => write!(f, "{SLOTS} must be at least 1 to run a job, got '{n}'"),
            PlanError::WontFit { heap, limit, sized_by } => write!(
                f,
                "this TaskManager's JVM heap ({}, -Xms{heap}) cannot be committed on this machine ({} of memory and swap can be); it is sized by {sized_by}",
                MemorySize::new(*heap).to_human_readable(),
                MemorySize::new(*limit).to_human_readable()
            ),
        }
    }
}

impl std::error::Error for PlanError {}

impl TaskManagerPlan {
    /// Derives the TaskManager `version` would start from `conf`, with Flink's shipped defaults
    /// for what it leaves out, and `dev.tmrt.` always parent-first (the plain mode).
    pub fn from_config(conf: &Configuration, version: FlinkVersion) -> Result<Self, PlanError> {
        Self::derive(conf, version, true)
    }

    /// As [`Self::from_config`], for Flink's own MiniCluster: Flink's classloading options as
    /// they are.
    pub fn for_flink_session(conf: &Configuration, version: FlinkVersion) -> Result<Self, PlanError> {
        Self::derive(conf, version, false)
    }

    fn derive(conf: &Configuration, version: FlinkVersion, emulator_api: bool) -> Result<Self, PlanError> {
        if let Some(v) = conf.get(SLOTS) {
            if v.trim().parse::<i64>().is_ok_and(|n| n < 1) {
                return Err(PlanError::NoSlots(v.to_string()));
            }
        }
        let mut conf = conf.clone();
        let mut defaults_applied = Vec::new();
        let spec = match process_spec_from_config(&conf, version) {
            Err(e) if e.is_conflict() && e.to_string().starts_with(NOTHING_CONFIGURED) => {
                let (key, value) = SHIPPED_DEFAULTS[0];
                conf.set(key, value);
                defaults_applied.push((key.to_string(), value.to_string()));
                process_spec_from_config(&conf, version).map_err(PlanError::Memory)?
            }
            other => other.map_err(PlanError::Memory)?,
        };
        if !conf.contains(SLOTS) {
            let (key, value) = SHIPPED_DEFAULTS[1];
            defaults_applied.push((key.to_string(), value.to_string()));
        }
        let mut classloading = ClassLoadingOptions::from_config(&conf, version).map_err(PlanError::ClassLoading)?;
        if emulator_api
            && !classloading
                .parent_first_patterns
                .iter()
                .any(|p| p == EMULATOR_API_PATTERN)
        {
            classloading
                .parent_first_patterns
                .push(EMULATOR_API_PATTERN.to_string());
        }
        let page_size = page_size(&conf)?;
        let slots = i64::from(spec.num_slots);
        if slots < 1 {
            return Err(PlanError::NoSlots(slots.to_string()));
        }
        let per_slot = spec.managed.bytes() / slots as u64;
        let mut jvm_options: Vec<String> = spec.jvm_params().split_whitespace().map(str::to_string).collect();
        for key in JAVA_OPTS_KEYS {
            if let Some(v) = conf.get(key) {
                jvm_options.extend(v.split_whitespace().map(str::to_string));
            }
        }
        Ok(TaskManagerPlan {
            version,
            slot_managed_bytes: vec![per_slot; slots as usize],
            jvm_options,
            page_size,
            classloading,
            defaults_applied,
            config: conf,
            spec,
        })
    }

    /// The JVM heap Flink starts this TaskManager with (`-Xms` = `-Xmx`), bytes.
    pub fn jvm_heap_bytes(&self) -> u64 {
        self.spec.jvm_heap().bytes()
    }

    /// Refuses a TaskManager whose JVM heap the machine cannot commit: the JVM would stop in its
    /// own start-up with nothing but a crash log.
    pub fn check_fits(&self, machine: &MachineMemory) -> Result<(), PlanError> {
        let heap = self.jvm_heap_bytes();
        let limit = machine.commit_limit();
        if heap <= limit {
            return Ok(());
        }
        let sized_by: Vec<String> = [
            PROCESS_SIZE,
            "taskmanager.memory.flink.size",
            "taskmanager.memory.task.heap.size",
            "taskmanager.memory.framework.heap.size",
        ]
        .iter()
        .filter_map(|k| self.config.get(k).map(|v| format!("{k}: {v}")))
        .collect();
        Err(PlanError::WontFit {
            heap,
            limit,
            sized_by: if sized_by.is_empty() {
                "the memory configuration".to_string()
            } else {
                sized_by.join(", ")
            },
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
    fn nothing_configured_gets_flinks_shipped_defaults_and_says_so() {
        let plan = TaskManagerPlan::from_config(&Configuration::new(), FlinkVersion::V2_2).unwrap();
        assert_eq!(
            plan.defaults_applied,
            vec![
                (PROCESS_SIZE.to_string(), "1728m".to_string()),
                (SLOTS.to_string(), "1".to_string())
            ]
        );
        assert_eq!(plan.spec.total_process().bytes(), 1728 << 20);
        assert_eq!(plan.slot_managed_bytes.len(), 1);
        let conf = Configuration::from_pairs([("taskmanager.memory.flink.size", "1g"), (SLOTS, "3")]);
        let plan = TaskManagerPlan::from_config(&conf, FlinkVersion::V1_20).unwrap();
        assert!(plan.defaults_applied.is_empty(), "{:?}", plan.defaults_applied);
        assert_eq!(plan.slot_managed_bytes.len(), 3);
        // A configuration error other than "nothing configured" is not papered over.
        let bad = Configuration::from_pairs([(PROCESS_SIZE, "lots")]);
        assert!(TaskManagerPlan::from_config(&bad, FlinkVersion::V1_20).is_err());
    }

    #[test]
    fn zero_slots_is_refused_before_the_derivation() {
        for v in ["0", "-2", " 0"] {
            let conf = Configuration::from_pairs([(PROCESS_SIZE, "1728m"), (SLOTS, v)]);
            let e = TaskManagerPlan::from_config(&conf, FlinkVersion::V1_20)
                .unwrap_err()
                .to_string();
            assert!(e.contains("taskmanager.numberOfTaskSlots must be at least 1"), "{e}");
        }
    }

    #[test]
    fn a_heap_the_machine_cannot_commit_is_refused_naming_the_option() {
        let conf = Configuration::from_pairs([(PROCESS_SIZE, "100g")]);
        let plan = TaskManagerPlan::from_config(&conf, FlinkVersion::V1_20).unwrap();
        let machine = MachineMemory {
            ram_bytes: 24 << 30,
            swap_bytes: 0,
            strict_commit_left: None,
        };
        let e = plan.check_fits(&machine).unwrap_err().to_string();
        assert!(
            e.contains("cannot be committed") && e.contains("taskmanager.memory.process.size: 100g"),
            "{e}"
        );
        let small = TaskManagerPlan::from_config(&Configuration::new(), FlinkVersion::V1_20).unwrap();
        assert!(small.check_fits(&machine).is_ok());
        let strict = MachineMemory {
            strict_commit_left: Some(100 << 20),
            ..machine
        };
        assert_eq!(strict.commit_limit(), 100 << 20);
        assert!(small.check_fits(&strict).is_err());
    }

    #[test]
    fn java_opts_from_the_configuration_follow_the_memory_parameters() {
        let conf = Configuration::from_pairs([
            (PROCESS_SIZE, "1728m"),
            ("env.java.opts.all", "-XX:+UseSerialGC  -Da=b"),
            ("env.java.opts.taskmanager", "-Dtm=1"),
        ]);
        let plan = TaskManagerPlan::from_config(&conf, FlinkVersion::V1_20).unwrap();
        let tail: Vec<&str> = plan
            .jvm_options
            .iter()
            .rev()
            .take(3)
            .rev()
            .map(String::as_str)
            .collect();
        assert_eq!(tail, ["-XX:+UseSerialGC", "-Da=b", "-Dtm=1"]);
        assert!(plan.jvm_options[0].starts_with("-Xmx"));
    }

    #[test]
    fn the_flink_session_keeps_flinks_patterns() {
        let plan = TaskManagerPlan::for_flink_session(&Configuration::new(), FlinkVersion::V1_20).unwrap();
        assert!(!plan
            .classloading
            .parent_first_patterns
            .iter()
            .any(|p| p == EMULATOR_API_PATTERN));
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
