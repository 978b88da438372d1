//! Local execution: the resources of the TaskExecutor inside a MiniCluster (Flink's
//! `TaskExecutorResourceUtils.resourceSpecFromConfigForLocalExecution(adjustForLocalExecution(conf))`).
//!
//! No process is started, so nothing is derived from totals: process, Flink, framework, metaspace
//! and overhead options have no effect (1.14+ removes them; 1.13 only warns). Unset task heap and
//! task off-heap become "unlimited" (1 TiB), CPU cores 1,000,000, managed memory 128 MiB, network
//! memory 64 MiB; a network min without max (or max without min) is used for both, and a min that
//! differs from the max is refused.

use crate::config::{Configuration, FlinkVersion};

use super::error::{MemoryConfigError, IAE};
use super::options::{Catalogue, MemoryOption};
use super::process::cpu_resource_value;
use super::read;
use super::spec::{Adjustment, Component, LocalExecutionSpec, Origin, Source};
use super::MemorySize;

const LOCAL_TASK_MEMORY: MemorySize = MemorySize::of_mebibytes(1 << 20);
const LOCAL_CPU_CORES: f64 = 1_000_000.0;
const DEFAULT_NETWORK: MemorySize = MemorySize::of_mebibytes(64);
const DEFAULT_MANAGED: MemorySize = MemorySize::of_mebibytes(128);

/// Derives the local-execution resources as `version` does.
pub fn local_spec_from_config(
    conf: &Configuration,
    version: FlinkVersion,
) -> Result<LocalExecutionSpec, MemoryConfigError> {
    let cat = Catalogue::of(version);
    let mut conf = conf.clone();
    let mut origins = Vec::new();
    let mut adjustments = Vec::new();
    for option in [
        &cat.total_process,
        &cat.total_flink,
        &cat.framework_heap,
        &cat.framework_off_heap,
        &cat.jvm_metaspace,
        &cat.jvm_overhead_min,
        &cat.jvm_overhead_max,
        &cat.jvm_overhead_fraction,
    ] {
        if read::contains(&conf, option) {
            adjustments.push(Adjustment::Ignored {
                key: option.key.to_string(),
                reason: "has no effect in local execution",
            });
            if version != FlinkVersion::V1_13 {
                conf.remove(option.key);
            }
        }
    }
    let mut note = |component: Component, conf: &Configuration, option: &MemoryOption, reason: &'static str| {
        let source = match read::key_used(conf, option) {
            Some(key) => Source::Configured { key: key.to_string() },
            None => Source::LocalExecution { reason },
        };
        origins.push(Origin { component, source });
    };
    note(
        Component::TaskHeap,
        &conf,
        &cat.task_heap,
        "not set: the maximal possible value (1 TiB)",
    );
    note(
        Component::TaskOffHeap,
        &conf,
        &cat.task_off_heap,
        "not set: the maximal possible value (1 TiB)",
    );
    note(
        Component::Managed,
        &conf,
        &cat.managed_size,
        "not set: 128 MiB for local execution",
    );
    let cpu_set = read::contains(&conf, &cat.cpu_cores);
    set_if_absent(&mut conf, &cat.task_heap, LOCAL_TASK_MEMORY);
    set_if_absent(&mut conf, &cat.task_off_heap, LOCAL_TASK_MEMORY);

    // adjustNetworkMemoryForLocalExecution
    let network_source = match (
        read::contains(&conf, &cat.network_min),
        read::contains(&conf, &cat.network_max),
    ) {
        (false, true) => {
            let max = read::get_size(&conf, &cat.network_max)?.unwrap_or(DEFAULT_NETWORK);
            set_if_absent(&mut conf, &cat.network_min, max);
            Source::Configured {
                key: read::key_used(&conf, &cat.network_max)
                    .unwrap_or(cat.network_max.key)
                    .to_string(),
            }
        }
        (true, false) => {
            let min = read::get_size(&conf, &cat.network_min)?.unwrap_or(DEFAULT_NETWORK);
            set_if_absent(&mut conf, &cat.network_max, min);
            Source::Configured {
                key: read::key_used(&conf, &cat.network_min)
                    .unwrap_or(cat.network_min.key)
                    .to_string(),
            }
        }
        (true, true) => Source::Configured {
            key: read::key_used(&conf, &cat.network_min)
                .unwrap_or(cat.network_min.key)
                .to_string(),
        },
        (false, false) => Source::LocalExecution {
            reason: "not set: 64 MiB for local execution",
        },
    };
    set_if_absent(&mut conf, &cat.network_min, DEFAULT_NETWORK);
    set_if_absent(&mut conf, &cat.network_max, DEFAULT_NETWORK);
    set_if_absent(&mut conf, &cat.managed_size, DEFAULT_MANAGED);
    origins.push(Origin {
        component: Component::Network,
        source: network_source,
    });

    // resourceSpecFromConfig: min and max must agree.
    let min = read::get_size(&conf, &cat.network_min)?.unwrap_or(DEFAULT_NETWORK);
    let max = read::get_size(&conf, &cat.network_max)?.unwrap_or(DEFAULT_NETWORK);
    if min != max {
        return Err(MemoryConfigError::conflict(format!(
            "The network memory min ({min}) and max ({max}) mismatch, the network memory has to be resolved and set to a fixed value before task executor starts"
        )));
    }
    let cpu_cores = if cpu_set {
        read::get_double(&conf, &cat.cpu_cores)?.unwrap_or(LOCAL_CPU_CORES)
    } else {
        LOCAL_CPU_CORES
    };
    let cpu_cores = cpu_resource_value(cpu_cores, version)?;
    if cpu_cores < 0.0 {
        return Err(MemoryConfigError::arithmetic(
            IAE,
            "Resource value must be no less than 0",
            cat.cpu_cores.key,
        ));
    }
    let task_heap = read::get_size(&conf, &cat.task_heap)?.unwrap_or(LOCAL_TASK_MEMORY);
    let task_off_heap = read::get_size(&conf, &cat.task_off_heap)?.unwrap_or(LOCAL_TASK_MEMORY);
    let network = min;
    let managed = read::get_size(&conf, &cat.managed_size)?.unwrap_or(DEFAULT_MANAGED);
    for option in [&cat.managed_size, &cat.network_min, &cat.network_max] {
        if let Some(key) = read::key_used(&conf, option) {
            if key != option.key {
                adjustments.push(Adjustment::DeprecatedKey {
                    key: key.to_string(),
                    current_key: option.key,
                });
            }
        }
    }
    Ok(LocalExecutionSpec {
        version,
        cpu_cores,
        task_heap,
        task_off_heap,
        network,
        managed,
        origins,
        adjustments,
    })
}

fn set_if_absent(conf: &mut Configuration, option: &MemoryOption, value: MemorySize) {
    if !read::contains(conf, option) {
        conf.set(option.key, format!("{}b", value.bytes()));
    }
}
