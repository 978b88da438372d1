//! `tmrt demo`: the emulator on the two example jobs built with tmrt, in a TaskManager with
//! Flink's default configuration (`taskmanager.memory.process.size: 1728m`) and two slots.
//!
//! Both jobs run in the same TaskManager, one after the other, as in a session cluster: first
//! `clean-job` (sorts in managed memory and cleans up), then `leaky-job` (leaves a thread running
//! and an entry in a cache held by a class of the TaskManager's class path, `demo-lib.jar`).
//! The jars are found in `examples/` next to `tmrt.jar` (`target/java/examples/`).
//!
//! Exit status: 0 when the verdicts are the expected ones (clean-job: no leak; leaky-job: leak
//! found), 1 when the examples or a JVM are missing, 4 when a verdict is not the expected one.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use runtime::config::{Configuration, FlinkVersion};
use runtime::emulator::{TaskManagerPlan, Verdict};

use super::emulate::{self, render, EXIT_BAD_INPUT, EXIT_TASK_FAILURE};
use crate::host::find_jar;
use crate::host::session::{start_taskmanager, JobRun, JobSpec};

/// The configuration the demo's TaskManager starts with.
pub const DEMO_CONFIG: [(&str, &str); 2] = [
    ("taskmanager.memory.process.size", "1728m"),
    ("taskmanager.numberOfTaskSlots", "2"),
];

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Rounds per job.
    #[arg(long, value_name = "R", default_value_t = 5, value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub restarts: u32,

    /// Write both runs as JSON to PATH.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
}

/// The example jars: `(demo-lib, clean-job, leaky-job)`.
fn example_jars() -> Result<(PathBuf, PathBuf, PathBuf), String> {
    let jar = find_jar().map_err(|e| e.to_string())?;
    let dir = jar.parent().unwrap_or(Path::new(".")).join("examples");
    let names = ["demo-lib.jar", "clean-job.jar", "leaky-job.jar"];
    let paths = emulate::check_files("example", &names.map(|n| dir.join(n)))
        .map_err(|e| format!("{e} (build the examples with `cargo build --release`)"))?;
    Ok((paths[0].clone(), paths[1].clone(), paths[2].clone()))
}

pub fn run(args: DemoArgs) -> u8 {
    let plan = match TaskManagerPlan::from_config(&Configuration::from_pairs(DEMO_CONFIG), FlinkVersion::default()) {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string()),
    };
    let (lib, clean, leaky) = match example_jars() {
        Ok(v) => v,
        Err(e) => return fail(&e),
    };
    let jobs = [
        JobSpec {
            jars: vec![clean],
            entry_class: "example.cleanjob.CleanJob".to_string(),
            args: Vec::new(),
            rounds: args.restarts,
            task_timeout_secs: None,
        },
        JobSpec {
            jars: vec![leaky],
            entry_class: "example.leakyjob.LeakyJob".to_string(),
            args: Vec::new(),
            rounds: args.restarts,
            task_timeout_secs: None,
        },
    ];
    let report = args.report.clone();
    emulate::on_host_thread(move || demo(&plan, &[lib], &jobs, report.as_deref()))
}

fn fail(message: &str) -> u8 {
    eprintln!("tmrt demo: {message}");
    EXIT_BAD_INPUT
}

fn demo(plan: &TaskManagerPlan, libs: &[PathBuf], jobs: &[JobSpec; 2], report: Option<&Path>) -> u8 {
    let (jvm, took) = match start_taskmanager(plan, libs) {
        Ok(v) => v,
        Err(e) => return fail(&e.to_string()),
    };
    println!("tmrt demo: Flink's default TaskManager (taskmanager.memory.process.size: 1728m) with 2 slots,");
    println!(
        "hosted in this process (JVM started in {} ms), running two jobs {} times each.",
        took.as_millis(),
        jobs[0].rounds
    );
    println!();
    print!("{}", render::layout(plan, libs.len()));
    let mut runs: Vec<JobRun> = Vec::new();
    for job in jobs {
        println!();
        println!(
            "== {} ({})",
            job.entry_class,
            job.jars[0].file_name().unwrap_or_default().to_string_lossy()
        );
        let _ = std::io::stdout().flush();
        let run = match emulate::run_with_progress(&jvm, plan, job) {
            Ok(r) => r,
            Err(code) => return code,
        };
        emulate::print_rounds(job, &run);
        print!("{}", render::verdict(job, &run));
        runs.push(run);
    }
    let _ = std::io::stdout().flush();
    if let Some(path) = report {
        let pairs: Vec<(&JobSpec, &JobRun)> = jobs.iter().zip(runs.iter()).collect();
        let doc = emulate::report_json(plan, libs, &jvm.spec().all_options(), &pairs);
        if let Err(e) = emulate::write_report(path, &doc) {
            return fail(&e);
        }
    }
    let expected = [Verdict::Clean, Verdict::LeakFound];
    let as_expected = runs
        .iter()
        .zip(expected)
        .all(|(r, v)| r.assessment.verdict == v && r.host_error.is_none());
    println!();
    if as_expected {
        println!("demo: as expected, clean-job does not leak and leaky-job does.");
        0
    } else {
        println!("demo: UNEXPECTED verdicts (expected: clean-job no leak, leaky-job leak).");
        EXIT_TASK_FAILURE
    }
}
