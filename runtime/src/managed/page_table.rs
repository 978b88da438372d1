//! A slot's bookkeeping, without locks or memory: which owner holds each page, the free list, and
//! what each owner holds (pages and reserved bytes). Every operation is O(1) per page.
//!
//! Pages are indices into one array of entries. Free pages form a LIFO list (the page released
//! last is handed out next, while it is still warm); the pages of one owner form a doubly linked
//! list, so that releasing one page and releasing everything an owner holds need no search. Each
//! allocation bumps the page's generation, and a page handle carries the generation it was handed
//! out with: a stale handle (double release, use after release) never matches again.
//!
//! An owner's entry stays in the owner map when it becomes empty (so that an owner allocating and
//! releasing one page over and over does not insert and remove it every time); empty entries are
//! swept out whenever the map has doubled since the last sweep, which keeps it bounded by twice
//! the owners that hold something (plus a constant).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::OwnerId;

const NIL: u32 = u32::MAX;

/// Why a page handle was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageFault {
    /// The index is outside this table.
    Foreign,
    /// The page is free, or was handed out again since (generation differs).
    NotHeld,
    /// The page appears twice in one batch.
    Duplicate,
}

#[derive(Clone, Copy)]
struct Entry {
    owner: OwnerId,
    generation: u32,
    prev: u32,
    next: u32,
    allocated: bool,
    /// Handed out since the OS last took its physical memory back.
    dirty: bool,
    /// Validated in the current batch release.
    marked: bool,
}

/// What one owner holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OwnerUsage {
    pub pages: u32,
    pub reserved_bytes: u64,
    head: u32,
}

/// Owner ids are small counters: a multiplicative hash is enough and much cheaper than SipHash.
#[derive(Default)]
pub(crate) struct OwnerHasher(u64);

impl Hasher for OwnerHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub(crate) struct PageTable {
    entries: Vec<Entry>,
    free_head: u32,
    free_pages: u32,
    dirty_free: u32,
    reserved_bytes: u64,
    owners: HashMap<OwnerId, OwnerUsage, BuildHasherDefault<OwnerHasher>>,
    /// Sweep empty owners out when the map reaches this size.
    sweep_at: usize,
}

const MIN_SWEEP_AT: usize = 64;

impl PageTable {
    pub(crate) fn new(pages: u32) -> PageTable {
        assert!(pages < NIL, "page count {pages} too large");
        let entries = (0..pages)
            .map(|i| Entry {
                owner: OwnerId(0),
                generation: 0,
                prev: NIL,
                next: if i + 1 < pages { i + 1 } else { NIL },
                allocated: false,
                dirty: false,
                marked: false,
            })
            .collect();
        PageTable {
            entries,
            free_head: if pages > 0 { 0 } else { NIL },
            free_pages: pages,
            dirty_free: 0,
            reserved_bytes: 0,
            owners: HashMap::default(),
            sweep_at: MIN_SWEEP_AT,
        }
    }

    pub(crate) fn total_pages(&self) -> u32 {
        self.entries.len() as u32
    }
    pub(crate) fn free_pages(&self) -> u32 {
        self.free_pages
    }
    pub(crate) fn allocated_pages(&self) -> u32 {
        self.total_pages() - self.free_pages
    }
    pub(crate) fn reserved_bytes(&self) -> u64 {
        self.reserved_bytes
    }
    pub(crate) fn dirty_free_pages(&self) -> u32 {
        self.dirty_free
    }

    /// Hands `n <= free_pages()` pages to `owner`, calling `out(index, generation)` for each.
    pub(crate) fn allocate(&mut self, owner: OwnerId, n: u32, mut out: impl FnMut(u32, u32)) {
        assert!(n <= self.free_pages, "allocate {n} of {} free pages", self.free_pages);
        if n == 0 {
            return;
        }
        self.make_room_for(owner);
        let usage = self.owners.entry(owner).or_insert(OwnerUsage {
            head: NIL,
            ..Default::default()
        });
        let mut head = usage.head;
        for _ in 0..n {
            let i = self.free_head;
            let e = &mut self.entries[i as usize];
            self.free_head = e.next;
            if e.dirty {
                self.dirty_free -= 1;
            }
            e.owner = owner;
            e.generation = e.generation.wrapping_add(1);
            e.allocated = true;
            e.dirty = true;
            e.prev = NIL;
            e.next = head;
            let generation = e.generation;
            if head != NIL {
                self.entries[head as usize].prev = i;
            }
            head = i;
            out(i, generation);
        }
        usage.head = head;
        usage.pages += n;
        self.free_pages -= n;
    }

