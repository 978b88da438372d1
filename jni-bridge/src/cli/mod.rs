//! The `tmrt` command line: one module per subcommand, each rendering what `runtime` computes.
//!
//! Exit statuses are shared across subcommands: 0 success, 1 bad input or configuration error,
//! 2 usage error (clap's own), and subcommand-specific statuses documented on each.

pub mod classpath;
pub mod config_args;
pub mod demo;
pub mod emulate;
pub mod memory;

use clap::{Parser, Subcommand};

/// tmrt: a TaskManager runtime for Apache Flink.
#[derive(Debug, Parser)]
#[command(name = "tmrt", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Derive a TaskManager's memory layout exactly as Flink does.
    Memory(memory::MemoryArgs),
    /// Find classes shared by Flink's lib/ and a job's jars, and which copy Flink's user-code
    /// classloader picks (exit status 3 when there are conflicts).
    Classpath(classpath::ClasspathArgs),
    /// Run a job's jars in a TaskManager hosted in this process, round after round, and find
    /// classloader (metaspace) leaks and slot misbehaviour. Exit: 0 clean, 3 leak, 4 task failure, 1 bad input.
    Emulate(emulate::EmulateArgs),
    /// The emulator on two bundled example jobs (one clean, one leaking) in Flink's default TaskManager.
    Demo(demo::DemoArgs),
}

/// Runs a parsed command line and returns the exit status.
pub fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Memory(args) => memory::run(args),
        Command::Classpath(args) => classpath::run(args),
        Command::Emulate(args) => emulate::run(args),
        Command::Demo(args) => demo::run(args),
    }
}

/// Why a command's output could not be written to stdout (a full disk, `> /dev/full`, a
/// closed descriptor). A reader that went away is not one: see [`emit`].
#[derive(Debug)]
pub(crate) struct OutputError(std::io::Error);

/// Exit status when stdout cannot be written: the output a caller (Flink's `config.sh`) would
/// read is missing or cut, so this is never success.
pub const EXIT_OUTPUT_FAILED: u8 = 1;

impl OutputError {
    /// Says so in one line on stderr, and gives the exit status.
    pub(crate) fn report(&self, command: &str) -> u8 {
        eprintln!("{command}: cannot write the output to stdout: {}", self.0);
        EXIT_OUTPUT_FAILED
    }
}

/// Writes a command's output to stdout and flushes it. A reader that went away (`| head`:
/// `EPIPE`, as Rust ignores `SIGPIPE`) ends the output quietly, and later writes are skipped;
/// any other failure is an [`OutputError`] for the command to report, instead of a panic (as
/// `print!` does) or a silent success.
#[must_use = "a failed write must change the exit status"]
pub(crate) fn emit(text: &str) -> Result<(), OutputError> {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    static READER_GONE: AtomicBool = AtomicBool::new(false);
    if READER_GONE.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            READER_GONE.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(OutputError(e)),
    }
}

/// Raises this process's soft limit of open files to its hard limit, as the JVM does at start-up
/// (`-XX:+MaxFDLimit`, on by default): tools that keep many jars open (`tmrt classpath` over a
/// large `lib/`) then work under the usual soft limit of 1,024. Returns the soft limit in effect
/// afterwards (`None` if it cannot be read).
pub fn raise_open_file_limit() -> Option<libc::rlim_t> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit through a valid pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads one rlimit through a valid pointer. Failure (an unlimited hard
        // limit above the kernel's nr_open) leaves the soft limit as it was.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    Some(limit.rlim_cur)
}
