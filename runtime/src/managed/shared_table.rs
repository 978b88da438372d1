//! The Rust side of the page-table protocol ([`super::protocol`]): a slot's page table in its own
//! small anonymous mapping, operated with atomics only, so that Java can run the same protocol on
//! the same memory (raw `sun.misc.Unsafe` accesses at [`SharedTable::address`], Java's
//! `dev.tmrt.memory.PageTable`). Everything here is
//! lock-free except waiting for a trim that holds the warm pages (allocation spins until they are
//! back) and the closing scan; both are rare and bounded by the other party's progress.
//!
//! Rust performs every operation; Java only the single-page allocate and release. Batches,
//! `release_owner`, reservations (`set_blocked`), trimming and closing are Rust-only.

use std::io;
use std::sync::atomic::Ordering::*;

#[cfg(not(loom))]
use memmap2::{MmapMut, MmapOptions};

use super::sync::{wait, AtomicU32, AtomicU64};

use super::protocol::*;

/// Why a page handle was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageFault {
    /// The index is outside this table.
    Foreign,
    /// The page is free, or was handed out again since (generation differs).
    NotHeld,
    /// The page appears twice in one batch.
    Duplicate,
    /// The slot closed while the page was held.
    Closed,
}

/// Why pages could not be claimed from the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    Closed,
    /// Only this many pages fit.
    Full(u32),
}

pub(crate) struct SharedTable {
    #[cfg(not(loom))]
    map: MmapMut,
    /// Under loom: the header and state words, then the links (no mapping in the model).
    #[cfg(loom)]
    words: Box<[AtomicU64]>,
    #[cfg(loom)]
    nexts: Box<[AtomicU32]>,
    total: u32,
}

impl SharedTable {
    /// A table of `total` pages, all on the cold stack (page 0 on top), with the policy
    /// thresholds in its header.
    #[cfg(all(test, loom))]
    pub(crate) fn new(total: u32, idle_min: u64, max_retained: u64) -> io::Result<SharedTable> {
        Self::sized(total, u64::from(total) << 12, 12, idle_min, max_retained)
    }

    /// Like [`SharedTable::new`], for a budget of `size` bytes in pages of `1 << shift` bytes
    /// (the byte rule of reservations).
    pub(crate) fn sized(
        total: u32,
        size: u64,
        shift: u32,
        idle_min: u64,
        max_retained: u64,
    ) -> io::Result<SharedTable> {
        assert!(total < NIL, "page count {total} too large");
        #[cfg(not(loom))]
        let t = SharedTable {
            map: MmapOptions::new().len(table_bytes(total)).map_anon()?,
            total,
        };
        #[cfg(loom)]
        let t = SharedTable {
            words: (0..HEADER_WORDS + total as usize).map(|_| AtomicU64::new(0)).collect(),
            nexts: (0..total).map(|_| AtomicU32::new(0)).collect(),
            total,
        };
        let clamp = |v: u64| v.min(1 << 32);
        t.word(TOTAL).store(u64::from(total), Relaxed);
        t.word(IDLE_MIN).store(clamp(idle_min), Relaxed);
        t.word(MAX_RETAINED).store(clamp(max_retained), Relaxed);
        t.word(SIZE).store(size, Relaxed);
        t.word(SHIFT).store(u64::from(shift), Relaxed);
        t.word(WARM).store(head(0, NIL), Relaxed);
        t.word(HOT).store(head(0, NIL), Relaxed);
        for i in 0..total {
            t.next(i).store(if i + 1 < total { i + 1 } else { NIL }, Relaxed);
        }
        t.word(COLD).store(head(0, if total > 0 { 0 } else { NIL }), Release);
        Ok(t)
    }

    /// The first byte of the table (for Java's `PageTable`), and its length.
    #[cfg(not(loom))]
    pub(crate) fn address(&self) -> *const u8 {
        self.map.as_ptr()
    }
    #[cfg(not(loom))]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
    /// Under loom the table is not shared with Java.
    #[cfg(loom)]
    pub(crate) fn address(&self) -> *const u8 {
        std::ptr::null()
    }
    #[cfg(loom)]
    pub(crate) fn len(&self) -> usize {
        0
    }
    pub(crate) fn total(&self) -> u32 {
        self.total
    }

    #[cfg(loom)]
    pub(super) fn word(&self, w: usize) -> &AtomicU64 {
        &self.words[w]
    }
    #[cfg(loom)]
    pub(super) fn next(&self, i: u32) -> &AtomicU32 {
        &self.nexts[i as usize]
    }