    /// The owner of a held page, or why the handle is refused.
    pub(crate) fn holder(&self, index: u32, generation: u32) -> Result<OwnerId, PageFault> {
        let e = self.entries.get(index as usize).ok_or(PageFault::Foreign)?;
        if !e.allocated || e.generation != generation {
            return Err(PageFault::NotHeld);
        }
        Ok(e.owner)
    }

    /// Releases one held page; returns its owner.
    pub(crate) fn release(&mut self, index: u32, generation: u32) -> Result<OwnerId, PageFault> {
        let owner = self.holder(index, generation)?;
        self.release_unchecked(index);
        Ok(owner)
    }

    /// Releases every page of `pages` (pairs of index and generation), or none of them.
    pub(crate) fn release_batch(
        &mut self,
        pages: impl Iterator<Item = (u32, u32)> + Clone,
    ) -> Result<u32, (PageFault, u32)> {
        let mut marked = 0usize;
        let mut failure = None;
        for (index, generation) in pages.clone() {
            if let Err(f) = self.holder(index, generation) {
                failure = Some((f, index));
                break;
            }
            let e = &mut self.entries[index as usize];
            if e.marked {
                failure = Some((PageFault::Duplicate, index));
                break;
            }
            e.marked = true;
            marked += 1;
        }
        if let Some(f) = failure {
            for (index, _) in pages.take(marked) {
                self.entries[index as usize].marked = false;
            }
            return Err(f);
        }
        for (index, _) in pages {
            self.entries[index as usize].marked = false;
            self.release_unchecked(index);
        }
        Ok(marked as u32)
    }

    /// Releases all pages of `owner`, calling `out(index, generation)` for each; returns how many.
    pub(crate) fn release_owner(&mut self, owner: OwnerId, mut out: impl FnMut(u32, u32)) -> u32 {
        let Some(usage) = self.owners.get(&owner) else { return 0 };
        let count = usage.pages;
        let mut i = usage.head;
        while i != NIL {
            let next = self.entries[i as usize].next;
            out(i, self.entries[i as usize].generation);
            self.push_free(i); // the whole list goes: no unlinking
            i = next;
        }
        self.free_pages += count;
        let usage = self.owners.get_mut(&owner).expect("owner present");
        usage.pages = 0;
        usage.head = NIL;
        count
    }

    pub(crate) fn reserve(&mut self, owner: OwnerId, bytes: u64) {
        if bytes == 0 {
            return;
        }
        self.make_room_for(owner);
        self.owners
            .entry(owner)
            .or_insert(OwnerUsage {
                head: NIL,
                ..Default::default()
            })
            .reserved_bytes += bytes;
        self.reserved_bytes += bytes;
    }

    /// Releases reserved bytes of `owner`; `Err(reserved)` when it has fewer than `bytes`.
    pub(crate) fn unreserve(&mut self, owner: OwnerId, bytes: u64) -> Result<(), u64> {
        let reserved = self.owners.get(&owner).map_or(0, |u| u.reserved_bytes);
        if bytes > reserved {
            return Err(reserved);
        }
        if bytes == 0 {
            return Ok(());
        }
        self.owners.get_mut(&owner).expect("owner present").reserved_bytes -= bytes;
        self.reserved_bytes -= bytes;
        Ok(())
    }

    /// Releases all reserved bytes of `owner`; returns how many.
    pub(crate) fn unreserve_all(&mut self, owner: OwnerId) -> u64 {
        let reserved = self.owners.get(&owner).map_or(0, |u| u.reserved_bytes);
        self.unreserve(owner, reserved)
            .expect("releasing exactly what is reserved");
        reserved
    }

    pub(crate) fn usage(&self, owner: OwnerId) -> OwnerUsage {
        match self.owners.get(&owner) {
            Some(u) if u.pages > 0 || u.reserved_bytes > 0 => *u,
            _ => OwnerUsage::default(),
        }
    }

    /// Every owner that holds something, in owner order.
    pub(crate) fn owners(&self) -> Vec<(OwnerId, OwnerUsage)> {
        let mut v: Vec<_> = self
            .owners
            .iter()
            .filter(|(_, u)| u.pages > 0 || u.reserved_bytes > 0)
            .map(|(o, u)| (*o, *u))
            .collect();
        v.sort_by_key(|(o, _)| *o);
        v
    }

