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

/// Writes a command's output to stdout; a reader that went away (`| head`) ends the output
/// quietly instead of panicking as `print!` does on a broken pipe.
pub(crate) fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
