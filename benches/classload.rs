//! Classloading hot paths, per name:
//! - `classload/parent_first_decision`: the always-parent-first decision with Flink 1.20's 16
//!   default patterns and with 200 patterns, tmrt's trie against Flink's `startsWith` loop;
//! - `classload/index_lookup`: one name looked up in an index of 100 jars (hits spread over all
//!   jars, plus misses), against probing the jars one by one as `URLClassLoader` does.
//!
//! Run: `cargo bench -p tmrt-runtime --bench classload`.

use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use runtime::classload::options::DEFAULT_PATTERNS_1_20;
use runtime::classload::{JarIndex, ParentFirstPatterns};
use zip::write::SimpleFileOptions;
use zip::ZipWriter;

/// Class names shaped like a real job's: user packages, Flink, JDK, logging, shaded deps.
fn names() -> Vec<String> {
    let roots = [
        "com.acme.pipeline.",
        "org.apache.flink.streaming.api.",
        "java.util.concurrent.",
        "org.slf4j.",
        "com.fasterxml.jackson.databind.",
        "org.apache.kafka.clients.consumer.",
        "io.netty.buffer.",
        "scala.collection.immutable.",
        "org.rocksdb.",
        "com.google.common.collect.",
    ];
    (0..1000)
        .map(|i| format!("{}Class{}$Inner{}", roots[i % roots.len()], i, i % 7))
        .collect()
}

fn many_patterns() -> Vec<String> {
    let mut p: Vec<String> = DEFAULT_PATTERNS_1_20.iter().map(|s| s.to_string()).collect();
    let mut i = 0;
    while p.len() < 200 {
        p.push(format!("com.vendor{}.module{}.", i % 37, i));
        i += 1;
    }
    p
}

fn starts_with_loop(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|p| name.starts_with(p.as_str()))
}

fn parent_first_decision(c: &mut Criterion) {
    let names = names();
    let mut g = c.benchmark_group("classload/parent_first_decision");
    g.throughput(Throughput::Elements(names.len() as u64));
    for (label, patterns) in [
        (
            "default_16",
            DEFAULT_PATTERNS_1_20.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        ),
        ("200", many_patterns()),
    ] {
        let trie = ParentFirstPatterns::new(&patterns);
        g.bench_function(format!("trie/{label}"), |b| {
            b.iter(|| names.iter().filter(|n| trie.is_parent_first(black_box(n))).count())
        });
        g.bench_function(format!("starts_with_loop/{label}"), |b| {
            b.iter(|| {
                names
                    .iter()
                    .filter(|n| starts_with_loop(&patterns, black_box(n)))
                    .count()
            })
        });
    }
    g.finish();
}

/// 100 jars of 300 class entries each, in a scratch directory.
fn hundred_jars() -> Vec<PathBuf> {
    let dir = std::env::temp_dir().join(format!("tmrt-bench-jars-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    (0..100)
        .map(|j| {
            let p = dir.join(format!("lib{j:03}.jar"));
            let mut w = ZipWriter::new(std::fs::File::create(&p).unwrap());
            for e in 0..300 {
                w.start_file(
                    format!("com/vendor{j}/pkg{}/Class{e}.class", e % 10),
                    SimpleFileOptions::default(),
                )
                .unwrap();
                w.write_all(b"\xCA\xFE\xBA\xBE").unwrap();
            }
            w.finish().unwrap();
            p
        })
        .collect()
}

fn index_lookup(c: &mut Criterion) {
    let jars = hundred_jars();
    let index = JarIndex::open(&jars, 17).unwrap();
    let per_jar: Vec<JarIndex> = jars.iter().map(|j| JarIndex::open(&[j], 17).unwrap()).collect();
    // 900 hits spread over all jars and 100 misses.
    let mut names: Vec<String> = (0..900)
        .map(|i| {
            format!(
                "com/vendor{}/pkg{}/Class{}.class",
                (i * 7) % 100,
                i % 10,
                (i * 13) % 300 / 10 * 10 + i % 10
            )
        })
        .collect();
    names.extend((0..100).map(|i| format!("com/missing/Class{i}.class")));
    assert!(names.iter().filter(|n| index.find(n).is_some()).count() >= 900);
    let mut g = c.benchmark_group("classload/index_lookup");
    g.throughput(Throughput::Elements(names.len() as u64));
    g.bench_function("index_100_jars", |b| {
        b.iter(|| names.iter().filter(|n| index.find(black_box(n)).is_some()).count())
    });
    g.bench_function("jar_by_jar_100_jars", |b| {
        b.iter(|| {
            names
                .iter()
                .filter(|n| per_jar.iter().any(|j| j.find(black_box(n)).is_some()))
                .count()
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(jars[0].parent().unwrap());
}

criterion_group!(benches, parent_first_decision, index_lookup);
criterion_main!(benches);
