//! Prometheus text exposition (format 0.0.4) of a [`Report`], named like the JVM client's
//! (`simpleclient_hotspot`): `jvm_classes_loaded_total`, `jvm_classes_unloaded_total`,
//! `jvm_classes_currently_loaded`, `jvm_memory_pool_bytes_{used,committed,max}{pool=...}` for the
//! `Metaspace` and `Compressed Class Space` pools; plus tmrt's own: `tmrt_gc_collections_total`,
//! `tmrt_gc_full_collections_total`, `tmrt_classloaders{state=...}`, `tmrt_classloaders_leaked`,
//! and per live loader `tmrt_classloader_classes{loader="ID",class=...,name=...}` (classes it
//! defined that are still loaded) and `tmrt_classloader_leaked{...}` (1 when leaked).

use std::fmt::Write;

use super::{LoaderReport, Report};

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Escapes a label value: backslash, double quote and line feed, as the format requires.
pub fn escape_label_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn loader_labels(l: &LoaderReport) -> String {
    format!(
        "loader=\"{}\",class=\"{}\",name=\"{}\"",
        l.id,
        escape_label_value(&l.class),
        escape_label_value(l.name.as_deref().unwrap_or(""))
    )
}

/// One metric with a single unlabelled sample.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    header(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// A gauge with one sample per live loader.
fn per_live_loader(out: &mut String, r: &Report, name: &str, help: &str, value: impl Fn(&LoaderReport) -> u64) {
    header(out, name, "gauge", help);
    for l in r.loaders.iter().filter(|l| l.alive) {
        let _ = writeln!(out, "{name}{{{}}} {}", loader_labels(l), value(l));
    }
}

/// Renders the exposition.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    single(
        &mut out,
        "jvm_classes_loaded_total",
        "counter",
        "The number of classes that have been loaded since the JVM has started execution",
        r.classes_loaded_total,
    );
    single(
        &mut out,
        "jvm_classes_unloaded_total",
        "counter",
        "The total number of classes that have been unloaded since the JVM has started execution",
        r.classes_unloaded_total,
    );
    single(
        &mut out,
        "jvm_classes_currently_loaded",
        "gauge",
        "The number of classes that are currently loaded in the JVM",
        r.classes_loaded_total.saturating_sub(r.classes_unloaded_total),
    );
    let pools = [
        (
            "Metaspace",
            r.metaspace_used_bytes,
            r.metaspace_committed_bytes,
            r.metaspace_max_bytes,
        ),
        (
            "Compressed Class Space",
            r.compressed_class_space_used_bytes,
            r.compressed_class_space_committed_bytes,
            r.compressed_class_space_max_bytes,
        ),
    ];
    for (metric, help, pick) in [
        (
            "jvm_memory_pool_bytes_used",
            "Used bytes of a given JVM memory pool.",
            0usize,
        ),
        (
            "jvm_memory_pool_bytes_committed",
            "Committed bytes of a given JVM memory pool.",
            1,
        ),
        ("jvm_memory_pool_bytes_max", "Max bytes of a given JVM memory pool.", 2),
    ] {
        header(&mut out, metric, "gauge", help);
        for (pool, used, committed, max) in pools {
            let v = [used, committed, max][pick];
            let _ = writeln!(out, "{metric}{{pool=\"{}\"}} {v}", escape_label_value(pool));
        }
    }
    single(
        &mut out,
        "tmrt_gc_collections_total",
        "counter",
        "Garbage collections, all collectors (sum of GarbageCollectorMXBean counts).",
        r.gc_count,
    );
    single(
        &mut out,
        "tmrt_gc_full_collections_total",
        "counter",
        "Full garbage collections (the ones that can unload classes).",
        r.full_gc_count,
    );
    header(
        &mut out,
        "tmrt_classloaders",
        "gauge",
        "Classloaders known to the tmrt agent, by state (alive, released, collected).",
    );
    let alive = r.loaders.iter().filter(|l| l.alive).count();
    let released = r.loaders.iter().filter(|l| l.alive && l.released).count();
    let collected = r.loaders.iter().filter(|l| !l.alive).count();
    let _ = writeln!(out, "tmrt_classloaders{{state=\"alive\"}} {alive}");
    let _ = writeln!(out, "tmrt_classloaders{{state=\"released\"}} {released}");
    let _ = writeln!(out, "tmrt_classloaders{{state=\"collected\"}} {collected}");
    single(
        &mut out,
        "tmrt_classloaders_leaked",
        "gauge",
        "Released classloaders still alive after leak-gc-cycles full collections.",
        r.leaked_count(),
    );
    per_live_loader(
        &mut out,
        r,
        "tmrt_classloader_classes",
        "Classes defined by a live classloader that are still loaded.",
        |l| l.classes_defined.saturating_sub(l.classes_unloaded),
    );
    per_live_loader(
        &mut out,
        r,
        "tmrt_classloader_leaked",
        "1 for a live classloader judged leaked, else 0.",
        |l| u64::from(l.leaked),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::{JvmFigures, LoaderInfo, Telemetry};

    #[test]
    fn escapes_label_values() {
        assert_eq!(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(escape_label_value("plain ü"), "plain ü");
    }

    #[test]
    fn exposition_has_the_jvm_client_names_and_valid_lines() {
        let mut t = Telemetry::new();
        let a = t
            .register_loader(LoaderInfo {
                class: "My\"Loader".into(),
                name: Some("line\nbreak".into()),
                parent: None,
            })
            .unwrap();
        t.class_defined(Some(a));
        t.class_defined(Some(a));
        t.class_unloaded(a);
        t.mark_released(a, 0);
        t.set_leaked(a, vec![]);
        let text = render(&t.report(&JvmFigures {
            metaspace_used: 123,
            metaspace_committed: 456,
            metaspace_max: -1,
            ..JvmFigures::default()
        }));
        for needle in [
            "jvm_classes_loaded_total 2\n",
            "jvm_classes_unloaded_total 1\n",
            "jvm_classes_currently_loaded 1\n",
            "jvm_memory_pool_bytes_used{pool=\"Metaspace\"} 123\n",
            "jvm_memory_pool_bytes_committed{pool=\"Metaspace\"} 456\n",
            "jvm_memory_pool_bytes_max{pool=\"Metaspace\"} -1\n",
            "jvm_memory_pool_bytes_used{pool=\"Compressed Class Space\"} 0\n",
            "tmrt_classloaders_leaked 1\n",
            "tmrt_classloader_classes{loader=\"1\",class=\"My\\\"Loader\",name=\"line\\nbreak\"} 1\n",
            "# TYPE jvm_classes_loaded_total counter\n",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        // Every sample line is `name{labels} value` or `name value` with a numeric value.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
            assert!(line.starts_with("jvm_") || line.starts_with("tmrt_"), "{line}");
        }
    }
}
