//! `tmrt emulate`: run a job round after round in a TaskManager hosted in this process, and say
//! whether the job leaks its classloader (metaspace) or misbehaves.
//!
//! Two modes. With a Flink distribution (`--flink-home DIR`, or `FLINK_HOME`), the hosted JVM
//! runs Flink's own MiniCluster from `DIR/lib` and every round submits the job jar as a session
//! cluster receives it (the Flink mode). Without one, the entry class runs in every slot with a
//! fresh tmrt user-code classloader per round (the plain mode, for code that is not a Flink job
//! and for `dev.tmrt.emulator.Task`).
//!
//! The flow is the host's: check every input and derive the TaskManager from the configuration
//! (`runtime::emulator::TaskManagerPlan`) before any JVM exists, print the layout, start the JVM
//! (`host::session::start_taskmanager`), run the rounds with a progress line per round on stderr
//! (`host::session::run_job`), then print the rounds and the verdict on stdout and write
//! `--report`/`--report-html`. Exit status: 0 clean, 3 leak found, 4 task or job failure (also a
//! JVM that crashed or exited under the job), 1 bad input (every input is checked before the JVM
//! starts) or unwritable output, 2 usage error.

pub mod checks;
pub mod html;
pub mod render;
pub mod report;

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use runtime::classload::{analyse, ClasspathReport, JarIndex, DEFAULT_RELEASE};
use runtime::config::{Configuration, FlinkVersion};
use runtime::emulator::{SessionOptions, TaskManagerPlan, Verdict};
use runtime::telemetry::AgentOptions;

use super::config_args::ConfigArgs;
use crate::host::driver::{DriverSettings, FlinkSettings, SessionDriver};
use crate::host::flink::{line_of, FlinkDistribution, RunDir};
use crate::host::session::{run_job, start_taskmanager, JobRun, JobSpec, JvmSetup};
use crate::host::stdio::HostStreams;
use crate::{host_eprintln, host_println};

/// Exit status for bad input.
pub const EXIT_BAD_INPUT: u8 = 1;
/// Exit status when the run found a leak.
pub const EXIT_LEAK: u8 = 3;
/// Exit status when a task or the job failed.
pub const EXIT_TASK_FAILURE: u8 = 4;

/// Whose TaskManager runtime the Flink mode runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuntimeChoice {
    /// Flink's own user-code classloaders and memory manager, as the user's cluster runs them.
    Flink,
    /// tmrt's drop-in runtime (the agent's `runtime=classloading+managed-memory`).
    Tmrt,
}

impl RuntimeChoice {
    /// The agent's `runtime=` value, if any.
    pub fn agent_option(self) -> Option<&'static str> {
        match self {
            RuntimeChoice::Flink => None,
            RuntimeChoice::Tmrt => Some("classloading+managed-memory"),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            RuntimeChoice::Flink => "Flink's own classloaders and memory manager",
            RuntimeChoice::Tmrt => "tmrt's drop-in runtime (classloading + managed memory)",
        }
    }
}

#[derive(Debug, Args)]
pub struct EmulateArgs {
    /// The job jar (Flink mode: one jar, as `flink run` takes it; plain mode, repeatable: the
    /// class path of each round's user-code classloader).
    #[arg(long = "jar", value_name = "PATH", required = true, action = clap::ArgAction::Append)]
    pub jars: Vec<PathBuf>,

    /// The entry class. Flink mode: the job's main class (default: the jar manifest's
    /// Main-Class). Plain mode (required): `public static void main(String[])`, or an
    /// implementation of `dev.tmrt.emulator.Task`.
    #[arg(long, value_name = "CLASS")]
    pub entry: Option<String>,

    /// A Flink distribution (its lib/, and conf/ when present): run the job in Flink's own
    /// MiniCluster, submitted as a session cluster receives it. Default: $FLINK_HOME.
    #[arg(long = "flink-home", value_name = "DIR")]
    pub flink_home: Option<PathBuf>,

