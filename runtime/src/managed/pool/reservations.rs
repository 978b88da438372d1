//! Reservations: non-page memory (Flink's `reserveMemory`, used by RocksDB and Python) taken
//! from the same byte budget as the pages. The owner map is behind a lock (reservations are
//! rare); each change also sets how many pages of the page table the reservations block, so
//! that the lock-free page operations see the smaller budget.

use std::sync::atomic::Ordering;

use super::SlotPool;
use crate::managed::protocol::{allocated, blocked};
use crate::managed::{ManagedMemoryError, OwnerId};

impl SlotPool {
    /// Reserves `bytes` of non-page memory for `owner` against the same budget (Flink's
    /// `reserveMemory`, used by RocksDB and Python).
    pub fn reserve_memory(&self, owner: OwnerId, bytes: u64) -> Result<(), ManagedMemoryError> {
        let mut res = self.reservations.lock();
        self.check_open()?;
        if bytes == 0 {
            return Ok(());
        }
        let reserved = self.reserved_total.load(Ordering::Relaxed);
        let out_of_budget = |allocated: u32| ManagedMemoryError::OutOfBudget {
            slot: self.slot.clone(),
            owner,
            requested: bytes,
            available: self.size.saturating_sub(
                (u64::from(allocated.saturating_sub(self.table.hot_pages())) << self.page_size.shift()) + reserved,
            ),
        };
        let new_total = match reserved.checked_add(bytes) {
            Some(t) if t <= self.size => t,
            _ => return Err(out_of_budget(allocated(self.table.budget()))),
        };
        match self.table.set_blocked(self.blocked_pages(new_total)) {
            Ok(_) => {}
            Err(Some(allocated)) => return Err(out_of_budget(allocated)),
            Err(None) => return Err(self.closed()),
        }
        *res.entry(owner).or_insert(0) += bytes;
        self.reserved_total.store(new_total, Ordering::Relaxed);
        Ok(())
    }

    /// Gives back `bytes` of `owner`'s reservation; more than it reserved is an error.
    pub fn release_memory(&self, owner: OwnerId, bytes: u64) -> Result<(), ManagedMemoryError> {
        let mut res = self.reservations.lock();
        self.check_open()?;
        let reserved = res.get(&owner).copied().unwrap_or(0);
        if bytes > reserved {
            return Err(ManagedMemoryError::ReleaseMoreThanReserved {
                slot: self.slot.clone(),
                owner,
                requested: bytes,
                reserved,
            });
        }
        if bytes == 0 {
            return Ok(());
        }
        let new_total = self.reserved_total.load(Ordering::Relaxed) - bytes;
        // Fewer blocked pages always fit.
        self.table
            .set_blocked(self.blocked_pages(new_total))
            .map_err(|_| self.closed())?;
        if bytes == reserved {
            res.remove(&owner);
        } else {
            *res.get_mut(&owner).expect("owner reserved") -= bytes;
        }
        self.reserved_total.store(new_total, Ordering::Relaxed);
        Ok(())
    }

    /// Gives back all of `owner`'s reservation (Flink's `releaseAllMemory`); returns the bytes.
    pub fn release_all_memory(&self, owner: OwnerId) -> Result<u64, ManagedMemoryError> {
        let reserved = {
            let res = self.reservations.lock();
            res.get(&owner).copied().unwrap_or(0)
        };
        self.release_memory(owner, reserved)?;
        Ok(reserved)
    }

    pub(super) fn check_reservations(&self) -> Result<(), String> {
        let res = self.reservations.lock();
        let sum: u64 = res.values().sum();
        let total = self.reserved_total.load(Ordering::Relaxed);
        if sum != total || res.values().any(|b| *b == 0) {
            return Err(format!("owners reserve {sum} bytes, total says {total}"));
        }
        let blocked = blocked(self.table.budget());
        if !self.table.is_closed() && blocked != self.blocked_pages(total) {
            return Err(format!("{total} reserved bytes but {blocked} blocked pages"));
        }
        Ok(())
    }

    /// Pages that reservations of `reserved` bytes in all block: Flink's byte rule in pages.
    fn blocked_pages(&self, reserved: u64) -> u32 {
        let usable = (self.size - reserved) >> self.page_size.shift();
        self.table.total() - usable.min(u64::from(self.table.total())) as u32
    }
}
