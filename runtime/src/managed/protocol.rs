//! The page-table protocol shared by Rust and Java: the layout of a slot's page table in memory,
//! the encoding of its words, and the rules every party follows. Rust implements it in
//! `shared_table.rs`; `dev.tmrt.memory.PageTable` is a line-by-line port of the single-page
//! allocate and release below (the only operations Java performs without crossing JNI). Change
//! one, change the other: `tests/managed_java.rs` checks that they agree.
//!
//! **Layout** (native byte order, 8-byte aligned; `P` pages):
//!
//! | offset | word | meaning |
//! | --- | --- | --- |
//! | 0 | `BUDGET` | bits 0–31 pages allocated, bits 32–62 pages blocked by reservations, bit 63 closed |
//! | 8 | `WARM` | free stack of released (maybe resident) pages: bits 0–31 top index (`NIL` = empty), bits 32–63 push tag |
//! | 16 | `COLD` | free stack of never touched / returned pages, same encoding |
//! | 24 | `HINT_TAG` | `WARM`'s tag when the warm pages were last counted |
//! | 32 | `HINT_LEN` | how many warm pages that count found |
//! | 40 | `TOTAL` | `P` |
//! | 48 | `IDLE_MIN` | [`super::ReturnPolicy::idle_min_pages`], clamped to 2³² |
//! | 56 | `MAX_RETAINED` | [`super::ReturnPolicy::max_retained_pages`], clamped to 2³² |
//! | 64 | `HOT` | the hot page, released last and parked *with its budget claim*: bits 0–31 index (`NIL` = none), bits 32–63 park tag |
//! | 72 | `RESERVED` | bytes reserved in all (Flink's `reserveMemory`), changed only under `RES_LOCK` |
//! | 80 | `RES_LOCK` | 0 free, 1 held: serialises reservations (Rust and Java alike) |
//! | 88 | `SIZE` | the budget in bytes (pages and reservations) |
//! | 96 | `SHIFT` | log2 of the page size |
//! | 128 + 8i | `STATE[i]` | bits 0–2 kind, bits 3–31 owner, bits 32–63 generation |
//! | 128 + 8P + 4i | `NEXT[i]` | the page below `i` on its free stack (`NIL` at the bottom) |
//!
//! Kinds: `COLD` and `WARM` (free: on that stack, the hot page, or in transit), `HELD` (by the
//! owner in the word), `RELEASING` (held, being released by a batch: transient), `LEAKED` (held
//! when the slot closed).
//!
//! **Budget.** Flink's byte budget (`pages × page size + reserved <= size`) is kept in pages:
//! reservations of `r` bytes in all block `P − ⌊(size − r) / page size⌋` pages, which is exactly
//! the same rule. So allocating `n` pages is one CAS of `BUDGET` checking
//! `allocated + n + blocked <= P` (all or nothing); releasing is one atomic decrement after the
//! pages are back on a stack.
//!
//! **Reserve or release `d` bytes** (Rust and Java alike; no JNI): (1) take `RES_LOCK` (CAS 0 → 1,
//! spinning); (2) `r = RESERVED + d`; refuse if `r > SIZE` (or below 0: the caller's error);
//! (3) CAS `BUDGET`'s blocked field to `P − min(P, (SIZE − r) >> SHIFT)` if
//! `allocated + blocked <= P` (if not, and `HOT` holds a page, drain it and retry; else refuse);
//! (4) store `RESERVED = r`; (5) release `RES_LOCK` (release store). Who reserved how much is the
//! caller's bookkeeping (Java keeps it per owner object, Rust per owner number); the table keeps
//! the total, so that both sides share one byte budget.
//!
//! **The hot page.** A single-page release parks its page in `HOT` without giving its budget
//! claim back, and a single-page allocation takes it from there with one exchange, claim
//! included: a page bouncing in and out costs one atomic exchange plus two CAS, instead of five
//! atomic operations. Everything that needs the budget exactly first moves the hot page to the
//! warm stack and gives its claim back ("drain": claims that do not fit, reservations, closing,
//! trims); readers of the budget subtract it (`allocated − (HOT != NIL)` pages are held). Taking
//! is `CAS(HOT, h → tag(h) | NIL)`, parking `CAS(HOT, h → (tag(h) + 1) << 32 | i)` when `top(h)`
//! is `NIL`: the tag counts parkings, so that a reader comparing `HOT` before and after a scan
//! sees any take-and-park in between.
//!
//! **Allocate one page** (owner `o`): (0) if `HOT` holds a page, take it; a page taken so is
//! claimed: go to (3); (1) CAS `BUDGET` `allocated += 1` if it fits and is not
//! closed (if it does not fit, Java asks Rust, which drains `HOT` and retries); (2) pop from
//! `WARM`, else from `COLD` — `h = head; n = NEXT[top(h)]; CAS(head, h →
//! tag(h) | n)`; if both are empty, a trim holds the pages: spin until one is pushed back (the
//! budget guarantees a page exists); (3) store `STATE[i] = (gen + 1) << 32 | o << 3 | HELD` with
//! release ordering. The handle is `(gen + 1) << 32 | i`.
//!
//! **Release one page** (`i`, `gen`): (1) if `BUDGET` is closed, refuse (optional: closing marks
//! held pages `LEAKED`, which (2) refuses; Java skips it); (2) read `STATE[i]`; if
//! it is `HELD` with generation `gen`, CAS it to `gen << 32 | WARM` (retry on failure); if it is
//! `RELEASING` with `gen`, spin (a batch decides); otherwise refuse (double release, use after
//! release, or `LEAKED`: closed); (3) if `HOT` holds no page, park `i` there: done (idle when
//! `BUDGET` counts 1 page); else (4) push on `WARM`: `NEXT[i] = top(h)`, then
//! `CAS(head, h → (tag(h) + 1) << 32 | i)`; (5) atomically decrement `BUDGET`; the slot is idle
//! when it now counts only the hot page (or nothing).
//!
//! The push tag counts pushes, which defeats ABA on pop (a page can only come back on top by a
//! push). A CAS on a `STATE` word is the arbiter of racing releases: exactly one wins.
//!
//! **Returning memory** (policy in [`super::ReturnPolicy`]). After a release (push with new tag
//! `t`, or parking with the current tag `t`), the warm pages are at most
//! `bound = HINT_LEN + (t − HINT_TAG) (mod 2³²) + (HOT != NIL)`. When
//! `(idle && bound >= IDLE_MIN) || bound > MAX_RETAINED`, the releaser asks Rust (Java: one JNI
//! call) to count the warm pages and, if the policy says so, trim: take the whole `WARM` stack
//! and the hot page, mark them `COLD`, `madvise` them, push them on `COLD` (and give the hot
//! page's claim back), reset the hint. Rust only. The hot page is one page beyond the policy's
//! bound at most. While a return is deferred (the grace period of [`super::ReturnPolicy`]), Rust
//! stores `SUSPENDED` in `IDLE_MIN` and `MAX_RETAINED`, so releasers read the thresholds on
//! every release and do not ask; Rust restores them when it looks again.