    #[cfg(not(loom))]
    pub(super) fn word(&self, w: usize) -> &AtomicU64 {
        assert!(w < HEADER_WORDS + self.total as usize);
        // SAFETY: the mapping is page-aligned and `table_bytes` long, so word `w` (checked above)
        // lies inside it at an 8-byte aligned offset, and lives as long as `self`. Rust accesses
        // it only atomically; Java (`PageTable`, through `sun.misc.Unsafe`) only with aligned
        // 4/8-byte accesses, single instructions on the JVM's 64-bit targets: volatile or CAS
        // for the protocol, plain loads only for policy hints and a plain store only to a free
        // page's `next` link before the CAS that publishes it.
        unsafe { &*(self.map.as_ptr().add(w * 8) as *const AtomicU64) }
    }
    pub(crate) fn state(&self, i: u32) -> &AtomicU64 {
        self.word(HEADER_WORDS + i as usize)
    }
    #[cfg(not(loom))]
    pub(super) fn next(&self, i: u32) -> &AtomicU32 {
        assert!(i < self.total);
        let offset = (HEADER_WORDS + self.total as usize) * 8 + i as usize * 4;
        // SAFETY: as in `word`: inside the mapping (checked index), 4-byte aligned, atomic only.
        unsafe { &*(self.map.as_ptr().add(offset) as *const AtomicU32) }
    }

    pub(crate) fn budget(&self) -> u64 {
        self.word(BUDGET).load(Acquire)
    }
    pub(crate) fn is_closed(&self) -> bool {
        self.budget() & CLOSED != 0
    }

    /// Claims `n` pages of the budget, all or nothing.
    pub(crate) fn claim(&self, n: u32) -> Result<(), Claim> {
        let w = self.word(BUDGET);
        let mut b = w.load(Relaxed);
        loop {
            if b & CLOSED != 0 {
                return Err(Claim::Closed);
            }
            let used = u64::from(allocated(b)) + u64::from(blocked(b));
            if used + u64::from(n) > u64::from(self.total) {
                return Err(Claim::Full(
                    (u64::from(self.total) - used.min(self.total.into())) as u32,
                ));
            }
            match w.compare_exchange_weak(b, b + u64::from(n), AcqRel, Relaxed) {
                Ok(_) => return Ok(()),
                Err(now) => b = now,
            }
        }
    }

    /// Sets the pages blocked by reservations, if they fit next to the allocated pages; returns
    /// the allocated pages seen, or `Err(Some(allocated))` when they do not fit, `Err(None)` when
    /// closed. The caller serialises calls (they are Rust-only, under a lock).
    pub(crate) fn set_blocked(&self, blocked_pages: u32) -> Result<u32, Option<u32>> {
        let w = self.word(BUDGET);
        let mut b = w.load(Relaxed);
        loop {
            if b & CLOSED != 0 {
                return Err(None);
            }
            if u64::from(allocated(b)) + u64::from(blocked_pages) > u64::from(self.total) {
                if self.drain_hot() {
                    b = w.load(Relaxed);
                    continue;
                }
                return Err(Some(allocated(b)));
            }
            match w.compare_exchange_weak(b, with_blocked(b, blocked_pages), AcqRel, Relaxed) {
                Ok(_) => return Ok(allocated(b)),
                Err(now) => b = now,
            }
        }
    }

    /// Allocates `n` pages for `owner`, all or nothing, handing each (index, generation) to
    /// `out`: the hot page first (it comes with its claim), then claimed pages from the stacks.
    /// When the budget is short, the hot page goes back to the stacks and the claim is retried,
    /// so a parked page never makes an allocation fail.
    pub(crate) fn allocate(&self, owner: u64, n: u32, mut out: impl FnMut(u32, u32)) -> Result<(), Claim> {
        let mut hot = if n > 0 { self.take_hot() } else { None };
        if self.claim(n - u32::from(hot.is_some())).is_err() {
            if let Some(i) = hot.take() {
                self.give_back(i);
            }
            self.claim_draining(n)?;
        }
        let rest = n - u32::from(hot.is_some());
        if let Some(i) = hot {
            out(i, self.publish(i, owner));
        }
        self.take_claimed(owner, rest, out);
        Ok(())
    }

    /// Claims `n` pages, moving the hot page back to the stacks first if the budget is short.
    fn claim_draining(&self, n: u32) -> Result<(), Claim> {
        loop {
            match self.claim(n) {
                Err(Claim::Full(_)) if self.drain_hot() => continue,
                r => return r,
            }
        }
    }

