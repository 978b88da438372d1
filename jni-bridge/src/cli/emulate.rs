//! `tmrt emulate`: run a job's jars in a TaskManager hosted in this process, round after round,
//! and say whether the job leaks its classloader (metaspace) or misbehaves in its slot.
//!
//! The flow is the host's: derive the TaskManager from the configuration
//! (`runtime::emulator::TaskManagerPlan`), check the input, start the JVM
//! (`host::session::start_taskmanager`), run the rounds with a progress line per round on stderr
//! (`host::session::run_job`), then print the layout, the rounds and the verdict on stdout and
//! write `--report`. Exit status: 0 clean, 3 leak found, 4 task failure, 1 bad input (missing
//! jar, wrong entry class, bad configuration, no JVM), 2 usage error.

pub mod render;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use runtime::config::{Configuration, FlinkVersion};
use runtime::emulator::{TaskManagerPlan, Verdict};
use serde_json::json;

use super::config_args::ConfigArgs;
use crate::host::session::{run_job, start_taskmanager, JobRun, JobSpec};

/// Exit status for bad input.
pub const EXIT_BAD_INPUT: u8 = 1;
/// Exit status when the run found a leak.
pub const EXIT_LEAK: u8 = 3;
/// Exit status when a task failed.
pub const EXIT_TASK_FAILURE: u8 = 4;

#[derive(Debug, Args)]
pub struct EmulateArgs {
    /// A job jar (repeatable): the class path of each round's user-code classloader.
    #[arg(long = "jar", value_name = "PATH", required = true, action = clap::ArgAction::Append)]
    pub jars: Vec<PathBuf>,

    /// The entry class: `public static void main(String[])`, or an implementation of
    /// `dev.tmrt.emulator.Task`.
    #[arg(long, value_name = "CLASS")]
    pub entry: String,

    /// A jar on the TaskManager's own class path (repeatable), like Flink's lib/.
    #[arg(long = "lib", value_name = "PATH", action = clap::ArgAction::Append)]
    pub libs: Vec<PathBuf>,

    #[command(flatten)]
    pub config: ConfigArgs,

    /// Number of slots (overrides taskmanager.numberOfTaskSlots).
    #[arg(long, value_name = "N")]
    pub slots: Option<u32>,

    /// Number of rounds: the job is (re)started this many times.
    #[arg(long, value_name = "R", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub restarts: u32,

    /// Write the whole run as JSON to PATH.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,

    /// How long a slot's task may run; a task still running then is interrupted and reported
    /// (default: no limit).
    #[arg(long = "task-timeout", value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub task_timeout: Option<u64>,

    /// Arguments for the job's main (everything after --args).
    #[arg(long, value_name = "ARG", num_args = 0.., allow_hyphen_values = true, trailing_var_arg = true)]
    pub args: Vec<String>,
}

/// Checks that every path is a readable regular file; the error names the option and path.
pub fn check_files(option: &str, paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    paths
        .iter()
        .map(|p| match std::fs::metadata(p) {
            Ok(m) if m.is_file() => std::fs::canonicalize(p).map_err(|e| format!("{option} {}: {e}", p.display())),
            Ok(_) => Err(format!("{option} {}: not a file", p.display())),
            Err(e) => Err(format!("{option} {}: {e}", p.display())),
        })
        .collect()
}

/// The configuration with the command's overrides applied.
fn configuration(args: &EmulateArgs) -> Result<(Configuration, FlinkVersion), String> {
    let version = args.config.flink_version;
    let mut conf = args.config.load().map_err(|e| e.to_string())?;
    if let Some(n) = args.slots {
        conf.set("taskmanager.numberOfTaskSlots", n.to_string());
    }
    Ok((conf, version))
}

pub fn run(args: EmulateArgs) -> u8 {
    let plan = match configuration(&args)
        .and_then(|(conf, v)| TaskManagerPlan::from_config(&conf, v).map_err(|e| e.to_string()))
    {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    let (jars, libs) = match (check_files("--jar", &args.jars), check_files("--lib", &args.libs)) {
        (Ok(j), Ok(l)) => (j, l),
        (Err(e), _) | (_, Err(e)) => return fail(&e),
    };
    let job = JobSpec {
        jars,
        entry_class: args.entry.clone(),
        args: args.args.clone(),
        rounds: args.restarts,
        task_timeout_secs: args.task_timeout,
    };
    let report_path = args.report.clone();
    on_host_thread(move || emulate(&plan, &libs, &job, report_path.as_deref()))
}

fn fail(message: &str) -> u8 {
    eprintln!("tmrt emulate: {message}");
    EXIT_BAD_INPUT
}

/// Runs `f` on a thread of its own with a large stack: the JVM is created and driven from it,
/// never from the process's primordial thread (which HotSpot does not support well).
pub fn on_host_thread(f: impl FnOnce() -> u8 + Send + 'static) -> u8 {
    let handle = std::thread::Builder::new()
        .name("tmrt-taskmanager".to_string())
        .stack_size(16 << 20)
        .spawn(f);
    match handle.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        Ok(Err(panic)) => {
            eprintln!("tmrt: internal error: {}", crate::ffi::panic_message(&*panic));
            EXIT_TASK_FAILURE
        }
        Err(e) => fail(&format!("cannot start the host thread: {e}")),
    }
}

