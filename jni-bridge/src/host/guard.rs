//! What the host says when the hosted JVM ends in a way tmrt did not ask for: it could not start,
//! it crashed, or something made it exit.
//!
//! - **Crash handlers.** Rust's runtime installs SIGSEGV/SIGBUS handlers (its stack-overflow
//!   guard). HotSpot, finding them, chains to them for faults it does not handle itself; the Rust
//!   handler resets the signal to its default action and returns, and the process dies of the
//!   signal without HotSpot's crash log (`hs_err_pid*.log`). [`restore_default_crash_handlers`]
//!   puts the default actions back before the JVM is created, so HotSpot's own handlers are the
//!   only ones and it writes its log, as a plain `java` does.
//! - **Hooks.** The JVM is created with the invocation API's `exit` and `abort` hooks
//!   ([`exit_hook`], [`abort_hook`]). HotSpot calls `abort` when it dies abnormally — a crash,
//!   after writing the crash log, or a failure during start-up (a heap that cannot be reserved)
//!   — and `exit` when Java code ends the JVM (`System.exit` that the exit interceptor could not
//!   stop). Each writes one line on the host's own stderr, naming the crash log when there is one,
//!   and ends the process with the command's status for it. Both run in contexts where only
//!   async-signal-safe calls are allowed (`write`, `access`, `_exit`): every message is prepared
//!   by [`arm`] beforehand.
//! - **Phases.** [`arm`] (JVM starting), [`running`] (the job runs) and [`done`] (tmrt ends the
//!   process itself) tell the hooks, and a process `atexit` handler, what an unexpected end means.

use std::ffi::{c_void, CString};
use std::io;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

const IDLE: u8 = 0;
const STARTING: u8 = 1;
const RUNNING: u8 = 2;
const DONE: u8 = 3;

static PHASE: AtomicU8 = AtomicU8::new(IDLE);
static ARMED: OnceLock<Armed> = OnceLock::new();

/// What the hooks need, prepared before the JVM exists.
struct Armed {
    err_fd: i32,
    /// `tmrt emulate: ` (the command's prefix).
    prefix: Vec<u8>,
    /// Where HotSpot writes its crash log: the working directory, else the temporary directory.
    crash_logs: Vec<CString>,
    /// Status when the JVM could not start.
    start_failed: i32,
    /// Status when the JVM crashed or exited while the job ran.
    job_failed: i32,
}

