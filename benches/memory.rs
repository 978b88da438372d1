//! `memory/derive`: one standalone-TaskManager derivation, as `BashJavaUtils
//! GET_TM_RESOURCE_PARAMS` performs it (configuration in, JVM parameters and dynamic configs out).
//! Run: `cargo bench -p tmrt-runtime --bench memory`.

use criterion::{criterion_group, criterion_main, Criterion};
use runtime::config::{Configuration, FlinkVersion};
use runtime::memory::{local_spec_from_config, process_spec_from_config};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("memory");
    let process = Configuration::from_pairs([("taskmanager.memory.process.size", "1728m")]);
    group.bench_function("derive", |b| {
        b.iter(|| {
            let spec = process_spec_from_config(black_box(&process), FlinkVersion::V1_20).unwrap();
            black_box((spec.jvm_params(), spec.dynamic_configs()))
        })
    });
    let fine = Configuration::from_pairs([
        ("taskmanager.memory.task.heap.size", "4g"),
        ("taskmanager.memory.managed.size", "2g"),
        ("taskmanager.memory.network.fraction", "0.15"),
        ("taskmanager.numberOfTaskSlots", "4"),
    ]);
    group.bench_function("derive_fine_grained", |b| {
        b.iter(|| process_spec_from_config(black_box(&fine), FlinkVersion::V1_13).unwrap())
    });
    group.bench_function("derive_local", |b| {
        b.iter(|| local_spec_from_config(black_box(&process), FlinkVersion::V2_2).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
