//! The plain result of a derivation: every component's size, and the record of how each was
//! determined. Nothing here derives or prints; the JVM parameters and dynamic configs are the two
//! strings Flink's `BashJavaUtils` hands to `bin/config.sh`.

use crate::config::FlinkVersion;

use super::fraction::Bound;
use super::java_hash_order::hash_map_order;
use super::java_text::double_to_string;
use super::MemorySize;

/// A component of the TaskManager's memory (or a total).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Component {
    FrameworkHeap,
    TaskHeap,
    FrameworkOffHeap,
    TaskOffHeap,
    Network,
    Managed,
    JvmMetaspace,
    JvmOverhead,
    TotalFlink,
    TotalProcess,
}

impl Component {
    /// The name Flink's messages use.
    pub fn flink_name(self) -> &'static str {
        match self {
            Component::FrameworkHeap => "Framework Heap Memory",
            Component::TaskHeap => "Task Heap Memory",
            Component::FrameworkOffHeap => "Framework Off-Heap Memory",
            Component::TaskOffHeap => "Task Off-Heap Memory",
            Component::Network => "Network Memory",
            Component::Managed => "Managed Memory",
            Component::JvmMetaspace => "JVM Metaspace",
            Component::JvmOverhead => "JVM Overhead",
            Component::TotalFlink => "Total Flink Memory",
            Component::TotalProcess => "Total Process Memory",
        }
    }
}

/// How a component's size was determined.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Set explicitly, under `key` (which may be a deprecated key).
    Configured { key: String },
    /// The default of option `key`.
    Default { key: &'static str },
    /// `fraction` (option `key`, explicitly set or its default) of `base`, the size of `of`.
    Fraction {
        key: &'static str,
        configured: bool,
        fraction: f64,
        of: Component,
        base: MemorySize,
    },
    /// Such that it is `fraction` (option `key`) of the total it forms with the other
    /// components, whose sum is `others` (Flink's inverse fraction).
    InverseFraction {
        key: &'static str,
        configured: bool,
        fraction: f64,
        of: Component,
        others: MemorySize,
    },
    /// What is left of `of` after all other components.
    Remainder { of: Component },
    /// The sum of its components.
    Sum,
    /// The legacy heap size (`key`: an option or the `FLINK_TM_HEAP` environment variable),
    /// mapped onto total Flink memory.
    LegacyHeap { key: String },
    /// Legacy `taskmanager.network.numberOfBuffers` × segment size.
    LegacyBuffers { buffers: i32, segment_size: MemorySize },
    /// Local execution: not set, so Flink uses `value` (`reason` says which value it is).
    LocalExecution { reason: &'static str },
}

/// A component and how it was determined.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    pub component: Component,
    pub source: Source,
}

/// Something Flink adjusted or ignored on the way (it logs these; tmrt reports them).
#[derive(Debug, Clone, PartialEq)]
pub enum Adjustment {
    /// A fraction-derived size fell outside its range and was clamped to `to`.
    Clamped {
        component: Component,
        derived: MemorySize,
        to: MemorySize,
        bound: Bound,
        bound_key: &'static str,
    },
    /// A deprecated key was read because the current key is not set.
    DeprecatedKey { key: String, current_key: &'static str },
    /// The legacy heap size was used as total Flink memory.
    LegacyHeapMapped { key: String, size: MemorySize },
    /// The size left for a component differs from what its explicitly configured fraction gives;
    /// the left-over size is used (Flink logs this at INFO).
    FractionNotApplied {
        component: Component,
        derived: MemorySize,
        key: &'static str,
        fraction: f64,
        base: MemorySize,
    },
    /// An option that is set has no effect (`reason` says why).
    Ignored { key: String, reason: &'static str },
}

/// Everything a TaskManager process starts with: Flink's `TaskExecutorProcessSpec`.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskExecutorProcessSpec {
    pub version: FlinkVersion,
    pub cpu_cores: f64,
    pub framework_heap: MemorySize,
    pub task_heap: MemorySize,
    pub framework_off_heap: MemorySize,
    pub task_off_heap: MemorySize,
    pub network: MemorySize,
    pub managed: MemorySize,
    pub jvm_metaspace: MemorySize,
    pub jvm_overhead: MemorySize,
    pub num_slots: i32,
    /// How each component was determined, in derivation order.
    pub origins: Vec<Origin>,
    /// What Flink adjusted or ignored, in derivation order.
    pub adjustments: Vec<Adjustment>,
}

/// The sum of `sizes`, clamped to [`MemorySize::MAX`]. A derived spec never gets there (the
/// derivation refuses sums past `Long.MAX_VALUE` as Flink does), but the fields are public and a
/// hand-built spec must not wrap around or panic.
fn sum(sizes: &[MemorySize]) -> MemorySize {
    MemorySize::new(sizes.iter().fold(0u64, |acc, s| acc.saturating_add(s.bytes())))
}

impl TaskExecutorProcessSpec {
    /// Total Flink memory: heap, off-heap, network and managed memory.
    pub fn total_flink(&self) -> MemorySize {
        sum(&[
            self.framework_heap,
            self.framework_off_heap,
            self.task_heap,
            self.task_off_heap,
            self.network,
            self.managed,
        ])
    }

    /// Total process memory: total Flink memory plus JVM metaspace and overhead.
    pub fn total_process(&self) -> MemorySize {
        sum(&[self.total_flink(), self.jvm_metaspace, self.jvm_overhead])
    }

