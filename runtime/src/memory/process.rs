//! A standalone TaskManager's whole process (Flink's `ProcessMemoryUtils` and
//! `TaskExecutorProcessUtils`, as `BashJavaUtils GET_TM_RESOURCE_PARAMS` runs them).
//!
//! First the legacy heap size (`FLINK_TM_HEAP`, `taskmanager.heap.size`, `taskmanager.heap.mb`;
//! 1.x only) becomes total Flink memory when that is not set. Then one of three derivations runs,
//! picked as Flink picks it: task heap and managed memory configured; else total Flink memory
//! configured; else total process memory configured; else the configuration is refused. JVM
//! metaspace is an option; JVM overhead is a fraction of total process memory, clamped, or the rest
//! of an explicit total. CPU cores default to the number of slots.

use crate::config::{Configuration, FlinkVersion};

use super::context::{add, sub, Context, ARITHMETIC};
use super::error::{MemoryConfigError, NFE};
use super::flink_memory::{from_fine_grained, from_total_flink, FlinkMemory};
use super::java_text::double_to_string;
use super::options::{Catalogue, EXTERNAL_RESOURCES, LEGACY_HEAP_ENV};
use super::read;
use super::spec::{Adjustment, Component, Source, TaskExecutorProcessSpec};
use super::MemorySize;

/// Derives a standalone TaskManager's memory as `version` does (cluster mode, what
/// `BashJavaUtils GET_TM_RESOURCE_PARAMS` computes), without a legacy heap environment variable.
pub fn process_spec_from_config(
    conf: &Configuration,
    version: FlinkVersion,
) -> Result<TaskExecutorProcessSpec, MemoryConfigError> {
    process_spec_from_config_with_env(conf, version, None)
}

/// Like [`process_spec_from_config`], with the value of the `FLINK_TM_HEAP` environment variable
/// (read by Flink 1.x as legacy heap size before the configuration's own legacy options).
pub fn process_spec_from_config_with_env(
    conf: &Configuration,
    version: FlinkVersion,
    flink_tm_heap: Option<&str>,
) -> Result<TaskExecutorProcessSpec, MemoryConfigError> {
    let cat = Catalogue::of(version);
    let mapped = map_legacy_heap(conf, &cat, flink_tm_heap)?;
    let conf = mapped.as_ref().map(|(c, _, _)| c).unwrap_or(conf);
    let mut cx = Context::new(conf, cat);
    if let Some((_, key, size)) = &mapped {
        cx.adjustments.push(Adjustment::LegacyHeapMapped {
            key: key.clone(),
            size: *size,
        });
    }
    for key in cx.cat.removed_keys {
        if conf.contains(key) {
            cx.adjustments.push(Adjustment::Ignored {
                key: key.to_string(),
                reason: "removed in this Flink version",
            });
        }
    }
    let (flink, metaspace, overhead) = derive_process(&mut cx)?;
    if let Some((_, key, _)) = &mapped {
        cx.record(Component::TotalFlink, Source::LegacyHeap { key: key.clone() });
    }
    let cpu_cores = cpu_cores(&cx)?;
    let num_slots = read::get_int(conf, &cx.cat.num_slots)?.unwrap_or(1);
    check_external_resources(conf)?;
    deprecated_key_notes(&mut cx);
    Ok(TaskExecutorProcessSpec {
        version,
        cpu_cores,
        framework_heap: flink.framework_heap,
        task_heap: flink.task_heap,
        framework_off_heap: flink.framework_off_heap,
        task_off_heap: flink.task_off_heap,
        network: flink.network,
        managed: flink.managed,
        jvm_metaspace: metaspace,
        jvm_overhead: overhead,
        num_slots,
        origins: cx.origins,
        adjustments: cx.adjustments,
    })
}

/// `MemoryBackwardsCompatibilityUtils.getConfWithLegacyHeapSizeMappedToNewConfigOption`.
fn map_legacy_heap(
    conf: &Configuration,
    cat: &Catalogue,
    env: Option<&str>,
) -> Result<Option<(Configuration, String, MemorySize)>, MemoryConfigError> {
    let (Some(heap), Some(heap_mb)) = (&cat.legacy_heap, &cat.legacy_heap_mb) else {
        return Ok(None);
    };
    if read::contains(conf, &cat.total_flink) {
        return Ok(None);
    }
    let legacy = if let Some(value) = env {
        let size = MemorySize::parse(value)
            .map_err(|e| MemoryConfigError::parse(LEGACY_HEAP_ENV, value, super::error::IAE, e.to_string()))?;
        Some((LEGACY_HEAP_ENV.to_string(), size))
    } else if read::contains(conf, heap) {
        Some((heap.key.to_string(), read::memory_size(conf, heap)?))
    } else if read::contains(conf, heap_mb) {
        let mb = read::get_int(conf, heap_mb)?.unwrap_or(0);
        if mb < 0 {
            return Err(MemoryConfigError::conflict(format!(
                "Configured total process memory size ({mb}MB) must not be less than 0."
            )));
        }
        Some((heap_mb.key.to_string(), MemorySize::new((mb as u64) << 20)))
    } else {
        None
    };
    Ok(legacy.map(|(key, size)| {
        let mut mapped = conf.clone();
        mapped.set(cat.total_flink.key, format!("{}b", size.bytes()));
        (mapped, key, size)
    }))
}

