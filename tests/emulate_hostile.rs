//! `tmrt emulate` against hostile jobs and inputs (issue 14): a job cannot make it lie, exit for
//! it, crash it silently or swallow its output; bad input is refused before a JVM starts, in one
//! line; output that cannot be written is a failure, a reader that goes away is not. Jobs and
//! files are built here; every run has a deadline, so a hang fails the test instead of stalling it.

mod emulator_support;
mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use emulator_support::{run_with_deadline, Run};
use support::*;

const DEADLINE: Duration = Duration::from_secs(180);

const JOBS: [(&str, &str); 9] = [
    (
        "h/RemoveInterceptor.java",
        "package h; public class RemoveInterceptor { public static void main(String[] a) {
            try { System.setSecurityManager(null); } catch (SecurityException e) { }
            System.exit(0); } }",
    ),
    (
        "h/ThreadExit.java",
        "package h; public class ThreadExit { public static void main(String[] a) throws Exception {
            Thread t = new Thread(() -> System.exit(0), \"side-exit\"); t.start(); t.join(); } }",
    ),
    (
        "h/Halt.java",
        "package h; public class Halt { public static void main(String[] a) { Runtime.getRuntime().halt(7); } }",
    ),
    (
        "h/HeapFill.java",
        "package h; public class HeapFill { public static void main(String[] a) throws Exception {
            Thread t = new Thread(() -> { java.util.List<long[]> l = new java.util.ArrayList<>();
              try { while (true) l.add(new long[1 << 16]); }
              catch (OutOfMemoryError e) { while (true) { try { Thread.sleep(100_000); } catch (InterruptedException x) { } } } },
              \"heap-filler\");
            t.setDaemon(true); t.start(); Thread.sleep(1500); } }",
    ),
    (
        "h/CloseOut.java",
        "package h; public class CloseOut { public static void main(String[] a) {
            try (java.io.PrintWriter w = new java.io.PrintWriter(System.out)) { w.println(\"job wrote this\"); }
            System.err.close(); } }",
    ),
    (
        "h/Crash.java",
        "package h; public class Crash { public static void main(String[] a) throws Exception {
            java.lang.reflect.Field f = sun.misc.Unsafe.class.getDeclaredField(\"theUnsafe\");
            f.setAccessible(true); ((sun.misc.Unsafe) f.get(null)).putLong(0L, 1L); } }",
    ),
    (
        "h/Exit6.java",
        "package h; public class Exit6 { public static void main(String[] a) { System.exit(6); } }",
    ),
    (
        "h/Quiet.java",
        "package h; public class Quiet { public static void main(String[] a) { } }",
    ),
    (
        "h/Chatty.java",
        "package h; public class Chatty { public static void main(String[] a) { System.out.println(\"job line\"); } }",
    ),
];

fn jar() -> &'static PathBuf {
    static JAR: OnceLock<PathBuf> = OnceLock::new();
    JAR.get_or_init(|| {
        let dir = scratch_dir("hostile-jars");
        let classes = compile_java(&dir, &JOBS, &[]);
        let jar = dir.join("hostile.jar");
        make_jar(&classes, &jar);
        jar
    })
}

/// `tmrt emulate --jar hostile.jar --entry h.ENTRY` plus `extra`, in the scratch directory `cwd`.
fn emulate_in(cwd: &Path, entry: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let report = cwd.join("report.json");
    let mut cmd = tmrt_command();
    cmd.current_dir(cwd)
        .env_remove("FLINK_HOME")
        .env_remove("_JAVA_OPTIONS")
        .arg("emulate")
        .arg("--jar")
        .arg(jar())
        .args([
            "--entry",
            &format!("h.{entry}"),
            "--slots",
            "1",
            "--restarts",
            "2",
            "--report",
        ])
        .arg(&report)
        .args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_with_deadline(cmd, DEADLINE, Some(&report))
}

fn emulate(name: &str, entry: &str, extra: &[&str]) -> Run {
    emulate_in(&scratch_dir(&format!("hostile-{name}")), entry, extra, &[])
}