    /// JVM heap (`-Xmx`/`-Xms`): framework heap plus task heap.
    pub fn jvm_heap(&self) -> MemorySize {
        sum(&[self.framework_heap, self.task_heap])
    }

    /// JVM direct memory (`-XX:MaxDirectMemorySize`): framework and task off-heap plus network.
    pub fn jvm_direct(&self) -> MemorySize {
        sum(&[self.framework_off_heap, self.task_off_heap, self.network])
    }

    /// Total off-heap memory as Flink's breakdown shows it: managed plus JVM direct memory.
    pub fn total_off_heap(&self) -> MemorySize {
        sum(&[self.managed, self.jvm_direct()])
    }

    /// The JVM parameters (`ProcessMemoryUtils.generateJvmParametersStr`).
    pub fn jvm_params(&self) -> String {
        format!(
            "-Xmx{heap} -Xms{heap} -XX:MaxDirectMemorySize={direct} -XX:MaxMetaspaceSize={meta}",
            heap = self.jvm_heap().bytes(),
            direct = self.jvm_direct().bytes(),
            meta = self.jvm_metaspace.bytes()
        )
    }

    /// The dynamic configs as `(key, value)` pairs, in the order Flink prints them.
    pub fn dynamic_config_pairs(&self) -> Vec<(&'static str, String)> {
        let size = |s: MemorySize| format!("{}b", s.bytes());
        // Insertion order of TaskExecutorProcessUtils.generateDynamicConfigsStr.
        let pairs: Vec<(&'static str, String)> = vec![
            ("taskmanager.cpu.cores", double_to_string(self.cpu_cores)),
            ("taskmanager.memory.framework.heap.size", size(self.framework_heap)),
            (
                "taskmanager.memory.framework.off-heap.size",
                size(self.framework_off_heap),
            ),
            ("taskmanager.memory.task.heap.size", size(self.task_heap)),
            ("taskmanager.memory.task.off-heap.size", size(self.task_off_heap)),
            ("taskmanager.memory.network.min", size(self.network)),
            ("taskmanager.memory.network.max", size(self.network)),
            ("taskmanager.memory.managed.size", size(self.managed)),
            ("taskmanager.memory.jvm-metaspace.size", size(self.jvm_metaspace)),
            ("taskmanager.memory.jvm-overhead.min", size(self.jvm_overhead)),
            ("taskmanager.memory.jvm-overhead.max", size(self.jvm_overhead)),
            ("taskmanager.numberOfTaskSlots", self.num_slots.to_string()),
            ("external-resources", "none".to_string()),
        ];
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
        hash_map_order(&keys).into_iter().map(|i| pairs[i].clone()).collect()
    }

    /// The dynamic configs string (`-D key=value ...`) Flink passes to the TaskManager.
    pub fn dynamic_configs(&self) -> String {
        self.dynamic_config_pairs()
            .iter()
            .map(|(k, v)| format!("-D {k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The size of `component`.
    pub fn size_of(&self, component: Component) -> MemorySize {
        match component {
            Component::FrameworkHeap => self.framework_heap,
            Component::TaskHeap => self.task_heap,
            Component::FrameworkOffHeap => self.framework_off_heap,
            Component::TaskOffHeap => self.task_off_heap,
            Component::Network => self.network,
            Component::Managed => self.managed,
            Component::JvmMetaspace => self.jvm_metaspace,
            Component::JvmOverhead => self.jvm_overhead,
            Component::TotalFlink => self.total_flink(),
            Component::TotalProcess => self.total_process(),
        }
    }

    /// How `component` was determined.
    pub fn origin_of(&self, component: Component) -> Option<&Source> {
        self.origins
            .iter()
            .find(|o| o.component == component)
            .map(|o| &o.source)
    }
}

/// What a TaskExecutor in local execution (a MiniCluster) gets: Flink's `TaskExecutorResourceSpec`
/// from `resourceSpecFromConfigForLocalExecution`.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalExecutionSpec {
    pub version: FlinkVersion,
    pub cpu_cores: f64,
    pub task_heap: MemorySize,
    pub task_off_heap: MemorySize,
    pub network: MemorySize,
    pub managed: MemorySize,
    pub origins: Vec<Origin>,
    pub adjustments: Vec<Adjustment>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_of_a_hand_built_spec_clamp_instead_of_wrapping() {
        let spec = TaskExecutorProcessSpec {
            version: FlinkVersion::V1_20,
            cpu_cores: 1.0,
            framework_heap: MemorySize::MAX,
            task_heap: MemorySize::MAX,
            framework_off_heap: MemorySize::MAX,
            task_off_heap: MemorySize::MAX,
            network: MemorySize::MAX,
            managed: MemorySize::MAX,
            jvm_metaspace: MemorySize::MAX,
            jvm_overhead: MemorySize::MAX,
            num_slots: 1,
            origins: Vec::new(),
            adjustments: Vec::new(),
        };
        assert_eq!(spec.total_flink(), MemorySize::MAX);
        assert_eq!(spec.total_process(), MemorySize::MAX);
        assert_eq!(spec.jvm_heap(), MemorySize::MAX);
        assert_eq!(spec.jvm_direct(), MemorySize::MAX);
        assert_eq!(spec.total_off_heap(), MemorySize::MAX);
    }
}
