//! The pause budget: whether the agent's one heap walk per analysis may run, and for how long.
//!
//! A `FollowReferences` walk stops every application thread for as long as it runs. Its length
//! is the agent's to cut (the walk checks its deadline every 64 references), except for one part
//! on JDKs before 19: HotSpot marks the objects it visits in their headers and, once the walk
//! has gone past the GC roots, restores them with a pass over the *whole heap*
//! (`ObjectMarker::done`), whatever the walk visited — JDK 19 replaced this with a side bitmap
//! (JDK-8283710). So on JDK 11 and 17 the pause of any walk is at least the time of one heap pass,
//! which grows with the heap: [`plan_walk`] predicts it from the heap's used bytes and a rate
//! (picoseconds per byte), runs the walk only when the prediction leaves room in the budget, and
//! gives the walk the rest of the budget; [`calibrate`] learns the rate from each walk's measured
//! heap pass, starting from a conservative [`DEFAULT_RESET_PS_PER_BYTE`].
//!
//! The budget: no agent safepoint longer than `pause-budget`; one walk per analysis, so at most
//! one such pause per analysis (the multiple is 1). The walk aims at three quarters of the
//! budget, leaving a quarter for the JVM's own work around it.

use std::time::Duration;

use super::ReferencePaths;

/// The starting rate of a heap pass, before any walk measured one: 1 ns per used heap byte, about
/// three times what a JDK 17 G1 heap of small objects measured on a 2-core VM.
pub const DEFAULT_RESET_PS_PER_BYTE: u64 = 1_000;

/// The share of the budget a walk aims at; the rest is the JVM's own work around it.
const AIM: f64 = 0.75;

/// The smallest share of the budget worth walking for (below it, a walk finds nothing useful).
const MIN_WALK_SHARE: f64 = 0.1;

/// What one analysis' heap walk may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkPlan {
    /// Walk until done, whatever it costs.
    Full,
    /// Walk, aborting after this long (measured from the start of the walk).
    Until(Duration),
    /// Do not walk: the reason, for the report.
    Skip(String),
}

/// Plans the walk. `heap_used`: bytes used in the heap now; `resets_heap`: the JDK ends a walk
/// with a pass over the whole heap (before JDK 19); `rate`: that pass's cost in ps per byte.
pub fn plan_walk(mode: ReferencePaths, budget: Duration, heap_used: u64, resets_heap: bool, rate: u64) -> WalkPlan {
    match mode {
        ReferencePaths::Off => return WalkPlan::Skip("reference-paths=off".to_string()),
        ReferencePaths::Full => return WalkPlan::Full,
        ReferencePaths::Budget => {}
    }
    let aim = budget.mul_f64(AIM);
    let pass = if resets_heap {
        Duration::from_nanos(heap_used.saturating_mul(rate) / 1_000)
    } else {
        Duration::ZERO
    };
    let left = aim.saturating_sub(pass);
    if left < budget.mul_f64(MIN_WALK_SHARE) {
        return WalkPlan::Skip(format!(
            "over the pause budget: on this JDK a heap walk ends with a pass over the whole heap ({} MB used, about {} ms), more than the {} ms budget allows",
            heap_used / (1024 * 1024),
            pass.as_millis(),
            budget.as_millis()
        ));
    }
    WalkPlan::Until(left)
}

/// The rate after a walk whose heap pass took `pass` over `heap_used` bytes: the larger of the
/// measurement and a decayed old rate, so that one fast pass does not make the next walk
/// overshoot.
pub fn calibrate(old: u64, pass: Duration, heap_used: u64) -> u64 {
    if heap_used < 1024 * 1024 {
        return old; // too small a heap to measure anything
    }
    let measured = (pass.as_nanos().saturating_mul(1_000) / u128::from(heap_used)) as u64;
    measured.max(old / 2).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1024 * 1024;

    #[test]
    fn modes_off_and_full() {
        let b = Duration::from_millis(100);
        assert!(matches!(
            plan_walk(ReferencePaths::Off, b, 0, true, 1000),
            WalkPlan::Skip(_)
        ));
        assert_eq!(
            plan_walk(ReferencePaths::Full, b, 10_000 * MB, true, 1000),
            WalkPlan::Full
        );
    }

    #[test]
    fn the_heap_pass_is_taken_out_of_the_budget() {
        let b = Duration::from_millis(100);
        // JDK 19+: the whole aim.
        assert_eq!(
            plan_walk(ReferencePaths::Budget, b, 4_000 * MB, false, 1000),
            WalkPlan::Until(Duration::from_millis(75))
        );
        // JDK 17, 10 MB at 1 ns/byte: about 10.5 ms of pass.
        let WalkPlan::Until(d) = plan_walk(ReferencePaths::Budget, b, 10 * MB, true, 1000) else {
            panic!()
        };
        assert!(d > Duration::from_millis(63) && d < Duration::from_millis(65), "{d:?}");
        // JDK 17, 100 MB: the pass alone is over the aim.
        let WalkPlan::Skip(why) = plan_walk(ReferencePaths::Budget, b, 100 * MB, true, 1000) else {
            panic!()
        };
        assert!(
            why.starts_with("over the pause budget") && why.contains("100 MB used"),
            "{why}"
        );
        // A faster measured rate makes room again.
        assert!(matches!(
            plan_walk(ReferencePaths::Budget, b, 100 * MB, true, 300),
            WalkPlan::Until(_)
        ));
    }

    #[test]
    fn calibration_takes_the_slower_of_the_measurement_and_half_the_old_rate() {
        assert_eq!(calibrate(1000, Duration::from_millis(30), 100 * MB), 500);
        assert_eq!(calibrate(1000, Duration::from_millis(300), 100 * MB), 2861);
        assert_eq!(
            calibrate(1000, Duration::from_millis(300), 1000),
            1000,
            "tiny heaps say nothing"
        );
    }
}
