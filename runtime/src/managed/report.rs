//! Who holds what in a slot: the answer of `verify_empty`, and the leak report of closing a slot
//! with memory outstanding. A plain value; its `Display` is the one-line text errors and logs use.

use std::fmt;

use super::PageSize;

/// An opaque owner id. Rust callers pick their own; the Java library maps each owner object to
/// an id of its `MemoryManager` (see `dev.tmrt.memory.MemoryManager`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OwnerId(pub u64);

impl fmt::Display for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "owner {}", self.0)
    }
}

/// What one owner holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnerHolding {
    pub owner: OwnerId,
    pub pages: u32,
    pub reserved_bytes: u64,
}

/// What every owner of a slot holds, in owner order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageReport {
    pub slot: String,
    pub page_size: u64,
    pub owners: Vec<OwnerHolding>,
}

impl UsageReport {
    pub(crate) fn new(slot: String, page_size: PageSize, owners: Vec<(OwnerId, u32, u64)>) -> UsageReport {
        UsageReport {
            slot,
            page_size: page_size.bytes(),
            owners: owners
                .into_iter()
                .map(|(owner, pages, reserved_bytes)| OwnerHolding {
                    owner,
                    pages,
                    reserved_bytes,
                })
                .collect(),
        }
    }

    /// Puts in each owner's reserved bytes as the caller books them (`(owner, bytes)`), in place
    /// of the pool's own figures: a pool whose reservations are made on its page table's header
    /// (tmrt's Java faces) knows only their total, and the memory manager over it knows who made
    /// them. Owners that only reserve are added; owners left with nothing are dropped.
    pub fn with_reservations(mut self, reserved: impl IntoIterator<Item = (OwnerId, u64)>) -> UsageReport {
        for o in &mut self.owners {
            o.reserved_bytes = 0;
        }
        for (owner, bytes) in reserved {
            match self.owners.iter_mut().find(|o| o.owner == owner) {
                Some(o) => o.reserved_bytes = bytes,
                None => self.owners.push(OwnerHolding {
                    owner,
                    pages: 0,
                    reserved_bytes: bytes,
                }),
            }
        }
        self.owners.retain(|o| o.pages > 0 || o.reserved_bytes > 0);
        self.owners.sort_by_key(|o| o.owner);
        self
    }

    /// Whether no owner holds anything.
    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }

    /// Pages held, over all owners.
    pub fn pages(&self) -> u64 {
        self.owners.iter().map(|o| u64::from(o.pages)).sum()
    }

    /// Bytes held (pages and reservations), over all owners.
    pub fn bytes(&self) -> u64 {
        self.owners
            .iter()
            .map(|o| u64::from(o.pages) * self.page_size + o.reserved_bytes)
            .sum()
    }
}

impl fmt::Display for UsageReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return write!(f, "{}: empty", self.slot);
        }
        write!(
            f,
            "{}: {} bytes held by {} owner(s):",
            self.slot,
            self.bytes(),
            self.owners.len()
        )?;
        for o in &self.owners {
            write!(
                f,
                " {} holds {} pages and {} reserved bytes;",
                o.owner, o.pages, o.reserved_bytes
            )?;
        }
        Ok(())
    }
}

/// One slot's figures for metrics ([`super::SlotPool::figures`]): the budget, what is in use, and
/// what is left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolFigures {
    /// The slot's name (`slot 2`, `memory manager 7`).
    pub slot: String,
    /// The slot's budget in bytes (pages and reservations together).
    pub budget_bytes: u64,
    pub page_size: u64,
    pub total_pages: u32,
    /// Pages held by owners now.
    pub pages_in_use: u32,
    /// Bytes reserved (Flink's `reserveMemory`, RocksDB) now.
    pub reserved_bytes: u64,
    /// Bytes neither in pages nor reserved (0 once closed).
    pub available_bytes: u64,
    pub closed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holding(owner: u64, pages: u32, reserved_bytes: u64) -> OwnerHolding {
        OwnerHolding {
            owner: OwnerId(owner),
            pages,
            reserved_bytes,
        }
    }

    #[test]
    fn reservations_booked_elsewhere_replace_the_pools_and_add_reserving_owners() {
        let pool_view = UsageReport::new(
            "slot 0".into(),
            PageSize::DEFAULT,
            vec![(OwnerId(1), 3, 0), (OwnerId(4), 1, 7), (OwnerId(5), 0, 9)],
        );
        let merged = pool_view.with_reservations([(OwnerId(2), 100), (OwnerId(4), 50)]);
        // Owner 5's 9 bytes were the pool's figure, not the booking: owner 5 holds nothing.
        assert_eq!(
            merged.owners,
            vec![holding(1, 3, 0), holding(2, 0, 100), holding(4, 1, 50)]
        );
        assert_eq!(merged.bytes(), 4 * 32 * 1024 + 150);
    }
}