/// Puts the default actions back for SIGSEGV and SIGBUS (see the module documentation).
pub fn restore_default_crash_handlers() -> io::Result<()> {
    for signal in [libc::SIGSEGV, libc::SIGBUS] {
        // SAFETY: a zeroed sigaction with sa_sigaction = SIG_DFL and an empty mask is a valid
        // argument; the old action is not asked for (null). No handler of ours is involved.
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = libc::SIG_DFL;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Prepares the hooks' messages and enters the "JVM starting" phase. `prefix` names the command
/// (`tmrt emulate`); `err_fd` is the host's stderr.
pub fn arm(prefix: &str, err_fd: i32, start_failed: u8, job_failed: u8) {
    let pid = std::process::id();
    let name = format!("hs_err_pid{pid}.log");
    let mut crash_logs = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        crash_logs.extend(CString::new(cwd.join(&name).into_os_string().into_encoded_bytes()).ok());
    }
    crash_logs.extend(CString::new(format!("/tmp/{name}")).ok());
    let first = ARMED
        .set(Armed {
            err_fd,
            prefix: format!("{prefix}: ").into_bytes(),
            crash_logs,
            start_failed: i32::from(start_failed),
            job_failed: i32::from(job_failed),
        })
        .is_ok();
    if first {
        // SAFETY: registering a plain extern "C" function with no arguments; it only reads
        // statics initialised above.
        unsafe {
            libc::atexit(at_exit);
        }
    }
    PHASE.store(STARTING, Ordering::SeqCst);
}

/// The JVM started; the job runs.
pub fn running() {
    PHASE.store(RUNNING, Ordering::SeqCst);
}

/// tmrt ends the process itself: the hooks stay quiet.
pub fn done() {
    PHASE.store(DONE, Ordering::SeqCst);
}

/// The invocation API's `exit` and `abort` hooks, as `JavaVMOption`s (`extraInfo` = the
/// function).
pub fn hook_options() -> [(&'static str, *mut c_void); 2] {
    [
        ("exit", exit_hook as extern "C" fn(i32) as *mut c_void),
        ("abort", abort_hook as extern "C" fn() as *mut c_void),
    ]
}

/// Writes `parts` to the host's stderr with async-signal-safe calls only.
fn say(a: &Armed, parts: &[&[u8]]) {
    for p in std::iter::once(&a.prefix[..]).chain(parts.iter().copied()) {
        let mut rest = p;
        while !rest.is_empty() {
            // SAFETY: write(2) on a descriptor this process owns, from a valid buffer of the given
            // length; async-signal-safe.
            let n = unsafe { libc::write(a.err_fd, rest.as_ptr().cast(), rest.len()) };
            if n <= 0 {
                break;
            }
            rest = &rest[n as usize..];
        }
    }
}

/// `n` in decimal, into `buf`, without allocating.
fn decimal(n: i32, buf: &mut [u8; 12]) -> &[u8] {
    let mut i = buf.len();
    let negative = n < 0;
    let mut v = i64::from(n).unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if negative {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

fn end(code: i32) -> ! {
    // SAFETY: _exit is async-signal-safe and ends the process at once.
    unsafe { libc::_exit(code) }
}

/// HotSpot's `exit` hook: Java code ended the JVM (`System.exit`/`Runtime.halt` not intercepted).
pub extern "C" fn exit_hook(code: i32) {
    let Some(a) = ARMED.get() else { return };
    let mut buf = [0u8; 12];
    match PHASE.load(Ordering::SeqCst) {
        RUNNING => {
            say(
                a,
                &[
                    b"the JVM ended itself with status ",
                    decimal(code, &mut buf),
                    b" while the job ran (a System.exit or Runtime.halt that tmrt could not intercept); no verdict\n",
                ],
            );
            end(a.job_failed)
        }
        STARTING => {
            say(a, &[b"the JVM ended during its start-up (its message is above)\n"]);
            end(a.start_failed)
        }
        _ => {}
    }
}

/// HotSpot's `abort` hook: the JVM is dying abnormally (a crash, after its crash log is written,
/// or a failed start-up).
pub extern "C" fn abort_hook() {
    let Some(a) = ARMED.get() else { return };
    match PHASE.load(Ordering::SeqCst) {
        STARTING => {
            say(a, &[b"the JVM could not start (its message is above)\n"]);
            end(a.start_failed)
        }
        RUNNING => {
            // SAFETY: access(2) on a NUL-terminated path prepared beforehand; async-signal-safe.
            let log = a
                .crash_logs
                .iter()
                .find(|p| unsafe { libc::access(p.as_ptr(), libc::F_OK) } == 0);
            match log {
                Some(path) => say(
                    a,
                    &[
                        b"the JVM crashed while the job ran; HotSpot's crash log: ",
                        path.as_bytes(),
                        b"\n",
                    ],
                ),
                None => say(a, &[b"the JVM aborted while the job ran (no crash log was written)\n"]),
            }
            end(a.job_failed)
        }
        _ => {}
    }
}

/// The process is exiting through `exit()`: unexpected unless tmrt said [`done`].
extern "C" fn at_exit() {
    let Some(a) = ARMED.get() else { return };
    match PHASE.load(Ordering::SeqCst) {
        STARTING => {
            say(a, &[b"the JVM could not start (its message is above)\n"]);
            end(a.start_failed)
        }
        RUNNING => {
            say(
                a,
                &[b"the process was ended by exit() inside the JVM while the job ran; no verdict\n"],
            );
            end(a.job_failed)
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_formats_without_allocating() {
        let mut b = [0u8; 12];
        assert_eq!(decimal(0, &mut b), b"0");
        assert_eq!(decimal(7, &mut b), b"7");
        assert_eq!(decimal(-17, &mut b), b"-17");
        assert_eq!(decimal(i32::MIN, &mut b), b"-2147483648");
        assert_eq!(decimal(i32::MAX, &mut b), b"2147483647");
    }
}