    /// Flink mode: Flink's own runtime (default, what a Flink cluster runs) or tmrt's drop-in
    /// runtime, to compare the two on the same job.
    #[arg(long, value_enum, value_name = "flink|tmrt")]
    pub runtime: Option<RuntimeChoice>,

    /// A jar on the TaskManager's own class path (repeatable), like Flink's lib/ (in the Flink
    /// mode, after the distribution's lib/).
    #[arg(long = "lib", value_name = "PATH", action = clap::ArgAction::Append)]
    pub libs: Vec<PathBuf>,

    #[command(flatten)]
    pub config: ConfigArgs,

    /// Number of slots (overrides taskmanager.numberOfTaskSlots).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub slots: Option<String>,

    /// Number of rounds: the job is (re)started this many times.
    #[arg(long, value_name = "R", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub restarts: u32,

    /// Write the whole run as JSON to PATH.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,

    /// Write the run as one self-contained HTML page (charts, loaders, suspects) to PATH.
    #[arg(long = "report-html", value_name = "PATH")]
    pub report_html: Option<PathBuf>,

    /// How long a slot's task (plain mode) or a job (Flink mode) may run; then it is interrupted
    /// or cancelled and reported (default: no limit).
    #[arg(long = "task-timeout", value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub task_timeout: Option<u64>,

    /// Arguments for the job's main (everything after --args).
    #[arg(long, value_name = "ARG", num_args = 0.., allow_hyphen_values = true, trailing_var_arg = true)]
    pub args: Vec<String>,
}

/// A Flink session, prepared before the JVM starts.
pub struct FlinkMode {
    pub dist: FlinkDistribution,
    /// Where the distribution came from: `--flink-home` or `FLINK_HOME`.
    pub source: &'static str,
    pub runtime: RuntimeChoice,
    pub session: SessionOptions,
    pub run_dir: RunDir,
    /// Classes of the job jar also in lib/ (static analysis of the jars).
    pub duplicates: Option<ClasspathReport>,
}

/// Everything a run needs, checked.
pub struct Prepared {
    pub plan: TaskManagerPlan,
    pub job: JobSpec,
    pub setup: JvmSetup,
    /// The `--lib` jars.
    pub libs: Vec<PathBuf>,
    pub flink: Option<FlinkMode>,
    pub notes: Vec<String>,
    pub report: Option<PathBuf>,
    pub report_html: Option<PathBuf>,
}

/// The Flink distribution to use: `--flink-home`, else a non-empty `FLINK_HOME`.
fn flink_home(args: &EmulateArgs) -> Option<(PathBuf, &'static str)> {
    if let Some(h) = &args.flink_home {
        return Some((h.clone(), "--flink-home"));
    }
    std::env::var_os("FLINK_HOME")
        .filter(|v| !v.is_empty())
        .map(|v| (PathBuf::from(v), "FLINK_HOME"))
}