    /// Takes the hot page (with its budget claim), if there is one.
    fn take_hot(&self) -> Option<u32> {
        let w = self.word(HOT);
        let mut h = w.load(Acquire);
        loop {
            if top(h) == NIL {
                return None;
            }
            match w.compare_exchange_weak(h, head(tag(h), NIL), AcqRel, Acquire) {
                Ok(_) => return Some(top(h)),
                Err(now) => h = now,
            }
        }
    }

    /// Parks a released page (still claimed) as the hot page, if the place is free.
    fn put_hot(&self, i: u32) -> bool {
        let w = self.word(HOT);
        let mut h = w.load(Acquire);
        loop {
            if top(h) != NIL {
                return false;
            }
            match w.compare_exchange_weak(h, head(tag(h).wrapping_add(1), i), AcqRel, Acquire) {
                Ok(_) => return true,
                Err(now) => h = now,
            }
        }
    }

    /// 1 when a page is parked as the hot page.
    pub(crate) fn hot_pages(&self) -> u32 {
        u32::from(top(self.word(HOT).load(Acquire)) != NIL)
    }

    /// Pushes a claimed free page on the warm stack and gives its claim back.
    fn give_back(&self, i: u32) {
        self.push_chain(WARM, &[i]);
        self.unclaim(1);
    }

    /// Moves the hot page to the warm stack, giving its claim back; whether there was one.
    pub(crate) fn drain_hot(&self) -> bool {
        match self.take_hot() {
            Some(i) => {
                self.give_back(i);
                true
            }
            None => false,
        }
    }

    /// Pops `n` claimed pages (warm first), hands each with its new generation to `out`.
    fn take_claimed(&self, owner: u64, n: u32, mut out: impl FnMut(u32, u32)) {
        let mut got = 0;
        let mut spins = 0u32;
        while got < n {
            let popped = self.pop_up_to(WARM, n - got, &mut |i| {
                out(i, self.publish(i, owner));
            });
            got += popped;
            if got < n {
                let popped = self.pop_up_to(COLD, n - got, &mut |i| out(i, self.publish(i, owner)));
                got += popped;
                if popped == 0 && got < n {
                    // A trim holds the missing pages; the budget guarantees they exist.
                    spins += 1;
                    wait(spins);
                }
            }
        }
    }

    /// Marks a popped page held by `owner` with a new generation.
    fn publish(&self, i: u32, owner: u64) -> u32 {
        let s = self.state(i);
        let generation = generation(s.load(Relaxed)).wrapping_add(1);
        s.store(held_state(generation, owner, HELD), Release);
        generation
    }

    /// Pops up to `k` pages from stack `w` with one CAS, handing them to `out`; returns how
    /// many. The walk may read links that change under it; the CAS then fails (the push tag).
    fn pop_up_to(&self, w: usize, k: u32, out: &mut dyn FnMut(u32)) -> u32 {
        let word = self.word(w);
        let mut h = word.load(Acquire);
        if k == 1 {
            loop {
                let i = top(h);
                if i == NIL {
                    return 0;
                }
                let rest = self.next(i).load(Acquire);
                match word.compare_exchange_weak(h, head(tag(h), rest), AcqRel, Acquire) {
                    Ok(_) => {
                        out(i);
                        return 1;
                    }
                    Err(now) => h = now,
                }
            }
        }
        let mut taken: Vec<u32> = Vec::with_capacity(k as usize);
        loop {
            taken.clear();
            let mut i = top(h);
            while i != NIL && (taken.len() as u32) < k {
                taken.push(i);
                i = self.next(i).load(Acquire);
            }
            if taken.is_empty() {
                return 0;
            }
            match word.compare_exchange_weak(h, head(tag(h), i), AcqRel, Acquire) {
                Ok(_) => break,
                Err(now) => h = now,
            }
        }
        for &i in &taken {
            out(i);
        }
        taken.len() as u32
    }

    /// Pushes the chain `pages` (already marked with a free kind) on stack `w` with one CAS;
    /// returns the new tag.
    fn push_chain(&self, w: usize, pages: &[u32]) -> u32 {
        for pair in pages.windows(2) {
            self.next(pair[0]).store(pair[1], Relaxed);
        }
        let (first, last) = (pages[0], pages[pages.len() - 1]);
        let word = self.word(w);
        let mut h = word.load(Relaxed);
        loop {
            self.next(last).store(top(h), Relaxed);
            let new_tag = tag(h).wrapping_add(pages.len() as u32);
            match word.compare_exchange_weak(h, head(new_tag, first), AcqRel, Relaxed) {
                Ok(_) => return new_tag,
                Err(now) => h = now,
            }
        }
    }