fn failure_kinds(run: &Run) -> Vec<String> {
    run.job()["assessment"]["failures"]
        .as_array()
        .map(|a| a.iter().map(|f| f["kind"].as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn removing_the_exit_interceptor_is_refused_and_a_failure() {
    let run = emulate("remove", "RemoveInterceptor", &[]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    let kinds = failure_kinds(&run);
    assert!(kinds.contains(&"exit-interceptor-removed".to_string()), "{kinds:?}");
    assert!(
        kinds.contains(&"system-exit".to_string()),
        "the exit after it was still intercepted: {kinds:?}"
    );
    assert!(
        run.stdout
            .contains("tmrt's exit interceptor cannot be replaced or removed"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("NO LEAK"), "{}", run.stdout);
}

#[test]
fn exit_from_a_thread_of_the_job_is_reported_as_what_it_is() {
    let run = emulate("thread-exit", "ThreadExit", &[]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    let f = &run.job()["assessment"]["failures"][0];
    assert_eq!(f["kind"], "system-exit", "{f}");
    assert_eq!(f["thread"], "side-exit", "{f}");
    assert!(
        run.verdict_line().contains("System.exit(0) called by the job")
            && run.verdict_line().contains("thread \"side-exit\""),
        "{}",
        run.verdict_line()
    );
}

#[test]
fn runtime_halt_is_reported_as_a_halt() {
    let run = emulate("halt", "Halt", &[]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(failure_kinds(&run), vec!["runtime-halt".to_string()]);
    assert!(run.stdout.contains("the job called Runtime.halt"), "{}", run.stdout);
    assert!(run.stdout.contains("Runtime.halt(7)"), "{}", run.stdout);
    assert!(!run.stdout.contains("System.exit(7)"), "{}", run.stdout);
}

#[test]
fn a_job_that_fills_the_heap_is_a_failure_with_its_cause_never_no_leak() {
    let run = emulate("heap", "HeapFill", &["-D", "taskmanager.memory.process.size=1g"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(!run.stdout.contains("NO LEAK"), "{}", run.stdout);
    assert_eq!(run.job()["assessment"]["verdict"], "task-failure");
    let failures = run.job()["assessment"]["failures"].to_string();
    assert!(failures.contains("OutOfMemoryError: Java heap space"), "{failures}");
    assert!(!failures.contains("could not be described"), "{failures}");
}

#[test]
fn a_job_closing_its_streams_cannot_swallow_tmrts_output() {
    let run = emulate("close-out", "CloseOut", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("job wrote this"),
        "the job's own line: {}",
        run.stdout
    );
    assert!(run.stdout.contains("verdict: NO LEAK"), "{}", run.stdout);
    assert!(run.stdout.contains("round  2/2"), "the rounds table: {}", run.stdout);
}

#[test]
fn a_jvm_crash_is_reported_with_its_crash_log() {
    let cwd = scratch_dir("hostile-crash");
    let run = emulate_in(&cwd, "Crash", &[], &[]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("the JVM crashed while the job ran"))
        .unwrap_or_else(|| panic!("no crash line: {}", run.stderr));
    let log = line.rsplit("crash log: ").next().unwrap();
    let text = std::fs::read_to_string(log).unwrap_or_else(|e| panic!("{log}: {e}"));
    assert!(text.contains("SIGSEGV"), "{log} is HotSpot's crash log");
    assert!(log.starts_with(cwd.to_str().unwrap()), "{log} in the working directory");
}

#[test]
fn an_exit_the_interceptor_cannot_stop_is_reported_not_passed_on() {
    // A JVM that refuses security managers: the job's System.exit(6) really ends the JVM.
    let run = emulate_in(
        &scratch_dir("hostile-exit6"),
        "Exit6",
        &[],
        &[("_JAVA_OPTIONS", "-Djava.security.manager=disallow")],
    );
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the JVM ended itself with status 6 while the job ran"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_jvm_that_cannot_start_is_said_so() {
    let run = emulate_in(
        &scratch_dir("hostile-nostart"),
        "Quiet",
        &[],
        &[("_JAVA_OPTIONS", "-Xmx1k")],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("the JVM could not start"), "{}", run.stderr);
}

#[test]
fn output_goes_out_once_without_warnings_when_stdout_and_stderr_are_one_file() {
    let dir = scratch_dir("hostile-one-file");
    let out = dir.join("out.txt");
    let file = std::fs::File::create(&out).unwrap();
    let status = tmrt_command()
        .current_dir(&dir)
        .env_remove("FLINK_HOME")
        .args(["emulate", "--jar"])
        .arg(jar())
        .args(["--entry", "h.Quiet", "--restarts", "2"])
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.matches("round  1/2").count(), 1, "{text}");
    assert_eq!(text.matches("verdict:").count(), 1, "{text}");
    assert!(!text.contains("WARNING"), "no setSecurityManager warning: {text}");
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    let mut child = tmrt_command()
        .env_remove("FLINK_HOME")
        .args(["emulate", "--jar"])
        .arg(jar())
        .args(["--entry", "h.Chatty", "--restarts", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // `| head -1`: read one line, then close the pipe.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    let _ = std::io::Read::read(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "the verdict's status: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn output_that_cannot_be_written_is_a_failure_in_one_line() {
    let full = Path::new("/dev/full");
    if !full.exists() {
        eprintln!("SKIPPED: no /dev/full");
        return;
    }
    let out = tmrt_command()
        .env_remove("FLINK_HOME")
        .args(["emulate", "--jar"])
        .arg(jar())
        .args(["--entry", "h.Quiet", "--restarts", "2"])
        .stdout(std::fs::File::options().write(true).open(full).unwrap())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("cannot write the output")).collect();
    assert_eq!(lines.len(), 1, "{err}");
}

/// Every bad input: status 1, one line naming it, and no JVM started.
#[test]
fn bad_input_is_refused_before_the_jvm_starts_in_one_line() {
    let dir = scratch_dir("hostile-inputs");
    let not_a_zip = dir.join("text.jar");
    std::fs::write(&not_a_zip, "not a zip").unwrap();
    let fifo = dir.join("fifo.jar");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let j = jar().to_str().unwrap().to_string();
    let z = not_a_zip.to_str().unwrap().to_string();
    let f = fifo.to_str().unwrap().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--jar", &z, "--entry", "h.Quiet"], "--jar"),
        (vec!["--jar", &j, "--lib", &z, "--entry", "h.Quiet"], "--lib"),
        (vec!["--jar", &f, "--entry", "h.Quiet"], "not a regular file"),
        (
            vec!["--jar", &j, "--lib", &f, "--entry", "h.Quiet"],
            "not a regular file",
        ),
        (
            vec!["--jar", &j, "--entry", "h.Quiet", "--report", "/nonexistent/r.json"],
            "--report /nonexistent/r.json",
        ),
        (
            vec![
                "--jar",
                &j,
                "--entry",
                "h.Quiet",
                "--report-html",
                "/nonexistent/r.html",
            ],
            "--report-html",
        ),
        (vec!["--jar", &j, "--entry", "h.Quiet", "--slots", "0"], "--slots 0"),
        (
            vec![
                "--jar",
                &j,
                "--entry",
                "h.Quiet",
                "-D",
                "taskmanager.numberOfTaskSlots=0",
            ],
            "taskmanager.numberOfTaskSlots",
        ),
        (
            vec![
                "--jar",
                &j,
                "--entry",
                "h.Quiet",
                "-D",
                "taskmanager.memory.process.size=100t",
            ],
            "cannot be committed",
        ),
        (vec!["--jar", &j], "--entry is required"),
        (
            vec!["--jar", &j, "--entry", "h.Quiet", "--runtime", "tmrt"],
            "--runtime needs a Flink distribution",
        ),
        (
            vec!["--flink-home", "/nonexistent", "--jar", &j],
            "--flink-home /nonexistent",
        ),
    ];
    for (args, needle) in cases {
        let mut cmd = tmrt_command();
        cmd.env_remove("FLINK_HOME").arg("emulate").args(&args);
        let run = run_with_deadline(cmd, Duration::from_secs(30), None);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: one line: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("JVM started"), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
}