/// Checks every input and derives the run, before any JVM exists.
pub fn prepare(args: &EmulateArgs) -> Result<Prepared, String> {
    let slots = args.slots.as_deref().map(checks::slots).transpose()?;
    let libs = checks::jars("--lib", &args.libs)?;
    for (option, path) in [("--report", &args.report), ("--report-html", &args.report_html)] {
        if let Some(p) = path {
            checks::writable(option, p)?;
        }
    }
    let with_slots = |mut conf: Configuration| {
        if let Some(n) = slots {
            conf.set("taskmanager.numberOfTaskSlots", n.to_string());
        }
        conf
    };
    let machine = crate::host::machine::machine_memory();
    let fits = |plan: &TaskManagerPlan| match &machine {
        Some(m) => plan.check_fits(m).map_err(|e| e.to_string()),
        None => Ok(()),
    };
    let timeout = args.task_timeout;
    match flink_home(args) {
        None => {
            let entry = args.entry.clone().ok_or(
                "--entry is required without a Flink distribution (--flink-home DIR or FLINK_HOME runs a Flink job from its jar's manifest)",
            )?;
            if args.runtime.is_some() {
                return Err("--runtime needs a Flink distribution (--flink-home DIR or FLINK_HOME): the plain mode always runs tmrt's classloaders".to_string());
            }
            let jars = checks::jars("--jar", &args.jars)?;
            let conf = with_slots(args.config.load().map_err(|e| e.to_string())?);
            let plan = TaskManagerPlan::from_config(&conf, args.config.flink_version).map_err(|e| e.to_string())?;
            fits(&plan)?;
            Ok(Prepared {
                notes: render::defaults(&plan).into_iter().collect(),
                job: JobSpec {
                    jars,
                    entry_class: entry,
                    entry_from_manifest: false,
                    args: args.args.clone(),
                    rounds: args.restarts,
                    task_timeout_secs: timeout,
                },
                setup: JvmSetup {
                    class_path: libs.clone(),
                    options: Vec::new(),
                    agent_runtime: None,
                    command: "tmrt emulate".to_string(),
                },
                libs,
                flink: None,
                plan,
                report: args.report.clone(),
                report_html: args.report_html.clone(),
            })
        }
        Some((home, source)) => {
            let dist = FlinkDistribution::open(&home).map_err(|e| format!("{source} {e}"))?;
            prepare_flink(args, dist, source, libs, slots, &fits)
        }
    }
}

fn prepare_flink(
    args: &EmulateArgs,
    dist: FlinkDistribution,
    source: &'static str,
    libs: Vec<PathBuf>,
    slots: Option<u32>,
    fits: &dyn Fn(&TaskManagerPlan) -> Result<(), String>,
) -> Result<Prepared, String> {
    let mut notes = Vec::new();
    let given = args.config.flink_version;
    if given != FlinkVersion::default() && given != dist.line {
        return Err(format!(
            "--flink-version {given} does not match the distribution at {} (Flink {})",
            dist.home.display(),
            dist.version
        ));
    }
    if let (_, Some(note)) = line_of(&dist.version).map_err(|e| e.to_string())? {
        notes.push(note);
    }
    let [jar] = &args.jars[..] else {
        return Err(format!(
            "the Flink mode takes one job jar (--jar), as `flink run` does; got {}",
            args.jars.len()
        ));
    };
    let jar = checks::jar("--jar", jar)?;
    let runtime = args.runtime.unwrap_or(RuntimeChoice::Flink);
    if let Some(opt) = runtime.agent_option() {
        AgentOptions::parse(Some(&format!("runtime={opt}")))
            .map_err(|e| format!("--runtime tmrt: this build's agent does not take runtime={opt} ({e})"))?;
    }
    let mut config = args.config.clone();
    if config.conf_dir().is_none() {
        config.conf_dir = dist.conf_dir.clone();
    }
    config.flink_version = dist.line;
    let mut conf = config.load().map_err(|e| e.to_string())?;
    if let Some(n) = slots {
        conf.set("taskmanager.numberOfTaskSlots", n.to_string());
    }
    let plan = TaskManagerPlan::for_flink_session(&conf, dist.line).map_err(|e| e.to_string())?;
    fits(&plan)?;
    notes.extend(render::defaults(&plan));
    let mut parent_jars = dist.lib_jars.clone();
    parent_jars.extend(libs.iter().cloned());
    let parent =
        JarIndex::open(&parent_jars, DEFAULT_RELEASE).map_err(|e| format!("{}: {}", e.jar.display(), e.message))?;
    let entry = checks::flink_entry(&jar, args.entry.as_deref(), Some(&parent))?;
    let user = JarIndex::open(std::slice::from_ref(&jar), DEFAULT_RELEASE)
        .map_err(|e| format!("--jar {}: {}", jar.display(), e.message))?;
    let duplicates = analyse(&plan.classloading, &parent, &user).ok();
    let run_dir = RunDir::create().map_err(|e| format!("cannot create the run's directory: {e}"))?;
    let session = SessionOptions::from_plan(&plan, &run_dir.path).map_err(|e| e.to_string())?;
    let mut class_path = dist.lib_jars.clone();
    class_path.extend(libs.iter().cloned());
    let setup = JvmSetup {
        class_path,
        options: run_dir.logging_options(&dist)?,
        agent_runtime: runtime.agent_option().map(str::to_string),
        command: "tmrt emulate".to_string(),
    };
    Ok(Prepared {
        job: JobSpec {
            jars: vec![jar],
            entry_class: entry,
            entry_from_manifest: args.entry.is_none(),
            args: args.args.clone(),
            rounds: args.restarts,
            task_timeout_secs: args.task_timeout,
        },
        setup,
        libs,
        notes,
        plan,
        flink: Some(FlinkMode {
            dist,
            source,
            runtime,
            session,
            run_dir,
            duplicates,
        }),
        report: args.report.clone(),
        report_html: args.report_html.clone(),
    })
}

