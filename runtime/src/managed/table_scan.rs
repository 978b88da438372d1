//! Whole-table scans, apart from the page operations: who holds what (reports, the owner purge's
//! quiet moment), closing, and the invariant checker ([`SharedTable::check`]): what must hold at
//! any moment (checked on snapshots that the stack heads, the budget and the hot word prove
//! stable), and the full balance when no operation is in flight.

use std::sync::atomic::Ordering::{AcqRel, Acquire, SeqCst};

use super::protocol::*;
use super::shared_table::SharedTable;

impl SharedTable {
    /// Pages held per owner, in owner order (a scan; exact when nothing is in flight).
    pub(crate) fn holders(&self) -> Vec<(u64, u32)> {
        group_holders(&self.states())
    }

    /// Pages held per owner at a moment when every budget claim is published in the table (no
    /// allocation between claiming and publishing), or `None` when no such moment was found in
    /// `tries` scans. Whoever claimed before this call is therefore in the answer.
    pub(crate) fn holders_when_quiet(&self, tries: u32) -> Option<Vec<(u64, u32)>> {
        for _ in 0..tries {
            super::sync::fence(SeqCst);
            let heads = || {
                (
                    self.word(BUDGET).load(SeqCst),
                    self.word(WARM).load(SeqCst),
                    self.word(COLD).load(SeqCst),
                    self.word(HOT).load(SeqCst),
                )
            };
            let before = heads();
            let states = self.states();
            let held = states
                .iter()
                .filter(|s| matches!(kind(**s), HELD | RELEASING | LEAKED))
                .count() as u32;
            let hot = u32::from(top(before.3) != NIL);
            if heads() == before && held + hot == allocated(before.0) {
                return Some(group_holders(&states));
            }
            super::sync::wait(u32::MAX);
        }
        None
    }

    fn states(&self) -> Vec<u64> {
        (0..self.total()).map(|i| self.state(i).load(Acquire)).collect()
    }

    /// Closes the table: no claim succeeds any more, every held page becomes `LEAKED` (so later
    /// releases fail), after in-flight operations settled. Returns the leaked pages per owner.
    /// The wait for in-flight operations is bounded (one second): a thread that died between
    /// claiming and publishing (say, a `StackOverflowError` in Java) cannot hang the close; its
    /// page is then simply not in the report.
    pub(crate) fn close(&self) -> Vec<(u64, u32)> {
        self.word(BUDGET).fetch_or(CLOSED, AcqRel);
        let started = std::time::Instant::now();
        let mut spins = 0u32;
        loop {
            self.drain_hot();
            let mut leaked = 0u32;
            let mut busy = false;
            for i in 0..self.total() {
                let s = self.state(i);
                let cur = s.load(Acquire);
                match kind(cur) {
                    HELD => {
                        if s.compare_exchange(cur, (cur & !KIND_MASK) | LEAKED, AcqRel, Acquire)
                            .is_ok()
                        {
                            leaked += 1;
                        } else {
                            busy = true;
                        }
                    }
                    RELEASING => busy = true,
                    LEAKED => leaked += 1,
                    _ => {}
                }
            }
            // Allocations that claimed before the close publish their pages soon; releases that
            // won their CAS give their budget back soon. Done when the budget counts exactly the
            // leaked pages.
            if !busy && allocated(self.budget()) == leaked {
                break;
            }
            if started.elapsed() > std::time::Duration::from_secs(1) {
                break;
            }
            spins += 1;
            if spins > 16 {
                super::sync::wait(u32::MAX);
            }
        }
        self.holders()
    }

    /// Checks what holds at any moment, even while other threads operate: every state word is
    /// well formed and the budget within bounds; and, when the stacks and the budget did not
    /// move during the check (retried up to 1000 times), each stack is acyclic, no page is on
    /// both, and every page on a stack is free with that stack's kind. With `quiet` (no
    /// operation in flight), also that every page is on exactly one stack or held, and that the
    /// budget counts exactly the held pages. Returns whether a stable snapshot was checked.
    pub(crate) fn check(&self, quiet: bool) -> Result<bool, String> {
        for _attempt in 0..1000 {
            let heads = || {
                (
                    self.budget(),
                    self.word(WARM).load(Acquire),
                    self.word(COLD).load(Acquire),
                    self.word(HOT).load(Acquire),
                )
            };
            let before = heads();
            let states: Vec<u64> = (0..self.total()).map(|i| self.state(i).load(Acquire)).collect();
            for (i, s) in states.iter().enumerate() {
                if kind(*s) > LEAKED {
                    return Err(format!("page {i} has a bad state word {s:#x}"));
                }
            }
            let result = self.check_snapshot(before, &states, quiet);
            if quiet || heads() == before {
                return result.map(|()| true);
            }
        }
        Ok(false)
    }

    fn check_snapshot(&self, (b, w, c, hot): (u64, u64, u64, u64), states: &[u64], quiet: bool) -> Result<(), String> {
        if u64::from(allocated(b)) + u64::from(blocked(b)) > u64::from(self.total()) {
            return Err(format!("budget {b:#x} exceeds {} pages", self.total()));
        }
        let mut seen = vec![false; self.total() as usize];
        let mut stacked = 0u32;
        let hot = top(hot);
        if hot != NIL {
            if hot >= self.total() || kind(self.state(hot).load(Acquire)) != WARM_FREE {
                return Err(format!("hot page {hot} is outside or not a released page"));
            }
            seen[hot as usize] = true;
            stacked += 1;
        }
        for (name, h, want) in [("warm", w, WARM_FREE), ("cold", c, COLD_FREE)] {
            let mut i = top(h);
            while i != NIL {
                if i >= self.total() {
                    return Err(format!("{name} stack points outside: {i}"));
                }
                if std::mem::replace(&mut seen[i as usize], true) {
                    return Err(format!("page {i} twice on the free stacks (or hot)"));
                }
                let s = self.state(i).load(Acquire);
                if kind(s) != want {
                    return Err(format!("page {i} on the {name} stack has state {s:#x}"));
                }
                stacked += 1;
                i = self.next(i).load(Acquire);
            }
        }
        if quiet {
            let held = states.iter().filter(|s| matches!(kind(**s), HELD | LEAKED)).count() as u32;
            let hot = u32::from(hot != NIL);
            if held + stacked != self.total() || held + hot != allocated(b) {
                return Err(format!(
                    "pages lost: {held} held + {hot} hot (budget says {}) + {stacked} free of {}",
                    allocated(b),
                    self.total()
                ));
            }
        }
        Ok(())
    }
}

/// Held pages per owner, in owner order, from state words.
fn group_holders(states: &[u64]) -> Vec<(u64, u32)> {
    let mut v: Vec<u64> = states
        .iter()
        .filter(|s| matches!(kind(**s), HELD | RELEASING | LEAKED))
        .map(|s| owner(*s))
        .collect();
    v.sort_unstable();
    let mut out: Vec<(u64, u32)> = Vec::new();
    for o in v {
        match out.last_mut() {
            Some((last, n)) if *last == o => *n += 1,
            _ => out.push((o, 1)),
        }
    }
    out
}
