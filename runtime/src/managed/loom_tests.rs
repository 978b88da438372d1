//! The page-table protocol ([`super::protocol`]) model-checked with `loom`: every interleaving
//! (up to a preemption bound) of the operations below on a small [`SharedTable`], with the
//! table's invariant checker run on the outcome. Java's port (`dev.tmrt.memory.PageTable`) runs
//! the same single-page allocate and release steps; `tests/managed_java.rs` checks it against
//! this side on real threads.
//!
//! `RUSTFLAGS="--cfg loom" cargo test -p tmrt-runtime --release --lib managed::loom_tests`
//! (`.ci/run` does; the atomics become loom's: see `sync.rs`).

use loom::sync::Arc;
use loom::thread;

use super::protocol::{allocated, blocked, HELD, LEAKED};
use super::shared_table::{PageFault, SharedTable};

/// Explores `f` with at most `bound` preemptions per execution (the protocol's loops make the
/// unbounded space too large; bugs of this kind show within two or three preemptions).
fn model(bound: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(bound);
    b.check(f);
}

/// A table of `pages` pages whose policy never asks for a count (trims are not modelled here).
fn table(pages: u32) -> Arc<SharedTable> {
    Arc::new(SharedTable::new(pages, u64::MAX, u64::MAX).unwrap())
}

fn alloc_one(t: &SharedTable, owner: u64) -> Option<(u32, u32)> {
    let mut got = None;
    t.allocate(owner, 1, |i, g| got = Some((i, g))).ok()?;
    got
}

/// Pages held (or leaked) per the state words.
fn held(t: &SharedTable) -> u32 {
    (0..t.total())
        .filter(|i| {
            let k = t.state(*i).load(std::sync::atomic::Ordering::Relaxed) & 0b111;
            k == HELD || k == LEAKED
        })
        .count() as u32
}

#[test]
fn two_threads_allocating_never_get_the_same_page() {
    model(3, || {
        let t = table(2);
        let spawn = |owner| {
            let t = t.clone();
            thread::spawn(move || alloc_one(&t, owner).expect("a page fits"))
        };
        let (a, b) = (spawn(1), spawn(2));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        assert_ne!(a.0, b.0, "one page handed out twice");
        assert_eq!(t.holder(a.0, a.1), Ok(1));
        assert_eq!(t.holder(b.0, b.1), Ok(2));
        t.release(a.0, a.1).unwrap();
        t.release(b.0, b.1).unwrap();
        t.check(true).unwrap();
        assert_eq!(allocated(t.budget()), t.hot_pages());
    });
}

#[test]
fn allocations_and_releases_interleaved_lose_no_page() {
    model(2, || {
        let t = table(2);
        let held_first = alloc_one(&t, 1).unwrap();
        let releaser = {
            let t = t.clone();
            thread::spawn(move || t.release(held_first.0, held_first.1).unwrap())
        };
        let allocator = {
            let t = t.clone();
            thread::spawn(move || {
                let p = alloc_one(&t, 2).expect("a page fits");
                t.release(p.0, p.1).unwrap();
                p
            })
        };
        releaser.join().unwrap();
        allocator.join().unwrap();
        t.check(true).unwrap();
        assert_eq!(held(&t), 0);
        assert_eq!(
            allocated(t.budget()),
            t.hot_pages(),
            "the budget counts only the parked page"
        );
        // Both pages can be had again.
        let mut n = 0;
        t.allocate(3, 2, |_, _| n += 1).unwrap();
        assert_eq!(n, 2);
    });
}

#[test]
fn of_two_racing_releases_exactly_one_wins() {
    model(3, || {
        let t = table(2);
        let p = alloc_one(&t, 1).unwrap();
        let spawn = || {
            let t = t.clone();
            thread::spawn(move || t.release(p.0, p.1))
        };
        let (a, b) = (spawn(), spawn());
        let results = [a.join().unwrap(), b.join().unwrap()];
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
        assert!(results.contains(&Err(PageFault::NotHeld)));
        t.check(true).unwrap();
        assert_eq!(held(&t), 0);
    });
}

#[test]
fn a_reservation_and_an_allocation_never_both_take_the_last_page() {
    model(3, || {
        let t = table(2);
        let first = alloc_one(&t, 1).unwrap();
        t.release(first.0, first.1).unwrap(); // parks the hot page: reservations must drain it
        let reserver = {
            let t = t.clone();
            thread::spawn(move || t.set_blocked(1).is_ok())
        };
        let allocator = {
            let t = t.clone();
            thread::spawn(move || t.allocate(2, 2, |_, _| {}).is_ok())
        };
        let (reserved, allocated_both) = (reserver.join().unwrap(), allocator.join().unwrap());
        assert!(
            !(reserved && allocated_both),
            "2 pages allocated next to 1 blocked in a 2-page slot"
        );
        assert!(reserved || allocated_both, "neither fitted although each alone fits");
        let b = t.budget();
        assert!(allocated(b) + blocked(b) <= 2);
        t.check(true).unwrap();
    });
}

#[test]
fn releasing_an_owner_races_with_its_next_allocation() {
    model(2, || {
        let t = table(2);
        let p = alloc_one(&t, 7).unwrap();
        let all = {
            let t = t.clone();
            thread::spawn(move || t.release_owner(7, |_, _| {}).0)
        };
        let more = {
            let t = t.clone();
            thread::spawn(move || alloc_one(&t, 7).unwrap())
        };
        let released = all.join().unwrap();
        let q = more.join().unwrap();
        // The first page is released; the second either too (allocated before the scan reached
        // its page) or still held by the owner.
        assert!(t.holder(p.0, p.1).is_err());
        assert!(released == 1 || released == 2);
        assert_eq!(t.holder(q.0, q.1).is_ok(), released == 1);
        t.check(true).unwrap();
    });
}

#[test]
fn closing_while_a_page_is_released_leaks_or_frees_it_never_both() {
    model(2, || {
        let t = table(2);
        let p = alloc_one(&t, 1).unwrap();
        let releaser = {
            let t = t.clone();
            thread::spawn(move || t.release(p.0, p.1))
        };
        let leaked = t.close();
        let released = releaser.join().unwrap();
        let leaked_pages: u32 = leaked.iter().map(|(_, n)| n).sum();
        match released {
            Ok(_) => assert_eq!(leaked_pages, 0, "a released page reported leaked"),
            Err(f) => {
                assert_eq!(f, PageFault::Closed);
                assert_eq!(leaked_pages, 1);
            }
        }
        assert!(t.is_closed());
        assert!(t.allocate(2, 1, |_, _| {}).is_err(), "allocation after close");
        t.check(true).unwrap();
    });
}
