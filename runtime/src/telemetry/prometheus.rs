//! Prometheus text exposition (format 0.0.4) of a [`Report`], named like the JVM client's
//! (`simpleclient_hotspot`): `jvm_classes_loaded_total`, `jvm_classes_unloaded_total`,
//! `jvm_classes_currently_loaded`, `jvm_memory_pool_bytes_{used,committed,max}{pool=...}` for the
//! `Metaspace` and `Compressed Class Space` pools; plus tmrt's own: `tmrt_gc_collections_total`,
//! `tmrt_gc_full_collections_total`, `tmrt_classloaders{state=...}`, `tmrt_classloaders_leaked`,
//! `tmrt_classloader_classes{loader=,class=,name=,job=}` (classes defined and still loaded) and
//! `tmrt_classloader_leaked{...}` (1 when leaked).
//!
//! Label sets Prometheus can keep: a series per loader (`loader` = its id) only for the JVM's own
//! three loaders and for user-code loaders (Flink's, tmrt's, other `URLClassLoader`s below the
//! application loader) while they are alive — leaked ones are alive — at most
//! [`MAX_LOADER_SERIES`] of them, oldest first; every other loader (reflection's
//! `DelegatingClassLoader`s, code generators', user-code loaders past the cap) is summed into one
//! series per loader class with `loader=""`, and `tmrt_classloader_series_cut` counts the
//! user-code loaders the cap folded into those sums. `job` is the Flink job id of a user-code
//! loader (empty otherwise); note that Prometheus renames a scraped `job` label to `exported_job`
//! unless the scrape config sets `honor_labels`.

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

/// Most loaders with a series of their own (user-code loaders; the JVM's three are extra).
pub const MAX_LOADER_SERIES: usize = 200;

fn loader_labels(l: &LoaderReport) -> String {
    format!(
        "loader=\"{}\",class=\"{}\",name=\"{}\",job=\"{}\"",
        l.id,
        escape_label_value(&l.class),
        escape_label_value(l.name.as_deref().unwrap_or("")),
        l.flink_job_id.as_deref().unwrap_or("")
    )
}

/// The loaders that get series of their own, and the per-class sums of all other live loaders
/// (`(class, classes still loaded)`), and how many user-code loaders the cap folded in.
struct LoaderSeries<'a> {
    own: Vec<&'a LoaderReport>,
    summed: std::collections::BTreeMap<&'a str, u64>,
    cut: usize,
}

fn loader_series(r: &Report) -> LoaderSeries<'_> {
    let mut out = LoaderSeries {
        own: Vec::new(),
        summed: std::collections::BTreeMap::new(),
        cut: 0,
    };
    let mut user_code = 0;
    for l in r.loaders.iter().filter(|l| l.alive) {
        let own = if l.kind.is_builtin() {
            true
        } else if l.user_code {
            user_code += 1;
            if user_code > MAX_LOADER_SERIES {
                out.cut += 1;
                false
            } else {
                true
            }
        } else {
            false
        };
        if own {
            out.own.push(l);
        } else {
            *out.summed.entry(l.class.as_str()).or_default() += still_loaded(l);
        }
    }
    out
}

fn still_loaded(l: &LoaderReport) -> u64 {
    l.classes_defined.saturating_sub(l.classes_unloaded)
}

