//! A slot's pool: one budget, one mapping, pages handed out to owners with Flink's
//! `MemoryManager` semantics, over a lock-free page table that Java shares.
//!
//! The budget is bytes, shared by pages and reservations (Flink's `reserveMemory`), exactly as in
//! Flink: `available = size - pages × page_size - reserved`, and `n` pages fit when
//! `n × page_size <= available` (the table keeps it in pages: see [`super::protocol`]). Every
//! operation checks first and changes nothing when it fails. Page operations take no lock: the
//! page table ([`super::shared_table`]) lives in its own small mapping and is operated with
//! atomics, by Rust and by `dev.tmrt.memory` directly. Two rare things take a lock: reservations
//! (owner map) and maintenance (giving physical memory back as the [`ReturnPolicy`] says, and
//! closing).

use std::collections::HashMap;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::mapping::SlotMapping;
use super::protocol::{allocated, MAX_OWNER_ID};
use super::returns::PoolCore;
use super::shared_table::{Claim, PageFault, SharedTable};
use super::{ManagedMemoryError, OwnerId, PageSize, PoolFigures, ReturnPolicy, UsageReport};

mod reservations;

/// A page handed out by a [`SlotPool`]: which pool, which page, which allocation of that page.
/// It is `Copy`, so releasing it twice is possible — and refused with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Page {
    pool: u32,
    index: u32,
    generation: u32,
}

impl Page {
    /// The page's index in its slot (its byte offset is `index × page_size`).
    pub fn index(self) -> u32 {
        self.index
    }

    /// Index and generation packed into one `u64` (generation in the high half), the form the
    /// Java library holds; [`SlotPool::page_from_bits`] turns it back into a page of that pool.
    pub fn to_bits(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }
}

static NEXT_POOL_ID: AtomicU32 = AtomicU32::new(1);

/// The managed memory of one slot. `Send + Sync`: share it with `Arc`.
pub struct SlotPool {
    id: u32,
    slot: String,
    size: u64,
    page_size: PageSize,
    base: usize,
    /// The page table and the mapping (shared with the reaper of deferred returns).
    core: Arc<PoolCore>,
    /// Reserved bytes per owner number, of reservations made through this type (no zero
    /// entries); the table keeps the total, Java's reservations included.
    reservations: Mutex<HashMap<OwnerId, u64>>,
}

impl SlotPool {
    /// A pool of `size` bytes for `slot` (a name for messages, e.g. `slot 2`), with the default
    /// [`ReturnPolicy`]. `size / page_size` pages are mapped (none when `size < page_size`, as in
    /// Flink: such a pool serves only reservations).
    pub fn new(slot: impl Into<String>, size: u64, page_size: PageSize) -> Result<SlotPool, ManagedMemoryError> {
        let pages = size / page_size.bytes();
        Self::with_policy(slot, size, page_size, ReturnPolicy::default_for(pages, page_size))
    }

