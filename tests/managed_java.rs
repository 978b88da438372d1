//! `dev.tmrt.memory.MemoryManager` from real JVMs: every operation and error, a multithreaded
//! stress test with invariant checks, and use after release (exceptions; a released page waits
//! in quarantine while a buffer it handed out is reachable, so a stale buffer never touches
//! another owner's page; stale buffers never crash the JVM, even after the memory manager was
//! garbage-collected).

mod support;

use std::path::PathBuf;

use support::*;

fn program(test: &str, class: &str) -> (PathBuf, String) {
    let dir = scratch_dir(test);
    let file = format!("{class}.java");
    let text = std::fs::read_to_string(workspace_root().join("tests/java/managed").join(&file)).unwrap();
    let classes = compile_java(&dir, &[(&file, &text)], &[tmrt_jar()]);
    (dir, join_classpath(&[tmrt_jar(), classes]))
}

fn run(test: &str, class: &str, extra: &[&str]) -> (String, String) {
    let (_dir, cp) = program(test, class);
    let lib = format!("-Dtmrt.library={}", libtmrt().display());
    let mut args: Vec<&str> = vec![&lib];
    args.extend_from_slice(extra);
    args.extend(["-cp", &cp, class]);
    let out = run_java(&args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "{class} failed ({:?}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("ALL OK"), "{stdout}\n{stderr}");
    (stdout, stderr)
}

#[test]
fn every_operation_and_error_from_java() {
    let (stdout, stderr) = run("managed-ops", "Ops", &[]);
    for check in [
        "create",
        "allocate",
        "over budget",
        "access",
        "release one",
        "release batch",
        "foreign",
        "releaseAll",
        "reserve",
        "credit",
        "create errors",
        "owner map bounded",
        "stale view",
        "shutdown",
    ] {
        assert!(
            stdout.contains(&format!("OK {check}\n")),
            "missing check {check}:\n{stdout}"
        );
    }
    // Shutting down with memory held reports the leak per owner.
    assert!(
        stderr.contains(
            "tmrt MemoryManager shut down with memory still held: owner leaky-owner: 2 pages, 0 reserved bytes"
        ),
        "{stderr}"
    );
}

#[test]
fn threads_never_share_or_lose_a_page_from_java() {
    run("managed-stress", "Stress", &[]);
}

#[test]
fn stale_buffers_never_crash_the_jvm() {
    // -Xcheck:jni makes the JVM verify every JNI call of the library as well.
    let (stdout, _) = run("managed-stale", "StaleBuffer", &["-Xcheck:jni"]);
    assert!(stdout.contains("all native pools freed\n"), "{stdout}");
    assert!(stdout.contains("stale sum "), "{stdout}");
}

#[test]
fn java_and_native_run_one_page_table_protocol() {
    // Java allocates and releases single pages in the shared table while the native side checks
    // it concurrently; then both sides must agree on owners, balance, policy and budget.
    let (stdout, _) = run("managed-protocol", "Protocol", &["-Xcheck:jni"]);
    for check in ["threads", "agreement", "policy", "budget", "shutdown"] {
        assert!(
            stdout.contains(&format!("OK {check}\n")),
            "missing check {check}:\n{stdout}"
        );
    }
}

#[test]
fn hostile_owners_and_targets_leave_nothing_behind() {
    let (stdout, stderr) = run("managed-hostile", "Hostile", &[]);
    for check in ["refused target", "hostile owner", "layout"] {
        assert!(
            stdout.contains(&format!("OK {check}\n")),
            "missing check {check}:\n{stdout}"
        );
    }
    // The leak report at shutdown names the owner without calling its hostile toString.
    assert!(
        stderr.contains("toString threw java.lang.IllegalStateException"),
        "{stderr}"
    );
}
