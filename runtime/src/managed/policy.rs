//! When a slot gives the physical memory of released pages back to the OS, so that RSS follows
//! use without paying a system call (and page faults on re-use) for every release.
//!
//! Released pages go to the warm free stack (or park as the hot page) and are handed out again
//! first, still resident ("warm"). A pool returns the physical memory of all warm free pages with `MADV_DONTNEED` when
//! either
//!
//! - the slot becomes **idle** (no page allocated) with at least `idle_min_pages` warm pages: the
//!   job or operator is done, so its memory goes back at once; or
//! - more than `max_retained_pages` free pages are warm, whatever the slot is doing: a slot never
//!   keeps more than that much released memory resident.
//!
//! **At most one return per grace period.** A slot that returns its memory and faults it back in
//! at once (a sorter that allocates, writes and releases its pages round after round) would pay a
//! page fault per page per round, far more than it saves. So a return that falls due less than
//! [`ReturnPolicy::grace`] after the slot's previous return is deferred to the end of that grace
//! period: the thresholds in the page table are suspended (releasers stop asking), and a
//! background thread (`reaper.rs`) looks again then and returns the memory if the policy still
//! says so. RSS above the policy's bound is therefore temporary (at most one grace period) and
//! never above the slot's budget; a slot that goes idle once returns its memory at once.
//!
//! Defaults: `idle_min_pages` = 1 MiB worth of pages (so a single page bouncing in and out of an
//! idle slot does not make a system call each time), `max_retained_pages` = a quarter of the slot.
//! So a slot's resident managed memory stays below `allocated + max(1 MiB, slot / 4)` (the hot page
//! may come on top when the count is taken before it is parked) while in use and drops to (nearly) nothing when idle. Releasers do not count the warm pages each time:
//! they keep an upper bound in the page table's header and ask for a count (and maybe a trim)
//! only when the bound says this policy may be exceeded (see [`super::protocol`]). [`super::SlotPool::trim`] returns everything now;
//! closing a slot returns everything.

use std::time::Duration;

use super::PageSize;

/// The default [`ReturnPolicy::grace`]: one second, long enough that a slot used round after
/// round returns its memory at most once a second, short enough that RSS follows a job's end.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(1);

/// When released pages' physical memory goes back to the OS (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReturnPolicy {
    /// On becoming idle, return warm free pages if there are at least this many.
    pub idle_min_pages: u64,
    /// Return warm free pages as soon as there are more than this many.
    pub max_retained_pages: u64,
    /// A return due sooner than this after the previous one waits until then (module docs);
    /// zero returns at once, every time.
    pub grace: Duration,
}

impl ReturnPolicy {
    /// Return the memory of every released page immediately.
    pub const EAGER: ReturnPolicy = ReturnPolicy {
        idle_min_pages: 1,
        max_retained_pages: 0,
        grace: Duration::ZERO,
    };
    /// Never return memory by itself (only [`super::SlotPool::trim`] and closing do).
    pub const NEVER: ReturnPolicy = ReturnPolicy {
        idle_min_pages: u64::MAX,
        max_retained_pages: u64::MAX,
        grace: Duration::ZERO,
    };

    /// The default for a slot of `pages` pages of `page_size` (module docs).
    pub fn default_for(pages: u64, page_size: PageSize) -> ReturnPolicy {
        ReturnPolicy {
            idle_min_pages: ((1u64 << 20) >> page_size.shift()).max(1),
            max_retained_pages: (pages / 4).max(1),
            grace: DEFAULT_GRACE,
        }
    }

    /// This policy with another grace period.
    pub fn with_grace(self, grace: Duration) -> ReturnPolicy {
        ReturnPolicy { grace, ..self }
    }

    /// Whether to return memory now, with `warm` warm free pages and the slot `idle` or not.
    pub fn should_return(&self, warm: u64, idle: bool) -> bool {
        warm > self.max_retained_pages || (idle && warm >= self.idle_min_pages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_scale_with_page_and_slot_size() {
        let p = ReturnPolicy::default_for(1024, PageSize::DEFAULT);
        assert_eq!(
            p,
            ReturnPolicy {
                idle_min_pages: 32,
                max_retained_pages: 256,
                grace: DEFAULT_GRACE,
            }
        );
        let big_pages = ReturnPolicy::default_for(2, PageSize::new(4 << 20).unwrap());
        assert_eq!(
            big_pages,
            ReturnPolicy {
                idle_min_pages: 1,
                max_retained_pages: 1,
                grace: DEFAULT_GRACE,
            }
        );
    }

    #[test]
    fn returns_when_idle_enough_or_over_the_cap() {
        let p = ReturnPolicy {
            idle_min_pages: 4,
            max_retained_pages: 10,
            grace: Duration::ZERO,
        };
        assert!(!p.should_return(3, true));
        assert!(p.should_return(4, true));
        assert!(!p.should_return(10, false));
        assert!(p.should_return(11, false));
        assert!(ReturnPolicy::EAGER.should_return(1, false));
        assert!(!ReturnPolicy::NEVER.should_return(u64::MAX - 1, true));
    }
}
