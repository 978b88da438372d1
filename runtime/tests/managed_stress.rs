//! Many threads allocating and releasing in one slot and across slots, with invariant checks:
//! no page is ever handed out twice (a claim table per page, and a stamp written into each page
//! and checked before release), none is lost (at the end every slot is empty and all its budget
//! available), and misuse from racing threads is refused without damage.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use runtime::managed::{ManagedMemorySlots, OwnerId, Page, PageSize, SlotPool};

const PS: u64 = 4096;

/// A tiny deterministic PRNG per thread (xorshift), so that runs are reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Checked {
    pool: Arc<SlotPool>,
    claims: Vec<AtomicU64>,
}

impl Checked {
    fn new(pool: Arc<SlotPool>) -> Checked {
        let claims = (0..pool.total_pages()).map(|_| AtomicU64::new(0)).collect();
        Checked { pool, claims }
    }

    fn claim(&self, page: Page, who: u64) {
        let prev = self.claims[page.index() as usize].swap(who, Ordering::SeqCst);
        assert_eq!(
            prev,
            0,
            "page {} handed out to {who} while {prev} holds it",
            page.index()
        );
        let addr = self.pool.page_address(page).unwrap().as_ptr() as *mut u64;
        // SAFETY: the page is held by this thread (just allocated for it), so its first 16 bytes
        // are ours; the claim table above proves no other thread holds it.
        unsafe {
            addr.write_volatile(who);
            addr.add(1).write_volatile(page.to_bits());
        }
    }

    fn unclaim(&self, page: Page, who: u64) {
        let addr = self.pool.page_address(page).unwrap().as_ptr() as *const u64;
        // SAFETY: the page is still held by this thread; we read back what we wrote.
        let (w, bits) = unsafe { (addr.read_volatile(), addr.add(1).read_volatile()) };
        assert_eq!(
            (w, bits),
            (who, page.to_bits()),
            "page {} was overwritten by another holder",
            page.index()
        );
        let prev = self.claims[page.index() as usize].swap(0, Ordering::SeqCst);
        assert_eq!(prev, who);
    }
}

fn worker(c: &Checked, thread: u64, rounds: u32) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (thread + 1));
    let owners = [OwnerId(thread * 10 + 1), OwnerId(thread * 10 + 2)];
    let mut held: Vec<(Page, u64)> = Vec::new();
    for _ in 0..rounds {
        let which = rng.below(2) as usize;
        let owner = owners[which];
        let who = owner.0;
        match rng.below(10) {
            0..=3 => {
                let n = 1 + rng.below(16) as u32;
                match c.pool.allocate_pages(owner, n) {
                    Ok(pages) => {
                        assert_eq!(pages.len(), n as usize);
                        for p in pages {
                            c.claim(p, who);
                            held.push((p, who));
                        }
                    }
                    Err(e) => assert!(e.to_string().starts_with("Could not allocate"), "{e}"),
                }
            }
            4..=5 if !held.is_empty() => {
                let (p, who) = held.swap_remove(rng.below(held.len() as u64) as usize);
                c.unclaim(p, who);
                c.pool.release(p).unwrap();
                // The stale handle is refused now and forever.
                assert!(c.pool.release(p).is_err());
            }
            6 if !held.is_empty() => {
                let k = 1 + rng.below(held.len() as u64) as usize;
                let batch: Vec<_> = held.drain(..k).collect();
                for (p, who) in &batch {
                    c.unclaim(*p, *who);
                }
                let pages: Vec<Page> = batch.iter().map(|(p, _)| *p).collect();
                c.pool.release_batch(&pages).unwrap();
            }
            7 => {
                let (mine, rest): (Vec<_>, Vec<_>) = held.iter().partition(|(_, w)| *w == who);
                for (p, w) in &mine {
                    c.unclaim(*p, *w);
                }
                let n = c.pool.release_all(owner).unwrap();
                assert_eq!(n as usize, mine.len());
                held = rest;
            }
            8 => {
                let bytes = 1 + rng.below(3 * PS);
                if c.pool.reserve_memory(owner, bytes).is_ok() {
                    c.pool.release_memory(owner, bytes).unwrap();
                }
            }
            _ => {
                let avail = c.pool.available_memory();
                assert!(avail <= c.pool.size());
            }
        }
    }
    for (p, who) in &held {
        c.unclaim(*p, *who);
    }
    for o in owners {
        c.pool.release_all(o).unwrap();
    }
}

#[test]
fn many_threads_in_one_slot_never_share_or_lose_a_page() {
    let pool = Arc::new(SlotPool::new("slot 0", 256 * PS, PageSize::new(PS).unwrap()).unwrap());
    let c = Arc::new(Checked::new(pool.clone()));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || worker(&c, t, 20_000))
        })
        .collect();
    // Meanwhile, check the page table's invariants over and over, while the threads operate.
    let mut checks = 0;
    while threads.iter().any(|t| !t.is_finished()) {
        pool.check_invariants().unwrap();
        checks += 1;
    }
    for t in threads {
        t.join().unwrap();
    }
    pool.check_quiescent().unwrap();
    assert!(checks > 0);
    assert!(pool.verify_empty().is_ok(), "{}", pool.usage());
    assert_eq!(pool.available_memory(), pool.size());
    // Every page can be handed out again, exactly once each.
    let all = pool.allocate_pages(OwnerId(1), pool.total_pages()).unwrap();
    let mut idx: Vec<u32> = all.iter().map(|p| p.index()).collect();
    idx.sort();
    idx.dedup();
    assert_eq!(idx.len() as u32, pool.total_pages());
}

#[test]
fn threads_across_slots_while_a_slot_is_freed_and_recreated() {
    let slots = Arc::new(ManagedMemorySlots::equal(4 * 128 * PS, 4, PageSize::new(PS).unwrap()).unwrap());
    let mut handles = Vec::new();
    for s in 0..3usize {
        for t in 0..2u64 {
            let slots = slots.clone();
            handles.push(std::thread::spawn(move || {
                let c = Checked::new(slots.slot(s).unwrap().unwrap());
                worker(&c, s as u64 * 2 + t, 10_000);
            }));
        }
    }
    // Slot 3 is freed and re-created over and over while the others work.
    let churn = {
        let slots = slots.clone();
        std::thread::spawn(move || {
            for round in 0..200u64 {
                let pool = slots.slot(3).unwrap().unwrap();
                let pages = pool.allocate_pages(OwnerId(round), 1 + (round % 8) as u32).unwrap();
                if round % 2 == 0 {
                    pool.release_batch(&pages).unwrap();
                }
                let report = slots.free_slot(3).unwrap().unwrap();
                assert_eq!(report.is_empty(), round % 2 == 0, "{report}");
                assert!(pool.allocate_page(OwnerId(1)).is_err(), "a freed slot refuses");
                slots.allocate_slot(3, 128 * PS).unwrap();
            }
        })
    };
    for h in handles {
        h.join().unwrap();
    }
    churn.join().unwrap();
    assert!(slots.close().is_empty());
}
