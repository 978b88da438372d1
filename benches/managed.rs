//! Managed-memory pool: allocate and release pages, per page, in one slot (the pool's own cost,
//! batches of 1, 4, 16, 64 and 1024 pages and the sorter, hash-table and spilling patterns of
//! `scripts/compare-managed-memory.sh`,
//! default return policy, pages not touched), and with two threads on one slot (contention on the
//! lock-free page table's words) or on two slots (nothing shared). `alloc_release_1` is the
//! protocol's single-page path (the hot page: one CAS to take, two to release), the one
//! `dev.tmrt.memory` runs from Java without JNI.
//!
//! `cargo bench -p tmrt-runtime --bench managed`

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use runtime::managed::{OwnerId, Page, PageSize, SlotPool};

const SLOT: u64 = 64 << 20;

fn pool() -> SlotPool {
    SlotPool::new("slot 0", SLOT, PageSize::DEFAULT).unwrap()
}

fn alloc_release(c: &mut Criterion) {
    let mut g = c.benchmark_group("managed");
    for n in [1u32, 4, 16, 64, 1024] {
        let p = pool();
        let mut pages: Vec<Page> = Vec::with_capacity(n as usize);
        g.throughput(Throughput::Elements(n.into()));
        g.bench_function(format!("alloc_release_{n}"), |b| {
            b.iter(|| {
                pages.clear();
                p.allocate_with(OwnerId(1), black_box(n), |pg| pages.push(pg)).unwrap();
                if n == 1 {
                    p.release(pages[0]).unwrap();
                } else {
                    p.release_batch(&pages).unwrap();
                }
            })
        });
    }
    g.finish();
}

/// The rest of the compare script's rows in Rust: `release_all` of an owner's batch (the sorter
/// pattern), a table growing one page at a time then released as a batch (hash table), a batch
/// released page by page (spilling), and a reservation of one page of bytes.
fn patterns(c: &mut Criterion) {
    let mut g = c.benchmark_group("managed");
    for n in [1u32, 4, 16, 64, 1024] {
        let p = pool();
        let mut pages: Vec<Page> = Vec::with_capacity(n as usize);
        g.throughput(Throughput::Elements(n.into()));
        g.bench_function(format!("alloc_release_all_{n}"), |b| {
            b.iter(|| {
                p.allocate_with(OwnerId(1), black_box(n), |_| {}).unwrap();
                p.release_all(OwnerId(1)).unwrap();
            })
        });
        g.bench_function(format!("grow_one_by_one_release_batch_{n}"), |b| {
            b.iter(|| {
                pages.clear();
                for _ in 0..n {
                    pages.push(p.allocate_page(OwnerId(1)).unwrap());
                }
                p.release_batch(&pages).unwrap();
            })
        });
        g.bench_function(format!("alloc_batch_release_one_by_one_{n}"), |b| {
            b.iter(|| {
                pages.clear();
                p.allocate_with(OwnerId(1), black_box(n), |pg| pages.push(pg)).unwrap();
                for pg in &pages {
                    p.release(*pg).unwrap();
                }
            })
        });
    }
    let p = pool();
    g.throughput(Throughput::Elements(1));
    g.bench_function("reserve_release_memory", |b| {
        b.iter(|| {
            p.reserve_memory(OwnerId(1), black_box(32 * 1024)).unwrap();
            p.release_memory(OwnerId(1), 32 * 1024).unwrap();
        })
    });
    g.finish();
}

/// `threads` threads, each allocating and releasing one page `iters` times, on `pools`
/// (thread i uses pool i % len); the time until all are done.
fn threaded(pools: &[Arc<SlotPool>], threads: usize, iters: u64) -> Duration {
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let p = pools[t % pools.len()].clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                for _ in 0..iters {
                    let page = p.allocate_page(OwnerId(t as u64)).unwrap();
                    p.release(black_box(page)).unwrap();
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for h in handles {
        h.join().unwrap();
    }
    start.elapsed()
}

fn two_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("managed");
    // Each iteration is one page allocated and released by each of the two threads.
    g.throughput(Throughput::Elements(2));
    let shared = [Arc::new(pool())];
    g.bench_function("contended_2_threads_1_slot", |b| {
        b.iter_custom(|iters| threaded(&shared, 2, iters))
    });
    let separate = [Arc::new(pool()), Arc::new(pool())];
    g.bench_function("2_threads_2_slots", |b| {
        b.iter_custom(|iters| threaded(&separate, 2, iters))
    });
    g.finish();
}

criterion_group!(benches, alloc_release, patterns, two_threads);
criterion_main!(benches);
