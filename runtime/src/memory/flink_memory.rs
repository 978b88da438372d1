//! Total Flink memory and its six components (Flink's `TaskExecutorFlinkMemoryUtils`).
//!
//! Two entry points, as in Flink. With task heap and managed memory both configured, the
//! components are added up (network memory is then the inverse fraction of the others, or the
//! rest of an also configured total Flink memory). With a total Flink memory, managed and network
//! memory are fractions of it (clamped to their ranges) and task heap is the rest, or, if task heap
//! is configured, network memory is the rest. Every check, message and the order in which options
//! are read follow Flink, so the same configuration fails with the same first error.

use super::context::{add, sub, Context};
use super::error::{MemoryConfigError, IAE};
use super::fraction::RangeFraction;
use super::options::MemoryOption;
use super::read;
use super::spec::{Adjustment, Component, Source};
use super::MemorySize;

/// The six components of total Flink memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FlinkMemory {
    pub framework_heap: MemorySize,
    pub framework_off_heap: MemorySize,
    pub task_heap: MemorySize,
    pub task_off_heap: MemorySize,
    pub network: MemorySize,
    pub managed: MemorySize,
}

impl FlinkMemory {
    pub fn total(&self) -> Result<MemorySize, MemoryConfigError> {
        add(&[
            self.framework_heap,
            self.framework_off_heap,
            self.task_heap,
            self.task_off_heap,
            self.network,
            self.managed,
        ])
    }
}

/// Flink's "Sum of configured A (a), B (b) and C (c) exceed configured Total Flink Memory (t)."
fn exceeds_total(parts: &[(&str, MemorySize)], total: MemorySize) -> MemoryConfigError {
    let named: Vec<String> = parts
        .iter()
        .map(|(name, size)| format!("{name} ({})", size.to_human_readable()))
        .collect();
    let (last, rest) = named.split_last().expect("at least one part");
    MemoryConfigError::conflict(format!(
        "Sum of configured {} and {last} exceed configured Total Flink Memory ({}).",
        rest.join(", "),
        total.to_human_readable()
    ))
}

/// Network memory as the rest of an explicitly configured total, when task heap is configured
/// too: `parts` holds the other five components (its `network` is not read), `without_network`
/// their sum.
fn network_rest(
    cx: &mut Context,
    parts: &FlinkMemory,
    without_network: MemorySize,
    total: MemorySize,
) -> Result<MemorySize, MemoryConfigError> {
    if without_network > total {
        return Err(exceeds_total(
            &[
                ("Framework Heap Memory", parts.framework_heap),
                ("Framework Off-Heap Memory", parts.framework_off_heap),
                ("Task Heap Memory", parts.task_heap),
                ("Task Off-Heap Memory", parts.task_off_heap),
                ("Managed Memory", parts.managed),
            ],
            total,
        ));
    }
    let network = sub(total, without_network);
    cx.record(
        Component::Network,
        Source::Remainder {
            of: Component::TotalFlink,
        },
    );
    check_network(cx, network, total)?;
    Ok(network)
}

/// `deriveFromRequiredFineGrainedOptions`: task heap and managed memory are configured.
pub(crate) fn from_fine_grained(cx: &mut Context) -> Result<FlinkMemory, MemoryConfigError> {
    let cat = cx.cat.clone();
    let task_heap = cx.component(Component::TaskHeap, &cat.task_heap)?;
    let managed = cx.component(Component::Managed, &cat.managed_size)?;
    let mut memory = FlinkMemory {
        framework_heap: cx.component(Component::FrameworkHeap, &cat.framework_heap)?,
        framework_off_heap: cx.component(Component::FrameworkOffHeap, &cat.framework_off_heap)?,
        task_heap,
        task_off_heap: cx.component(Component::TaskOffHeap, &cat.task_off_heap)?,
        network: MemorySize::ZERO,
        managed,
    };
    let without_network = memory.total()?;
    memory.network = if cx.contains(&cat.total_flink) {
        let total = cx.size(&cat.total_flink)?;
        network_rest(cx, &memory, without_network, total)?
    } else if let Some(network) = legacy_network(cx)? {
        network
    } else {
        let range = network_range(cx)?;
        cx.derive_fraction(
            Component::Network,
            without_network,
            Component::TotalFlink,
            range,
            &cat.network_fraction,
            (cat.network_min.key, cat.network_max.key),
            true,
        )?
    };
    check_total_flink(cx, &memory)?;
    cx.record(Component::TotalFlink, Source::Sum);
    Ok(memory)
}

