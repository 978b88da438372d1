//! The build yields all three artifacts, and the Java library finds the native library the ways
//! `dev.tmrt.NativeLibrary` documents.

mod support;

use support::*;

fn probe_program(dir: &std::path::Path) -> std::path::PathBuf {
    compile_java(
        dir,
        &[("Probe.java", "public class Probe { public static void main(String[] a) { System.out.println(\"version=\" + dev.tmrt.NativeLibrary.load()); } }")],
        &[tmrt_jar()],
    )
}

#[test]
fn java_library_loads_native_library_from_property() {
    let dir = scratch_dir("smoke-prop");
    let classes = probe_program(&dir);
    let cp = join_classpath(&[tmrt_jar(), classes]);
    let lib = format!("-Dtmrt.library={}", libtmrt().display());
    let out = run_java(&[&lib, "-cp", &cp, "Probe"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.trim(), format!("version={}", tmrt::VERSION));
}

#[test]
fn java_library_loads_native_library_from_library_path() {
    let dir = scratch_dir("smoke-libpath");
    let classes = probe_program(&dir);
    let cp = join_classpath(&[tmrt_jar(), classes]);
    let lp = format!("-Djava.library.path={}", libtmrt().parent().unwrap().display());
    let out = run_java(&[&lp, "-cp", &cp, "Probe"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("version={}", tmrt::VERSION)
    );
}

#[test]
fn missing_native_library_is_a_clear_error() {
    let dir = scratch_dir("smoke-missing");
    let classes = probe_program(&dir);
    let cp = join_classpath(&[tmrt_jar(), classes]);
    let out = run_java(&[
        "-Dtmrt.library=/nonexistent/libtmrt.so",
        "-Djava.library.path=/nonexistent",
        "-cp",
        &cp,
        "Probe",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tmrt native library (libtmrt.so) not found"), "{err}");
    assert!(err.contains("-Dtmrt.library=/nonexistent/libtmrt.so"), "{err}");
    assert!(err.contains("java.library.path=/nonexistent"), "{err}");
}
