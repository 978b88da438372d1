//! Derivation edge cases the conformance vectors do not exercise (legacy heap sources and their
//! precedence, legacy network buffers, CPU rounding, external resources), and the records of how
//! each component was determined, which the vectors cannot show.

use runtime::config::{Configuration, FlinkVersion};
use runtime::memory::{
    local_spec_from_config, process_spec_from_config, process_spec_from_config_with_env, Adjustment, Bound, Component,
    ErrorKind, MemorySize, Source,
};

const MIB: u64 = 1 << 20;

fn conf(pairs: &[(&str, &str)]) -> Configuration {
    Configuration::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

#[test]
fn flinks_default_1728m_layout_and_its_records() {
    let spec = process_spec_from_config(
        &conf(&[("taskmanager.memory.process.size", "1728m")]),
        FlinkVersion::V1_20,
    )
    .unwrap();
    assert_eq!(spec.total_process(), MemorySize::new(1728 * MIB));
    assert_eq!(spec.jvm_heap().bytes(), 536870902);
    assert_eq!(spec.network.bytes(), 134217730);
    assert_eq!(spec.jvm_overhead, MemorySize::new(192 * MIB));
    assert_eq!(
        spec.origin_of(Component::TotalProcess),
        Some(&Source::Configured {
            key: "taskmanager.memory.process.size".into()
        })
    );
    assert_eq!(
        spec.origin_of(Component::TaskHeap),
        Some(&Source::Remainder {
            of: Component::TotalFlink
        })
    );
    assert!(matches!(
        spec.origin_of(Component::Managed),
        Some(Source::Fraction {
            configured: false,
            of: Component::TotalFlink,
            ..
        })
    ));
    // 10% of 1728m is below the 192m minimum: Flink clamps, and says so.
    assert_eq!(
        spec.adjustments,
        vec![Adjustment::Clamped {
            component: Component::JvmOverhead,
            derived: MemorySize::new(181193935),
            to: MemorySize::new(192 * MIB),
            bound: Bound::Min,
            bound_key: "taskmanager.memory.jvm-overhead.min",
        }]
    );
}

#[test]
fn network_max_default_differs_between_1_13_and_later() {
    let c = conf(&[("taskmanager.memory.process.size", "64g")]);
    let v113 = process_spec_from_config(&c, FlinkVersion::V1_13).unwrap();
    let v120 = process_spec_from_config(&c, FlinkVersion::V1_20).unwrap();
    assert_eq!(v113.network, MemorySize::new(1 << 30));
    assert_eq!(v120.network.bytes(), 6737730046);
    assert!(v113.adjustments.iter().any(|a| matches!(
        a,
        Adjustment::Clamped {
            component: Component::Network,
            bound: Bound::Max,
            ..
        }
    )));
}

#[test]
fn legacy_heap_sources_in_flinks_order() {
    let both = conf(&[("taskmanager.heap.size", "2g"), ("taskmanager.heap.mb", "1024")]);
    let spec = process_spec_from_config(&both, FlinkVersion::V1_20).unwrap();
    assert_eq!(spec.total_flink(), MemorySize::new(2 << 30));
    assert_eq!(
        spec.origin_of(Component::TotalFlink),
        Some(&Source::LegacyHeap {
            key: "taskmanager.heap.size".into()
        })
    );
    let mb = process_spec_from_config(&conf(&[("taskmanager.heap.mb", "1024")]), FlinkVersion::V1_13).unwrap();
    assert_eq!(mb.total_flink(), MemorySize::new(1 << 30));
    // The environment variable comes first.
    let env = process_spec_from_config_with_env(&both, FlinkVersion::V1_20, Some("3g")).unwrap();
    assert_eq!(env.total_flink(), MemorySize::new(3 << 30));
    // An explicit total Flink memory wins over all of them, and they are not even parsed.
    let explicit = conf(&[("taskmanager.memory.flink.size", "1g"), ("taskmanager.heap.mb", "oops")]);
    let spec = process_spec_from_config_with_env(&explicit, FlinkVersion::V1_20, Some("bad")).unwrap();
    assert_eq!(spec.total_flink(), MemorySize::new(1 << 30));
    // Negative legacy size: Flink's message.
    let err = process_spec_from_config(&conf(&[("taskmanager.heap.mb", "-5")]), FlinkVersion::V1_13).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Configured total process memory size (-5MB) must not be less than 0."
    );
    // A bad environment value names the variable.
    let err = process_spec_from_config_with_env(&Configuration::new(), FlinkVersion::V1_20, Some("lots")).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Parse { key, value } if key == "FLINK_TM_HEAP" && value == "lots"));
}

#[test]
fn flink_2_2_ignores_the_legacy_heap_and_says_so() {
    let c = conf(&[
        ("taskmanager.heap.size", "2g"),
        ("taskmanager.memory.process.size", "2g"),
    ]);
    let spec = process_spec_from_config_with_env(&c, FlinkVersion::V2_2, Some("1g")).unwrap();
    assert_eq!(spec.total_process(), MemorySize::new(2 << 30));
    assert!(spec.adjustments.contains(&Adjustment::Ignored {
        key: "taskmanager.heap.size".into(),
        reason: "removed in this Flink version",
    }));
}

