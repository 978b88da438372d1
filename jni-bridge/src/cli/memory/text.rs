//! `--format text`: the breakdown Flink logs ("Final TaskExecutor Memory configuration"), then
//! where each component's size came from and what Flink adjusted on the way, from the records the
//! derivation keeps. Rendering only: every number comes from the spec.

use std::fmt::Write;

use runtime::config::Configuration;
use runtime::memory::{
    double_to_string, Adjustment, Bound, Component, LocalExecutionSpec, MemorySize, Origin, Source,
    TaskExecutorProcessSpec,
};

/// Components in the order the notes list them.
const ORDER: [Component; 10] = [
    Component::TotalProcess,
    Component::TotalFlink,
    Component::FrameworkHeap,
    Component::TaskHeap,
    Component::FrameworkOffHeap,
    Component::TaskOffHeap,
    Component::Network,
    Component::Managed,
    Component::JvmMetaspace,
    Component::JvmOverhead,
];

fn hr(size: MemorySize) -> String {
    size.to_human_readable()
}

/// A fraction as the user wrote it (Flink reads fractions as Java floats).
fn fraction(f: f64) -> String {
    (f as f32).to_string()
}

fn configured_value(conf: Option<&Configuration>, key: &str) -> String {
    match conf.and_then(|c| c.get(key)) {
        Some(v) => format!("{key}: {v}"),
        None => key.to_string(),
    }
}

fn short_name(c: Component) -> &'static str {
    match c {
        Component::FrameworkHeap => "Framework Heap",
        Component::TaskHeap => "Task Heap",
        Component::FrameworkOffHeap => "Framework Off-Heap",
        Component::TaskOffHeap => "Task Off-Heap",
        Component::Network => "Network",
        Component::Managed => "Managed",
        Component::JvmMetaspace => "JVM Metaspace",
        Component::JvmOverhead => "JVM Overhead",
        Component::TotalFlink => "Total Flink Memory",
        Component::TotalProcess => "Total Process Memory",
    }
}

fn describe(source: &Source, size: MemorySize, conf: Option<&Configuration>) -> String {
    let option = |key: &str, configured: bool| {
        if configured {
            configured_value(conf, key)
        } else {
            format!("{key} (default)")
        }
    };
    match source {
        Source::Configured { key } => format!("configured, {}", configured_value(conf, key)),
        Source::Default { key } => format!("default of {key} ({size})"),
        Source::Fraction {
            key,
            configured,
            fraction: f,
            of,
            base,
        } => format!(
            "{} × {} ({}); {}",
            fraction(*f),
            of.flink_name(),
            hr(*base),
            option(key, *configured)
        ),
        Source::InverseFraction {
            key,
            configured,
            fraction: f,
            of,
            others,
        } => format!(
            "{} of {}, i.e. {}/(1-{}) × the other components ({}); {}",
            fraction(*f),
            of.flink_name(),
            fraction(*f),
            fraction(*f),
            hr(*others),
            option(key, *configured)
        ),
        Source::Remainder { of } => format!("the rest of {}", of.flink_name()),
        Source::Sum => "the sum of its components".to_string(),
        Source::LegacyHeap { key } => format!("legacy heap size, {}", configured_value(conf, key)),
        Source::LegacyBuffers { buffers, segment_size } => {
            format!("legacy taskmanager.network.numberOfBuffers: {buffers} × segment size {segment_size}")
        }
        Source::LocalExecution { reason } => reason.to_string(),
    }
}

/// One adjustment as a sentence.
pub(super) fn adjustment(a: &Adjustment) -> String {
    match a {
        Adjustment::Clamped {
            component,
            derived,
            to,
            bound,
            bound_key,
        } => {
            let (side, end) = match bound {
                Bound::Min => ("below", "minimum"),
                Bound::Max => ("above", "maximum"),
            };
            format!(
                "{}: the fraction gives {}, {side} the {end} {bound_key}; {} is used",
                component.flink_name(),
                hr(*derived),
                hr(*to)
            )
        }
        Adjustment::DeprecatedKey { key, current_key } => {
            format!("deprecated key {key} is read because {current_key} is not set")
        }
        Adjustment::LegacyHeapMapped { key, size } => {
            format!(
                "legacy heap size {key} ({}) is used as taskmanager.memory.flink.size",
                hr(*size)
            )
        }
        Adjustment::FractionNotApplied {
            component,
            derived,
            key,
            fraction: f,
            base,
        } => format!(
            "{}: the rest of the configured total ({}) is used, not {key} = {} of {}",
            component.flink_name(),
            hr(*derived),
            fraction(*f),
            hr(*base)
        ),
        Adjustment::Ignored { key, reason } => format!("{key} is set but ignored: {reason}"),
    }
}