/// `deriveFromTotalFlinkMemory`.
pub(crate) fn from_total_flink(cx: &mut Context, total: MemorySize) -> Result<FlinkMemory, MemoryConfigError> {
    let cat = cx.cat.clone();
    let mut memory = FlinkMemory {
        framework_heap: cx.component(Component::FrameworkHeap, &cat.framework_heap)?,
        framework_off_heap: cx.component(Component::FrameworkOffHeap, &cat.framework_off_heap)?,
        task_heap: MemorySize::ZERO,
        task_off_heap: cx.component(Component::TaskOffHeap, &cat.task_off_heap)?,
        network: MemorySize::ZERO,
        managed: MemorySize::ZERO,
    };
    if cx.contains(&cat.task_heap) {
        memory.task_heap = cx.component(Component::TaskHeap, &cat.task_heap)?;
        memory.managed = managed_memory(cx, total)?;
        let without_network = memory.total()?;
        memory.network = network_rest(cx, &memory, without_network, total)?;
    } else {
        memory.managed = managed_memory(cx, total)?;
        memory.network = match legacy_network(cx)? {
            Some(n) => n,
            None => {
                let range = network_range(cx)?;
                cx.derive_fraction(
                    Component::Network,
                    total,
                    Component::TotalFlink,
                    range,
                    &cat.network_fraction,
                    (cat.network_min.key, cat.network_max.key),
                    false,
                )?
            }
        };
        let without_task_heap = memory.total()?;
        if without_task_heap > total {
            return Err(exceeds_total(
                &[
                    ("Framework Heap Memory", memory.framework_heap),
                    ("Framework Off-Heap Memory", memory.framework_off_heap),
                    ("Task Off-Heap Memory", memory.task_off_heap),
                    ("Managed Memory", memory.managed),
                    ("Network Memory", memory.network),
                ],
                total,
            ));
        }
        memory.task_heap = sub(total, without_task_heap);
        cx.record(
            Component::TaskHeap,
            Source::Remainder {
                of: Component::TotalFlink,
            },
        );
    }
    check_total_flink(cx, &memory)?;
    Ok(memory)
}

/// `deriveManagedMemoryAbsoluteOrWithFraction`.
fn managed_memory(cx: &mut Context, total: MemorySize) -> Result<MemorySize, MemoryConfigError> {
    let cat = cx.cat.clone();
    if cx.contains(&cat.managed_size) {
        return cx.component(Component::Managed, &cat.managed_size);
    }
    let range = cx.range(MemorySize::ZERO, MemorySize::MAX, &cat.managed_fraction)?;
    cx.derive_fraction(
        Component::Managed,
        total,
        Component::TotalFlink,
        range,
        &cat.managed_fraction,
        ("", ""),
        false,
    )
}

/// `getNetworkMemoryRangeFraction`.
fn network_range(cx: &Context) -> Result<RangeFraction, MemoryConfigError> {
    let min = cx.size(&cx.cat.network_min)?;
    let max = cx.size(&cx.cat.network_max)?;
    cx.range(min, max, &cx.cat.network_fraction)
}

/// `isUsingLegacyNetworkConfigs`: only the legacy buffer count is set (1.x). The option, when so.
fn legacy_network_buffers(cx: &Context) -> Option<MemoryOption> {
    let cat = &cx.cat;
    let buffers = cat.legacy_network_buffers?;
    let any_network =
        cx.contains(&cat.network_min) || cx.contains(&cat.network_max) || cx.contains(&cat.network_fraction);
    (!any_network && cx.contains(&buffers)).then_some(buffers)
}

/// `getNetworkMemorySizeWithLegacyConfig`, when it applies.
fn legacy_network(cx: &mut Context) -> Result<Option<MemorySize>, MemoryConfigError> {
    let Some(option) = legacy_network_buffers(cx) else {
        return Ok(None);
    };
    let (size, buffers, segment) = legacy_network_size(cx, &option)?;
    cx.record(
        Component::Network,
        Source::LegacyBuffers {
            buffers,
            segment_size: segment,
        },
    );
    Ok(Some(size))
}