/// `ProcessMemoryUtils.memoryProcessSpecFromConfig`: Flink memory, metaspace, overhead.
fn derive_process(cx: &mut Context) -> Result<(FlinkMemory, MemorySize, MemorySize), MemoryConfigError> {
    let cat = cx.cat.clone();
    if cx.contains(&cat.task_heap) && cx.contains(&cat.managed_size) {
        let flink = from_fine_grained(cx)?;
        let (metaspace, overhead) = metaspace_and_overhead_from_total_flink(cx, flink.total()?)?;
        Ok((flink, metaspace, overhead))
    } else if cx.contains(&cat.total_flink) {
        let total = cx.size(&cat.total_flink)?;
        cx.record(Component::TotalFlink, cx.source_of(&cat.total_flink));
        let flink = from_total_flink(cx, total)?;
        let (metaspace, overhead) = metaspace_and_overhead_from_total_flink(cx, total)?;
        Ok((flink, metaspace, overhead))
    } else if cx.contains(&cat.total_process) {
        let total_process = cx.size(&cat.total_process)?;
        cx.record(Component::TotalProcess, cx.source_of(&cat.total_process));
        let metaspace = cx.component(Component::JvmMetaspace, &cat.jvm_metaspace)?;
        let range = overhead_range(cx)?;
        let overhead = cx.derive_fraction(
            Component::JvmOverhead,
            total_process,
            Component::TotalProcess,
            range,
            &cat.jvm_overhead_fraction,
            (cat.jvm_overhead_min.key, cat.jvm_overhead_max.key),
            false,
        )?;
        let jvm = add(&[metaspace, overhead])?;
        if jvm > total_process {
            return Err(MemoryConfigError::conflict(format!(
                "Sum of configured JVM Metaspace ({}) and JVM Overhead ({}) exceed configured Total Process Memory ({}).",
                metaspace.to_human_readable(),
                overhead.to_human_readable(),
                total_process.to_human_readable()
            )));
        }
        let total_flink = sub(total_process, jvm);
        cx.record(
            Component::TotalFlink,
            Source::Remainder {
                of: Component::TotalProcess,
            },
        );
        let flink = from_total_flink(cx, total_flink)?;
        Ok((flink, metaspace, overhead))
    } else {
        Err(MemoryConfigError::conflict(format!(
            "Either required fine-grained memory ({} and {}), or Total Flink Memory size ({}), or Total Process Memory size ({}) need to be configured explicitly.",
            cat.task_heap.key,
            cat.managed_size.key,
            cat.total_flink.describe(),
            cat.total_process.describe()
        )))
    }
}

fn overhead_range(cx: &Context) -> Result<super::fraction::RangeFraction, MemoryConfigError> {
    let min = cx.size(&cx.cat.jvm_overhead_min)?;
    let max = cx.size(&cx.cat.jvm_overhead_max)?;
    cx.range(min, max, &cx.cat.jvm_overhead_fraction)
}