fn notes(
    out: &mut String,
    origins: &[Origin],
    adjustments: &[Adjustment],
    size_of: impl Fn(Component) -> MemorySize,
    conf: Option<&Configuration>,
) {
    out.push_str("\nHow each component was determined:\n");
    for component in ORDER {
        if let Some(origin) = origins.iter().find(|o| o.component == component) {
            let _ = writeln!(
                out,
                "  {:<22} {}",
                short_name(component),
                describe(&origin.source, size_of(component), conf)
            );
        }
    }
    if !adjustments.is_empty() {
        out.push_str("\nAdjustments:\n");
        for a in adjustments {
            let _ = writeln!(out, "  * {}", adjustment(a));
        }
    }
}

/// A standalone TaskManager: Flink's breakdown tree, the JVM parameters, and the notes.
pub(super) fn cluster(spec: &TaskExecutorProcessSpec, conf: Option<&Configuration>) -> String {
    let mut out = String::new();
    let rows = [
        ("  Total Process Memory:          ", spec.total_process()),
        ("    Total Flink Memory:          ", spec.total_flink()),
        ("      Total JVM Heap Memory:     ", spec.jvm_heap()),
        ("        Framework:               ", spec.framework_heap),
        ("        Task:                    ", spec.task_heap),
        ("      Total Off-heap Memory:     ", spec.total_off_heap()),
        ("        Managed:                 ", spec.managed),
        ("        Total JVM Direct Memory: ", spec.jvm_direct()),
        ("          Framework:             ", spec.framework_off_heap),
        ("          Task:                  ", spec.task_off_heap),
        ("          Network:               ", spec.network),
        ("    JVM Metaspace:               ", spec.jvm_metaspace),
        ("    JVM Overhead:                ", spec.jvm_overhead),
    ];
    let _ = writeln!(
        out,
        "Final TaskExecutor Memory configuration (Flink {}, standalone TaskManager):",
        spec.version
    );
    for (label, size) in rows {
        let _ = writeln!(out, "{label}{}", hr(size));
    }
    let _ = writeln!(
        out,
        "\nSlots: {}   CPU cores: {}",
        spec.num_slots,
        double_to_string(spec.cpu_cores)
    );
    let _ = writeln!(out, "JVM parameters:  {}", spec.jvm_params());
    let _ = writeln!(out, "Dynamic configs: {}", spec.dynamic_configs());
    notes(&mut out, &spec.origins, &spec.adjustments, |c| spec.size_of(c), conf);
    out
}

/// Local execution: the TaskExecutor resources of a MiniCluster.
pub(super) fn local(spec: &LocalExecutionSpec, conf: Option<&Configuration>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "TaskExecutor resources for local execution (Flink {}):",
        spec.version
    );
    let _ = writeln!(out, "  CPU cores:       {}", double_to_string(spec.cpu_cores));
    for (label, size) in [
        ("  Task Heap:       ", spec.task_heap),
        ("  Task Off-Heap:   ", spec.task_off_heap),
        ("  Network:         ", spec.network),
        ("  Managed:         ", spec.managed),
    ] {
        let _ = writeln!(out, "{label}{}", hr(size));
    }
    let size_of = |c: Component| match c {
        Component::TaskHeap => spec.task_heap,
        Component::TaskOffHeap => spec.task_off_heap,
        Component::Network => spec.network,
        Component::Managed => spec.managed,
        _ => MemorySize::ZERO,
    };
    notes(&mut out, &spec.origins, &spec.adjustments, size_of, conf);
    out
}