fn legacy_network_size(
    cx: &Context,
    option: &MemoryOption,
) -> Result<(MemorySize, i32, MemorySize), MemoryConfigError> {
    let buffers = read::get_int(cx.conf, option)?.unwrap_or(2048);
    let segment = read::get_size(cx.conf, &cx.cat.segment_size)?.unwrap_or(MemorySize::new(32 * 1024));
    let key = cx.cat.segment_size.key;
    let page = i32::try_from(segment.bytes()).map_err(|_| {
        MemoryConfigError::arithmetic(
            IAE,
            &format!("Cannot downcast long value {} to integer.", segment.bytes()),
            key,
        )
    })?;
    if page < 4096 {
        return Err(MemoryConfigError::conflict(format!(
            "Invalid configuration value for {key} : {page} - Minimum memory segment size is 4096"
        )));
    }
    if page.count_ones() != 1 {
        return Err(MemoryConfigError::conflict(format!(
            "Invalid configuration value for {key} : {page} - Memory segment size must be a power of 2."
        )));
    }
    let bytes = (buffers as i64).wrapping_mul(page as i64);
    if bytes < 0 {
        return Err(MemoryConfigError::arithmetic(
            IAE,
            "bytes must be >= 0",
            "taskmanager.network.numberOfBuffers",
        ));
    }
    Ok((MemorySize::new(bytes as u64), buffers, segment))
}

/// `sanityCheckNetworkMemoryWithExplicitlySetTotalFlinkAndHeapMemory`: network memory left over
/// from an explicit total must fit the network options.
fn check_network(cx: &mut Context, network: MemorySize, total: MemorySize) -> Result<(), MemoryConfigError> {
    if let Some(option) = legacy_network_buffers(cx) {
        let (configured, _, _) = legacy_network_size(cx, &option)?;
        if configured != network {
            return Err(MemoryConfigError::conflict(format!(
                "Derived Network Memory size ({}) does not match configured Network Memory size ({}).",
                network.to_human_readable(),
                configured.to_human_readable()
            )));
        }
        return Ok(());
    }
    let range = network_range(cx)?;
    if network > range.max || network < range.min {
        return Err(MemoryConfigError::conflict(format!(
            "Derived Network Memory size ({}) is not in configured Network Memory range [{}, {}].",
            network.to_human_readable(),
            range.min.to_human_readable(),
            range.max.to_human_readable()
        )));
    }
    if cx.contains(&cx.cat.network_fraction) {
        let by_fraction = super::fraction::multiply(total, range.fraction).ok();
        if by_fraction != Some(network) {
            cx.adjustments.push(Adjustment::FractionNotApplied {
                component: Component::Network,
                derived: network,
                key: cx.cat.network_fraction.key,
                fraction: range.fraction,
                base: total,
            });
        }
    }
    Ok(())
}

/// `sanityCheckTotalFlinkMemory`.
fn check_total_flink(cx: &Context, memory: &FlinkMemory) -> Result<(), MemoryConfigError> {
    if !cx.contains(&cx.cat.total_flink) {
        return Ok(());
    }
    let configured = cx.size(&cx.cat.total_flink)?;
    let derived = memory.total()?;
    if configured != derived {
        return Err(MemoryConfigError::conflict(format!(
            "Configured and Derived Flink internal memory sizes (total {}) do not add up to the configured Total Flink Memory size ({}). Configured and Derived Flink internal memory sizes are: Framework Heap Memory ({}), Framework Off-Heap Memory ({}), Task Heap Memory ({}), Task Off-Heap Memory ({}), Network Memory ({}), Managed Memory ({}).",
            derived.to_human_readable(),
            configured.to_human_readable(),
            memory.framework_heap.to_human_readable(),
            memory.framework_off_heap.to_human_readable(),
            memory.task_heap.to_human_readable(),
            memory.task_off_heap.to_human_readable(),
            memory.network.to_human_readable(),
            memory.managed.to_human_readable()
        )));
    }
    Ok(())
}
