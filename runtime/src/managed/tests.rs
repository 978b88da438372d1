//! Tests of the pool and the slots against a real mapping.

use super::*;

const PS: u64 = 32 * 1024;

fn pool(pages: u64) -> SlotPool {
    SlotPool::new("slot 7", pages * PS, PageSize::DEFAULT).unwrap()
}

fn resident(addr: usize, len: usize) -> usize {
    let os_page = 4096;
    let mut vec = vec![0u8; len.div_ceil(os_page)];
    // SAFETY: mincore only reads the page tables of [addr, addr+len), which lies inside a live
    // mapping of the pool under test (mappings are never unmapped), and writes one byte per OS
    // page into `vec`, which has exactly that many bytes.
    let rc = unsafe { libc::mincore(addr as *mut libc::c_void, len, vec.as_mut_ptr()) };
    assert_eq!(rc, 0, "mincore: {}", std::io::Error::last_os_error());
    vec.iter().filter(|b| **b & 1 == 1).count() * os_page
}

fn touch(p: &SlotPool, page: Page, byte: u8) {
    let addr = p.page_address(page).unwrap();
    // SAFETY: `page` is held by this test, so its PS bytes are ours to write.
    unsafe { std::ptr::write_bytes(addr.as_ptr(), byte, PS as usize) };
}

fn read_byte(addr: usize) -> u8 {
    // SAFETY: `addr` lies in a pool mapping, which stays mapped for the life of the process.
    unsafe { std::ptr::read_volatile(addr as *const u8) }
}

#[test]
fn allocates_distinct_aligned_pages_inside_the_mapping() {
    let p = pool(8);
    let pages = p.allocate_pages(OwnerId(1), 8).unwrap();
    let mut addrs: Vec<usize> = pages
        .iter()
        .map(|pg| p.page_address(*pg).unwrap().as_ptr() as usize)
        .collect();
    addrs.sort();
    addrs.dedup();
    assert_eq!(addrs.len(), 8);
    for a in &addrs {
        assert_eq!((a - p.base_address()) as u64 % PS, 0);
        assert!(*a < p.base_address() + 8 * PS as usize);
    }
    for (i, pg) in pages.iter().enumerate() {
        touch(&p, *pg, i as u8 + 1);
    }
    for (i, pg) in pages.iter().enumerate() {
        let a = p.page_address(*pg).unwrap().as_ptr() as usize;
        assert_eq!(read_byte(a), i as u8 + 1);
        assert_eq!(read_byte(a + PS as usize - 1), i as u8 + 1);
    }
    assert_eq!(p.available_memory(), 0);
    p.release_batch(&pages).unwrap();
    assert_eq!(p.available_memory(), 8 * PS);
    assert!(p.verify_empty().is_ok());
}

#[test]
fn over_budget_names_slot_owner_requested_and_free_and_changes_nothing() {
    let p = pool(4);
    let held = p.allocate_pages(OwnerId(1), 3).unwrap();
    let e = p.allocate_pages(OwnerId(2), 2).unwrap_err();
    assert!(
        matches!(
            e,
            ManagedMemoryError::OutOfPages {
                requested: 2,
                free: 1,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "Could not allocate 2 pages. Only 1 pages are remaining (slot 7, owner 2, page size 32768 bytes)"
    );
    assert_eq!(e.java_class(), "dev/tmrt/memory/MemoryAllocationException");
    assert_eq!(p.available_memory(), PS);
    assert!(p.owner_is_empty(OwnerId(2)));
    let e = p.allocate_pages(OwnerId(2), 5).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Cannot allocate more segments 5 than the max number 4 (slot 7, owner 2)"
    );
    p.release_batch(&held).unwrap();
}

#[test]
fn reservations_share_the_budget_with_pages() {
    let p = SlotPool::new("slot 0", 4 * PS + 100, PageSize::DEFAULT).unwrap();
    assert_eq!(p.total_pages(), 4);
    p.reserve_memory(OwnerId(9), PS + 100).unwrap();
    assert_eq!(p.available_memory(), 3 * PS);
    let e = p.allocate_pages(OwnerId(1), 4).unwrap_err();
    assert!(matches!(e, ManagedMemoryError::OutOfPages { free: 3, .. }), "{e}");
    let pages = p.allocate_pages(OwnerId(1), 3).unwrap();
    let e = p.reserve_memory(OwnerId(9), 1).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Could not allocate 1 bytes, only 0 bytes are remaining (slot 0, owner 9)"),
        "{e}"
    );
    assert_eq!(e.java_class(), "dev/tmrt/memory/MemoryReservationException");
    let e = p.release_memory(OwnerId(9), PS + 101).unwrap_err();
    assert_eq!(
        e.to_string(),
        "slot 0: owner 9 releases 32869 bytes but has only 32868 bytes reserved"
    );
    p.release_memory(OwnerId(9), 100).unwrap();
    assert_eq!(p.available_memory(), 100);
    assert_eq!(p.release_all_memory(OwnerId(9)).unwrap(), PS);
    assert_eq!(p.release_all(OwnerId(1)).unwrap(), 3);
    assert_eq!(p.available_memory(), 4 * PS + 100);
    assert!(p.verify_empty().is_ok());
    let _ = pages;
}

