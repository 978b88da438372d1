//! Returning the physical memory of free pages to the OS, as the [`ReturnPolicy`] says: the part
//! of a slot pool that the background reaper (`reaper.rs`) needs too, so it lives behind an
//! `Arc` of its own ([`PoolCore`]): the page table, the mapping and the maintenance lock.
//!
//! A return that falls due within the policy's grace period after the previous one is deferred:
//! the table's thresholds are suspended (releasers stop asking) and the reaper looks again at the
//! end of the grace period ([`PoolCore::reap`]).

use std::sync::Arc;
#[cfg(not(loom))]
use std::time::Instant;

use parking_lot::Mutex;

use super::mapping::SlotMapping;
use super::protocol::allocated;
use super::shared_table::SharedTable;
use super::ReturnPolicy;

/// What the maintenance lock guards: the mapping (trims `madvise` it, closing retires it), and
/// the return policy's state.
pub(crate) struct Maintenance {
    pub(crate) mapping: Option<SlotMapping>,
    pub(crate) closed: bool,
    /// When memory was last returned by the policy.
    #[cfg(not(loom))]
    last_return: Option<Instant>,
    /// A return is deferred (thresholds suspended, the reaper will look).
    deferred: bool,
}

/// A slot pool's page table and mapping, shared with the reaper.
pub(crate) struct PoolCore {
    pub(crate) table: SharedTable,
    pub(crate) maintenance: Mutex<Maintenance>,
    pub(crate) policy: ReturnPolicy,
    /// log2 of the page size.
    pub(crate) shift: u32,
}

impl PoolCore {
    pub(crate) fn new(table: SharedTable, mapping: Option<SlotMapping>, policy: ReturnPolicy, shift: u32) -> PoolCore {
        PoolCore {
            table,
            maintenance: Mutex::new(Maintenance {
                mapping,
                closed: false,
                #[cfg(not(loom))]
                last_return: None,
                deferred: false,
            }),
            policy,
            shift,
        }
    }

    /// What a releaser calls when the page table's hint says the warm pages may exceed the
    /// policy: counts them and returns their memory if the policy says so, now or (within the
    /// grace period after the previous return) when the reaper looks again.
    pub(crate) fn return_if_due(self: &Arc<Self>) {
        let mut m = self.maintenance.lock();
        if m.closed || m.deferred {
            return;
        }
        if !self.due() {
            return;
        }
        #[cfg(not(loom))]
        if let Some(last) = m.last_return {
            let until = last + self.policy.grace;
            if Instant::now() < until && super::reaper::schedule(Arc::downgrade(self), until) {
                m.deferred = true;
                self.table.suspend_returns();
                return;
            }
        }
        self.trim_locked(&mut m);
    }

    /// The reaper's visit at the end of a grace period: thresholds back, and the memory returned
    /// if the policy still says so.
    #[cfg(not(loom))]
    pub(crate) fn reap(&self) {
        let mut m = self.maintenance.lock();
        if m.closed || !m.deferred {
            return;
        }
        m.deferred = false;
        self.table
            .resume_returns(self.policy.idle_min_pages, self.policy.max_retained_pages);
        if self.due() {
            self.trim_locked(&mut m);
        }
    }

    /// Counts the warm pages: whether the policy says to return them (if not, the count
    /// becomes the table's hint).
    fn due(&self) -> bool {
        let tag = self.table.warm_tag();
        let limit = self
            .policy
            .idle_min_pages
            .max(self.policy.max_retained_pages.saturating_add(1))
            .min(u64::from(self.table.total()));
        let warm = self.table.count_warm(limit);
        let idle = allocated(self.table.budget()) == self.table.hot_pages();
        let due = self.policy.should_return(warm, idle);
        if !due {
            self.table.set_hint(tag, warm);
        }
        due
    }

    /// Returns every free page's memory now (explicit trims; not subject to the grace period).
    pub(crate) fn trim_now(&self) -> bool {
        let mut m = self.maintenance.lock();
        if m.closed {
            return false;
        }
        self.trim_locked(&mut m);
        true
    }

    fn trim_locked(&self, m: &mut Maintenance) {
        #[cfg(not(loom))]
        {
            m.last_return = Some(Instant::now());
        }
        let (pages, hot) = self.table.take_warm();
        if let Some(map) = &m.mapping {
            let mut sorted = pages.clone();
            sorted.sort_unstable();
            let mut runs: Vec<(u32, u32)> = Vec::new();
            for i in sorted {
                match runs.last_mut() {
                    Some((start, len)) if *start + *len == i => *len += 1,
                    _ => runs.push((i, 1)),
                }
            }
            for (first, count) in runs {
                // madvise cannot fail on a valid range of our own mapping; if it did, the pages
                // would merely stay resident, which is no correctness problem. The pages are off
                // the free stacks while this runs, so nobody holds them.
                let _ = map.release_physical((first as usize) << self.shift, (count as usize) << self.shift);
            }
        }
        self.table.push_cold(&pages, hot);
    }
}