    /// Takes the free pages that may still have physical memory (clearing their mark), as sorted
    /// runs `(first index, count)`, for the caller to give back to the OS. Walks the free list
    /// from the top, where released pages land, and stops once all of them are found.
    pub(crate) fn take_dirty_free_runs(&mut self) -> Vec<(u32, u32)> {
        let mut dirty = Vec::with_capacity(self.dirty_free as usize);
        let mut i = self.free_head;
        while i != NIL && dirty.len() < self.dirty_free as usize {
            let e = &mut self.entries[i as usize];
            if e.dirty {
                e.dirty = false;
                dirty.push(i);
            }
            i = e.next;
        }
        self.dirty_free = 0;
        dirty.sort_unstable();
        let mut runs: Vec<(u32, u32)> = Vec::new();
        for i in dirty {
            match runs.last_mut() {
                Some((start, len)) if *start + *len == i => *len += 1,
                _ => runs.push((i, 1)),
            }
        }
        runs
    }

    fn release_unchecked(&mut self, index: u32) {
        let Entry { owner, prev, next, .. } = self.entries[index as usize];
        let usage = self.owners.get_mut(&owner).expect("holder has usage");
        if prev != NIL {
            self.entries[prev as usize].next = next;
        } else {
            usage.head = next;
        }
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
        usage.pages -= 1;
        self.push_free(index);
        self.free_pages += 1;
    }

    /// Marks `index` free and pushes it on the free list (the caller fixes owner lists and the
    /// free count).
    fn push_free(&mut self, index: u32) {
        let e = &mut self.entries[index as usize];
        e.allocated = false;
        e.prev = NIL;
        e.next = self.free_head;
        if e.dirty {
            self.dirty_free += 1;
        }
        self.free_head = index;
    }

    /// Checks every invariant of the table in O(pages): the free list holds exactly the free
    /// pages, once each; each owner's list holds exactly its pages, linked both ways; the counts
    /// match. Returns the first violation.
    pub(crate) fn check(&self) -> Result<(), String> {
        let n = self.entries.len();
        let mut seen = vec![false; n];
        let mut free = 0u32;
        let mut dirty = 0u32;
        let mut i = self.free_head;
        while i != NIL {
            let e = self
                .entries
                .get(i as usize)
                .ok_or(format!("free list points outside: {i}"))?;
            if e.allocated || std::mem::replace(&mut seen[i as usize], true) {
                return Err(format!("page {i} on the free list twice or while allocated"));
            }
            free += 1;
            dirty += u32::from(e.dirty);
            i = e.next;
        }
        if free != self.free_pages || dirty != self.dirty_free {
            return Err(format!(
                "free list has {free} pages ({dirty} warm), counts say {} ({})",
                self.free_pages, self.dirty_free
            ));
        }
        let mut held = 0u32;
        for (owner, u) in &self.owners {
            let (mut count, mut prev, mut i) = (0u32, NIL, u.head);
            while i != NIL {
                let e = self
                    .entries
                    .get(i as usize)
                    .ok_or(format!("{owner}'s list points outside: {i}"))?;
                if !e.allocated || e.owner != *owner || e.prev != prev || std::mem::replace(&mut seen[i as usize], true)
                {
                    return Err(format!("page {i} is wrongly on {owner}'s list"));
                }
                count += 1;
                prev = i;
                i = e.next;
            }
            if count != u.pages {
                return Err(format!("{owner} lists {count} pages but counts {}", u.pages));
            }
            held += count;
        }
        if held + free != n as u32 || seen.iter().any(|s| !s) {
            return Err(format!("pages lost: {held} held + {free} free of {n}"));
        }
        let reserved: u64 = self.owners.values().map(|u| u.reserved_bytes).sum();
        if reserved != self.reserved_bytes {
            return Err(format!(
                "owners reserve {reserved} bytes, total says {}",
                self.reserved_bytes
            ));
        }
        Ok(())
    }

    /// Before adding `owner`: sweeps empty owners out when the map has grown to `sweep_at`.
    fn make_room_for(&mut self, owner: OwnerId) {
        if self.owners.len() >= self.sweep_at && !self.owners.contains_key(&owner) {
            self.owners.retain(|_, u| u.pages > 0 || u.reserved_bytes > 0);
            self.sweep_at = (self.owners.len() * 2).max(MIN_SWEEP_AT);
        }
    }

