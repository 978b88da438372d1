//! A slot's pool: one budget, one mapping, pages handed out to owners with Flink's
//! `MemoryManager` semantics, behind one lock.
//!
//! The budget is bytes, shared by pages and reservations (Flink's `reserveMemory`), exactly as in
//! Flink: `available = size - pages × page_size - reserved`, and `n` pages fit when
//! `n × page_size <= available`. Every operation checks first and changes nothing when it fails.
//! The lock is a `parking_lot` mutex held for the bookkeeping only (a few nanoseconds per page);
//! giving physical memory back (`madvise`) happens under it too, but only as the
//! [`ReturnPolicy`] allows, so it is amortised over many releases.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use parking_lot::Mutex;

use super::mapping::SlotMapping;
use super::page_table::{PageFault, PageTable};
use super::{ManagedMemoryError, OwnerId, PageSize, ReturnPolicy, UsageReport};

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

struct State {
    table: PageTable,
    mapping: Option<SlotMapping>,
    closed: bool,
}

/// The managed memory of one slot. `Send + Sync`: share it with `Arc`.
pub struct SlotPool {
    id: u32,
    slot: String,
    size: u64,
    page_size: PageSize,
    base: usize,
    policy: ReturnPolicy,
    state: Mutex<State>,
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
        let base = mapping.as_ref().map_or(0, |m| m.base() as usize);
        Ok(SlotPool {
            id: NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed),
            slot,
            size,
            page_size,
            base,
            policy,
            state: Mutex::new(State {
                table: PageTable::new(pages as u32),
                mapping,
                closed: false,
            }),
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
        (self.size / self.page_size.bytes()) as u32
    }
    /// Pages not held by anyone (some of them may be blocked by reservations).
    pub fn free_pages(&self) -> u32 {
        self.state.lock().table.free_pages()
    }
    /// The address of page 0 (0 when the pool has no pages). Page `i` is at `base + i × page_size`.
    pub fn base_address(&self) -> usize {
        self.base
    }
    pub fn policy(&self) -> ReturnPolicy {
        self.policy
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

    /// Allocates `n` pages for `owner`, all or nothing, handing each to `out` (under the lock:
    /// `out` must be quick and must not call back into this pool).
    pub fn allocate_with(&self, owner: OwnerId, n: u32, mut out: impl FnMut(Page)) -> Result<(), ManagedMemoryError> {
        let mut st = self.state.lock();
        self.check_open(&st)?;
        let total = st.table.total_pages();
        if n > total {
            return Err(ManagedMemoryError::MorePagesThanSlot {
                slot: self.slot.clone(),
                owner,
                requested: n.into(),
                total: total.into(),
            });
        }
        let available = self.available(&st.table);
        let free = available >> self.page_size.shift();
        if u64::from(n) > free {
            return Err(ManagedMemoryError::OutOfPages {
                slot: self.slot.clone(),
                owner,
                requested: n.into(),
                free,
                page_size: self.page_size.bytes(),
            });
        }
        let pool = self.id;
        st.table.allocate(owner, n, |index, generation| {
            out(Page {
                pool,
                index,
                generation,
            })
        });
        Ok(())
    }

    /// Releases one page (Flink's `release(MemorySegment)`); a page released twice, re-used, or
    /// of another pool is an error and changes nothing.
    pub fn release(&self, page: Page) -> Result<(), ManagedMemoryError> {
        self.check_pool(page)?;
        let mut st = self.state.lock();
        self.check_open(&st)?;
        st.table
            .release(page.index, page.generation)
            .map_err(|f| self.fault(f, page.index, page.generation))?;
        self.after_release(&mut st);
        Ok(())
    }

    /// Releases a batch of pages, all or nothing (Flink's `release(Collection)`).
    pub fn release_batch(&self, pages: &[Page]) -> Result<(), ManagedMemoryError> {
        for p in pages {
            self.check_pool(*p)?;
        }
        let mut st = self.state.lock();
        self.check_open(&st)?;
        st.table
            .release_batch(pages.iter().map(|p| (p.index, p.generation)))
            .map_err(|(f, index)| {
                let generation = pages.iter().find(|p| p.index == index).map_or(0, |p| p.generation);
                self.fault(f, index, generation)
            })?;
        self.after_release(&mut st);
        Ok(())
    }

    /// Releases every page `owner` holds (Flink's `releaseAll`); returns how many.
    pub fn release_all(&self, owner: OwnerId) -> Result<u32, ManagedMemoryError> {
        self.release_all_with(owner, |_| {})
    }

    /// Like [`SlotPool::release_all`], handing each released page to `out` (under the lock).
    pub fn release_all_with(&self, owner: OwnerId, mut out: impl FnMut(Page)) -> Result<u32, ManagedMemoryError> {
        let mut st = self.state.lock();
        self.check_open(&st)?;
        let pool = self.id;
        let n = st.table.release_owner(owner, |index, generation| {
            out(Page {
                pool,
                index,
                generation,
            })
        });
        if n > 0 {
            self.after_release(&mut st);
        }
        Ok(n)
    }

    /// Reserves `bytes` of non-page memory for `owner` against the same budget (Flink's
    /// `reserveMemory`, used by RocksDB and Python).
    pub fn reserve_memory(&self, owner: OwnerId, bytes: u64) -> Result<(), ManagedMemoryError> {
        let mut st = self.state.lock();
        self.check_open(&st)?;
        let available = self.available(&st.table);
        if bytes > available {
            return Err(ManagedMemoryError::OutOfBudget {
                slot: self.slot.clone(),
                owner,
                requested: bytes,
                available,
            });
        }
        st.table.reserve(owner, bytes);
        Ok(())
    }

    /// Gives back `bytes` of `owner`'s reservation; more than it reserved is an error.
    pub fn release_memory(&self, owner: OwnerId, bytes: u64) -> Result<(), ManagedMemoryError> {
        let mut st = self.state.lock();
        self.check_open(&st)?;
        st.table
            .unreserve(owner, bytes)
            .map_err(|reserved| ManagedMemoryError::ReleaseMoreThanReserved {
                slot: self.slot.clone(),
                owner,
                requested: bytes,
                reserved,
            })
    }

    /// Gives back all of `owner`'s reservation (Flink's `releaseAllMemory`); returns the bytes.
    pub fn release_all_memory(&self, owner: OwnerId) -> Result<u64, ManagedMemoryError> {
        let mut st = self.state.lock();
        self.check_open(&st)?;
        Ok(st.table.unreserve_all(owner))
    }

    /// Bytes neither in pages nor reserved (Flink's `availableMemory`); 0 once closed.
    pub fn available_memory(&self) -> u64 {
        let st = self.state.lock();
        if st.closed {
            0
        } else {
            self.available(&st.table)
        }
    }

    /// What each owner holds now.
    pub fn usage(&self) -> UsageReport {
        let st = self.state.lock();
        UsageReport::new(self.slot.clone(), self.page_size, st.table.owners())
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

    /// Whether `owner` holds neither pages nor reservations.
    pub fn owner_is_empty(&self, owner: OwnerId) -> bool {
        let st = self.state.lock();
        let u = st.table.usage(owner);
        u.pages == 0 && u.reserved_bytes == 0
    }

    /// The address of a held page. Refused for a page released (use after release), of another
    /// pool, or once the pool is closed. The address stays mapped for the life of the process
    /// (see the mapping's docs), but its contents belong to the page's holder only.
    pub fn page_address(&self, page: Page) -> Result<NonNull<u8>, ManagedMemoryError> {
        self.check_pool(page)?;
        let st = self.state.lock();
        self.check_open(&st)?;
        st.table
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
        let mut st = self.state.lock();
        self.check_open(&st)?;
        self.return_dirty(&mut st);
        Ok(())
    }

    /// Checks the pool's bookkeeping invariants (every page either free exactly once or held by
    /// exactly one owner, counts consistent), in O(pages) under the lock. For tests and
    /// debugging; the error names the first violation.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.state.lock().table.check()
    }

    /// How many free pages may still hold physical memory (the policy keeps it bounded).
    pub fn retained_free_pages(&self) -> u32 {
        self.state.lock().table.dirty_free_pages()
    }

    /// Closes the pool: every later operation fails with Flink's "Memory manager has been shut
    /// down.". Returns what was still held (the leak report; empty when all was released). All
    /// physical memory goes back to the OS; the address range stays mapped (stale buffers read
    /// zeros). Closing twice returns an empty report.
    pub fn close(&self) -> UsageReport {
        let mut st = self.state.lock();
        if st.closed {
            return UsageReport::new(self.slot.clone(), self.page_size, Vec::new());
        }
        st.closed = true;
        let leaks = UsageReport::new(self.slot.clone(), self.page_size, st.table.owners());
        if let Some(mut m) = st.mapping.take() {
            m.retire();
        }
        leaks
    }

    pub fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    fn available(&self, t: &PageTable) -> u64 {
        self.size - (u64::from(t.allocated_pages()) << self.page_size.shift()) - t.reserved_bytes()
    }

    fn check_open(&self, st: &State) -> Result<(), ManagedMemoryError> {
        if st.closed {
            Err(ManagedMemoryError::Closed {
                slot: self.slot.clone(),
            })
        } else {
            Ok(())
        }
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
        }
    }

    fn after_release(&self, st: &mut State) {
        let dirty = u64::from(st.table.dirty_free_pages());
        let idle = st.table.allocated_pages() == 0;
        if self.policy.should_return(dirty, idle) {
            self.return_dirty(st);
        }
    }

    fn return_dirty(&self, st: &mut State) {
        let runs = st.table.take_dirty_free_runs();
        if let Some(m) = &st.mapping {
            let shift = self.page_size.shift();
            for (first, count) in runs {
                // madvise cannot fail on a valid range of our own mapping; if it did, the pages
                // would merely stay resident, which is no correctness problem.
                let _ = m.release_physical((first as usize) << shift, (count as usize) << shift);
            }
            debug_assert!(m.len() as u64 == u64::from(st.table.total_pages()) << shift);
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