#[test]
fn double_release_stale_and_foreign_pages_are_errors() {
    let p = pool(2);
    let other = pool(2);
    let a = p.allocate_page(OwnerId(1)).unwrap();
    p.release(a).unwrap();
    let e = p.release(a).unwrap_err();
    assert!(matches!(e, ManagedMemoryError::PageNotHeld { .. }), "{e}");
    assert!(e.to_string().contains("already released"), "{e}");
    // Use after release.
    assert!(matches!(p.page_address(a), Err(ManagedMemoryError::PageNotHeld { .. })));
    // The page is handed out again: the stale handle still does not match.
    let b = p.allocate_page(OwnerId(2)).unwrap();
    assert_eq!(a.index(), b.index());
    assert!(p.release(a).is_err());
    assert!(p.page_address(a).is_err());
    assert_eq!(
        p.usage().owners,
        vec![OwnerHolding {
            owner: OwnerId(2),
            pages: 1,
            reserved_bytes: 0
        }]
    );
    // Another pool's page.
    let c = other.allocate_page(OwnerId(1)).unwrap();
    let e = p.release(c).unwrap_err();
    assert!(matches!(e, ManagedMemoryError::ForeignPage { .. }), "{e}");
    assert!(p.release_batch(&[b, c]).is_err());
    assert_eq!(p.usage().pages(), 1, "a failed batch releases nothing");
    assert!(p.page_from_bits(u64::from(u32::MAX - 1)).index() > p.total_pages());
    assert!(matches!(
        p.release(p.page_from_bits(1000)),
        Err(ManagedMemoryError::ForeignPage { .. })
    ));
    p.release(b).unwrap();
    other.release(c).unwrap();
}

#[test]
fn batch_release_refuses_duplicates_and_keeps_everything() {
    let p = pool(4);
    let pages = p.allocate_pages(OwnerId(1), 3).unwrap();
    let e = p.release_batch(&[pages[0], pages[1], pages[0]]).unwrap_err();
    assert!(matches!(e, ManagedMemoryError::DuplicateInBatch { .. }), "{e}");
    assert_eq!(p.usage().pages(), 3);
    p.release_batch(&pages).unwrap();
    assert!(p.release_batch(&pages[..1]).is_err());
}