/// The index of "no page" in a stack head or link.
pub(crate) const NIL: u32 = u32::MAX;

pub(crate) const BUDGET: usize = 0;
pub(crate) const WARM: usize = 1;
pub(crate) const COLD: usize = 2;
pub(crate) const HINT_TAG: usize = 3;
pub(crate) const HINT_LEN: usize = 4;
pub(crate) const TOTAL: usize = 5;
pub(crate) const IDLE_MIN: usize = 6;
pub(crate) const MAX_RETAINED: usize = 7;
pub(crate) const HOT: usize = 8;
pub(crate) const RESERVED: usize = 9;
pub(crate) const RES_LOCK: usize = 10;
pub(crate) const SIZE: usize = 11;
pub(crate) const SHIFT: usize = 12;
/// Header words before `STATE[0]` (two cache lines; words 13–15 are unused).
pub(crate) const HEADER_WORDS: usize = 16;

pub(crate) const KIND_MASK: u64 = 0b111;
pub(crate) const COLD_FREE: u64 = 0;
pub(crate) const WARM_FREE: u64 = 1;
pub(crate) const HELD: u64 = 2;
pub(crate) const RELEASING: u64 = 3;
pub(crate) const LEAKED: u64 = 4;

/// The largest owner id a state word can carry (29 bits).
pub const MAX_OWNER_ID: u64 = (1 << 29) - 1;

pub(crate) const CLOSED: u64 = 1 << 63;
/// `IDLE_MIN` and `MAX_RETAINED` while a return is deferred: no bound reaches it.
pub(crate) const SUSPENDED: u64 = 1 << 62;
const LOW: u64 = 0xFFFF_FFFF;

/// Bytes of a table of `pages` pages.
pub(crate) fn table_bytes(pages: u32) -> usize {
    HEADER_WORDS * 8 + pages as usize * 12
}

