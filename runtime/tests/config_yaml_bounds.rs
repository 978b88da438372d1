//! The `config.yaml` reader's bounds, measured: generated alias bombs (mappings and lists of
//! aliases of aliases, scalar aliases of long scalars, long keys over many children) must end in
//! a result or a limit error, and the reader's peak heap, counted by this test binary's
//! allocator, must stay within a small multiple of the document's size. Work is bounded the same
//! way: the bytes allocated in all (not just at the peak) are counted too. No wall-clock time is
//! asserted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use proptest::prelude::*;
use runtime::config::{parse_standard_yaml, YamlError, YamlLimits, FLINK_MAX_ALIASES_FOR_COLLECTIONS};

/// Counts this thread's live heap bytes, their peak, and all bytes ever allocated.
struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static TOTAL: Cell<usize> = const { Cell::new(0) };
}

fn added(n: usize) {
    let _ = LIVE.try_with(|l| {
        let now = l.get() + n;
        l.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
    let _ = TOTAL.try_with(|t| t.set(t.get() + n));
}

fn removed(n: usize) {
    let _ = LIVE.try_with(|l| l.set(l.get().saturating_sub(n)));
}

// SAFETY: every call is forwarded to the system allocator unchanged; the counters are
// thread-local cells with const initialisers (no allocation, no destructor).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        added(layout.size());
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        removed(layout.size());
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        removed(layout.size());
        added(new_size);
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// What one parse cost: peak live heap above the start, and all bytes allocated.
struct Cost {
    peak: usize,
    total: usize,
}

fn measured(text: &str) -> (Result<usize, YamlError>, Cost) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let total_before = TOTAL.with(Cell::get);
    let result = parse_standard_yaml(text).map(|c| c.len());
    let cost = Cost {
        peak: PEAK.with(Cell::get) - start,
        total: TOTAL.with(Cell::get) - total_before,
    };
    (result, cost)
}

/// The bound the reader promises: its expansion budget (what it may write and keep), plus the
/// parser's own state (a few copies of the input at most), plus a constant.
fn peak_bound(input: usize) -> usize {
    YamlLimits::default().expansion_budget(input) + 4 * input + (256 << 10)
}

/// All bytes allocated: the output and the parser's transient strings, a bounded number of times.
fn total_bound(input: usize) -> usize {
    4 * YamlLimits::default().expansion_budget(input) + 64 * input
}

fn check(text: &str) -> Result<Result<usize, YamlError>, TestCaseError> {
    let (result, cost) = measured(text);
    prop_assert!(
        cost.peak <= peak_bound(text.len()),
        "peak {} bytes for a {}-byte document (bound {}): {:?}",
        cost.peak,
        text.len(),
        peak_bound(text.len()),
        result
    );
    prop_assert!(
        cost.total <= total_bound(text.len()),
        "{} bytes allocated for a {}-byte document (bound {})",
        cost.total,
        text.len(),
        total_bound(text.len())
    );
    Ok(result)
}

/// `levels` levels of anchored nodes, each aliasing the previous one `fanout` times.
fn nested_aliases(levels: usize, fanout: usize, leaves: usize, leaf_len: usize, maps: bool) -> (String, usize) {
    let leaf = "v".repeat(leaf_len);
    let mut text = if maps {
        let fields: Vec<String> = (0..leaves).map(|i| format!("x{i}: {leaf}")).collect();
        format!("l0: &l0 {{{}}}\n", fields.join(", "))
    } else {
        format!("l0: &l0 [{}]\n", vec![leaf.as_str(); leaves].join(", "))
    };
    let mut aliases = 0;
    for level in 1..=levels {
        let items: Vec<String> = (0..fanout)
            .map(|i| {
                if maps {
                    format!("k{i}: *l{}", level - 1)
                } else {
                    format!("*l{}", level - 1)
                }
            })
            .collect();
        aliases += fanout;
        if maps {
            text.push_str(&format!("l{level}: &l{level} {{{}}}\n", items.join(", ")));
        } else {
            text.push_str(&format!("l{level}: &l{level} [{}]\n", items.join(", ")));
        }
    }
    (text, aliases)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn alias_bombs_stay_within_bounds(
        levels in 1usize..12,
        fanout in 1usize..16,
        leaves in 1usize..24,
        leaf_len in 0usize..200,
        maps in any::<bool>(),
    ) {
        let (text, aliases) = nested_aliases(levels, fanout, leaves, leaf_len, maps);
        let result = check(&text)?;
        if aliases > FLINK_MAX_ALIASES_FOR_COLLECTIONS {
            prop_assert!(result.is_err(), "{aliases} aliases accepted");
        }
        if let Err(YamlError::Limit(m)) = &result {
            prop_assert!(m.contains("aliases") || m.contains("expands to more than"), "{m}");
        }
    }

    #[test]
    fn scalar_aliases_and_long_keys_stay_within_bounds(
        scalar_len in 0usize..200_000,
        uses in 0usize..3_000,
        key_len in 1usize..100_000,
        children in 0usize..2_000,
    ) {
        let mut text = format!("s: &s {}\n", "v".repeat(scalar_len));
        for i in 0..uses {
            text.push_str(&format!("u{i}: *s\n"));
        }
        // An explicit key: implicit ones are at most 1024 characters.
        text.push_str(&format!("? {}\n:\n", "k".repeat(key_len)));
        for i in 0..children {
            text.push_str(&format!("  c{i}: 1\n"));
        }
        let _ = check(&text)?;
    }

    #[test]
    fn arbitrary_text_stays_within_bounds(s in "([a-z&*]{0,6}(: ?)?[ -~]{0,12}\n {0,4}(- )?){0,64}") {
        let _ = check(&s)?;
    }
}

/// A realistic `config.yaml` (Flink 2.x's nested layout) is read, well inside the bounds.
#[test]
fn a_real_config_yaml_costs_a_few_times_its_size() {
    let mut text = String::from(
        "jobmanager:\n  bind-host: localhost\n  rpc:\n    address: localhost\n    port: 6123\n  memory:\n    process:\n      size: 1600m\n\
         taskmanager:\n  bind-host: localhost\n  host: localhost\n  numberOfTaskSlots: 1\n  memory:\n    process:\n      size: 1728m\n\
         parallelism:\n  default: 1\nexecution:\n  checkpointing:\n    interval: 3min\n    dir: file:///tmp/checkpoints\n\
         classloader:\n  parent-first-patterns:\n    additional:\n      - com.example.\n      - org.example.\n\
         env:\n  java:\n    opts:\n      all: --add-exports=java.base/sun.net.util=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED\n",
    );
    text.push_str("metrics:\n  reporter:\n");
    for i in 0..2_000 {
        text.push_str(&format!(
            "    r{i}:\n      factory.class: org.apache.flink.metrics.prometheus.PrometheusReporterFactory\n      port: {}\n",
            9200 + i
        ));
    }
    let (result, cost) = measured(&text);
    let entries = result.unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "real config.yaml: {} bytes, {entries} entries, peak {} bytes ({:.1}x), {} bytes allocated in all",
        text.len(),
        cost.peak,
        cost.peak as f64 / text.len() as f64,
        cost.total
    );
    assert!(entries > 4_000, "{entries}");
    assert!(
        cost.peak <= 8 * text.len(),
        "peak {} bytes for {} bytes of config.yaml",
        cost.peak,
        text.len()
    );
}