#[test]
fn release_all_and_verify_empty_report_per_owner() {
    let p = pool(8);
    p.allocate_pages(OwnerId(1), 2).unwrap();
    let keep = p.allocate_pages(OwnerId(2), 3).unwrap();
    p.reserve_memory(OwnerId(3), 10).unwrap();
    let report = p.verify_empty().unwrap_err();
    assert_eq!(
        report.owners,
        vec![
            OwnerHolding {
                owner: OwnerId(1),
                pages: 2,
                reserved_bytes: 0
            },
            OwnerHolding {
                owner: OwnerId(2),
                pages: 3,
                reserved_bytes: 0
            },
            OwnerHolding {
                owner: OwnerId(3),
                pages: 0,
                reserved_bytes: 10
            },
        ]
    );
    assert_eq!(report.bytes(), 5 * PS + 10);
    assert!(report.to_string().contains("owner 2 holds 3 pages"), "{report}");
    assert_eq!(p.release_all(OwnerId(1)).unwrap(), 2);
    assert_eq!(p.release_all(OwnerId(1)).unwrap(), 0);
    p.release(keep[1]).unwrap();
    assert_eq!(p.release_all(OwnerId(2)).unwrap(), 2);
    p.release_memory(OwnerId(3), 10).unwrap();
    assert!(p.verify_empty().is_ok());
    assert_eq!(p.available_memory(), 8 * PS);
}

#[test]
fn closing_with_pages_out_reports_leaks_and_keeps_the_range_readable() {
    let p = pool(4);
    let pages = p.allocate_pages(OwnerId(5), 2).unwrap();
    touch(&p, pages[0], 0xAB);
    let addr = p.page_address(pages[0]).unwrap().as_ptr() as usize;
    assert_eq!(read_byte(addr), 0xAB);
    let leaks = p.close();
    assert_eq!(
        leaks.owners,
        vec![OwnerHolding {
            owner: OwnerId(5),
            pages: 2,
            reserved_bytes: 0
        }]
    );
    assert!(p.is_closed());
    // Still mapped (a stale Java buffer may point here), contents gone, memory returned.
    assert_eq!(read_byte(addr), 0);
    assert_eq!(
        resident(p.base_address(), 4 * PS as usize),
        PS as usize / 8,
        "only the OS page just read"
    );
    for e in [
        p.allocate_pages(OwnerId(1), 1).unwrap_err(),
        p.release(pages[1]).unwrap_err(),
        p.page_address(pages[1]).unwrap_err(),
        p.reserve_memory(OwnerId(1), 1).unwrap_err(),
    ] {
        assert_eq!(e.to_string(), "Memory manager has been shut down. (slot 7)");
    }
    assert_eq!(p.available_memory(), 0);
    assert!(p.close().is_empty(), "closing twice reports nothing new");
}

#[test]
fn eager_policy_returns_released_pages_at_once() {
    let p = SlotPool::with_policy("slot 0", 8 * PS, PageSize::DEFAULT, ReturnPolicy::EAGER).unwrap();
    let pages = p.allocate_pages(OwnerId(1), 8).unwrap();
    for pg in &pages {
        touch(&p, *pg, 1);
    }
    let len = 8 * PS as usize;
    assert_eq!(resident(p.base_address(), len), len);
    p.release_batch(&pages[..5]).unwrap();
    assert_eq!(resident(p.base_address(), len), 3 * PS as usize);
    assert_eq!(p.retained_free_pages(), 0);
    p.release_batch(&pages[5..]).unwrap();
    assert_eq!(resident(p.base_address(), len), 0);
}

#[test]
fn default_policy_keeps_a_bounded_warm_set_and_empties_an_idle_slot() {
    // 64 pages of 32 KiB: idle threshold 32 pages (1 MiB), at most 16 warm free pages; no grace
    // period (the next test shows it), so every return happens when due.
    let policy = ReturnPolicy::default_for(64, PageSize::DEFAULT).with_grace(std::time::Duration::ZERO);
    let p = SlotPool::with_policy("slot 7", 64 * PS, PageSize::DEFAULT, policy).unwrap();
    let len = 64 * PS as usize;
    // One page in and out of an idle slot stays warm (no system call per release).
    let one = p.allocate_page(OwnerId(1)).unwrap();
    touch(&p, one, 1);
    p.release(one).unwrap();
    assert_eq!(p.retained_free_pages(), 1);
    assert_eq!(resident(p.base_address(), len), PS as usize);
    // Up to the cap, released pages stay resident while the slot is in use.
    let held = p.allocate_pages(OwnerId(2), 40).unwrap();
    for pg in &held {
        touch(&p, *pg, 2);
    }
    p.release_batch(&held[..16]).unwrap();
    assert_eq!(p.retained_free_pages(), 16);
    assert_eq!(resident(p.base_address(), len), 40 * PS as usize);
    // Over the cap: all warm free pages go back.
    p.release(held[16]).unwrap();
    assert_eq!(p.retained_free_pages(), 0);
    assert_eq!(resident(p.base_address(), len), 23 * PS as usize);
    // Idle with at least 1 MiB warm: everything goes back.
    let more = p.allocate_pages(OwnerId(3), 20).unwrap();
    for pg in &more {
        touch(&p, *pg, 3);
    }
    p.release_all(OwnerId(2)).unwrap();
    assert_eq!(p.retained_free_pages(), 0, "23 warm pages exceed the cap of 16");
    p.release_all(OwnerId(3)).unwrap();
    assert_eq!(resident(p.base_address(), len), 0);
}