/// `deriveJvmMetaspaceAndOverheadFromTotalFlinkMemory`.
fn metaspace_and_overhead_from_total_flink(
    cx: &mut Context,
    total_flink: MemorySize,
) -> Result<(MemorySize, MemorySize), MemoryConfigError> {
    let cat = cx.cat.clone();
    let metaspace = cx.component(Component::JvmMetaspace, &cat.jvm_metaspace)?;
    let flink_and_metaspace = add(&[total_flink, metaspace])?;
    if cx.contains(&cat.total_process) {
        let total_process = cx.size(&cat.total_process)?;
        if total_process < flink_and_metaspace {
            return Err(MemoryConfigError::conflict(format!(
                "The configured Total Process Memory size ({}) is less than the sum of the derived Total Flink Memory size ({}) and the configured or default JVM Metaspace size  ({}).",
                total_process.to_human_readable(),
                total_flink.to_human_readable(),
                metaspace.to_human_readable()
            )));
        }
        let overhead = sub(total_process, flink_and_metaspace);
        cx.record(
            Component::JvmOverhead,
            Source::Remainder {
                of: Component::TotalProcess,
            },
        );
        cx.record(Component::TotalProcess, cx.source_of(&cat.total_process));
        let range = overhead_range(cx)?;
        if overhead > range.max || overhead < range.min {
            return Err(MemoryConfigError::conflict(format!(
                "Derived JVM Overhead size ({}) is not in configured JVM Overhead range [{}, {}].",
                overhead.to_human_readable(),
                range.min.to_human_readable(),
                range.max.to_human_readable()
            )));
        }
        if cx.contains(&cat.jvm_overhead_fraction)
            && super::fraction::multiply(total_process, range.fraction).ok() != Some(overhead)
        {
            cx.adjustments.push(Adjustment::FractionNotApplied {
                component: Component::JvmOverhead,
                derived: overhead,
                key: cat.jvm_overhead_fraction.key,
                fraction: range.fraction,
                base: total_process,
            });
        }
        Ok((metaspace, overhead))
    } else {
        let range = overhead_range(cx)?;
        let overhead = cx.derive_fraction(
            Component::JvmOverhead,
            flink_and_metaspace,
            Component::TotalProcess,
            range,
            &cat.jvm_overhead_fraction,
            (cat.jvm_overhead_min.key, cat.jvm_overhead_max.key),
            true,
        )?;
        cx.record(Component::TotalProcess, Source::Sum);
        Ok((metaspace, overhead))
    }
}

/// `getCpuCoresWithFallback(config, -1)`: `taskmanager.cpu.cores`, else the number of slots.
fn cpu_cores(cx: &Context) -> Result<f64, MemoryConfigError> {
    let cores = match read::get_double(cx.conf, &cx.cat.cpu_cores)? {
        Some(c) => c,
        None => f64::from(read::get_int(cx.conf, &cx.cat.num_slots)?.unwrap_or(1)),
    };
    if cores <= 0.0 {
        return Err(MemoryConfigError::conflict(format!(
            "TaskExecutors need to be started with a positive number of CPU cores. Please configure {} accordingly.",
            cx.cat.cpu_cores.key
        )));
    }
    cpu_resource_value(cores, cx.cat.version)
}

/// `new CPUResource(cores).getValue().doubleValue()`: from 1.14 on, the value is cut to eight
/// decimals (`setScale(8, DOWN)`).
pub(crate) fn cpu_resource_value(cores: f64, version: FlinkVersion) -> Result<f64, MemoryConfigError> {
    if !cores.is_finite() {
        return Err(MemoryConfigError::arithmetic(
            NFE,
            "Infinite or NaN",
            "taskmanager.cpu.cores",
        ));
    }
    if version == FlinkVersion::V1_13 {
        return Ok(cores);
    }
    let text = double_to_string(cores);
    if text.contains('E') {
        // Magnitudes at or above 10^7 have no digits past the eighth decimal; below 10^-3 the
        // eight-decimal cut keeps at most five significant digits.
        let scaled = (cores * 1e8).trunc() / 1e8;
        return Ok(if cores.abs() >= 1e7 { cores } else { scaled });
    }
    let (int_part, frac) = text.split_once('.').unwrap_or((&text, ""));
    let cut = &frac[..frac.len().min(8)];
    format!("{int_part}.{cut}0")
        .parse::<f64>()
        .map_err(|_| MemoryConfigError::arithmetic(ARITHMETIC, "invalid CPU value", "taskmanager.cpu.cores"))
}

/// External resources are not modelled: refuse rather than print wrong dynamic configs.
fn check_external_resources(conf: &Configuration) -> Result<(), MemoryConfigError> {
    match conf.get(EXTERNAL_RESOURCES) {
        None => Ok(()),
        Some(v) if v.trim() == "none" || v.trim().is_empty() => Ok(()),
        Some(v) => Err(MemoryConfigError::unsupported(format!(
            "'{EXTERNAL_RESOURCES}: {v}' is set; tmrt does not model external resources (only 'none')"
        ))),
    }
}

/// Notes for every value read from a deprecated key.
pub(crate) fn deprecated_key_notes(cx: &mut Context) {
    let cat = &cx.cat;
    for option in [
        &cat.managed_size,
        &cat.network_min,
        &cat.network_max,
        &cat.network_fraction,
    ] {
        if let Some(key) = read::key_used(cx.conf, option) {
            if key != option.key {
                cx.adjustments.push(Adjustment::DeprecatedKey {
                    key: key.to_string(),
                    current_key: option.key,
                });
            }
        }
    }
}