pub fn run(args: EmulateArgs) -> u8 {
    HostStreams::init();
    match prepare(&args) {
        Ok(p) => on_host_thread(move || emulate(p)),
        Err(e) => fail(&e),
    }
}

fn fail(message: &str) -> u8 {
    host_eprintln!("tmrt emulate: {message}");
    EXIT_BAD_INPUT
}

/// Runs `f` on a thread of its own with a large stack: the JVM is created and driven from it,
/// never from the process's primordial thread (which HotSpot does not support well). When it
/// returns, tmrt ends the process itself (the JVM hooks stay quiet).
pub fn on_host_thread(f: impl FnOnce() -> u8 + Send + 'static) -> u8 {
    let handle = std::thread::Builder::new()
        .name("tmrt-taskmanager".to_string())
        .stack_size(16 << 20)
        .spawn(f);
    let code = match handle.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        Ok(Err(panic)) => {
            host_eprintln!("tmrt: internal error: {}", crate::ffi::panic_message(&*panic));
            EXIT_TASK_FAILURE
        }
        Err(e) => fail(&format!("cannot start the host thread: {e}")),
    };
    crate::host::guard::done();
    code
}

/// The user-code line of the layout.
fn user_code_line(plan: &TaskManagerPlan, p: &Prepared) -> String {
    let c = &plan.classloading;
    match &p.flink {
        Some(f) => format!(
            "Flink's {} classloader per job, from the blob store ({} parent-first patterns); parent class path: {}/lib ({} jars){}",
            c.resolve_order,
            c.parent_first_patterns.len(),
            f.dist.home.display(),
            f.dist.lib_jars.len(),
            if p.libs.is_empty() { String::new() } else { format!(" + {} --lib jar(s)", p.libs.len()) }
        ),
        None => format!(
            "{} classloader, {} parent-first patterns; parent class path: {} --lib jar(s) + tmrt.jar",
            c.resolve_order,
            c.parent_first_patterns.len(),
            p.libs.len()
        ),
    }
}

/// The static duplicate-class finding, in a few lines.
pub fn duplicates_text(d: &ClasspathReport) -> Option<String> {
    if d.conflicts.is_empty() {
        return None;
    }
    let mut out = format!(
        "duplicate classes: {} class(es) of the job jar are also in the TaskManager's class path:\n",
        d.conflicting_classes()
    );
    for g in d.conflicts.iter().take(5) {
        let name = |p: &Path| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let sample: Vec<&str> = g.classes.iter().take(3).map(String::as_str).collect();
        let more = g.classes.len().saturating_sub(sample.len());
        out.push_str(&format!(
            "  {}{} in {} and {}: {} copy wins ({}); {}\n",
            sample.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            },
            name(&g.first_jar),
            name(&g.second_jar),
            name(&g.winning_jar),
            match &g.reason {
                runtime::classload::WinReason::ParentFirstPattern { pattern } =>
                    format!("parent-first pattern {pattern}"),
                runtime::classload::WinReason::ChildFirst => "child-first".to_string(),
                runtime::classload::WinReason::ParentFirstOrder => "parent-first resolve order".to_string(),
                runtime::classload::WinReason::ClasspathOrder => "class path order".to_string(),
            },
            g.symptom.description()
        ));
    }
    if d.conflicts.len() > 5 {
        out.push_str(&format!(
            "  … and {} more group(s) (tmrt classpath shows all)\n",
            d.conflicts.len() - 5
        ));
    }
    Some(out)
}