#[test]
fn returns_due_within_the_grace_period_wait_for_its_end() {
    // A sorter's rounds: allocate 40 pages (over the 1 MiB idle threshold), write them, release
    // them all. The first idle return happens at once; the next ones, due within the grace
    // period, are deferred (the pages stay resident and are re-used without faults), and the
    // reaper returns the memory once the slot has been left alone until the period ended.
    let grace = std::time::Duration::from_millis(300);
    let policy = ReturnPolicy::default_for(64, PageSize::DEFAULT).with_grace(grace);
    let p = SlotPool::with_policy("slot 7", 64 * PS, PageSize::DEFAULT, policy).unwrap();
    let len = 64 * PS as usize;
    let round = |byte: u8| {
        let pages = p.allocate_pages(OwnerId(1), 40).unwrap();
        for pg in &pages {
            touch(&p, *pg, byte);
        }
        p.release_all(OwnerId(1)).unwrap();
    };
    round(1);
    assert_eq!(resident(p.base_address(), len), 0, "the first idle return is at once");
    let started = std::time::Instant::now();
    round(2);
    round(3);
    if started.elapsed() < grace {
        assert_eq!(
            resident(p.base_address(), len),
            40 * PS as usize,
            "returns due within the grace period wait"
        );
        assert!(p.retained_free_pages() >= 40);
    }
    // The reaper looks again at the end of the period (bounded wait: the machine may be busy).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while resident(p.base_address(), len) != 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        resident(p.base_address(), len),
        0,
        "the reaper returned the idle slot's memory"
    );
    assert_eq!(p.retained_free_pages(), 0);
    p.check_quiescent().unwrap();
    // Releasers ask again afterwards (the thresholds are back): the next round's return is due
    // more than a grace period after the previous one, so it happens at once.
    std::thread::sleep(grace);
    round(4);
    assert_eq!(resident(p.base_address(), len), 0);
}

#[test]
fn never_policy_keeps_memory_until_trim() {
    let p = SlotPool::with_policy("slot 0", 4 * PS, PageSize::DEFAULT, ReturnPolicy::NEVER).unwrap();
    let pages = p.allocate_pages(OwnerId(1), 4).unwrap();
    for pg in &pages {
        touch(&p, *pg, 9);
    }
    p.release_batch(&pages).unwrap();
    assert_eq!(resident(p.base_address(), 4 * PS as usize), 4 * PS as usize);
    p.trim().unwrap();
    assert_eq!(resident(p.base_address(), 4 * PS as usize), 0);
    // A page handed out after being returned reads zeros.
    let again = p.allocate_page(OwnerId(1)).unwrap();
    assert_eq!(read_byte(p.page_address(again).unwrap().as_ptr() as usize), 0);
}

#[test]
fn a_pool_smaller_than_a_page_serves_reservations_only() {
    let p = SlotPool::new("slot 0", 1000, PageSize::DEFAULT).unwrap();
    assert_eq!(p.total_pages(), 0);
    assert_eq!(p.base_address(), 0);
    assert!(matches!(
        p.allocate_pages(OwnerId(1), 1),
        Err(ManagedMemoryError::MorePagesThanSlot { .. })
    ));
    p.reserve_memory(OwnerId(1), 1000).unwrap();
    assert_eq!(p.available_memory(), 0);
    assert!(p.allocate_pages(OwnerId(1), 0).unwrap().is_empty());
}

