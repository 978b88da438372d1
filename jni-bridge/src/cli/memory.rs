//! `tmrt memory`: a TaskManager's memory layout, derived by `runtime::memory` exactly as Flink
//! derives it, rendered as Flink's breakdown with notes (`text`), as one JSON object (`json`), or
//! as the two lines `BashJavaUtils GET_TM_RESOURCE_PARAMS` prints for `bin/config.sh` (`bash`).
//! `--compare A,B` renders one configuration under two Flink lines side by side.
//!
//! This module only loads the configuration, calls the model and renders its values; the
//! renderers live in `memory/{text,json,compare}.rs`. Exit status: 0 success, 1 configuration
//! error (the message is Flink's) or stdout not writable (one line on stderr; a reader that went
//! away ends the output quietly), 2 usage error.

mod compare;
mod json;
mod text;

use clap::{Args, ValueEnum};
use runtime::config::{Configuration, FlinkVersion};
use runtime::memory::{
    local_spec_from_config, process_spec_from_config_with_env, LocalExecutionSpec, MemoryConfigError,
    TaskExecutorProcessSpec, LEGACY_HEAP_ENV,
};

use super::config_args::{parse_version, ConfigArgs};
use super::emit;

/// Output format of `tmrt memory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Flink's memory breakdown plus how each component was determined.
    Text,
    /// One JSON object (the conformance vectors' field names).
    Json,
    /// The two `BASH_JAVA_UTILS_EXEC_RESULT:` lines `bin/config.sh` reads.
    Bash,
}

#[derive(Debug, Args)]
pub struct MemoryArgs {
    #[command(flatten)]
    pub config: ConfigArgs,

    /// Derive for local execution (a MiniCluster's TaskExecutor) instead of a standalone TaskManager.
    #[arg(long)]
    pub local: bool,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,

    /// Derive under two Flink versions side by side, e.g. --compare 1.13,2.2.
    #[arg(long, value_name = "A,B", value_parser = parse_pair, conflicts_with = "flink_version")]
    pub compare: Option<(FlinkVersion, FlinkVersion)>,
}

fn parse_pair(s: &str) -> Result<(FlinkVersion, FlinkVersion), String> {
    let (a, b) = s
        .split_once(',')
        .ok_or_else(|| format!("expected two versions separated by a comma, e.g. 1.13,2.2 (got '{s}')"))?;
    Ok((parse_version(a)?, parse_version(b)?))
}

/// What one derivation gave: a spec of either mode, or Flink's refusal.
pub(crate) enum Outcome {
    Cluster(TaskExecutorProcessSpec),
    Local(LocalExecutionSpec),
    Failed(String),
}

/// Loads the configuration for `version` and derives.
pub(crate) fn derive(args: &MemoryArgs, version: FlinkVersion) -> (Option<Configuration>, Outcome) {
    let conf = match args.config.load_for(version) {
        Ok(c) => c,
        Err(e) => return (None, Outcome::Failed(e.to_string())),
    };
    let outcome = if args.local {
        match local_spec_from_config(&conf, version) {
            Ok(spec) => Outcome::Local(spec),
            Err(e) => Outcome::Failed(error_text(&e)),
        }
    } else {
        let env = std::env::var(LEGACY_HEAP_ENV).ok();
        match process_spec_from_config_with_env(&conf, version, env.as_deref()) {
            Ok(spec) => Outcome::Cluster(spec),
            Err(e) => Outcome::Failed(error_text(&e)),
        }
    };
    (Some(conf), outcome)
}

/// Flink's message; for a conflict whose root cause is a bare check, the cause too.
fn error_text(e: &MemoryConfigError) -> String {
    let text = e.to_string();
    if e.is_conflict() && e.root_message() != text {
        format!("{text}: {}", e.root_message())
    } else {
        text
    }
}

const COMMAND: &str = "tmrt memory";

fn usage_error(message: &str) -> u8 {
    eprintln!("error: {message}\n\nFor more information, try '--help'.");
    2
}

pub fn run(args: MemoryArgs) -> u8 {
    if args.format == Format::Bash && args.local {
        return usage_error(
            "--format bash prints a standalone TaskManager's JVM parameters; it cannot be combined with --local",
        );
    }
    if let Some((a, b)) = args.compare {
        if args.format == Format::Bash {
            return usage_error("--format bash cannot be combined with --compare");
        }
        let left = derive(&args, a);
        let right = derive(&args, b);
        let ok = !matches!(left.1, Outcome::Failed(_)) && !matches!(right.1, Outcome::Failed(_));
        let out = match args.format {
            Format::Json => json::compare(a, &left.1, b, &right.1),
            _ => compare::render(a, &left, b, &right),
        };
        if let Err(e) = emit(&out) {
            return e.report(COMMAND);
        }
        return if ok { 0 } else { 1 };
    }
    let version = args.config.flink_version;
    let (conf, outcome) = derive(&args, version);
    let written = match (args.format, &outcome) {
        (Format::Json, _) => emit(&format!("{}\n", json::outcome(&outcome))),
        (Format::Bash, Outcome::Cluster(spec)) => emit(&format!(
            "BASH_JAVA_UTILS_EXEC_RESULT:{}\nBASH_JAVA_UTILS_EXEC_RESULT:{}\n",
            spec.jvm_params(),
            spec.dynamic_configs()
        )),
        (_, Outcome::Failed(message)) => {
            eprintln!("{COMMAND}: {message}");
            Ok(())
        }
        (_, Outcome::Cluster(spec)) => emit(&text::cluster(spec, conf.as_ref())),
        (_, Outcome::Local(spec)) => emit(&text::local(spec, conf.as_ref())),
    };
    if let Err(e) = written {
        return e.report(COMMAND);
    }
    match outcome {
        Outcome::Failed(_) => 1,
        _ => 0,
    }
}
