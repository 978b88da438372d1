//! The `tmrt` command. Each subcommand lives in its own module under `tmrt::cli`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = tmrt::cli::Cli::parse();
    ExitCode::from(tmrt::cli::run(cli))
}