#[test]
fn too_many_pages_is_an_error() {
    let e = SlotPool::new("slot 1", (i32::MAX as u64 + 1) * 4096, PageSize::new(4096).unwrap()).unwrap_err();
    assert!(e.to_string().contains("more than MAX_INT pages"), "{e}");
}

#[test]
fn equal_slots_share_the_managed_memory() {
    let s = ManagedMemorySlots::equal(10 * PS + 7, 3, PageSize::DEFAULT).unwrap();
    assert_eq!(s.num_slots(), 3);
    let each = (10 * PS + 7) / 3;
    for i in 0..3 {
        let p = s.slot(i).unwrap().unwrap();
        assert_eq!(p.size(), each);
        assert_eq!(p.slot(), format!("slot {i}"));
        assert_eq!(p.total_pages(), 3);
    }
    assert_eq!(s.unassigned(), 10 * PS + 7 - 3 * each);
    assert!(matches!(
        s.slot(3),
        Err(ManagedMemoryError::NoSuchSlot { slot: 3, slots: 3 })
    ));
    assert!(ManagedMemorySlots::equal(PS, 0, PageSize::DEFAULT).is_err());
}

#[test]
fn fine_grained_slots_may_not_exceed_the_managed_memory() {
    let e = ManagedMemorySlots::fine_grained(10 * PS, &[4 * PS, 7 * PS], PageSize::DEFAULT).unwrap_err();
    assert_eq!(
        e.to_string(),
        "The slots' managed memory (360448 bytes) exceeds the TaskExecutor's managed memory (327680 bytes)"
    );
    let s = ManagedMemorySlots::fine_grained(10 * PS, &[4 * PS, 2 * PS], PageSize::DEFAULT).unwrap();
    assert_eq!(s.slot(0).unwrap().unwrap().total_pages(), 4);
    assert_eq!(s.slot(1).unwrap().unwrap().total_pages(), 2);
    assert_eq!(s.unassigned(), 4 * PS);
}

#[test]
fn slots_are_freed_and_reallocated_while_others_work() {
    let s = ManagedMemorySlots::fine_grained(10 * PS, &[4 * PS, 4 * PS], PageSize::DEFAULT).unwrap();
    let zero = s.slot(0).unwrap().unwrap();
    let one = s.slot(1).unwrap().unwrap();
    let kept = one.allocate_pages(OwnerId(1), 2).unwrap();
    let leaked = zero.allocate_pages(OwnerId(4), 1).unwrap();
    let report = s.free_slot(0).unwrap().unwrap();
    assert_eq!(
        report.owners,
        vec![OwnerHolding {
            owner: OwnerId(4),
            pages: 1,
            reserved_bytes: 0
        }]
    );
    assert!(s.slot(0).unwrap().is_none());
    assert!(s.free_slot(0).unwrap().is_none());
    // The old pool refuses, the other slot is untouched.
    assert!(matches!(
        zero.release(leaked[0]),
        Err(ManagedMemoryError::Closed { .. })
    ));
    assert_eq!(one.usage().pages(), 2);
    // Re-allocate with a bigger size from the unassigned memory; too big is refused.
    assert!(matches!(
        s.allocate_slot(0, 7 * PS),
        Err(ManagedMemoryError::SlotsExceedManaged { .. })
    ));
    assert!(matches!(
        s.allocate_slot(1, PS),
        Err(ManagedMemoryError::SlotOccupied { slot: 1 })
    ));
    let zero = s.allocate_slot(0, 6 * PS).unwrap();
    assert_eq!(zero.allocate_pages(OwnerId(1), 6).unwrap().len(), 6);
    assert_eq!(s.unassigned(), 0);
    one.release_batch(&kept).unwrap();
    let leaks = s.close();
    assert_eq!(leaks.len(), 1);
    assert_eq!(leaks[0].slot, "slot 0");
}

