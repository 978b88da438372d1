//! The atomics and the waiting of the page table ([`super::shared_table`]): the standard
//! library's, or, when the crate is built with `--cfg loom`, the `loom` model checker's, so that
//! the protocol's interleavings can be explored exhaustively (`loom_tests.rs`). Under loom the
//! table lives in boxed atomics instead of a mapping (Java is not part of the model).

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicU32, AtomicU64};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicU32, AtomicU64};

/// One round of waiting for another party's progress (`round` counts the rounds so far): a spin
/// hint, then yielding the CPU; under loom, a yield that lets the model run the other threads.
pub(crate) fn wait(round: u32) {
    #[cfg(loom)]
    {
        let _ = round;
        loom::thread::yield_now();
    }
    #[cfg(not(loom))]
    {
        if round < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}
