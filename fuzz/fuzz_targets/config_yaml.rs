//! The configuration readers over arbitrary bytes: `config.yaml` (decoded as Flink's YAML reader
//! decodes it, then flattened) must return a configuration or an error, never crash, and what it
//! returns must fit its expansion budget; `flink-conf.yaml`'s line parser must never keep an
//! empty key or value, or a line break.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runtime::config::{
    decode_yaml_bytes, parse_flink_conf_yaml, parse_standard_yaml_with_limits, YamlLimits, ENTRY_COST,
};

fuzz_target!(|data: &[u8]| {
    // Small limits, so that the fuzzer reaches them with small inputs.
    let limits = YamlLimits {
        max_code_points: 16 * 1024,
        max_collection_aliases: 8,
        max_depth: 16,
        expansion_factor: 4,
        expansion_floor: 4 * 1024,
    };
    if let Ok(text) = decode_yaml_bytes(data.to_vec()) {
        if let Ok(conf) = parse_standard_yaml_with_limits(&text, &limits) {
            let size: usize = conf.iter().map(|(k, v)| k.len() + v.len() + ENTRY_COST).sum();
            assert!(size <= limits.expansion_budget(text.len()), "{size} bytes from {} bytes", text.len());
        }
    }
    let legacy = parse_flink_conf_yaml(&String::from_utf8_lossy(data));
    for (k, v) in legacy.iter() {
        assert!(!k.is_empty() && !v.is_empty());
        assert!(!k.contains(['\n', '\r']) && !v.contains(['\n', '\r']));
    }
});
