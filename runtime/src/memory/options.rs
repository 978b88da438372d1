//! The TaskManager options each Flink line reads: keys, deprecated fallback keys, defaults, and
//! the keys a line no longer reads.
//!
//! This is Flink's `TaskManagerOptions` (and the two `NettyShuffleEnvironmentOptions` the memory
//! model consults) restricted to the memory model, read off the `flink-dist` jars of 1.13.6,
//! 1.20.3 and 2.2.0. The only default that changed is `taskmanager.memory.network.max`: 1 GiB in
//! 1.13, unbounded (`Long.MAX_VALUE` bytes) from 1.14 on. The legacy heap options
//! (`taskmanager.heap.size`, `taskmanager.heap.mb`) and the legacy buffer count
//! (`taskmanager.network.numberOfBuffers`) are gone in 2.x. Deprecated keys are still read by all
//! three lines (2.2 included: its `TaskManagerOptions` keeps `withDeprecatedKeys`).

use crate::config::FlinkVersion;

use super::MemorySize;

/// A default value of an option.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptionDefault {
    /// No default (`noDefaultValue()`).
    None,
    Size(MemorySize),
    /// A float default, with Java's `Float.toString` text.
    Float(f32, &'static str),
    Int(i32),
}

/// One Flink configuration option.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryOption {
    pub key: &'static str,
    /// Deprecated keys read when `key` is absent, in order.
    pub deprecated_keys: &'static [&'static str],
    pub default: OptionDefault,
}

impl MemoryOption {
    const fn size(key: &'static str, default: Option<MemorySize>) -> Self {
        MemoryOption {
            key,
            deprecated_keys: &[],
            default: match default {
                Some(s) => OptionDefault::Size(s),
                None => OptionDefault::None,
            },
        }
    }

    const fn deprecated(mut self, keys: &'static [&'static str]) -> Self {
        self.deprecated_keys = keys;
        self
    }

    /// Flink's `ConfigOption.toString`, as its messages print an option:
    /// `Key: 'k' , default: d (fallback keys: [{key=old, isDeprecated=true}])`.
    pub fn describe(&self) -> String {
        let default = match self.default {
            OptionDefault::None => "null".to_string(),
            OptionDefault::Size(s) => s.to_string(),
            OptionDefault::Float(_, text) => text.to_string(),
            OptionDefault::Int(i) => i.to_string(),
        };
        let fallbacks: Vec<String> = self
            .deprecated_keys
            .iter()
            .map(|k| format!("{{key={k}, isDeprecated=true}}"))
            .collect();
        format!(
            "Key: '{}' , default: {} (fallback keys: [{}])",
            self.key,
            default,
            fallbacks.join(", ")
        )
    }

    /// The default size, if this is a memory option with a default.
    pub fn default_size(&self) -> Option<MemorySize> {
        match self.default {
            OptionDefault::Size(s) => Some(s),
            _ => None,
        }
    }
}

const MIB: u64 = 1 << 20;

/// The memory-related options of one Flink line.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalogue {
    pub version: FlinkVersion,
    pub total_process: MemoryOption,
    pub total_flink: MemoryOption,
    pub framework_heap: MemoryOption,
    pub framework_off_heap: MemoryOption,
    pub task_heap: MemoryOption,
    pub task_off_heap: MemoryOption,
    pub managed_size: MemoryOption,
    pub managed_fraction: MemoryOption,
    pub network_min: MemoryOption,
    pub network_max: MemoryOption,
    pub network_fraction: MemoryOption,
    pub jvm_metaspace: MemoryOption,
    pub jvm_overhead_min: MemoryOption,
    pub jvm_overhead_max: MemoryOption,
    pub jvm_overhead_fraction: MemoryOption,
    pub num_slots: MemoryOption,
    pub cpu_cores: MemoryOption,
    pub segment_size: MemoryOption,
    /// `taskmanager.heap.size` (1.x only).
    pub legacy_heap: Option<MemoryOption>,
    /// `taskmanager.heap.mb` (1.x only).
    pub legacy_heap_mb: Option<MemoryOption>,
    /// `taskmanager.network.numberOfBuffers` (1.x only).
    pub legacy_network_buffers: Option<MemoryOption>,
    /// Keys earlier lines read for the TaskManager's memory that this line ignores.
    pub removed_keys: &'static [&'static str],
}

/// The environment variable a standalone TaskManager reads as legacy heap size (1.x).
pub const LEGACY_HEAP_ENV: &str = "FLINK_TM_HEAP";

/// Option key of the external resource list (not modelled; see `process`).
pub const EXTERNAL_RESOURCES: &str = "external-resources";

const FRACTION_0_4: OptionDefault = OptionDefault::Float(0.4, "0.4");
const FRACTION_0_1: OptionDefault = OptionDefault::Float(0.1, "0.1");

