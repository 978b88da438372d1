//! Property tests: the configuration loaders, Java's number parsers and the whole derivation never
//! panic on arbitrary input, and an accepted configuration's sizes add up the way Flink's do.

use proptest::prelude::*;
use runtime::config::{parse_flink_conf_yaml, parse_standard_yaml, Configuration, FlinkVersion};
use runtime::memory::{
    local_spec_from_config, parse_double, parse_float, parse_int, process_spec_from_config, MemorySize,
};

const KEYS: &[&str] = &[
    "taskmanager.memory.process.size",
    "taskmanager.memory.flink.size",
    "taskmanager.memory.framework.heap.size",
    "taskmanager.memory.framework.off-heap.size",
    "taskmanager.memory.task.heap.size",
    "taskmanager.memory.task.off-heap.size",
    "taskmanager.memory.managed.size",
    "taskmanager.memory.managed.fraction",
    "taskmanager.memory.network.min",
    "taskmanager.memory.network.max",
    "taskmanager.memory.network.fraction",
    "taskmanager.memory.jvm-metaspace.size",
    "taskmanager.memory.jvm-overhead.min",
    "taskmanager.memory.jvm-overhead.max",
    "taskmanager.memory.jvm-overhead.fraction",
    "taskmanager.numberOfTaskSlots",
    "taskmanager.cpu.cores",
    "taskmanager.heap.size",
    "taskmanager.heap.mb",
    "taskmanager.memory.size",
    "taskmanager.network.memory.fraction",
    "taskmanager.network.numberOfBuffers",
    "taskmanager.memory.segment-size",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..200_000).prop_map(|n| format!("{n}m")),
        (0u64..u64::MAX).prop_map(|n| n.to_string()),
        (0u32..1000).prop_map(|n| format!("0.{n:03}")),
        (-5i64..100).prop_map(|n| n.to_string()),
        "[ -~]{0,12}",
        Just("1e9".to_string()),
        Just("NaN".to_string()),
        Just("9223372036854775807".to_string()),
    ]
}

fn config() -> impl Strategy<Value = Configuration> {
    prop::collection::vec((prop::sample::select(KEYS), value()), 0..8)
        .prop_map(|pairs| Configuration::from_pairs(pairs.into_iter().map(|(k, v)| (k.to_string(), v))))
}

fn version() -> impl Strategy<Value = FlinkVersion> {
    prop::sample::select(FlinkVersion::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn standard_yaml_loading_never_panics(s in any::<String>()) {
        let _ = parse_standard_yaml(&s);
    }

    #[test]
    fn yaml_like_text_never_panics(s in "([a-z.]{0,8}(: ?)?[ -~]{0,10}\n {0,4}(- )?){0,12}") {
        let _ = parse_standard_yaml(&s);
        let _ = parse_flink_conf_yaml(&s);
    }

    #[test]
    fn deeply_nested_yaml_is_refused_not_a_crash(depth in 0usize..4000, flow in any::<bool>()) {
        let text: String = if flow {
            format!("a: {}", "[".repeat(depth))
        } else {
            (0..depth).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect()
        };
        let _ = parse_standard_yaml(&text);
    }

    #[test]
    fn legacy_yaml_loading_never_panics(s in any::<String>()) {
        let conf = parse_flink_conf_yaml(&s);
        for (k, v) in conf.iter() {
            prop_assert!(!k.is_empty() && !v.is_empty());
        }
    }

    #[test]
    fn java_number_parsers_never_panic(s in any::<String>()) {
        let _ = parse_int(&s);
        let _ = parse_float(&s);
        let _ = parse_double(&s);
    }

    #[test]
    fn derivation_never_panics_and_adds_up(conf in config(), v in version()) {
        if let Ok(spec) = process_spec_from_config(&conf, v) {
            let sum = |xs: &[MemorySize]| xs.iter().map(|s| s.bytes() as u128).sum::<u128>();
            prop_assert_eq!(
                spec.total_flink().bytes() as u128,
                sum(&[spec.framework_heap, spec.task_heap, spec.framework_off_heap, spec.task_off_heap, spec.network, spec.managed])
            );
            prop_assert_eq!(
                spec.total_process().bytes() as u128,
                spec.total_flink().bytes() as u128 + sum(&[spec.jvm_metaspace, spec.jvm_overhead])
            );
            prop_assert!(spec.cpu_cores > 0.0);
            prop_assert!(spec.jvm_params().starts_with("-Xmx"));
            prop_assert_eq!(spec.dynamic_configs().matches("-D ").count(), 13);
        }
        let _ = local_spec_from_config(&conf, v);
    }
}