    /// Like [`SlotPool::new`] with an explicit policy for returning physical memory.
    pub fn with_policy(
        slot: impl Into<String>,
        size: u64,
        page_size: PageSize,
        policy: ReturnPolicy,
    ) -> Result<SlotPool, ManagedMemoryError> {
        let slot = slot.into();
        let pages = size / page_size.bytes();
        if pages > i32::MAX as u64 {
            return Err(ManagedMemoryError::TooManyPages {
                slot,
                size,
                page_size: page_size.bytes(),
            });
        }
        let mapped = pages * page_size.bytes();
        let mapping = if mapped == 0 {
            None
        } else {
            let len = usize::try_from(mapped).map_err(|_| ManagedMemoryError::TooManyPages {
                slot: slot.clone(),
                size,
                page_size: page_size.bytes(),
            })?;
            Some(SlotMapping::new(len).map_err(|source| ManagedMemoryError::Mapping {
                slot: slot.clone(),
                bytes: mapped,
                source,
            })?)
        };
        let table = SharedTable::sized(
            pages as u32,
            size,
            page_size.shift(),
            policy.idle_min_pages,
            policy.max_retained_pages,
        )
        .map_err(|source| ManagedMemoryError::Mapping {
            slot: slot.clone(),
            bytes: pages * 12,
            source,
        })?;
        let base = mapping.as_ref().map_or(0, |m| m.base() as usize);
        Ok(SlotPool {
            id: NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed),
            slot,
            size,
            page_size,
            base,
            core: Arc::new(PoolCore::new(table, mapping, policy, page_size.shift())),
            reservations: Mutex::new(HashMap::new()),
        })
    }

    /// The slot's name, as used in messages.
    pub fn slot(&self) -> &str {
        &self.slot
    }
    /// The budget in bytes (pages and reservations together).
    pub fn size(&self) -> u64 {
        self.size
    }
    pub fn page_size(&self) -> PageSize {
        self.page_size
    }
    /// How many pages the slot has in all.
    pub fn total_pages(&self) -> u32 {
        self.core.table.total()
    }
    /// Pages not held by anyone (some of them may be blocked by reservations).
    pub fn free_pages(&self) -> u32 {
        let hot = self.core.table.hot_pages();
        (self.core.table.total() + hot).saturating_sub(allocated(self.core.table.budget()))
    }
    /// The address of page 0 (0 when the pool has no pages). Page `i` is at `base + i × page_size`.
    pub fn base_address(&self) -> usize {
        self.base
    }
    pub fn policy(&self) -> ReturnPolicy {
        self.core.policy
    }

    /// The shared page table ([`super::protocol`]): its address and length in bytes. It lives
    /// as long as the pool; Java operates on it with `sun.misc.Unsafe` (`PageTable`).
    pub fn page_table(&self) -> (*const u8, usize) {
        (self.core.table.address(), self.core.table.len())
    }

    /// Allocates `n` pages for `owner`, all or nothing (Flink's `allocatePages`).
    pub fn allocate_pages(&self, owner: OwnerId, n: u32) -> Result<Vec<Page>, ManagedMemoryError> {
        let mut pages = Vec::with_capacity(n as usize);
        self.allocate_with(owner, n, |p| pages.push(p))?;
        Ok(pages)
    }

    /// Allocates one page for `owner`.
    pub fn allocate_page(&self, owner: OwnerId) -> Result<Page, ManagedMemoryError> {
        let mut page = None;
        self.allocate_with(owner, 1, |p| page = Some(p))?;
        Ok(page.expect("one page allocated"))
    }

    /// Allocates `n` pages for `owner`, all or nothing, handing each to `out` (`out` must be
    /// quick: the pages are claimed while it runs).
    pub fn allocate_with(&self, owner: OwnerId, n: u32, mut out: impl FnMut(Page)) -> Result<(), ManagedMemoryError> {
        self.check_owner(owner)?;
        let total = self.core.table.total();
        if n > total && !self.core.table.is_closed() {
            return Err(ManagedMemoryError::MorePagesThanSlot {
                slot: self.slot.clone(),
                owner,
                requested: n.into(),
                total: total.into(),
            });
        }
        let pool = self.id;
        let result = self.core.table.allocate(owner.0, n, |index, generation| {
            out(Page {
                pool,
                index,
                generation,
            })
        });
        match result {
            Ok(()) => Ok(()),
            Err(Claim::Closed) => Err(self.closed()),
            Err(Claim::Full(free)) => Err(ManagedMemoryError::OutOfPages {
                slot: self.slot.clone(),
                owner,
                requested: n.into(),
                free: free.into(),
                page_size: self.page_size.bytes(),
            }),
        }
    }

    /// Releases one page (Flink's `release(MemorySegment)`); a page released twice, re-used, or
    /// of another pool is an error and changes nothing.
    pub fn release(&self, page: Page) -> Result<(), ManagedMemoryError> {
        self.check_pool(page)?;
        self.check_open()?;
        let due = self
            .core
            .table
            .release(page.index, page.generation)
            .map_err(|f| self.fault(f, page.index, page.generation))?;
        if due {
            self.return_memory_if_due();
        }
        Ok(())
    }

    /// Releases a batch of pages, all or nothing (Flink's `release(Collection)`).
    pub fn release_batch(&self, pages: &[Page]) -> Result<(), ManagedMemoryError> {
        for p in pages {
            self.check_pool(*p)?;
        }
        self.check_open()?;
        let raw: Vec<(u32, u32)> = pages.iter().map(|p| (p.index, p.generation)).collect();
        let due = self.core.table.release_batch(&raw).map_err(|(f, index)| {
            let generation = pages.iter().find(|p| p.index == index).map_or(0, |p| p.generation);
            self.fault(f, index, generation)
        })?;
        if due {
            self.return_memory_if_due();
        }
        Ok(())
    }

    /// Releases every page `owner` holds (Flink's `releaseAll`); returns how many.
    pub fn release_all(&self, owner: OwnerId) -> Result<u32, ManagedMemoryError> {
        self.release_all_with(owner, |_| {})
    }

    /// Like [`SlotPool::release_all`], handing each released page to `out`. A scan of the page
    /// table (O(pages of the slot)).
    pub fn release_all_with(&self, owner: OwnerId, mut out: impl FnMut(Page)) -> Result<u32, ManagedMemoryError> {
        self.check_open()?;
        if owner.0 > MAX_OWNER_ID {
            return Ok(0); // such an owner can hold no page
        }
        let pool = self.id;
        let (n, due) = self.core.table.release_owner(owner.0, |index, generation| {
            out(Page {
                pool,
                index,
                generation,
            })
        });
        if due {
            self.return_memory_if_due();
        }
        Ok(n)
    }

    /// Pages held now by owners (the parked hot page is free).
    pub fn pages_in_use(&self) -> u32 {
        self.core.table.total().saturating_sub(self.free_pages())
    }

    /// Bytes reserved now (Flink's `reserveMemory`), over all owners.
    pub fn reserved_bytes(&self) -> u64 {
        self.core.table.reserved()
    }

    /// The figures a metrics endpoint shows for this slot, read without a lock (each value is
    /// exact at some moment; together they are a snapshot only when nothing is in flight).
    pub fn figures(&self) -> PoolFigures {
        PoolFigures {
            slot: self.slot.clone(),
            budget_bytes: self.size,
            page_size: self.page_size.bytes(),
            total_pages: self.core.table.total(),
            pages_in_use: self.pages_in_use(),
            reserved_bytes: self.reserved_bytes(),
            available_bytes: self.available_memory(),
            closed: self.is_closed(),
        }
    }

    /// Bytes neither in pages nor reserved (Flink's `availableMemory`); 0 once closed.
    pub fn available_memory(&self) -> u64 {
        let hot = self.core.table.hot_pages();
        let b = self.core.table.budget();
        if self.core.table.is_closed() {
            return 0;
        }
        let pages = u64::from(allocated(b).saturating_sub(hot)) << self.page_size.shift();
        self.size.saturating_sub(pages + self.core.table.reserved())
    }

    /// What each owner holds now (a scan of the page table; exact when no operation is in
    /// flight, and each owner's count is one it held at some moment of the scan).
    pub fn usage(&self) -> UsageReport {
        let reservations: Vec<(OwnerId, u64)> = self.reservations.lock().iter().map(|(o, b)| (*o, *b)).collect();
        self.report(self.core.table.holders(), reservations)
    }

    /// Whether nothing is held: `Ok` when empty, else the report of who holds what.
    pub fn verify_empty(&self) -> Result<(), UsageReport> {
        let report = self.usage();
        if report.is_empty() {
            Ok(())
        } else {
            Err(report)
        }
    }

    /// Of `owners`, those that hold neither pages nor reservations, judged at a moment when no
    /// allocation is between claiming its budget and publishing its page (so an owner that an
    /// allocation already claimed for is never among them); `None` when the pool found no such
    /// moment quickly (try again later). The Java library drops such owners from its map.
    pub fn empty_owners_when_quiet(&self, owners: &[OwnerId]) -> Option<Vec<OwnerId>> {
        let holders = self.core.table.holders_when_quiet(100)?;
        let res = self.reservations.lock();
        Some(
            owners
                .iter()
                .copied()
                .filter(|o| !res.contains_key(o) && holders.binary_search_by_key(&o.0, |h| h.0).is_err())
                .collect(),
        )
    }

    /// Whether `owner` holds neither pages nor reservations (a scan of the page table).
    pub fn owner_is_empty(&self, owner: OwnerId) -> bool {
        !self.usage().owners.iter().any(|o| o.owner == owner)
    }

    /// The address of a held page. Refused for a page released (use after release), of another
    /// pool, or once the pool is closed. The address stays mapped for the life of the process
    /// (see the mapping's docs), but its contents belong to the page's holder only.
    pub fn page_address(&self, page: Page) -> Result<NonNull<u8>, ManagedMemoryError> {
        self.check_pool(page)?;
        self.check_open()?;
        self.core
            .table
            .holder(page.index, page.generation)
            .map_err(|f| self.fault(f, page.index, page.generation))?;
        let addr = self.base + ((page.index as usize) << self.page_size.shift());
        Ok(NonNull::new(addr as *mut u8).expect("mapped page is not null"))
    }

    /// The page of this pool that [`Page::to_bits`] packed.
    pub fn page_from_bits(&self, bits: u64) -> Page {
        Page {
            pool: self.id,
            index: bits as u32,
            generation: (bits >> 32) as u32,
        }
    }

    /// Gives the physical memory of every free page back to the OS now.
    pub fn trim(&self) -> Result<(), ManagedMemoryError> {
        if self.core.trim_now() {
            Ok(())
        } else {
            Err(self.closed())
        }
    }

    /// What a releaser calls when the page table's hint says the warm pages may exceed the
    /// policy (Java calls it through JNI; [`super::protocol`]): counts the warm pages and
    /// returns their memory to the OS if the [`ReturnPolicy`] says so (within its grace period
    /// after the previous return, later: see [`ReturnPolicy::grace`]).
    pub fn return_memory_if_due(&self) {
        self.core.return_if_due();
    }

    /// Checks the page table's invariants that hold at any moment, even while other threads
    /// operate (well-formed words, acyclic free stacks of free pages, budget in bounds), and the
    /// reservations. For tests and debugging; the error names the first violation.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.core.table.check(false)?;
        self.check_reservations()
    }

    /// Like [`SlotPool::check_invariants`], for a pool with no operation in flight: also that
    /// every page is on exactly one free stack or held, and that the budget counts exactly the
    /// held pages.
    pub fn check_quiescent(&self) -> Result<(), String> {
        self.core.table.check(true)?;
        self.check_reservations()
    }

    /// How many free pages may still hold physical memory (the policy keeps it bounded).
    pub fn retained_free_pages(&self) -> u32 {
        self.core.table.count_warm(u64::MAX) as u32
    }

    /// Closes the pool: every later operation fails with Flink's "Memory manager has been shut
    /// down.". Returns what was still held (the leak report; empty when all was released). All
    /// physical memory goes back to the OS; the address range stays mapped (stale buffers read
    /// zeros). Closing twice returns an empty report. Operations racing with the close either
    /// finish before it (and are in the report) or fail.
    pub fn close(&self) -> UsageReport {
        let mut m = self.core.maintenance.lock();
        let res = self.reservations.lock();
        if m.closed {
            return UsageReport::new(self.slot.clone(), self.page_size, Vec::new());
        }
        m.closed = true;
        let leaked = self.core.table.close();
        let reservations: Vec<(OwnerId, u64)> = res.iter().map(|(o, b)| (*o, *b)).collect();
        drop(res);
        if let Some(mut map) = m.mapping.take() {
            map.retire();
        }
        self.report(leaked, reservations)
    }

    pub fn is_closed(&self) -> bool {
        self.core.table.is_closed()
    }

    #[cfg(all(test, not(loom)))]
    pub(crate) fn table(&self) -> &SharedTable {
        &self.core.table
    }

    fn report(&self, pages: Vec<(u64, u32)>, reservations: Vec<(OwnerId, u64)>) -> UsageReport {
        let mut owners: Vec<(OwnerId, u32, u64)> = pages.into_iter().map(|(o, n)| (OwnerId(o), n, 0)).collect();
        for (o, bytes) in reservations {
            match owners.iter_mut().find(|e| e.0 == o) {
                Some(e) => e.2 += bytes,
                None => owners.push((o, 0, bytes)),
            }
        }
        owners.sort_by_key(|e| e.0);
        UsageReport::new(self.slot.clone(), self.page_size, owners)
    }

    fn closed(&self) -> ManagedMemoryError {
        ManagedMemoryError::Closed {
            slot: self.slot.clone(),
        }
    }

    fn check_open(&self) -> Result<(), ManagedMemoryError> {
        if self.core.table.is_closed() {
            Err(self.closed())
        } else {
            Ok(())
        }
    }

    fn check_owner(&self, owner: OwnerId) -> Result<(), ManagedMemoryError> {
        if owner.0 > MAX_OWNER_ID {
            return Err(ManagedMemoryError::OwnerOutOfRange {
                slot: self.slot.clone(),
                owner,
            });
        }
        Ok(())
    }

    fn check_pool(&self, page: Page) -> Result<(), ManagedMemoryError> {
        if page.pool != self.id {
            return Err(ManagedMemoryError::ForeignPage {
                slot: self.slot.clone(),
                page: page.index,
            });
        }
        Ok(())
    }

    fn fault(&self, f: PageFault, page: u32, generation: u32) -> ManagedMemoryError {
        let slot = self.slot.clone();
        match f {
            PageFault::Foreign => ManagedMemoryError::ForeignPage { slot, page },
            PageFault::NotHeld => ManagedMemoryError::PageNotHeld { slot, page, generation },
            PageFault::Duplicate => ManagedMemoryError::DuplicateInBatch { slot, page },
            PageFault::Closed => ManagedMemoryError::Closed { slot },
        }
    }
}

impl std::fmt::Debug for SlotPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotPool")
            .field("slot", &self.slot)
            .field("size", &self.size)
            .field("page_size", &self.page_size.bytes())
            .finish_non_exhaustive()
    }
}