impl Catalogue {
    /// The catalogue of `version`.
    pub fn of(version: FlinkVersion) -> Catalogue {
        let legacy = version != FlinkVersion::V2_2;
        let network_max_default = match version {
            FlinkVersion::V1_13 => MemorySize::new(1024 * MIB),
            _ => MemorySize::MAX,
        };
        Catalogue {
            version,
            total_process: MemoryOption::size("taskmanager.memory.process.size", None),
            total_flink: MemoryOption::size("taskmanager.memory.flink.size", None),
            framework_heap: MemoryOption::size(
                "taskmanager.memory.framework.heap.size",
                Some(MemorySize::new(128 * MIB)),
            ),
            framework_off_heap: MemoryOption::size(
                "taskmanager.memory.framework.off-heap.size",
                Some(MemorySize::new(128 * MIB)),
            ),
            task_heap: MemoryOption::size("taskmanager.memory.task.heap.size", None),
            task_off_heap: MemoryOption::size("taskmanager.memory.task.off-heap.size", Some(MemorySize::ZERO)),
            managed_size: MemoryOption::size("taskmanager.memory.managed.size", None)
                .deprecated(&["taskmanager.memory.size"]),
            managed_fraction: MemoryOption {
                key: "taskmanager.memory.managed.fraction",
                deprecated_keys: &[],
                default: FRACTION_0_4,
            },
            network_min: MemoryOption::size("taskmanager.memory.network.min", Some(MemorySize::new(64 * MIB)))
                .deprecated(&["taskmanager.network.memory.min"]),
            network_max: MemoryOption::size("taskmanager.memory.network.max", Some(network_max_default))
                .deprecated(&["taskmanager.network.memory.max"]),
            network_fraction: MemoryOption {
                key: "taskmanager.memory.network.fraction",
                deprecated_keys: &["taskmanager.network.memory.fraction"],
                default: FRACTION_0_1,
            },
            jvm_metaspace: MemoryOption::size(
                "taskmanager.memory.jvm-metaspace.size",
                Some(MemorySize::new(256 * MIB)),
            ),
            jvm_overhead_min: MemoryOption::size(
                "taskmanager.memory.jvm-overhead.min",
                Some(MemorySize::new(192 * MIB)),
            ),
            jvm_overhead_max: MemoryOption::size(
                "taskmanager.memory.jvm-overhead.max",
                Some(MemorySize::new(1024 * MIB)),
            ),
            jvm_overhead_fraction: MemoryOption {
                key: "taskmanager.memory.jvm-overhead.fraction",
                deprecated_keys: &[],
                default: FRACTION_0_1,
            },
            num_slots: MemoryOption {
                key: "taskmanager.numberOfTaskSlots",
                deprecated_keys: &[],
                default: OptionDefault::Int(1),
            },
            cpu_cores: MemoryOption {
                key: "taskmanager.cpu.cores",
                deprecated_keys: &[],
                default: OptionDefault::None,
            },
            segment_size: MemoryOption::size("taskmanager.memory.segment-size", Some(MemorySize::new(32 * 1024))),
            legacy_heap: legacy.then(|| MemoryOption::size("taskmanager.heap.size", None)),
            legacy_heap_mb: legacy.then_some(MemoryOption {
                key: "taskmanager.heap.mb",
                deprecated_keys: &[],
                default: OptionDefault::None,
            }),
            legacy_network_buffers: legacy.then_some(MemoryOption {
                key: "taskmanager.network.numberOfBuffers",
                deprecated_keys: &[],
                default: OptionDefault::Int(2048),
            }),
            removed_keys: if legacy {
                &[]
            } else {
                &[
                    "taskmanager.heap.size",
                    "taskmanager.heap.mb",
                    "taskmanager.network.numberOfBuffers",
                ]
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_max_default_changed_after_1_13() {
        assert_eq!(
            Catalogue::of(FlinkVersion::V1_13).network_max.default_size(),
            Some(MemorySize::new(1 << 30))
        );
        assert_eq!(
            Catalogue::of(FlinkVersion::V1_20).network_max.default_size(),
            Some(MemorySize::MAX)
        );
        assert_eq!(
            Catalogue::of(FlinkVersion::V2_2).network_max.default_size(),
            Some(MemorySize::MAX)
        );
    }

    #[test]
    fn legacy_options_are_gone_in_2_2() {
        assert!(Catalogue::of(FlinkVersion::V1_20).legacy_heap.is_some());
        assert!(Catalogue::of(FlinkVersion::V2_2).legacy_heap.is_none());
        assert!(Catalogue::of(FlinkVersion::V2_2)
            .removed_keys
            .contains(&"taskmanager.heap.mb"));
    }

    #[test]
    fn describe_matches_flinks_config_option_to_string() {
        let c = Catalogue::of(FlinkVersion::V1_20);
        assert_eq!(
            c.total_flink.describe(),
            "Key: 'taskmanager.memory.flink.size' , default: null (fallback keys: [])"
        );
        assert_eq!(
            c.jvm_overhead_fraction.describe(),
            "Key: 'taskmanager.memory.jvm-overhead.fraction' , default: 0.1 (fallback keys: [])"
        );
        assert_eq!(
            c.network_fraction.describe(),
            "Key: 'taskmanager.memory.network.fraction' , default: 0.1 (fallback keys: [{key=taskmanager.network.memory.fraction, isDeprecated=true}])"
        );
    }
}