fn emulate(p: Prepared) -> u8 {
    let plan = &p.plan;
    match &p.flink {
        Some(f) => host_println!(
            "tmrt emulate: Flink {} session (Flink's own MiniCluster) from {} ({}), {}; {} submission(s) of {}",
            f.dist.version,
            f.dist.home.display(),
            f.source,
            f.runtime.describe(),
            p.job.rounds,
            p.job.entry_class
        ),
        None => host_println!(
            "tmrt emulate: {} in every slot of a TaskManager hosted in this process, {} round(s) (plain mode: no Flink distribution)",
            p.job.entry_class,
            p.job.rounds
        ),
    }
    for n in &p.notes {
        host_println!("{n}");
    }
    host_println!();
    HostStreams::init().out(&render::layout(plan, &user_code_line(plan, &p)));
    if let Some(d) = p
        .flink
        .as_ref()
        .and_then(|f| f.duplicates.as_ref())
        .and_then(duplicates_text)
    {
        host_println!();
        HostStreams::init().out(&d);
    }
    let (jvm, took) = match start_taskmanager(plan, &p.setup) {
        Ok(v) => v,
        Err(e) => {
            crate::host::guard::done();
            return finish_without_run(&p, &format!("the JVM did not start: {e}"));
        }
    };
    host_eprintln!(
        "tmrt emulate: JVM started in {} ms ({})",
        took.as_millis(),
        jvm.spec().libjvm.display()
    );
    let driver = match &p.flink {
        Some(f) => start_flink(&jvm, f, plan, p.job.task_timeout_secs),
        None => SessionDriver::plain(&jvm, &plain_settings(plan, &p.job)).map_err(|e| e.to_string()),
    };
    let driver = match driver {
        Ok(d) => d,
        Err(e) => return finish_without_run(&p, &e),
    };
    host_println!();
    host_println!("== {} ({})", p.job.entry_class, jar_names(&p.job));
    let run = run_with_progress(&driver, &p.job, p.flink.is_some());
    print_rounds(&p.job, &run);
    HostStreams::init().out(&render::verdict(&p.job, &run));
    if p.flink.is_some() {
        let _ = driver.close();
    }
    let failed = !matches!(run.assessment.verdict, Verdict::Clean | Verdict::LeakFound);
    if let Some(f) = &p.flink {
        f.run_dir.remove(failed);
        if failed {
            host_println!("  Flink's log of this run: {}", f.run_dir.log_file().display());
        }
    }
    let doc = report::document(&p, &jvm.spec().all_options(), &[(&p.job, &run)]);
    let written = write_reports(&p, &doc);
    conclude(written.and(Ok(exit_code(&run))))
}

/// The exit status, or 1 with one line when the output could not be written.
pub fn conclude(result: Result<u8, String>) -> u8 {
    let streams = HostStreams::init();
    if let Some(e) = streams.output_error() {
        streams.err(&format!("tmrt: cannot write the output: {e}\n"));
        return EXIT_BAD_INPUT;
    }
    match result {
        Ok(code) => code,
        Err(e) => {
            streams.err(&format!("tmrt emulate: {e}\n"));
            EXIT_BAD_INPUT
        }
    }
}

/// When the JVM or the session did not start: the reason, the run directory removed, status 1.
fn finish_without_run(p: &Prepared, message: &str) -> u8 {
    if let Some(f) = &p.flink {
        f.run_dir.remove(true);
        host_eprintln!(
            "tmrt emulate: {message} (Flink's log: {})",
            f.run_dir.log_file().display()
        );
    } else {
        host_eprintln!("tmrt emulate: {message}");
    }
    conclude(Ok(EXIT_BAD_INPUT))
}