    /// Pushes page `i` on the warm stack whatever its state: corrupts the table, for tests of
    /// the checker.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn push_warm_for_test(&self, i: u32) {
        self.push_chain(WARM, &[i]);
    }

    /// Gives `n` released pages back to the budget; returns whether the slot is now idle (no
    /// page held: the budget counts at most the hot page).
    fn unclaim(&self, n: u32) -> bool {
        let before = allocated(self.word(BUDGET).fetch_sub(u64::from(n), AcqRel));
        before - n == self.hot_pages()
    }

    /// Releases one held page (protocol: release one page); returns whether the releaser must
    /// ask for a count of the warm pages (protocol: returning memory).
    pub(crate) fn release(&self, i: u32, generation: u32) -> Result<bool, PageFault> {
        if i >= self.total {
            return Err(PageFault::Foreign);
        }
        let s = self.state(i);
        let mut cur = s.load(Acquire);
        loop {
            if gen_of(cur) != generation {
                return Err(PageFault::NotHeld);
            }
            match kind(cur) {
                HELD => match s.compare_exchange_weak(cur, free_state(generation, WARM_FREE), AcqRel, Acquire) {
                    Ok(_) => break,
                    Err(now) => cur = now,
                },
                RELEASING => {
                    wait(0);
                    cur = s.load(Acquire);
                }
                LEAKED => return Err(PageFault::Closed),
                _ => return Err(PageFault::NotHeld),
            }
        }
        if self.put_hot(i) {
            let idle = allocated(self.budget()) == 1;
            return Ok(self.return_due(self.warm_tag(), idle));
        }
        let t = self.push_chain(WARM, &[i]);
        let idle = self.unclaim(1);
        Ok(self.return_due(t, idle))
    }

    /// Releases every page of `pages` or none (protocol: batches mark `RELEASING` first).
    pub(crate) fn release_batch(&self, pages: &[(u32, u32)]) -> Result<bool, (PageFault, u32)> {
        let mut marked: Vec<u64> = Vec::with_capacity(pages.len());
        let rollback = |marked: &[u64]| {
            for (k, orig) in marked.iter().enumerate() {
                self.state(pages[k].0).store(*orig, Release);
            }
        };
        for (k, &(i, generation)) in pages.iter().enumerate() {
            if i >= self.total {
                rollback(&marked);
                return Err((PageFault::Foreign, i));
            }
            let s = self.state(i);
            let mut cur = s.load(Acquire);
            let fault = loop {
                if gen_of(cur) != generation {
                    break Some(PageFault::NotHeld);
                }
                match kind(cur) {
                    HELD => match s.compare_exchange_weak(cur, (cur & !KIND_MASK) | RELEASING, AcqRel, Acquire) {
                        Ok(_) => break None,
                        Err(now) => cur = now,
                    },
                    RELEASING if pages[..k].iter().any(|p| p.0 == i) => break Some(PageFault::Duplicate),
                    LEAKED => break Some(PageFault::Closed),
                    // Free, or being released by another batch (a racing double release): a
                    // batch never waits for another, so that two batches cannot deadlock.
                    _ => break Some(PageFault::NotHeld),
                }
            };
            if let Some(f) = fault {
                rollback(&marked);
                return Err((f, i));
            }
            marked.push(cur);
        }
        if pages.is_empty() {
            return Ok(false);
        }
        let indices: Vec<u32> = pages.iter().map(|p| p.0).collect();
        for &(i, generation) in pages {
            self.state(i).store(free_state(generation, WARM_FREE), Release);
        }
        let t = self.push_chain(WARM, &indices);
        let idle = self.unclaim(pages.len() as u32);
        Ok(self.return_due(t, idle))
    }

    /// Releases every page `owner` holds, handing each (index, generation) to `out`; returns
    /// `(count, whether a count of the warm pages is due)`.
    pub(crate) fn release_owner(&self, owner: u64, mut out: impl FnMut(u32, u32)) -> (u32, bool) {
        let mut freed = Vec::new();
        for i in 0..self.total {
            let s = self.state(i);
            let mut cur = s.load(Acquire);
            loop {
                match kind(cur) {
                    HELD if owner_of(cur) == owner => {
                        let generation = gen_of(cur);
                        match s.compare_exchange_weak(cur, free_state(generation, WARM_FREE), AcqRel, Acquire) {
                            Ok(_) => {
                                out(i, generation);
                                freed.push(i);
                                break;
                            }
                            Err(now) => cur = now,
                        }
                    }
                    RELEASING if owner_of(cur) == owner => {
                        wait(0);
                        cur = s.load(Acquire);
                    }
                    _ => break,
                }
            }
        }
        if freed.is_empty() {
            return (0, false);
        }
        let t = self.push_chain(WARM, &freed);
        let idle = self.unclaim(freed.len() as u32);
        (freed.len() as u32, self.return_due(t, idle))
    }

    /// The owner of a held page, or why the handle is refused.
    pub(crate) fn holder(&self, i: u32, generation: u32) -> Result<u64, PageFault> {
        if i >= self.total {
            return Err(PageFault::Foreign);
        }
        let s = self.state(i).load(Acquire);
        match kind(s) {
            HELD | RELEASING if gen_of(s) == generation => Ok(owner_of(s)),
            LEAKED if gen_of(s) == generation => Err(PageFault::Closed),
            _ => Err(PageFault::NotHeld),
        }
    }

    /// The warm pages now (on the stack, and the hot page), counting at most `limit` (a walk;
    /// exact when quiet).
    pub(crate) fn count_warm(&self, limit: u64) -> u64 {
        let mut n = u64::from(self.hot_pages());
        let mut i = top(self.word(WARM).load(Acquire));
        while i < self.total && n < limit {
            n += 1;
            i = self.next(i).load(Acquire);
        }
        n
    }

    /// The policy hint after a push with tag `t`: an upper bound of the warm pages.
    pub(crate) fn warm_bound(&self, t: u32) -> u64 {
        let base = self.word(HINT_TAG).load(Relaxed) as u32;
        self.word(HINT_LEN).load(Relaxed) + u64::from(t.wrapping_sub(base))
    }

    /// Whether a releaser must ask for a count and maybe a trim (protocol: returning memory),
    /// after a push with tag `t`.
    fn return_due(&self, t: u32, idle: bool) -> bool {
        should_count(
            self.warm_bound(t) + u64::from(self.hot_pages()),
            idle,
            self.word(IDLE_MIN).load(Relaxed),
            self.word(MAX_RETAINED).load(Relaxed),
        )
    }

    /// Records a count of `len` warm pages at tag `t`.
    pub(crate) fn set_hint(&self, t: u32, len: u64) {
        self.word(HINT_TAG).store(u64::from(t), Relaxed);
        self.word(HINT_LEN).store(len, Relaxed);
    }

    pub(crate) fn warm_tag(&self) -> u32 {
        tag(self.word(WARM).load(Acquire))
    }

    /// Takes the whole warm stack and the hot page, marks their pages cold and returns them, and
    /// whether the hot page (which carries a claim) is among them (the caller returns their
    /// memory, then calls [`SharedTable::push_cold`]). Callers serialise trims.
    pub(crate) fn take_warm(&self) -> (Vec<u32>, bool) {
        let hot = self.take_hot();
        let word = self.word(WARM);
        let mut h = word.load(Acquire);
        loop {
            // Taking is counted like a push, so that a pop racing with it cannot succeed on the
            // old head; the hint restarts from the new tag with zero warm pages.
            let t = tag(h).wrapping_add(1);
            match word.compare_exchange_weak(h, head(t, NIL), AcqRel, Acquire) {
                Ok(_) => {
                    self.set_hint(t, 0);
                    break;
                }
                Err(now) => h = now,
            }
        }
        let mut pages: Vec<u32> = hot.into_iter().collect();
        let mut i = top(h);
        while i != NIL {
            pages.push(i);
            i = self.next(i).load(Acquire);
        }
        for &i in &pages {
            let s = self.state(i);
            s.store(free_state(gen_of(s.load(Acquire)), COLD_FREE), Release);
        }
        (pages, hot.is_some())
    }

    /// Pushes pages taken by [`SharedTable::take_warm`] on the cold stack (and gives the hot
    /// page's claim back).
    pub(crate) fn push_cold(&self, pages: &[u32], hot: bool) {
        if !pages.is_empty() {
            self.push_chain(COLD, pages);
        }
        if hot {
            self.unclaim(1);
        }
    }
}

fn gen_of(s: u64) -> u32 {
    generation(s)
}
fn owner_of(s: u64) -> u64 {
    owner(s)
}
