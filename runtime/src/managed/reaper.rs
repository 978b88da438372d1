//! The background thread that looks again at slots whose return of memory was deferred (the
//! grace period of [`super::ReturnPolicy`]): one thread per process, started on first need,
//! sleeping until the earliest deadline. It holds slots weakly: a slot dropped meanwhile is
//! simply skipped.

use std::sync::{OnceLock, Weak};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use super::returns::PoolCore;

struct Reaper {
    due: Mutex<Vec<(Instant, Weak<PoolCore>)>>,
    wake: Condvar,
}

static REAPER: OnceLock<Option<Reaper>> = OnceLock::new();

/// Asks the reaper to visit `core` at `at`; false when no reaper thread could be started (the
/// caller then returns the memory at once).
pub(crate) fn schedule(core: Weak<PoolCore>, at: Instant) -> bool {
    let reaper = REAPER.get_or_init(|| {
        std::thread::Builder::new()
            .name("tmrt-managed-reaper".into())
            .spawn(run)
            .ok()
            .map(|_| Reaper {
                due: Mutex::new(Vec::new()),
                wake: Condvar::new(),
            })
    });
    let Some(reaper) = reaper else {
        return false;
    };
    reaper.due.lock().push((at, core));
    reaper.wake.notify_one();
    true
}

fn run() {
    // The thread may start before `REAPER` is set: wait for it.
    let reaper = loop {
        match REAPER.get() {
            Some(Some(r)) => break r,
            Some(None) => return,
            None => std::thread::yield_now(),
        }
    };
    let mut due = reaper.due.lock();
    loop {
        let now = Instant::now();
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut *due).into_iter().partition(|(at, _)| *at <= now);
        *due = waiting;
        if !ready.is_empty() {
            drop(due);
            for (_, core) in ready {
                if let Some(core) = core.upgrade() {
                    core.reap();
                }
            }
            due = reaper.due.lock();
            continue;
        }
        match due.iter().map(|(at, _)| *at).min() {
            Some(next) => {
                reaper.wake.wait_until(&mut due, next);
            }
            None => reaper.wake.wait(&mut due),
        }
    }
}