fn jar_names(job: &JobSpec) -> String {
    let names: Vec<String> = job
        .jars
        .iter()
        .map(|j| j.file_name().unwrap_or_default().to_string_lossy().into_owned())
        .collect();
    names.join(", ")
}

/// The plain mode's driver settings.
pub fn plain_settings(plan: &TaskManagerPlan, job: &JobSpec) -> DriverSettings {
    DriverSettings {
        resolve_order: plan.classloading.resolve_order.as_str().to_string(),
        parent_first_patterns: plan.classloading.parent_first_patterns.clone(),
        check_leaked_classloader: plan.classloading.check_leaked_classloader,
        jars: job.jars.clone(),
        entry_class: job.entry_class.clone(),
        args: job.args.clone(),
        slot_bytes: plan.slot_managed_bytes.clone(),
        page_size: u32::try_from(plan.page_size).unwrap_or(u32::MAX),
        task_timeout_millis: job.task_timeout_secs.map_or(0, |s| s.saturating_mul(1000)),
    }
}

/// Starts Flink's MiniCluster in the JVM.
pub fn start_flink<'j>(
    jvm: &'j crate::host::HostedJvm,
    f: &FlinkMode,
    plan: &TaskManagerPlan,
    timeout_secs: Option<u64>,
) -> Result<SessionDriver<'j>, String> {
    let t = Instant::now();
    let settings = FlinkSettings {
        options: f
            .session
            .options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        slots: plan.slot_managed_bytes.len() as u32,
        parallelism: f.session.parallelism,
        job_timeout_millis: timeout_secs.map_or(0, |s| s.saturating_mul(1000)),
    };
    let driver = SessionDriver::flink(jvm, &settings)
        .map_err(|e| format!("Flink's MiniCluster did not start from {}: {e}", f.dist.home.display()))?;
    let version = driver.flink_version().unwrap_or_default();
    host_eprintln!(
        "tmrt emulate: Flink {version} MiniCluster started in {} ms (log: {})",
        t.elapsed().as_millis(),
        f.run_dir.log_file().display()
    );
    if version != f.dist.version {
        host_eprintln!(
            "tmrt emulate: note: the distribution's flink-dist says {}, its classes say {version}",
            f.dist.version
        );
    }
    Ok(driver)
}

/// Prints the rounds table on stdout, unless stdout and stderr are the same file, pipe or
/// terminal: there the progress lines already showed every round.
pub fn print_rounds(job: &JobSpec, run: &JobRun) {
    let streams = HostStreams::init();
    if streams.same_destination() {
        return;
    }
    streams.out(&render::rounds(job, run));
}

/// Runs a job printing a progress line per round on stderr.
pub fn run_with_progress(driver: &SessionDriver<'_>, job: &JobSpec, flink: bool) -> JobRun {
    let run = run_job(driver, job, flink, |r, before| {
        host_eprintln!("  {}", render::round_line(r, job.rounds, before));
        for (slot, f) in r.failures() {
            match slot {
                Some(s) => host_eprintln!("    slot {s}: {}", render::failure(f)),
                None => host_eprintln!("    {}", render::failure(f)),
            }
        }
    });
    if !run.exit_intercepted {
        host_eprintln!("tmrt emulate: note: this JVM refuses a security manager, so a job's System.exit would end tmrt (and be reported as such)");
    }
    run
}

/// The exit status of a job's run: the verdict's.
pub fn exit_code(run: &JobRun) -> u8 {
    run.assessment.verdict.exit_code()
}

/// Writes `--report` and `--report-html` (both checked writable before the run).
fn write_reports(p: &Prepared, doc: &serde_json::Value) -> Result<(), String> {
    if let Some(path) = &p.report {
        report::write_json(path, doc).map_err(|e| format!("cannot write --report {}: {e}", path.display()))?;
    }
    if let Some(path) = &p.report_html {
        std::fs::write(path, html::render(doc))
            .map_err(|e| format!("cannot write --report-html {}: {e}", path.display()))?;
    }
    Ok(())
}