pub(crate) fn kind(state: u64) -> u64 {
    state & KIND_MASK
}
pub(crate) fn owner(state: u64) -> u64 {
    (state & LOW) >> 3
}
pub(crate) fn generation(state: u64) -> u32 {
    (state >> 32) as u32
}
pub(crate) fn held_state(generation: u32, owner: u64, kind: u64) -> u64 {
    (u64::from(generation) << 32) | (owner << 3) | kind
}
pub(crate) fn free_state(generation: u32, kind: u64) -> u64 {
    (u64::from(generation) << 32) | kind
}

pub(crate) fn allocated(budget: u64) -> u32 {
    (budget & LOW) as u32
}
pub(crate) fn blocked(budget: u64) -> u32 {
    ((budget & !CLOSED) >> 32) as u32
}
pub(crate) fn with_blocked(budget: u64, blocked: u32) -> u64 {
    (budget & (CLOSED | LOW)) | (u64::from(blocked) << 32)
}

pub(crate) fn top(head: u64) -> u32 {
    (head & LOW) as u32
}
pub(crate) fn tag(head: u64) -> u32 {
    (head >> 32) as u32
}
pub(crate) fn head(tag: u32, top: u32) -> u64 {
    (u64::from(tag) << 32) | u64::from(top)
}

/// The layout and encoding as `(name, value)` pairs, byte offsets for words: what
/// `dev.tmrt.memory.PageTable` checks its own constants against when it loads (a mismatch is an
/// error naming both values), so the two sides cannot drift apart silently.
pub fn layout() -> Vec<(&'static str, u64)> {
    vec![
        ("BUDGET", (BUDGET * 8) as u64),
        ("WARM", (WARM * 8) as u64),
        ("COLD", (COLD * 8) as u64),
        ("HINT_TAG", (HINT_TAG * 8) as u64),
        ("HINT_LEN", (HINT_LEN * 8) as u64),
        ("TOTAL", (TOTAL * 8) as u64),
        ("IDLE_MIN", (IDLE_MIN * 8) as u64),
        ("MAX_RETAINED", (MAX_RETAINED * 8) as u64),
        ("HOT", (HOT * 8) as u64),
        ("RESERVED", (RESERVED * 8) as u64),
        ("RES_LOCK", (RES_LOCK * 8) as u64),
        ("SIZE", (SIZE * 8) as u64),
        ("SHIFT", (SHIFT * 8) as u64),
        ("SUSPENDED", SUSPENDED),
        ("HEADER_BYTES", (HEADER_WORDS * 8) as u64),
        ("STATE_BYTES", 8),
        ("NEXT_BYTES", 4),
        ("KIND_MASK", KIND_MASK),
        ("COLD_FREE", COLD_FREE),
        ("WARM_FREE", WARM_FREE),
        ("HELD", HELD),
        ("RELEASING", RELEASING),
        ("LEAKED", LEAKED),
        ("OWNER_SHIFT", 3),
        ("MAX_OWNER_ID", MAX_OWNER_ID),
        ("CLOSED", CLOSED),
        ("NIL", u64::from(NIL)),
    ]
}

/// Pages that reservations of `reserved` bytes in all block in a table of `pages` pages of
/// `1 << shift` bytes with a budget of `size` bytes: Flink's byte rule in pages.
pub(crate) fn blocked_pages(pages: u32, size: u64, shift: u32, reserved: u64) -> u32 {
    let usable = size.saturating_sub(reserved) >> shift;
    pages - usable.min(u64::from(pages)) as u32
}

/// Whether the warm pages may now exceed what the policy allows (module docs).
pub(crate) fn should_count(bound: u64, idle: bool, idle_min: u64, max_retained: u64) -> bool {
    (idle && bound >= idle_min) || bound > max_retained
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        let s = held_state(0xDEAD_BEEF, MAX_OWNER_ID, HELD);
        assert_eq!((kind(s), owner(s), generation(s)), (HELD, MAX_OWNER_ID, 0xDEAD_BEEF));
        let f = free_state(7, WARM_FREE);
        assert_eq!((kind(f), owner(f), generation(f)), (WARM_FREE, 0, 7));
        let b = with_blocked(CLOSED | 5, 0x7FFF_FFFF);
        assert_eq!((allocated(b), blocked(b), b & CLOSED != 0), (5, 0x7FFF_FFFF, true));
        assert_eq!((tag(head(3, NIL)), top(head(3, NIL))), (3, NIL));
        assert_eq!(table_bytes(2), 128 + 24);
    }
}
