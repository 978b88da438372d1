//! `tmrt emulate` (plain mode) and `tmrt demo` end to end: real jars built here, a real JVM hosted
//! in the `tmrt` process, tmrt's agent judging the classloaders. Each case runs the command and
//! checks its exit status, its verdict text and its `--report`. The Flink mode is in
//! `emulate_flink.rs`, hostile jobs and inputs in `emulate_hostile.rs`, the HTML report in
//! `emulate_html.rs`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use serde_json::Value;
use support::*;

const PROCESS_SIZE: &str = "taskmanager.memory.process.size=1g";

/// Test jobs, all in one jar (`jobs.jar`), plus a parent-side cache in `cache-lib.jar`.
const CACHE: &str = r#"
package lib;
public final class SharedRegistry {
    private static final java.util.Map<String, Object> ENTRIES = new java.util.concurrent.ConcurrentHashMap<>();
    public static void register(String key, Object value) { ENTRIES.put(key, value); }
}
"#;

const CLEAN: &str = r#"
package jobs;
import dev.tmrt.emulator.*;
import dev.tmrt.memory.*;
import java.util.List;
public final class Clean implements Task {
    public void run(TaskContext ctx) throws Exception {
        MemoryManager mm = ctx.getMemoryManager();
        List<Segment> pages = mm.allocatePages(ctx.getOwner(), 8);
        for (Segment s : pages) { s.putLong(0, ctx.getRound() * 100L + ctx.getSlotIndex()); }
        long sum = 0;
        for (Segment s : pages) { sum += s.getLong(0); }
        if (sum != 8L * (ctx.getRound() * 100L + ctx.getSlotIndex())) throw new AssertionError(sum);
        mm.release(pages);
        Runnable r = () -> { };
        r.run();
    }
}
"#;

const LEAKY_THREAD: &str = r#"
package jobs;
import dev.tmrt.emulator.*;
public final class LeakyThread implements Task {
    public void run(TaskContext ctx) {
        if (ctx.getSlotIndex() != 0) return;
        Thread t = new Thread("lingering-round-" + ctx.getRound()) {
            @Override public void run() { try { Thread.sleep(Long.MAX_VALUE); } catch (InterruptedException e) { } }
        };
        t.setDaemon(true);
        t.start();
    }
}
"#;

const LEAKY_CACHE: &str = r#"
package jobs;
import dev.tmrt.emulator.*;
public final class LeakyCache implements Task {
    public void run(TaskContext ctx) {
        lib.SharedRegistry.register("round-" + ctx.getRound() + "-slot-" + ctx.getSlotIndex(), new Entry());
    }
    static final class Entry { }
}
"#;

const MAIN: &str = r#"
package jobs;
public final class Main {
    public static void main(String[] args) {
        System.out.println("main-called " + String.join("|", args));
    }
}
"#;

const NO_ENTRY: &str = r#"
package jobs;
public final class NoEntry {
    public static void run(String[] args) { }
}
"#;

const THROWS: &str = r#"
package jobs;
import dev.tmrt.emulator.*;
public final class Throws implements Task {
    public void run(TaskContext ctx) {
        if (ctx.getRound() == 2 && ctx.getSlotIndex() == 1) throw new IllegalStateException("boom in round two");
    }
}
"#;

/// Asks for more pages than its slot has in total (Flink: IllegalArgumentException).
const GREEDY: &str = r#"
package jobs;
import dev.tmrt.emulator.*;
public final class Greedy implements Task {
    public void run(TaskContext ctx) throws Exception {
        int pages = (int) (ctx.getMemoryManager().getMemorySize() / ctx.getMemoryManager().getPageSize());
        ctx.getMemoryManager().allocatePages(ctx.getOwner(), pages + 1);
    }
}
"#;

/// Takes the whole slot, then one page more (Flink: MemoryAllocationException).
const HUNGRY: &str = r#"
package jobs;
import dev.tmrt.emulator.*;
public final class Hungry implements Task {
    public void run(TaskContext ctx) throws Exception {
        int pages = (int) (ctx.getMemoryManager().getMemorySize() / ctx.getMemoryManager().getPageSize());
        ctx.getMemoryManager().allocatePages(ctx.getOwner(), pages);
        if (ctx.getRound() == 2) ctx.getMemoryManager().allocatePages(ctx.getOwner(), 1);
    }
}
"#;