/// One metric with a single unlabelled sample.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    header(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
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
    let series = loader_series(r);
    header(
        &mut out,
        "tmrt_classloader_classes",
        "gauge",
        "Classes defined by live classloaders that are still loaded: per user-code loader, else summed by loader class (loader=\"\").",
    );
    for l in &series.own {
        let _ = writeln!(
            out,
            "tmrt_classloader_classes{{{}}} {}",
            loader_labels(l),
            still_loaded(l)
        );
    }
    for (class, n) in &series.summed {
        let _ = writeln!(
            out,
            "tmrt_classloader_classes{{loader=\"\",class=\"{}\",name=\"\",job=\"\"}} {n}",
            escape_label_value(class)
        );
    }
    header(
        &mut out,
        "tmrt_classloader_leaked",
        "gauge",
        "1 for a live user-code classloader judged leaked, else 0.",
    );
    for l in series.own.iter().filter(|l| l.user_code) {
        let _ = writeln!(
            out,
            "tmrt_classloader_leaked{{{}}} {}",
            loader_labels(l),
            u64::from(l.leaked)
        );
    }
    single(
        &mut out,
        "tmrt_classloader_series_cut",
        "gauge",
        "Live user-code classloaders summed by class because of the cap on per-loader series.",
        series.cut,
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

    fn register(t: &mut Telemetry, class: &str, parent: Option<u32>, is_url: bool) -> u32 {
        t.register_loader(LoaderInfo {
            class: class.into(),
            parent,
            is_url,
            ..LoaderInfo::default()
        })
        .unwrap()
    }

    #[test]
    fn per_loader_series_only_for_user_code_and_builtins_with_a_cap() {
        let mut t = Telemetry::new();
        let app = register(&mut t, "jdk.internal.loader.ClassLoaders$AppClassLoader", None, false);
        t.class_defined(Some(app));
        // 318 reflection loaders: one summed series.
        for _ in 0..318 {
            let d = register(&mut t, "jdk.internal.reflect.DelegatingClassLoader", Some(app), false);
            t.class_defined(Some(d));
        }
        // More Flink job loaders than the cap; one of them with a job id, one leaked.
        let mut flink = Vec::new();
        for _ in 0..MAX_LOADER_SERIES + 5 {
            let f = register(&mut t, "org.apache.flink.util.ChildFirstClassLoader", Some(app), true);
            t.class_defined(Some(f));
            t.class_defined(Some(f));
            flink.push(f);
        }
        t.set_class_path(
            flink[0],
            vec!["file:/b/job_9f86d081884c7d659a2feaa0c55ad015/blob_p-1-2".into()],
        );
        t.mark_released(flink[1], 0);
        t.set_leaked(flink[1], vec![]);
        // A collected user-code loader has no series.
        t.loader_collected(flink[2]);
        let text = render(&t.report(&JvmFigures::default()));
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("tmrt_classloader_classes{"))
            .collect();
        assert!(lines.contains(&"tmrt_classloader_classes{loader=\"\",class=\"jdk.internal.reflect.DelegatingClassLoader\",name=\"\",job=\"\"} 318"));
        let app_line = format!("tmrt_classloader_classes{{loader=\"{app}\",class=\"jdk.internal.loader.ClassLoaders$AppClassLoader\",name=\"\",job=\"\"}} 1");
        assert!(lines.contains(&app_line.as_str()), "{text}");
        let own_flink = lines
            .iter()
            .filter(|l| l.contains("ChildFirstClassLoader") && !l.contains("loader=\"\""))
            .count();
        assert_eq!(own_flink, MAX_LOADER_SERIES);
        // 205 created, 1 collected, 200 with series: 4 folded into one sum of 8 classes.
        assert!(lines.contains(&"tmrt_classloader_classes{loader=\"\",class=\"org.apache.flink.util.ChildFirstClassLoader\",name=\"\",job=\"\"} 8"), "{text}");
        assert!(text.contains("\ntmrt_classloader_series_cut 4\n"));
        assert!(text.contains(&format!("tmrt_classloader_classes{{loader=\"{}\",class=\"org.apache.flink.util.ChildFirstClassLoader\",name=\"\",job=\"9f86d081884c7d659a2feaa0c55ad015\"}} 2", flink[0])));
        assert!(text.contains(&format!("tmrt_classloader_leaked{{loader=\"{}\",class=\"org.apache.flink.util.ChildFirstClassLoader\",name=\"\",job=\"\"}} 1", flink[1])));
        assert!(
            !text.contains(&format!("loader=\"{}\"", flink[2])),
            "collected: no series"
        );
        let leaked_lines = text
            .lines()
            .filter(|l| l.starts_with("tmrt_classloader_leaked{"))
            .count();
        assert_eq!(leaked_lines, MAX_LOADER_SERIES, "only user-code loaders");
    }

    #[test]
    fn exposition_has_the_jvm_client_names_and_valid_lines() {
        let mut t = Telemetry::new();
        let a = t
            .register_loader(LoaderInfo {
                class: "My\"Loader".into(),
                name: Some("line\nbreak".into()),
                parent: None,
                ..LoaderInfo::default()
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
            "tmrt_classloader_classes{loader=\"\",class=\"My\\\"Loader\",name=\"\",job=\"\"} 1\n",
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
