//! One slot's budget as one anonymous mapping, and the two things done to its memory: giving the
//! physical memory of free pages back to the OS, and retiring the mapping when the slot closes.
//!
//! The mapping is private, anonymous and `MAP_NORESERVE`: it costs address space only, and a page
//! becomes resident when someone touches it. `MADV_DONTNEED` on a private anonymous range frees
//! its physical memory at once, and the next access reads zeros.
//!
//! **The mapping is never unmapped.** Addresses of pages leave Rust (a Java `ByteBuffer` made by
//! `NewDirectByteBuffer` points straight into it), and nothing tells us when the last such buffer
//! dies. Unmapping would turn a stale buffer into a SIGSEGV of the JVM. So retiring a mapping
//! returns all its physical memory (`MADV_DONTNEED` over the whole range) and leaves the range
//! mapped: a stale reader sees zeros, a stale writer dirties a fresh zero page, nothing crashes.
//! The cost is address space (one slot budget per closed slot, out of 128 TiB), not memory.

use std::io;

use memmap2::{MmapMut, MmapOptions, UncheckedAdvice};

/// A slot's anonymous mapping (see the module docs for why it is never unmapped).
pub(crate) struct SlotMapping {
    map: Option<MmapMut>,
    base: *mut u8,
    len: usize,
}

// SAFETY: the raw base pointer is only an address (never dereferenced here); MmapMut itself is
// Send + Sync, and all changes to page contents are made by page holders, not by this type.
unsafe impl Send for SlotMapping {}
// SAFETY: as above; `release_physical` and `retire` are system calls that are safe to race with
// readers (they see old data or zeros).
unsafe impl Sync for SlotMapping {}

impl SlotMapping {
    /// Maps `len` bytes (`len > 0`) of private anonymous memory, without reserving swap.
    pub(crate) fn new(len: usize) -> io::Result<SlotMapping> {
        let mut map = MmapOptions::new().len(len).no_reserve_swap().map_anon()?;
        let base = map.as_mut_ptr();
        Ok(SlotMapping {
            map: Some(map),
            base,
            len,
        })
    }

    /// The first byte of the mapping.
    pub(crate) fn base(&self) -> *mut u8 {
        self.base
    }

    /// Gives the physical memory of `[offset, offset + len)` back to the OS; its next reader sees
    /// zeros. The caller passes only free pages (or the whole range when retiring).
    pub(crate) fn release_physical(&self, offset: usize, len: usize) -> io::Result<()> {
        let Some(map) = &self.map else { return Ok(()) };
        // SAFETY: MADV_DONTNEED on a private anonymous mapping replaces the range with zero-fill
        // pages; it cannot fault or unmap anything. Rust holds no reference into page memory (the
        // pool only hands out addresses), and the caller passes only pages nobody holds, so no
        // live data is lost; a stale reader (a Java buffer of a released page) reads zeros.
        // memmap2 checks that the range lies inside the mapping.
        unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, offset, len) }
    }

    /// Returns all physical memory and keeps the address range mapped for good (module docs).
    pub(crate) fn retire(&mut self) {
        if let Some(map) = self.map.take() {
            let _ = {
                // SAFETY: as in `release_physical`; the pool is closed, so no page is held.
                unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, 0, self.len) }
            };
            // Never munmap: stale buffers may still point here (module docs).
            std::mem::forget(map);
        }
    }
}

impl Drop for SlotMapping {
    fn drop(&mut self) {
        self.retire();
    }
}
