//! Reservations: non-page memory (Flink's `reserveMemory`, used by RocksDB and Python) taken
//! from the same byte budget as the pages. The total lives in the page table's header and changes
//! under the table's reservation lock (`table_reserve.rs`), which Java takes too; this type keeps
//! the per-owner numbers of the reservations made through it (rare operations: a mutex).

use super::SlotPool;
use crate::managed::protocol::blocked_pages;
use crate::managed::table_reserve::Refused;
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
        match self.core.table.change_reserved(bytes, 0) {
            Ok(_) => {}
            Err(Refused::Closed) => return Err(self.closed()),
            Err(Refused::Short(available)) => {
                return Err(ManagedMemoryError::OutOfBudget {
                    slot: self.slot.clone(),
                    owner,
                    requested: bytes,
                    available,
                })
            }
        }
        *res.entry(owner).or_insert(0) += bytes;
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
        // Fewer blocked pages always fit.
        self.core.table.change_reserved(0, bytes).map_err(|_| self.closed())?;
        if bytes == reserved {
            res.remove(&owner);
        } else {
            *res.get_mut(&owner).expect("owner reserved") -= bytes;
        }
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

    /// The per-owner reservations made through this type are within the table's total (Java's
    /// reservations make up the rest), and the blocked pages follow the total.
    pub(super) fn check_reservations(&self) -> Result<(), String> {
        let res = self.reservations.lock();
        let sum: u64 = res.values().sum();
        // Java reserves on the table without this map's lock: read both under the table's.
        let (total, blocked) = self.core.table.reserved_and_blocked();
        if sum > total || res.values().any(|b| *b == 0) {
            return Err(format!("owners reserve {sum} bytes, total says {total}"));
        }
        let table = &self.core.table;
        if !table.is_closed() && blocked != blocked_pages(table.total(), self.size, self.page_size.shift(), total) {
            return Err(format!("{total} reserved bytes but {blocked} blocked pages"));
        }
        Ok(())
    }
}
