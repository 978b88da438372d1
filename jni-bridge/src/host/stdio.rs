//! The host's own standard streams, apart from the hosted JVM's.
//!
//! The JVM writes `System.out` and `System.err` to file descriptors 1 and 2, and a job may close
//! them (`try (PrintWriter w = new PrintWriter(System.out))` closes `System.out`, and with it fd 1
//! of the whole process). So before a JVM is created, [`HostStreams::init`] duplicates fds 1 and
//! 2 (close-on-exec) and everything tmrt prints goes through those duplicates: whatever the job
//! does to its streams, the layout, the rounds and the verdict reach the user.
//!
//! Write errors on the output are remembered, not fatal: a reader that went away (`| head -1`,
//! `EPIPE`) makes the rest of the output quiet; any other error (`> /dev/full`) is reported once
//! at the end ([`HostStreams::output_error`]) and makes the command fail. Both descriptors'
//! identities are kept, so that a command can tell when stdout and stderr are the same file or
//! terminal and print what it shows on both only once.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::sync::OnceLock;

use parking_lot::Mutex;

/// What happened to the output so far.
#[derive(Debug, Default)]
struct OutputState {
    /// The reader went away: stay quiet.
    closed: bool,
    /// The first other write error.
    error: Option<io::Error>,
}

/// The host's duplicates of stdout and stderr.
pub struct HostStreams {
    out: Mutex<(File, OutputState)>,
    err: Mutex<File>,
    /// stdout and stderr are the same file, pipe or terminal.
    same_destination: bool,
    /// The raw stderr duplicate, for the JVM's crash and exit hooks (async-signal-safe writes).
    err_fd: RawFd,
}

static STREAMS: OnceLock<HostStreams> = OnceLock::new();

/// Duplicates `fd` above the standard descriptors, close-on-exec.
fn duplicate(fd: RawFd) -> io::Result<File> {
    // SAFETY: F_DUPFD_CLOEXEC takes an int argument and returns a new descriptor or -1; `fd` is
    // only read, and the new descriptor is owned by the File below and nothing else.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` is a fresh descriptor this process owns exclusively (just returned by fcntl).
    Ok(unsafe { File::from_raw_fd(new) })
}

/// `(device, inode)` of an open descriptor.
fn identity(f: &File) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    f.metadata().ok().map(|m| (m.dev(), m.ino()))
}

impl HostStreams {
    /// The process's host streams, duplicated on first use (before any JVM exists, as the
    /// commands that host one call it first). When a descriptor cannot be duplicated (it is
    /// closed), output to it is dropped.
    pub fn init() -> &'static HostStreams {
        STREAMS.get_or_init(|| {
            let open = |fd: RawFd| duplicate(fd).or_else(|_| File::options().write(true).open("/dev/null"));
            let out = open(1).expect("open /dev/null");
            let err = open(2).expect("open /dev/null");
            let same_destination = matches!((identity(&out), identity(&err)), (Some(a), Some(b)) if a == b);
            let err_fd = err.as_raw_fd();
            HostStreams {
                out: Mutex::new((out, OutputState::default())),
                err: Mutex::new(err),
                same_destination,
                err_fd,
            }
        })
    }

    /// Writes `text` to the output (stdout), remembering a failure.
    pub fn out(&self, text: &str) {
        let mut guard = self.out.lock();
        let (file, state) = &mut *guard;
        if state.closed || state.error.is_some() {
            return;
        }
        if let Err(e) = file.write_all(text.as_bytes()).and_then(|()| file.flush()) {
            if e.kind() == io::ErrorKind::BrokenPipe {
                state.closed = true;
            } else {
                state.error = Some(e);
            }
        }
    }

    /// Writes `text` to the diagnostics (stderr); errors there have nowhere to go.
    pub fn err(&self, text: &str) {
        let mut f = self.err.lock();
        let _ = f.write_all(text.as_bytes()).and_then(|()| f.flush());
    }

    /// Whether stdout and stderr are the same file, pipe or terminal.
    pub fn same_destination(&self) -> bool {
        self.same_destination
    }

    /// The first write error on the output other than a reader that went away.
    pub fn output_error(&self) -> Option<String> {
        self.out.lock().1.error.as_ref().map(|e| e.to_string())
    }

    /// The raw descriptor of the host's stderr, for async-signal-safe writes.
    pub fn err_fd(&self) -> RawFd {
        self.err_fd
    }
}

/// Runs `f` with the process's fd 2 (the JVM's standard error) pointed at `/dev/null`, then puts
/// it back: for a JVM call whose output is known noise (Java 17's four-line warning when a
/// security manager is installed, which the JDK writes to its initial standard error). The
/// host's own stderr is a duplicate and stays as it is.
pub fn with_jvm_stderr_silenced<T>(f: impl FnOnce() -> T) -> T {
    let saved = duplicate(2);
    let null = File::options().write(true).open("/dev/null");
    let redirected = match (&saved, &null) {
        // SAFETY: dup2 onto fd 2 from a descriptor we own; fd 2 stays open throughout.
        (Ok(_), Ok(n)) => (unsafe { libc::dup2(n.as_raw_fd(), 2) }) == 2,
        _ => false,
    };
    let result = f();
    if let (true, Ok(s)) = (redirected, &saved) {
        // SAFETY: as above; restores the original description on fd 2.
        unsafe { libc::dup2(s.as_raw_fd(), 2) };
    }
    result
}

/// Writes a formatted line to the host's stdout.
#[macro_export]
macro_rules! host_println {
    () => { $crate::host::stdio::HostStreams::init().out("\n") };
    ($($arg:tt)*) => { $crate::host::stdio::HostStreams::init().out(&format!("{}\n", format_args!($($arg)*))) };
}

/// Writes a formatted line to the host's stderr.
#[macro_export]
macro_rules! host_eprintln {
    ($($arg:tt)*) => { $crate::host::stdio::HostStreams::init().err(&format!("{}\n", format_args!($($arg)*))) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_outlives_the_original_descriptor() {
        let dir = std::env::temp_dir().join(format!("tmrt-stdio-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.txt");
        let original = File::create(&path).unwrap();
        let dup = duplicate(original.as_raw_fd()).unwrap();
        assert_ne!(dup.as_raw_fd(), original.as_raw_fd());
        assert_eq!(identity(&dup), identity(&original));
        drop(original);
        let mut dup = dup;
        dup.write_all(b"still here\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "still here\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
