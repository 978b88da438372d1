//! Reservations on the page table ([`super::protocol`], "reserve or release `d` bytes"): the
//! total reserved bytes live in the table's header next to the budget word, changed under a
//! small lock word that Rust and Java take alike, so that both sides share one byte budget and a
//! reservation from Java costs no JNI call. Who reserved how much is the caller's bookkeeping.
//!
//! And the return policy's switch in the header: thresholds suspended while a return is
//! deferred ([`super::ReturnPolicy::grace`]).

use std::sync::atomic::Ordering::*;

use super::protocol::*;
use super::shared_table::SharedTable;
use super::sync::wait;

/// Why a reservation change was refused (nothing changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    Closed,
    /// Only this many bytes were available (neither in pages nor reserved).
    Short(u64),
}

impl SharedTable {
    /// The budget in bytes, as the header says.
    pub(crate) fn size_bytes(&self) -> u64 {
        self.word(SIZE).load(Relaxed)
    }

    fn shift(&self) -> u32 {
        self.word(SHIFT).load(Relaxed) as u32
    }

    /// Bytes reserved now (over all owners, Rust's and Java's).
    pub(crate) fn reserved(&self) -> u64 {
        self.word(RESERVED).load(Acquire)
    }

    /// Adds `add` bytes to the reserved total and takes `sub` away (the caller checked that
    /// they were reserved), if the budget allows; returns the new total.
    pub(crate) fn change_reserved(&self, add: u64, sub: u64) -> Result<u64, Refused> {
        let lock = self.word(RES_LOCK);
        let mut spins = 0u32;
        while lock.compare_exchange_weak(0, 1, Acquire, Relaxed).is_err() {
            spins += 1;
            wait(spins);
        }
        let result = self.change_reserved_locked(add, sub);
        lock.store(0, Release);
        result
    }

    /// The reserved total and the blocked pages of the budget word, read together under the
    /// lock word (a reservation changes both under it; checks compare them).
    pub(crate) fn reserved_and_blocked(&self) -> (u64, u32) {
        let lock = self.word(RES_LOCK);
        let mut spins = 0u32;
        while lock.compare_exchange_weak(0, 1, Acquire, Relaxed).is_err() {
            spins += 1;
            wait(spins);
        }
        let seen = (self.word(RESERVED).load(Relaxed), blocked(self.budget()));
        lock.store(0, Release);
        seen
    }

    fn change_reserved_locked(&self, add: u64, sub: u64) -> Result<u64, Refused> {
        let before = self.word(RESERVED).load(Relaxed);
        let size = self.size_bytes();
        let available = |allocated: u32| {
            let pages = u64::from(allocated.saturating_sub(self.hot_pages())) << self.shift();
            size.saturating_sub(pages + before)
        };
        let after = match (before - sub.min(before)).checked_add(add) {
            Some(r) if r <= size => r,
            _ => return Err(Refused::Short(available(allocated(self.budget())))),
        };
        match self.set_blocked(blocked_pages(self.total(), size, self.shift(), after)) {
            Ok(_) => {}
            Err(Some(allocated)) => return Err(Refused::Short(available(allocated))),
            Err(None) => return Err(Refused::Closed),
        }
        self.word(RESERVED).store(after, Release);
        Ok(after)
    }

    /// Suspends the return thresholds in the header: releasers stop asking for a count.
    #[cfg_attr(loom, allow(dead_code))] // the grace period needs a clock: not in the loom model
    pub(crate) fn suspend_returns(&self) {
        self.word(IDLE_MIN).store(SUSPENDED, Relaxed);
        self.word(MAX_RETAINED).store(SUSPENDED, Relaxed);
    }

    /// Restores the return thresholds (clamped as at creation).
    #[cfg_attr(loom, allow(dead_code))] // the grace period needs a clock: not in the loom model
    pub(crate) fn resume_returns(&self, idle_min: u64, max_retained: u64) {
        self.word(IDLE_MIN).store(idle_min.min(1 << 32), Relaxed);
        self.word(MAX_RETAINED).store(max_retained.min(1 << 32), Relaxed);
    }
}