const LEFTOVER: &str = r#"
package jobs;
import dev.tmrt.emulator.*;
public final class Leftover implements Task {
    public void run(TaskContext ctx) throws Exception {
        ctx.getMemoryManager().allocatePages(ctx.getOwner(), 3);
    }
}
"#;

const METASPACE_HOG: &str = r#"
package jobs;
import dev.tmrt.emulator.*;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
public final class MetaspaceHog implements Task {
    public void run(TaskContext ctx) throws Exception {
        byte[] bytes;
        try (InputStream in = MetaspaceHog.class.getResourceAsStream("Blob.class")) { bytes = in.readAllBytes(); }
        List<Class<?>> kept = new ArrayList<>();
        while (true) {
            Definer d = new Definer(MetaspaceHog.class.getClassLoader());
            kept.add(d.define(bytes));
        }
    }
    public static final class Definer extends ClassLoader {
        public Definer(ClassLoader parent) { super(parent); }
        public Class<?> define(byte[] b) { return defineClass("jobs.Blob", b, 0, b.length); }
    }
}
"#;

/// Exhausts metaspace for good: every class it defines is kept by a parent-side registry.
const METASPACE_LEAK: &str = r#"
package jobs;
import dev.tmrt.emulator.*;
import java.io.InputStream;
public final class MetaspaceLeak implements Task {
    public void run(TaskContext ctx) throws Exception {
        byte[] bytes;
        try (InputStream in = MetaspaceLeak.class.getResourceAsStream("Blob.class")) { bytes = in.readAllBytes(); }
        for (int i = 0; ; i++) {
            lib.SharedRegistry.register("blob-" + ctx.getSlotIndex() + "-" + i, new MetaspaceHog.Definer(MetaspaceLeak.class.getClassLoader()).define(bytes));
        }
    }
}
"#;

const EXITS: &str = r#"
package jobs;
import dev.tmrt.emulator.*;
public final class Exits implements Task {
    public void run(TaskContext ctx) {
        if (ctx.getSlotIndex() == 1) System.exit(0);
    }
}
"#;

const HANGS: &str = r#"
package jobs;
import dev.tmrt.emulator.*;
public final class Hangs implements Task {
    public void run(TaskContext ctx) throws Exception {
        if (ctx.getSlotIndex() == 0) Thread.sleep(600_000);
    }
}
"#;

const BLOB: &str = r#"
package jobs;
public final class Blob {
    public int a, b, c, d, e, f, g, h;
    public int m1() { return a + b; } public int m2() { return c + d; } public int m3() { return e + f; }
    public int m4() { return g + h; } public String m5() { return "blob" + a; } public long m6() { return a * 31L + b; }
}
"#;

struct Jars {
    jobs: PathBuf,
    cache_lib: PathBuf,
}

fn jars() -> &'static Jars {
    static JARS: OnceLock<Jars> = OnceLock::new();
    JARS.get_or_init(|| {
        let dir = scratch_dir("emulate-jars");
        let lib_classes = compile_java(&dir.join("lib"), &[("lib/SharedRegistry.java", CACHE)], &[]);
        let cache_lib = dir.join("cache-lib.jar");
        make_jar(&lib_classes, &cache_lib);
        let classes = compile_java(
            &dir.join("jobs"),
            &[
                ("jobs/Clean.java", CLEAN),
                ("jobs/LeakyThread.java", LEAKY_THREAD),
                ("jobs/LeakyCache.java", LEAKY_CACHE),
                ("jobs/Main.java", MAIN),
                ("jobs/NoEntry.java", NO_ENTRY),
                ("jobs/Throws.java", THROWS),
                ("jobs/Greedy.java", GREEDY),
                ("jobs/Hungry.java", HUNGRY),
                ("jobs/Leftover.java", LEFTOVER),
                ("jobs/MetaspaceHog.java", METASPACE_HOG),
                ("jobs/Blob.java", BLOB),
                ("jobs/MetaspaceLeak.java", METASPACE_LEAK),
                ("jobs/Exits.java", EXITS),
                ("jobs/Hangs.java", HANGS),
            ],
            &[tmrt_jar(), cache_lib.clone()],
        );
        let jobs = dir.join("jobs.jar");
        make_jar(&classes, &jobs);
        Jars { jobs, cache_lib }
    })
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    report: Value,
}

