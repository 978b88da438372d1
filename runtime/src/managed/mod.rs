//! Managed memory: Flink's per-slot off-heap pages, from one anonymous mapping per slot.
//!
//! Flink's `MemoryManager` allocates every page with `Unsafe.allocateMemory` and frees it through
//! a cleaner. Here a slot's whole budget is reserved up front as one private anonymous mapping
//! (address space only; memory becomes resident when touched), and pages of
//! `taskmanager.memory.segment-size` bytes ([`PageSize`]) are handed out of it: allocating is a
//! pop from a free stack, releasing a push, and the pool knows at every moment which owner holds
//! which page ([`SlotPool`]). The page table is lock-free and lives in its own small mapping, in
//! a layout ([`protocol`]) that `dev.tmrt.memory` operates on directly, so that a single page is
//! allocated and released from Java without crossing JNI.
//!
//! The semantics are Flink's: allocation is all or nothing for `n` pages, pages and reservations
//! (`reserve_memory`) share one byte budget, `release_all` frees an owner's pages,
//! `verify_empty` says who still holds what. Misuse is an error, never corruption: a page handle
//! carries the generation of its allocation, so releasing twice, using after release and
//! releasing another slot's page are all detected. Physical memory of released pages goes back
//! to the OS as the [`ReturnPolicy`] says; a closed slot's range is never unmapped, so a stale
//! pointer (a Java `ByteBuffer`) reads zeros instead of crashing the JVM.
//!
//! [`ManagedMemorySlots`] is the TaskExecutor level: equal or fine-grained slots over the
//! managed memory, freed and re-created while others work.

mod error;
mod mapping;
mod page_size;
mod policy;
mod pool;
pub mod protocol;
#[cfg(not(loom))]
mod reaper;
mod report;
mod returns;
mod shared_table;
mod slots;
mod sync;
mod table_reserve;
mod table_scan;

pub use error::{ManagedMemoryError, SEGMENT_SIZE_KEY};
pub use page_size::PageSize;
pub use policy::{ReturnPolicy, DEFAULT_GRACE};
pub use pool::{Page, SlotPool};
pub use report::{OwnerHolding, OwnerId, PoolFigures, UsageReport};
pub use slots::ManagedMemorySlots;

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, not(loom)))]
mod tests;