fn emulate(plan: &TaskManagerPlan, libs: &[PathBuf], job: &JobSpec, report: Option<&Path>) -> u8 {
    let (jvm, took) = match start_taskmanager(plan, libs) {
        Ok(v) => v,
        Err(e) => return fail(&e.to_string()),
    };
    eprintln!(
        "tmrt emulate: JVM started in {} ms ({}); running {} in {} slot(s), {} round(s)",
        took.as_millis(),
        jvm.spec().libjvm.display(),
        job.entry_class,
        plan.slot_managed_bytes.len(),
        job.rounds
    );
    let run = match run_with_progress(&jvm, plan, job) {
        Ok(r) => r,
        Err(code) => return code,
    };
    print!("{}", render::layout(plan, libs.len()));
    println!();
    print_rounds(job, &run);
    println!();
    print!("{}", render::verdict(job, &run));
    let _ = std::io::stdout().flush();
    if let Some(path) = report {
        let doc = report_json(plan, libs, &jvm.spec().all_options(), &[(job, &run)]);
        if let Err(e) = write_report(path, &doc) {
            eprintln!("tmrt emulate: {e}");
            return EXIT_BAD_INPUT;
        }
    }
    exit_code(&run)
}

/// Prints the rounds table on stdout, unless stdout and stderr are the same terminal: there the
/// progress lines already showed every round, and the table would repeat them.
pub fn print_rounds(job: &JobSpec, run: &JobRun) {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() && std::io::stderr().is_terminal() {
        return;
    }
    print!("{}", render::rounds(job, run));
}

/// Runs a job printing a progress line per round on stderr.
pub fn run_with_progress(jvm: &crate::host::HostedJvm, plan: &TaskManagerPlan, job: &JobSpec) -> Result<JobRun, u8> {
    let result = run_job(jvm, plan, job, |r, before| {
        eprintln!("  {}", render::round_line(r, job.rounds, before));
        for (slot, f) in r.failures() {
            eprintln!("    slot {slot}: {}", render::failure(f));
        }
    });
    let run = result.map_err(|e| {
        eprintln!("tmrt emulate: {e}");
        EXIT_TASK_FAILURE
    })?;
    if !run.exit_intercepted {
        eprintln!("tmrt emulate: note: this JVM refuses a security manager, so a job's System.exit would end tmrt");
    }
    Ok(run)
}

/// The exit status of a job's run: the verdict's, and a task failure when the driver itself failed.
pub fn exit_code(run: &JobRun) -> u8 {
    match (run.assessment.verdict, &run.host_error) {
        (Verdict::Clean | Verdict::LeakFound, Some(_)) => EXIT_TASK_FAILURE,
        (v, _) => v.exit_code(),
    }
}

/// The `--report` document: the TaskManager, and per job its spec, rounds, agent report and verdict.
pub fn report_json(
    plan: &TaskManagerPlan,
    libs: &[PathBuf],
    jvm_options: &[String],
    jobs: &[(&JobSpec, &JobRun)],
) -> serde_json::Value {
    let s = &plan.spec;
    json!({
        "tmrt_version": crate::VERSION,
        "flink_version": plan.version.as_str(),
        "taskmanager": {
            "bytes": {
                "framework_heap": s.framework_heap.bytes(),
                "task_heap": s.task_heap.bytes(),
                "framework_off_heap": s.framework_off_heap.bytes(),
                "task_off_heap": s.task_off_heap.bytes(),
                "network": s.network.bytes(),
                "managed": s.managed.bytes(),
                "jvm_metaspace": s.jvm_metaspace.bytes(),
                "jvm_overhead": s.jvm_overhead.bytes(),
                "total_process": s.total_process().bytes(),
                "jvm_heap": s.jvm_heap().bytes(),
                "jvm_direct": s.jvm_direct().bytes(),
            },
            "slot_managed_bytes": plan.slot_managed_bytes,
            "page_size": plan.page_size,
            "resolve_order": plan.classloading.resolve_order.as_str(),
            "parent_first_patterns": plan.classloading.parent_first_patterns,
            "check_leaked_classloader": plan.classloading.check_leaked_classloader,
            "libs": libs,
            "jvm_options": jvm_options,
        },
        "jobs": jobs.iter().map(|(job, run)| json!({
            "job": job,
            "baseline": run.baseline,
            "rounds": run.rounds,
            "rounds_alive": run.rounds_alive,
            "agent": run.agent,
            "host_error": run.host_error,
            "exit_intercepted": run.exit_intercepted,
            "assessment": run.assessment,
            "exit_code": exit_code(run),
        })).collect::<Vec<_>>(),
    })
}

/// Writes the report, pretty-printed.
pub fn write_report(path: &Path, doc: &serde_json::Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(doc).map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("cannot write --report {}: {e}", path.display()))
}
