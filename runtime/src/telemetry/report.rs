//! The JSON report: what `report=PATH` writes at VM death and on request, and what
//! `Telemetry.snapshot().toJson()` returns, byte for byte.
//!
//! Top level, in this order: `classes_loaded_total`, `classes_unloaded_total` (JVM-wide, as
//! `ClassLoadingMXBean` counts them), `metaspace_used_bytes`, `metaspace_max_bytes` (the
//! `Metaspace` `MemoryPoolMXBean`; max `-1` when unlimited), `gc_count` (all collections), then
//! `metaspace_committed_bytes`, `compressed_class_space_used_bytes`,
//! `compressed_class_space_committed_bytes`, `compressed_class_space_max_bytes`,
//! `full_gc_count`, `loaders`, `duplicate_classes` (`{"name", "loaders": [ids]}`, biggest first,
//! capped), `duplicate_classes_cut` (names left out by the cap) and `limits` (what the agent could
//! not do in this JVM, one line each). Per loader: `id`, `class`, `name` (or null), `parent` (the
//! parent loader's `id`, null for the bootstrap loader), `classes_defined`, `classes_unloaded`,
//! `released`, `alive`, `leaked`, `suspects` (each `{"kind": "thread" | "context-classloader" |
//! "thread-local" | "static-field" | "reference-path", "description": ...}`), `kind` (see
//! [`super::LoaderKind`]), `user_code`, `flink_job_id` (or null), `urls`, `seen_unix_ms`,
//! `released_at` (`{"unix_ms", "full_gc_count"}` or null), `collected_unix_ms` (or null) and
//! `limits` (what the leak analysis could not do for this loader).

use super::Report;

/// Renders the report as pretty-printed JSON (two-space indent, trailing newline).
pub fn render_json(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("a Report always serializes");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::{JvmFigures, LoaderInfo, Suspect, SuspectKind, Telemetry};

    #[test]
    fn field_names_and_order_are_the_documented_ones() {
        let mut t = Telemetry::new();
        let a = t
            .register_loader(LoaderInfo {
                class: "Child\"Loader".into(),
                name: Some("job-1".into()),
                parent: Some(0),
                ..LoaderInfo::default()
            })
            .unwrap();
        t.class_defined(Some(a));
        t.mark_released(a, 0);
        t.set_leaked(
            a,
            vec![Suspect {
                kind: SuspectKind::ReferencePath,
                description: "x".into(),
            }],
        );
        let figures = JvmFigures {
            metaspace_used: 5,
            metaspace_max: -1,
            gc_count: 7,
            ..JvmFigures::default()
        };
        let json = render_json(&t.report(&figures));
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let top: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected = vec![
            "classes_loaded_total",
            "classes_unloaded_total",
            "metaspace_used_bytes",
            "metaspace_max_bytes",
            "gc_count",
            "metaspace_committed_bytes",
            "compressed_class_space_used_bytes",
            "compressed_class_space_committed_bytes",
            "compressed_class_space_max_bytes",
            "full_gc_count",
            "loaders",
            "duplicate_classes",
            "duplicate_classes_cut",
            "limits",
        ];
        let mut sorted_top = top.clone();
        sorted_top.sort();
        expected.sort();
        assert_eq!(sorted_top, expected);
        assert!(json.find("\"classes_loaded_total\"").unwrap() < json.find("\"gc_count\"").unwrap());
        assert!(json.find("\"gc_count\"").unwrap() < json.find("\"loaders\"").unwrap());
        let l = &v["loaders"][1];
        let keys: Vec<&str> = l.as_object().unwrap().keys().map(String::as_str).collect();
        let mut keys_sorted = keys.clone();
        keys_sorted.sort();
        assert_eq!(
            keys_sorted,
            vec![
                "alive",
                "class",
                "classes_defined",
                "classes_unloaded",
                "collected_unix_ms",
                "flink_job_id",
                "id",
                "kind",
                "leaked",
                "limits",
                "name",
                "parent",
                "released",
                "released_at",
                "seen_unix_ms",
                "suspects",
                "urls",
                "user_code"
            ]
        );
        assert_eq!(l["class"], "Child\"Loader");
        assert_eq!(l["name"], "job-1");
        assert_eq!(l["parent"], 0);
        assert_eq!(l["leaked"], true);
        assert_eq!(l["suspects"][0]["kind"], "reference-path");
        assert_eq!(v["loaders"][0]["name"], serde_json::Value::Null);
        assert_eq!(v["metaspace_max_bytes"], -1);
        assert_eq!(l["released_at"]["full_gc_count"], 0);
        assert_eq!(l["kind"], "other");
        assert_eq!(v["loaders"][0]["kind"], "bootstrap");
        // The report reads back into the same value (the emulator and Snapshot rely on it).
        let back: crate::telemetry::Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t.report(&figures));
        assert!(json.ends_with("}\n"));
    }
}
