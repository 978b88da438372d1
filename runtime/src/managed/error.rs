//! Everything that can go wrong with managed memory, as one error type whose texts follow Flink's
//! `MemoryManager` where Flink has a text, and always name the slot, and the owner when one is
//! involved. An error never leaves the pool half-changed: operations validate first, then apply.

use std::fmt;

use super::OwnerId;

/// The key of the page-size option, named in page-size errors.
pub const SEGMENT_SIZE_KEY: &str = "taskmanager.memory.segment-size";

/// A managed-memory operation that was refused. Nothing was changed when this is returned.
#[derive(Debug)]
pub enum ManagedMemoryError {
    /// An option's value could not be parsed.
    InvalidOption {
        key: &'static str,
        value: String,
        reason: String,
    },
    /// The page size is not a power of two of at least 4 KiB (and at most 1 GiB).
    InvalidPageSize { bytes: u64 },
    /// A slot's budget would have more pages than Flink allows (`Integer.MAX_VALUE`).
    TooManyPages { slot: String, size: u64, page_size: u64 },
    /// The anonymous mapping for a slot's budget could not be created.
    Mapping {
        slot: String,
        bytes: u64,
        source: std::io::Error,
    },
    /// More pages requested than the slot has at all (Flink: `IllegalArgumentException`).
    MorePagesThanSlot {
        slot: String,
        owner: OwnerId,
        requested: u64,
        total: u64,
    },
    /// Not enough budget left for the pages (Flink: `MemoryAllocationException`).
    OutOfPages {
        slot: String,
        owner: OwnerId,
        requested: u64,
        free: u64,
        page_size: u64,
    },
    /// Not enough budget left for a reservation (Flink: `MemoryReservationException`).
    OutOfBudget {
        slot: String,
        owner: OwnerId,
        requested: u64,
        available: u64,
    },
    /// The page is not allocated any more: released twice, or used after release.
    PageNotHeld { slot: String, page: u32, generation: u32 },
    /// The page does not belong to this slot.
    ForeignPage { slot: String, page: u32 },
    /// The same page appears twice in one batch release.
    DuplicateInBatch { slot: String, page: u32 },
    /// An owner released more non-page memory than it had reserved.
    ReleaseMoreThanReserved {
        slot: String,
        owner: OwnerId,
        requested: u64,
        reserved: u64,
    },
    /// The slot's pool was closed (Flink: "Memory manager has been shut down.").
    Closed { slot: String },
    /// Slot sizes that add up to more than the TaskExecutor's managed memory.
    SlotsExceedManaged { requested: u64, available: u64 },
    /// `taskmanager.numberOfTaskSlots` of zero, or a slot index that does not exist.
    NoSuchSlot { slot: usize, slots: usize },
    /// The slot already holds a pool; free it first.
    SlotOccupied { slot: usize },
    /// An owner id beyond what the page table can record ([`super::protocol::MAX_OWNER_ID`]).
    OwnerOutOfRange { slot: String, owner: OwnerId },
}

impl ManagedMemoryError {
    /// The Java exception class this error becomes in `dev.tmrt.memory` (binary name).
    pub fn java_class(&self) -> &'static str {
        use ManagedMemoryError::*;
        match self {
            OutOfPages { .. } => "dev/tmrt/memory/MemoryAllocationException",
            OutOfBudget { .. } => "dev/tmrt/memory/MemoryReservationException",
            InvalidPageSize { .. }
            | InvalidOption { .. }
            | TooManyPages { .. }
            | MorePagesThanSlot { .. }
            | ForeignPage { .. }
            | DuplicateInBatch { .. }
            | SlotsExceedManaged { .. }
            | NoSuchSlot { .. }
            | OwnerOutOfRange { .. } => "java/lang/IllegalArgumentException",
            PageNotHeld { .. } | ReleaseMoreThanReserved { .. } | Closed { .. } | SlotOccupied { .. } => {
                "java/lang/IllegalStateException"
            }
            Mapping { .. } => "java/lang/OutOfMemoryError",
        }
    }
}

impl fmt::Display for ManagedMemoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ManagedMemoryError::*;
        match self {
            InvalidOption { key, value, reason } => {
                write!(f, "Could not parse value '{value}' for key '{key}': {reason}")
            }
            InvalidPageSize { bytes } => write!(
                f,
                "Invalid value {bytes} bytes for '{SEGMENT_SIZE_KEY}': the page size must be a power of two \
                 of at least 4096 bytes (4 kb) and at most 1073741824 bytes (1 gb)"
            ),
            TooManyPages { slot, size, page_size } => write!(
                f,
                "{slot}: the given number of memory bytes ({size}) corresponds to more than MAX_INT pages \
                 of {page_size} bytes"
            ),
            Mapping { slot, bytes, source } => {
                write!(f, "{slot}: could not map {bytes} bytes of managed memory: {source}")
            }
            MorePagesThanSlot {
                slot,
                owner,
                requested,
                total,
            } => write!(
                f,
                "Cannot allocate more segments {requested} than the max number {total} ({slot}, {owner})"
            ),
            OutOfPages {
                slot,
                owner,
                requested,
                free,
                page_size,
            } => write!(
                f,
                "Could not allocate {requested} pages. Only {free} pages are remaining \
                 ({slot}, {owner}, page size {page_size} bytes)"
            ),
            OutOfBudget {
                slot,
                owner,
                requested,
                available,
            } => write!(
                f,
                "Could not allocate {requested} bytes, only {available} bytes are remaining \
                 ({slot}, {owner}). This usually indicates that you are requesting more memory \
                 than you have reserved."
            ),
            PageNotHeld { slot, page, generation } => write!(
                f,
                "{slot}: page {page} (allocation {generation}) is not allocated: it was already released \
                 (double release or use after release)"
            ),
            ForeignPage { slot, page } => {
                write!(f, "{slot}: page {page} does not belong to this slot's memory manager")
            }
            DuplicateInBatch { slot, page } => {
                write!(
                    f,
                    "{slot}: page {page} appears twice in one release; nothing was released"
                )
            }
            ReleaseMoreThanReserved {
                slot,
                owner,
                requested,
                reserved,
            } => write!(
                f,
                "{slot}: {owner} releases {requested} bytes but has only {reserved} bytes reserved"
            ),
            Closed { slot } => write!(f, "Memory manager has been shut down. ({slot})"),
            SlotsExceedManaged { requested, available } => write!(
                f,
                "The slots' managed memory ({requested} bytes) exceeds the TaskExecutor's managed memory \
                 ({available} bytes)"
            ),
            NoSuchSlot { slot, slots } => {
                write!(f, "No slot {slot}: the TaskExecutor has {slots} slots")
            }
            SlotOccupied { slot } => write!(f, "slot {slot} already holds managed memory; free it first"),
            OwnerOutOfRange { slot, owner } => write!(
                f,
                "{slot}: {owner} is beyond the largest owner id {}",
                super::protocol::MAX_OWNER_ID
            ),
        }
    }
}

impl std::error::Error for ManagedMemoryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ManagedMemoryError::Mapping { source, .. } => Some(source),
            _ => None,
        }
    }
}
