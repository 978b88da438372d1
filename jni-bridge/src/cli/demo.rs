//! `tmrt demo`: the emulator on the example jobs built with tmrt, in a TaskManager with Flink's
//! default configuration (`taskmanager.memory.process.size: 1728m`) and two slots.
//!
//! All jobs run in the same TaskManager, one after the other, as in a session cluster. First the
//! two plain jobs, which need nothing but tmrt: `clean-job` (sorts in managed memory and cleans
//! up), then `leaky-job` (leaves a thread running and an entry in a cache held by a class of the
//! TaskManager's class path, `demo-lib.jar`). Then, when a Flink distribution is available
//! (`FLINK_HOME`, or `.flink/VERSION` from `scripts/fetch-flink.sh`, 1.20.3 preferred), two real
//! Flink jobs in Flink's own MiniCluster: `flink-clean-job` and `flink-leaky-job` (its map
//! function starts a thread that never ends). The jars are found in `examples/` next to
//! `tmrt.jar` (`target/java/examples/`).
//!
//! Exit status: 0 when the verdicts are the expected ones (clean jobs: no leak; leaky jobs: leak
//! found), 1 when the examples or a JVM are missing, 4 when a verdict is not the expected one.

use std::path::{Path, PathBuf};

use clap::Args;
use runtime::config::{Configuration, FlinkVersion};
use runtime::emulator::{SessionOptions, TaskManagerPlan, Verdict};

use super::emulate::{self, checks, render, FlinkMode, Prepared, RuntimeChoice, EXIT_BAD_INPUT, EXIT_TASK_FAILURE};
use crate::host::find_jar;
use crate::host::flink::{find_flink_home, FlinkDistribution, RunDir};
use crate::host::session::{start_taskmanager, JobRun, JobSpec, JvmSetup};
use crate::host::stdio::HostStreams;
use crate::host::SessionDriver;
use crate::{host_eprintln, host_println};

/// The configuration the demo's TaskManager starts with.
pub const DEMO_CONFIG: [(&str, &str); 2] = [
    ("taskmanager.memory.process.size", "1728m"),
    ("taskmanager.numberOfTaskSlots", "2"),
];

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Rounds per plain job.
    #[arg(long, value_name = "R", default_value_t = 5, value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub restarts: u32,

    /// Submissions per real Flink job.
    #[arg(long = "flink-restarts", value_name = "R", default_value_t = 2, value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub flink_restarts: u32,

    /// Skip the real Flink jobs even when a Flink distribution is available.
    #[arg(long = "no-flink")]
    pub no_flink: bool,

    /// Write every run as JSON to PATH.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,

    /// Write every run as one self-contained HTML page to PATH.
    #[arg(long = "report-html", value_name = "PATH")]
    pub report_html: Option<PathBuf>,
}

/// The example jars.
struct Examples {
    lib: PathBuf,
    clean: PathBuf,
    leaky: PathBuf,
    flink_clean: PathBuf,
    flink_leaky: PathBuf,
}

fn examples() -> Result<(Examples, PathBuf), String> {
    let jar = find_jar().map_err(|e| e.to_string())?;
    let dir = jar.parent().unwrap_or(Path::new(".")).join("examples");
    let names = [
        "demo-lib.jar",
        "clean-job.jar",
        "leaky-job.jar",
        "flink-clean-job.jar",
        "flink-leaky-job.jar",
    ];
    let paths: Vec<PathBuf> = names
        .iter()
        .map(|n| checks::jar("example", &dir.join(n)))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{e} (build the examples with `cargo build --release`)"))?;
    Ok((
        Examples {
            lib: paths[0].clone(),
            clean: paths[1].clone(),
            leaky: paths[2].clone(),
            flink_clean: paths[3].clone(),
            flink_leaky: paths[4].clone(),
        },
        jar,
    ))
}

/// Where a checkout keeps `.flink/`: the working directory, and the checkout `tmrt.jar` was built
/// in (`target/java/tmrt.jar` → the checkout).
fn flink_bases(tmrt_jar: &Path) -> Vec<PathBuf> {
    let mut bases: Vec<PathBuf> = std::env::current_dir().into_iter().collect();
    bases.extend(tmrt_jar.ancestors().nth(3).map(Path::to_path_buf));
    bases
}