#[test]
fn slots_from_the_derived_memory_layout() {
    use crate::config::{Configuration, FlinkVersion};
    use crate::memory::process_spec_from_config;
    let conf = Configuration::from_pairs([
        ("taskmanager.memory.process.size", "1728m"),
        ("taskmanager.numberOfTaskSlots", "4"),
        ("taskmanager.memory.segment-size", "64 kb"),
    ]);
    let spec = process_spec_from_config(&conf, FlinkVersion::V1_20).unwrap();
    let s = ManagedMemorySlots::from_process_spec(&spec, &conf).unwrap();
    assert_eq!(s.num_slots(), 4);
    assert_eq!(s.managed(), spec.managed.bytes());
    assert_eq!(s.page_size().bytes(), 64 << 10);
    // Flink 1.20 with 1728m: managed = 0.4 × total Flink memory, 536870920 bytes as Flink
    // computes it (512 MiB and 8 bytes of floating-point rounding).
    assert_eq!(spec.managed.bytes(), 536_870_920);
    for i in 0..4 {
        let slot = s.slot(i).unwrap().unwrap();
        assert_eq!(slot.size(), 536_870_920 / 4);
        assert_eq!(slot.total_pages(), 2048);
    }
    let bad = Configuration::from_pairs([
        ("taskmanager.memory.process.size", "1728m"),
        ("taskmanager.memory.segment-size", "3kb"),
    ]);
    let spec = process_spec_from_config(&bad, FlinkVersion::V1_20).unwrap();
    let e = ManagedMemorySlots::from_process_spec(&spec, &bad).unwrap_err();
    assert!(e.to_string().contains("'taskmanager.memory.segment-size'"), "{e}");
}

#[test]
fn a_budget_beyond_the_address_space_is_a_mapping_error() {
    // 2^50 bytes (1 PiB) of 1 GiB pages: few pages, but more than x86-64's 128 TiB of user space.
    let e = SlotPool::new("slot 9", 1 << 50, PageSize::new(1 << 30).unwrap()).unwrap_err();
    assert!(matches!(e, ManagedMemoryError::Mapping { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("slot 9: could not map 1125899906842624 bytes of managed memory: "),
        "{e}"
    );
    assert_eq!(e.java_class(), "java/lang/OutOfMemoryError");
    assert!(std::error::Error::source(&e).is_some());
}

#[test]
fn the_shared_table_keeps_its_invariants_under_threads_and_the_checker_catches_corruption() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let p = Arc::new(pool(64));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..2u64)
        .map(|t| {
            let (p, stop) = (p.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) || i < 20_000 {
                    i += 1;
                    // Single pages (the hot page and the stacks), a batch, an owner's release.
                    let one = p.allocate_page(OwnerId(t + 1)).unwrap();
                    let more = p.allocate_pages(OwnerId(t + 1), 1 + (i % 5) as u32).unwrap();
                    p.release(one).unwrap();
                    if i.is_multiple_of(3) {
                        assert_eq!(p.release_all(OwnerId(t + 1)).unwrap() as usize, more.len());
                    } else {
                        p.release_batch(&more).unwrap();
                    }
                }
            })
        })
        .collect();
    let (mut checks, mut stable) = (0, 0);
    while checks < 2_000 || stable == 0 {
        if p.table().check(false).unwrap() {
            stable += 1;
        }
        checks += 1;
        assert!(checks < 10_000_000, "never a stable snapshot");
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    p.check_quiescent().unwrap();
    assert!(p.verify_empty().is_ok());

    // A held page pushed on a free stack (a double hand-out waiting to happen) is caught.
    let held = p.allocate_pages(OwnerId(9), 2).unwrap();
    p.table().push_warm_for_test(held[1].index());
    let e = p.check_invariants().unwrap_err();
    assert!(e.contains("on the warm stack has state"), "{e}");
    // A budget that disagrees with the held pages is caught by the quiescent check.
    let q = pool(4);
    let _a = q.allocate_page(OwnerId(1)).unwrap();
    q.table().claim(1).unwrap();
    let e = q.check_quiescent().unwrap_err();
    assert!(e.contains("pages lost"), "{e}");
}