#[test]
fn legacy_network_buffers_in_1x() {
    let c = conf(&[
        ("taskmanager.memory.process.size", "2g"),
        ("taskmanager.network.numberOfBuffers", "4096"),
    ]);
    let spec = process_spec_from_config(&c, FlinkVersion::V1_20).unwrap();
    assert_eq!(spec.network, MemorySize::new(4096 * 32 * 1024));
    assert_eq!(
        spec.origin_of(Component::Network),
        Some(&Source::LegacyBuffers {
            buffers: 4096,
            segment_size: MemorySize::new(32 * 1024)
        })
    );
    // Any new network option switches the legacy count off; 2.2 never reads it.
    let mut with_fraction = c.clone();
    with_fraction.set("taskmanager.memory.network.fraction", "0.1");
    assert_ne!(
        process_spec_from_config(&with_fraction, FlinkVersion::V1_20)
            .unwrap()
            .network,
        spec.network
    );
    assert_ne!(
        process_spec_from_config(&c, FlinkVersion::V2_2).unwrap().network,
        spec.network
    );
    // The segment size is checked as Flink checks it.
    let mut small = c.clone();
    small.set("taskmanager.memory.segment-size", "1k");
    let err = process_spec_from_config(&small, FlinkVersion::V1_13).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Invalid configuration value for taskmanager.memory.segment-size : 1024 - Minimum memory segment size is 4096"
    );
    let mut odd = c;
    odd.set("taskmanager.memory.segment-size", "5000");
    assert!(process_spec_from_config(&odd, FlinkVersion::V1_13)
        .unwrap_err()
        .to_string()
        .ends_with("Memory segment size must be a power of 2."));
}

#[test]
fn cpu_cores_are_cut_to_eight_decimals_from_1_14_on() {
    let c = conf(&[
        ("taskmanager.memory.process.size", "2g"),
        ("taskmanager.cpu.cores", "0.123456789"),
    ]);
    assert_eq!(
        process_spec_from_config(&c, FlinkVersion::V1_13).unwrap().cpu_cores,
        0.123456789
    );
    assert_eq!(
        process_spec_from_config(&c, FlinkVersion::V1_20).unwrap().cpu_cores,
        0.12345678
    );
    let spec = process_spec_from_config(&c, FlinkVersion::V2_2).unwrap();
    assert!(spec.dynamic_configs().contains("-D taskmanager.cpu.cores=0.12345678 "));
    let zero = conf(&[
        ("taskmanager.memory.process.size", "2g"),
        ("taskmanager.cpu.cores", "0"),
    ]);
    let err = process_spec_from_config(&zero, FlinkVersion::V1_20).unwrap_err();
    assert!(err.is_conflict());
    assert!(err
        .to_string()
        .starts_with("TaskExecutors need to be started with a positive number of CPU cores."));
}

#[test]
fn parse_errors_name_the_key_actually_read_and_the_value() {
    let c = conf(&[
        ("taskmanager.memory.process.size", "2g"),
        ("taskmanager.network.memory.fraction", "lots"),
    ]);
    let err = process_spec_from_config(&c, FlinkVersion::V1_20).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::Parse {
            key: "taskmanager.network.memory.fraction".into(),
            value: "lots".into()
        }
    );
    assert_eq!(err.root_message(), "For input string: \"lots\"");
    assert!(!err.is_conflict());
}

#[test]
fn external_resources_are_refused_not_misprinted() {
    let c = conf(&[("taskmanager.memory.process.size", "2g"), ("external-resources", "gpu")]);
    let err = process_spec_from_config(&c, FlinkVersion::V1_20).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unsupported);
    let none = conf(&[
        ("taskmanager.memory.process.size", "2g"),
        ("external-resources", "none"),
    ]);
    assert!(process_spec_from_config(&none, FlinkVersion::V1_20).is_ok());
}

#[test]
fn local_execution_defaults_and_network_pairing() {
    let spec = local_spec_from_config(&Configuration::new(), FlinkVersion::V1_20).unwrap();
    assert_eq!(spec.task_heap, MemorySize::new(1 << 40));
    assert_eq!(spec.network, MemorySize::new(64 * MIB));
    assert_eq!(spec.managed, MemorySize::new(128 * MIB));
    assert_eq!(spec.cpu_cores, 1_000_000.0);
    let max_only =
        local_spec_from_config(&conf(&[("taskmanager.memory.network.max", "200m")]), FlinkVersion::V2_2).unwrap();
    assert_eq!(max_only.network, MemorySize::new(200 * MIB));
    let err = local_spec_from_config(
        &conf(&[
            ("taskmanager.memory.network.min", "100m"),
            ("taskmanager.memory.network.max", "200m"),
        ]),
        FlinkVersion::V1_13,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "The network memory min (100 mb) and max (200 mb) mismatch, the network memory has to be resolved and set to a fixed value before task executor starts");
}