fn emulate(name: &str, entry: &str, extra: &[&str]) -> Run {
    let dir = scratch_dir(&format!("emulate-{name}"));
    let report = dir.join("report.json");
    let j = jars();
    let mut cmd = tmrt_command();
    cmd.env_remove("FLINK_HOME")
        .arg("emulate")
        .arg("--jar")
        .arg(&j.jobs)
        .args(["--entry", entry, "-D", PROCESS_SIZE, "--report"])
        .arg(&report)
        .args(extra);
    let out = cmd.output().expect("run tmrt emulate");
    finish(out, &report)
}

fn finish(out: Output, report: &Path) -> Run {
    let run = Run {
        code: out.status.code().expect("tmrt exited by a signal (crashed)"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        report: std::fs::read_to_string(report)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null),
    };
    eprintln!("--- stdout\n{}--- stderr\n{}", run.stdout, run.stderr);
    run
}

fn job(run: &Run) -> &Value {
    &run.report["jobs"][0]
}

#[test]
fn clean_job_exits_0_with_stable_metaspace() {
    let run = emulate("clean", "jobs.Clean", &["--slots", "2", "--restarts", "6"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("verdict: NO LEAK"), "{}", run.stdout);
    let job = job(&run);
    assert_eq!(job["assessment"]["verdict"], "clean");
    let rounds = job["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 6);
    for r in rounds {
        assert_eq!(r["slots"].as_array().unwrap().len(), 2);
        for s in r["slots"].as_array().unwrap() {
            assert!(s["failure"].is_null(), "{s}");
            assert!(s["leftover"].as_array().unwrap().is_empty(), "{s}");
        }
    }
    // Stable metaspace: the job's classes are unloaded every round, so the number of classes
    // loaded after each round's GC stays flat (the JDK may add one now and then)...
    let first = rounds[0]["after"]["classes_loaded"].as_u64().unwrap();
    let last = rounds[5]["after"]["classes_loaded"].as_u64().unwrap();
    assert!(last <= first + 3, "classes loaded after GC grew from {first} to {last}");
    let unloaded = rounds[5]["after"]["classes_unloaded_total"].as_u64().unwrap();
    assert!(
        unloaded >= 5 * 2,
        "the job's two classes were not unloaded every round: {unloaded}"
    );
    // ...and metaspace used grows only by the host's own warm-up (JIT profiling data of the
    // driver's methods, ~10 KiB/round measured), far below a leaking job's classes.
    let slope = job["assessment"]["metaspace_growth"]["slope"].as_f64().unwrap();
    assert!(slope.abs() < 48.0 * 1024.0, "metaspace grows {slope} B/round");
    let classes = job["assessment"]["classes_growth"]["slope"].as_f64().unwrap();
    assert!(classes < 0.75, "classes grow {classes}/round");
    assert!(job["assessment"]["leaked_loaders"].as_array().unwrap().is_empty());
    assert_eq!(job["rounds_alive"], serde_json::json!([]));
}

#[test]
fn lingering_thread_is_a_leak_with_a_thread_suspect() {
    let run = emulate("thread", "jobs.LeakyThread", &["--slots", "2", "--restarts", "3"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stdout.contains("verdict: LEAK"), "{}", run.stdout);
    let leaked = job(&run)["assessment"]["leaked_loaders"].as_array().unwrap().clone();
    assert_eq!(leaked.len(), 3, "one loader per round leaked: {leaked:?}");
    for l in &leaked {
        let suspects = l["suspects"].as_array().unwrap();
        assert!(
            suspects
                .iter()
                .any(|s| s["kind"] == "thread" && s["description"].as_str().unwrap().contains("lingering-round-")),
            "{l}"
        );
    }
    assert!(run.stdout.contains("suspect [thread]"), "{}", run.stdout);
    assert_eq!(job(&run)["rounds_alive"], serde_json::json!([1, 2, 3]));
}

#[test]
fn parent_cache_entry_is_a_leak_with_a_reference_path() {
    let lib = jars().cache_lib.display().to_string();
    let run = emulate(
        "cache",
        "jobs.LeakyCache",
        &["--lib", &lib, "--slots", "1", "--restarts", "3"],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    let leaked = job(&run)["assessment"]["leaked_loaders"].as_array().unwrap().clone();
    assert_eq!(leaked.len(), 3, "{leaked:?}");
    for l in &leaked {
        let suspects = l["suspects"].as_array().unwrap();
        assert!(
            suspects
                .iter()
                .any(|s| s["kind"] == "reference-path" && s["description"].as_str().unwrap().contains("SharedRegistry")),
            "{l}"
        );
        assert!(!suspects.iter().any(|s| s["kind"] == "thread"), "{l}");
    }
    // Growth is visible: every round keeps its two classes (LeakyCache, LeakyCache$Entry). The
    // fitted slope may carry a class the JDK loads once on the way (never less than two).
    let classes = job(&run)["assessment"]["classes_growth"]["slope"].as_f64().unwrap();
    assert!((2.0 - 0.01..3.0).contains(&classes), "classes grow {classes}/round");
    let rounds = job(&run)["rounds"].as_array().unwrap();
    let after = |i: usize| rounds[i]["after"]["classes_loaded"].as_u64().unwrap();
    assert_eq!(
        after(2) - after(1),
        2,
        "the last round kept exactly its two classes: {rounds:?}"
    );
    let growth = job(&run)["assessment"]["metaspace_growth"]["slope"].as_f64().unwrap();
    assert!(growth > 0.0, "{growth}");
}

#[test]
fn main_entry_gets_the_args() {
    let run = emulate(
        "main",
        "jobs.Main",
        &["--slots", "2", "--restarts", "2", "--args", "a", "--b", "c d"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.matches("main-called a|--b|c d").count(), 4, "{}", run.stdout);
}

#[test]
fn missing_jar_is_bad_input() {
    let out = tmrt_command()
        .env_remove("FLINK_HOME")
        .args([
            "emulate",
            "--jar",
            "/nonexistent/job.jar",
            "--entry",
            "x.Y",
            "-D",
            PROCESS_SIZE,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--jar /nonexistent/job.jar"), "{err}");
}

#[test]
fn bad_configuration_is_bad_input_naming_the_option() {
    let out = tmrt_command()
        .env_remove("FLINK_HOME")
        .args(["emulate", "--jar"])
        .arg(&jars().jobs)
        .args([
            "--entry",
            "jobs.Clean",
            "-D",
            PROCESS_SIZE,
            "-D",
            "taskmanager.memory.segment-size=3kb",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("taskmanager.memory.segment-size") && err.contains("3kb"),
        "{err}"
    );
}

#[test]
fn no_jvm_is_bad_input() {
    let empty = scratch_dir("emulate-nojvm");
    let out = tmrt_command()
        .env_remove("FLINK_HOME")
        .args(["emulate", "--jar"])
        .arg(&jars().jobs)
        .args(["--entry", "jobs.Clean", "-D", PROCESS_SIZE])
        .env("JAVA_HOME", &empty)
        .env("PATH", &empty)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no JVM found"), "{err}");
}

#[test]
fn missing_entry_class_is_bad_input_with_round_and_slot() {
    let run = emulate("noclass", "jobs.DoesNotExist", &["--slots", "2"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains("round 1 slot 0: entry class not found"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("jobs.DoesNotExist"), "{}", run.stdout);
    assert_eq!(
        job(&run)["rounds"].as_array().unwrap().len(),
        1,
        "the run stops after the failing round"
    );
}

#[test]
fn entry_without_main_or_task_is_bad_input() {
    let run = emulate("noentry", "jobs.NoEntry", &["--slots", "1"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains("round 1 slot 0: no suitable entry method"),
        "{}",
        run.stdout
    );
}

#[test]
fn throwing_task_is_a_task_failure_in_its_round_and_slot() {
    let run = emulate("throws", "jobs.Throws", &["--slots", "2", "--restarts", "4"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("round 2 slot 1: task threw: java.lang.IllegalStateException: boom in round two"),
        "{}",
        run.stdout
    );
    assert_eq!(job(&run)["rounds"].as_array().unwrap().len(), 2);
}

#[test]
fn system_exit_is_intercepted_as_a_task_failure() {
    let run = emulate("exits", "jobs.Exits", &["--slots", "2", "--restarts", "2"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "round 1 slot 1: the job called System.exit: dev.tmrt.emulator.UserSystemExitException: \
             System.exit(0) called by the job"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(job(&run)["exit_intercepted"], true);
}

#[test]
fn task_over_its_timeout_is_interrupted_and_a_task_failure() {
    let run = emulate(
        "hangs",
        "jobs.Hangs",
        &["--slots", "2", "--restarts", "3", "--task-timeout", "1"],
    );
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "round 1 slot 0: did not finish within --task-timeout: still running after 1000 ms; \
             interrupted, then it ended"
        ),
        "{}",
        run.stdout
    );
    // Where the task was when it ran out of time.
    assert!(
        run.stdout.contains("java.lang.Thread.sleep(Native Method)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("at jobs.Hangs.run(Hangs.java:6)"), "{}", run.stdout);
    let slots = job(&run)["rounds"][0]["slots"].as_array().unwrap().clone();
    assert!(slots[1]["failure"].is_null(), "slot 1 ended in time: {slots:?}");
}

#[test]
fn exceeding_the_slot_budget_is_a_task_failure() {
    let run = emulate("hungry", "jobs.Hungry", &["--slots", "2", "--restarts", "3"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    for slot in 0..2 {
        let expected = format!(
            "round 2 slot {slot}: task exceeded its slot's managed-memory budget: \
             dev.tmrt.memory.MemoryAllocationException: Could not allocate 1 pages"
        );
        assert!(run.stdout.contains(&expected), "{}", run.stdout);
    }
    // Round 1 took the whole slot and the host released it: round 2 could take it again.
    let left = &job(&run)["rounds"][0]["slots"][0]["leftover"][0];
    assert!(left["pages"].as_u64().unwrap() > 3000, "{left}");

    let run = emulate("greedy", "jobs.Greedy", &["--slots", "2", "--restarts", "2"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "round 1 slot 0: task exceeded its slot's managed-memory budget: \
             java.lang.IllegalArgumentException: Cannot allocate more segments"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn pages_left_behind_are_reported_and_released() {
    let run = emulate("leftover", "jobs.Leftover", &["--slots", "1", "--restarts", "2"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("slot 0: 3 page(s) left behind by task (round 1, slot 0)"),
        "{}",
        run.stdout
    );
    let left = &job(&run)["rounds"][1]["slots"][0]["leftover"][0];
    assert_eq!(left["pages"], 3, "{left}");
}

#[test]
fn exhausting_metaspace_is_a_task_failure() {
    let run = emulate(
        "metaspace",
        "jobs.MetaspaceHog",
        &[
            "--slots",
            "1",
            "--restarts",
            "3",
            "-D",
            "taskmanager.memory.jvm-metaspace.size=48m",
        ],
    );
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("round 1 slot 0: metaspace exhausted: java.lang.OutOfMemoryError: Metaspace"),
        "{}",
        run.stdout
    );
}

#[test]
fn demo_shows_both_verdicts() {
    let dir = scratch_dir("demo");
    let report = dir.join("demo.json");
    let out = tmrt_command()
        .env_remove("FLINK_HOME")
        .args(["demo", "--no-flink", "--restarts", "3", "--report"])
        .arg(&report)
        .output()
        .unwrap();
    let run = finish(out, &report);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("taskmanager.memory.process.size: 1728m"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("verdict: NO LEAK"), "{}", run.stdout);
    assert!(run.stdout.contains("verdict: LEAK"), "{}", run.stdout);
    assert!(run.stdout.contains("suspect [thread]"), "{}", run.stdout);
    assert!(run.stdout.contains("suspect [reference-path]"), "{}", run.stdout);
    // The leaky job's two leaks, each named: its thread, and its entry in the parent-side cache.
    assert!(
        run.stdout.contains("leaky-job-metrics-reporter-round-1"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("class example.lib.SessionCache -> static field ENTRIES"),
        "{}",
        run.stdout
    );
    assert_eq!(run.report["jobs"][0]["assessment"]["verdict"], "clean");
    assert_eq!(run.report["jobs"][1]["assessment"]["verdict"], "leak-found");
    assert_eq!(
        run.report["taskmanager"]["slot_managed_bytes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}
