//! Which garbage collections count as full.
//!
//! Leak verdicts count *full* collections: a young collection never frees a classloader, so
//! counting it would call a loader leaked before it had a chance to be collected. JVMTI's
//! `GarbageCollectionStart/Finish` events fire for every stop-the-world pause, young or full, so the
//! agent reads the `GarbageCollectorMXBean`s instead, and counts the collections of those whose
//! name, below, says they collect the whole heap (and unload classes).

/// The `GarbageCollectorMXBean`s that run full collections: G1's and Parallel's old generation,
/// Serial's mark-sweep-compact, CMS, and the concurrent whole-heap cycles of Shenandoah and ZGC.
/// Young collectors (`G1 Young Generation`, `PS Scavenge`, `Copy`, `ParNew`) and pause-only beans
/// (`Shenandoah Pauses`, `ZGC Pauses`) are not. The one list: `jni-bridge/build.rs` generates the
/// Java library's `FullCollectors` from it (this file has no dependencies so that it can).
pub const FULL_COLLECTORS: &[&str] = &[
    "G1 Old Generation",
    "PS MarkSweep",
    "MarkSweepCompact",
    "ConcurrentMarkSweep",
    "Shenandoah Cycles",
    "ZGC",
    "ZGC Cycles",
    "ZGC Major Cycles",
];

/// Whether a `GarbageCollectorMXBean` of this name runs full collections ([`FULL_COLLECTORS`]).
pub fn is_full_collector(name: &str) -> bool {
    FULL_COLLECTORS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_and_young_collectors() {
        for full in ["G1 Old Generation", "PS MarkSweep", "MarkSweepCompact", "ZGC Cycles"] {
            assert!(is_full_collector(full), "{full}");
        }
        for young in [
            "G1 Young Generation",
            "PS Scavenge",
            "Copy",
            "ParNew",
            "ZGC Pauses",
            "Shenandoah Pauses",
        ] {
            assert!(!is_full_collector(young), "{young}");
        }
    }
}