fn job(jar: &Path, entry: &str, rounds: u32) -> JobSpec {
    JobSpec {
        jars: vec![jar.to_path_buf()],
        entry_class: entry.to_string(),
        entry_from_manifest: false,
        args: Vec::new(),
        rounds,
        task_timeout_secs: None,
    }
}

pub fn run(args: DemoArgs) -> u8 {
    HostStreams::init();
    match prepare(&args) {
        Ok((prepared, plain_jobs, flink_jobs)) => {
            emulate::on_host_thread(move || demo(prepared, plain_jobs, flink_jobs))
        }
        Err(e) => fail(&e),
    }
}

type Jobs = Vec<JobSpec>;

fn prepare(args: &DemoArgs) -> Result<(Prepared, Jobs, Jobs), String> {
    let (ex, tmrt_jar) = examples()?;
    for (option, path) in [("--report", &args.report), ("--report-html", &args.report_html)] {
        if let Some(p) = path {
            checks::writable(option, p)?;
        }
    }
    let dist: Option<FlinkDistribution> = if args.no_flink {
        None
    } else {
        let env = std::env::var_os("FLINK_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        find_flink_home(env, &flink_bases(&tmrt_jar))
    };
    let line = dist.as_ref().map_or(FlinkVersion::default(), |d| d.line);
    let conf = Configuration::from_pairs(DEMO_CONFIG);
    let plan = TaskManagerPlan::from_config(&conf, line).map_err(|e| e.to_string())?;
    let plain_jobs = vec![
        job(&ex.clean, "example.cleanjob.CleanJob", args.restarts),
        job(&ex.leaky, "example.leakyjob.LeakyJob", args.restarts),
    ];
    let mut setup = JvmSetup {
        class_path: vec![ex.lib.clone()],
        options: Vec::new(),
        agent_runtime: None,
        command: "tmrt demo".to_string(),
    };
    let (flink, flink_jobs) = match dist {
        None => (None, Vec::new()),
        Some(dist) => {
            let session_plan = TaskManagerPlan::for_flink_session(&conf, line).map_err(|e| e.to_string())?;
            let run_dir = RunDir::create().map_err(|e| format!("cannot create the run's directory: {e}"))?;
            let session = SessionOptions::from_plan(&session_plan, &run_dir.path).map_err(|e| e.to_string())?;
            let mut class_path = dist.lib_jars.clone();
            class_path.push(ex.lib.clone());
            setup.class_path = class_path;
            setup.options = run_dir.logging_options(&dist)?;
            let jobs = vec![
                job(&ex.flink_clean, "example.flinkjob.CleanFlinkJob", args.flink_restarts),
                job(&ex.flink_leaky, "example.flinkjob.LeakyFlinkJob", args.flink_restarts),
            ];
            let mode = FlinkMode {
                dist,
                source: "FLINK_HOME or .flink/",
                runtime: RuntimeChoice::Flink,
                session,
                run_dir,
                duplicates: None,
            };
            (Some(mode), jobs)
        }
    };
    let prepared = Prepared {
        job: plain_jobs[0].clone(),
        libs: vec![ex.lib],
        notes: Vec::new(),
        setup,
        flink,
        plan,
        report: args.report.clone(),
        report_html: args.report_html.clone(),
    };
    Ok((prepared, plain_jobs, flink_jobs))
}

fn fail(message: &str) -> u8 {
    host_eprintln!("tmrt demo: {message}");
    EXIT_BAD_INPUT
}

fn print_job(job: &JobSpec) {
    host_println!();
    host_println!(
        "== {} ({})",
        job.entry_class,
        job.jars[0].file_name().unwrap_or_default().to_string_lossy()
    );
}

fn demo(p: Prepared, plain_jobs: Jobs, flink_jobs: Jobs) -> u8 {
    let plan = &p.plan;
    let (jvm, took) = match start_taskmanager(plan, &p.setup) {
        Ok(v) => v,
        Err(e) => {
            crate::host::guard::done();
            return fail(&e.to_string());
        }
    };
    host_println!("tmrt demo: Flink's default TaskManager (taskmanager.memory.process.size: 1728m) with 2 slots,");
    host_println!(
        "hosted in this process (JVM started in {} ms), running two jobs {} times each.",
        took.as_millis(),
        plain_jobs[0].rounds
    );
    host_println!();
    let user_code = format!(
        "{} classloader, {} parent-first patterns; parent class path: 1 --lib jar(s) + tmrt.jar{}",
        plan.classloading.resolve_order,
        plan.classloading.parent_first_patterns.len(),
        p.flink
            .as_ref()
            .map(|f| format!(" (and Flink {}'s lib/ for the Flink jobs)", f.dist.version))
            .unwrap_or_default()
    );
    HostStreams::init().out(&render::layout(plan, &user_code));
    let mut runs: Vec<(JobSpec, JobRun)> = Vec::new();
    for job in &plain_jobs {
        print_job(job);
        let driver = match SessionDriver::plain(&jvm, &emulate::plain_settings(plan, job)) {
            Ok(d) => d,
            Err(e) => return fail(&e.to_string()),
        };
        let run = emulate::run_with_progress(&driver, job, false);
        emulate::print_rounds(job, &run);
        HostStreams::init().out(&render::verdict(job, &run));
        runs.push((job.clone(), run));
    }
    match &p.flink {
        Some(f) => {
            host_println!();
            host_println!(
                "== Real Flink jobs: Flink {} from {}, in Flink's own MiniCluster, each submitted {} times",
                f.dist.version,
                f.dist.home.display(),
                flink_jobs[0].rounds
            );
            let driver = match emulate::start_flink(&jvm, f, plan, None) {
                Ok(d) => d,
                Err(e) => return fail(&e),
            };
            for job in &flink_jobs {
                print_job(job);
                let run = emulate::run_with_progress(&driver, job, true);
                emulate::print_rounds(job, &run);
                HostStreams::init().out(&render::verdict(job, &run));
                runs.push((job.clone(), run));
            }
            let _ = driver.close();
        }
        None => {
            host_println!();
            host_println!("(No Flink distribution found: set FLINK_HOME, or run scripts/fetch-flink.sh 1.20.3, to also run two real Flink jobs.)");
        }
    }
    let expected = [Verdict::Clean, Verdict::LeakFound];
    let as_expected = runs
        .iter()
        .enumerate()
        .all(|(i, (_, r))| r.assessment.verdict == expected[i % 2]);
    let all_ok = !runs
        .iter()
        .any(|(_, r)| !matches!(r.assessment.verdict, Verdict::Clean | Verdict::LeakFound));
    if let Some(f) = &p.flink {
        f.run_dir.remove(!all_ok);
    }
    let pairs: Vec<(&JobSpec, &JobRun)> = runs.iter().map(|(j, r)| (j, r)).collect();
    let doc = emulate::report::document(&p, &jvm.spec().all_options(), &pairs);
    let written = write(&p, &doc);
    host_println!();
    let code = if as_expected {
        let flink = p
            .flink
            .as_ref()
            .map(|f| {
                format!(
                    " With real Flink {}: flink-clean-job does not leak and flink-leaky-job does.",
                    f.dist.version
                )
            })
            .unwrap_or_default();
        host_println!("demo: as expected, clean-job does not leak and leaky-job does.{flink}");
        0
    } else {
        host_println!("demo: UNEXPECTED verdicts (expected: each clean job no leak, each leaky job a leak).");
        EXIT_TASK_FAILURE
    };
    emulate::conclude(written.map(|()| code))
}

fn write(p: &Prepared, doc: &serde_json::Value) -> Result<(), String> {
    if let Some(path) = &p.report {
        emulate::report::write_json(path, doc).map_err(|e| format!("cannot write --report {}: {e}", path.display()))?;
    }
    if let Some(path) = &p.report_html {
        std::fs::write(path, emulate::html::render(doc))
            .map_err(|e| format!("cannot write --report-html {}: {e}", path.display()))?;
    }
    Ok(())
}