    /// How many entries the owner map has (held or swept later), for tests.
    #[cfg(test)]
    fn owner_entries(&self) -> usize {
        self.owners.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alloc(t: &mut PageTable, owner: u64, n: u32) -> Vec<(u32, u32)> {
        let mut v = Vec::new();
        t.allocate(OwnerId(owner), n, |i, g| v.push((i, g)));
        t.check().unwrap();
        v
    }

    #[test]
    fn allocate_and_release_keep_counts_and_lists() {
        let mut t = PageTable::new(8);
        let a = alloc(&mut t, 1, 3);
        let b = alloc(&mut t, 2, 2);
        assert_eq!(t.free_pages(), 3);
        assert_eq!(t.usage(OwnerId(1)).pages, 3);
        // Release the middle page of owner 1's list, then the rest through the owner.
        assert_eq!(t.release(a[1].0, a[1].1), Ok(OwnerId(1)));
        assert_eq!(t.release(a[1].0, a[1].1), Err(PageFault::NotHeld));
        assert_eq!(t.release_owner(OwnerId(1), |_, _| {}), 2);
        assert_eq!(t.usage(OwnerId(1)), OwnerUsage::default());
        assert_eq!(t.holder(b[0].0, b[0].1), Ok(OwnerId(2)));
        assert_eq!(t.release(99, 1), Err(PageFault::Foreign));
        assert_eq!(t.free_pages(), 6);
    }

    #[test]
    fn batch_release_is_all_or_nothing() {
        let mut t = PageTable::new(4);
        let a = alloc(&mut t, 1, 3);
        let dup = [a[0], a[1], a[0]];
        assert_eq!(
            t.release_batch(dup.iter().copied()),
            Err((PageFault::Duplicate, a[0].0))
        );
        assert_eq!(t.free_pages(), 1);
        let stale = [a[0], (a[1].0, a[1].1 + 1)];
        assert_eq!(
            t.release_batch(stale.iter().copied()),
            Err((PageFault::NotHeld, a[1].0))
        );
        assert_eq!(t.free_pages(), 1);
        assert_eq!(t.release_batch(a.iter().copied()), Ok(3));
        assert_eq!(t.free_pages(), 4);
        assert!(t.owners().is_empty());
    }

    #[test]
    fn check_finds_corruption() {
        let mut t = PageTable::new(4);
        let a = alloc(&mut t, 1, 2);
        let mut held_but_marked_free = PageTable::new(4);
        alloc(&mut held_but_marked_free, 1, 2);
        held_but_marked_free.entries[a[0].0 as usize].allocated = false;
        assert!(held_but_marked_free
            .check()
            .unwrap_err()
            .contains("wrongly on owner 1's list"));
        t.free_pages += 1;
        assert!(t.check().unwrap_err().contains("free list has 2 pages"));
        t.free_pages -= 1;
        t.owners.get_mut(&OwnerId(1)).unwrap().pages = 3;
        assert!(t.check().unwrap_err().contains("lists 2 pages but counts 3"));
    }

    #[test]
    fn reallocated_page_gets_a_new_generation() {
        let mut t = PageTable::new(1);
        let a = alloc(&mut t, 1, 1)[0];
        t.release(a.0, a.1).unwrap();
        let b = alloc(&mut t, 2, 1)[0];
        assert_eq!(a.0, b.0);
        assert_ne!(a.1, b.1);
        assert_eq!(t.release(a.0, a.1), Err(PageFault::NotHeld));
        assert_eq!(t.holder(b.0, b.1), Ok(OwnerId(2)));
    }

    #[test]
    fn reservations_are_per_owner() {
        let mut t = PageTable::new(1);
        t.reserve(OwnerId(5), 100);
        assert_eq!(t.unreserve(OwnerId(5), 101), Err(100));
        assert_eq!(t.unreserve(OwnerId(6), 1), Err(0));
        t.unreserve(OwnerId(5), 40).unwrap();
        assert_eq!(t.reserved_bytes(), 60);
        assert_eq!(t.unreserve_all(OwnerId(5)), 60);
        assert!(t.owners().is_empty());
    }

    #[test]
    fn empty_owners_are_swept_so_the_map_stays_bounded() {
        let mut t = PageTable::new(4);
        let keep = alloc(&mut t, 0, 1);
        for owner in 1..10_000 {
            let p = alloc(&mut t, owner, 1)[0];
            t.release(p.0, p.1).unwrap();
            assert!(t.owner_entries() <= MIN_SWEEP_AT + 1);
        }
        assert_eq!(t.owners(), vec![(OwnerId(0), t.usage(OwnerId(0)))]);
        assert_eq!(t.usage(OwnerId(0)).pages, 1);
        t.release(keep[0].0, keep[0].1).unwrap();
        assert!(t.owners().is_empty());
    }

    #[test]
    fn dirty_runs_cover_released_pages_once() {
        let mut t = PageTable::new(10);
        let a = alloc(&mut t, 1, 6);
        for p in &a[..4] {
            t.release(p.0, p.1).unwrap();
        }
        assert_eq!(t.dirty_free_pages(), 4);
        let runs = t.take_dirty_free_runs();
        assert_eq!(runs.iter().map(|r| r.1).sum::<u32>(), 4);
        assert_eq!(t.dirty_free_pages(), 0);
        assert!(t.take_dirty_free_runs().is_empty());
    }
}
