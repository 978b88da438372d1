//! Every input of `tmrt emulate` checked before a JVM starts, each failure one line naming the
//! option and the value: jars and libs must be regular files and valid jars (a FIFO is refused
//! before anything opens it, so nothing blocks), report files must be writable, `--slots` a
//! positive number, the entry class present in the job jar (or named by its manifest).

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use runtime::classload::{Jar, JarIndex, JarLimits};
use runtime::emulator::entry::{class_file, manifest_entry_class};

/// `path` as a canonical path if it is a regular file; the error names `option`.
pub fn regular_file(option: &str, path: &Path) -> Result<PathBuf, String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => std::fs::canonicalize(path).map_err(|e| format!("{option} {}: {e}", path.display())),
        Ok(m) if m.is_dir() => Err(format!("{option} {}: is a directory, not a jar", path.display())),
        Ok(_) => Err(format!(
            "{option} {}: not a regular file (a FIFO or device cannot be a jar)",
            path.display()
        )),
        Err(e) => Err(format!("{option} {}: {e}", path.display())),
    }
}

/// [`regular_file`], and a jar (zip) that opens.
pub fn jar(option: &str, path: &Path) -> Result<PathBuf, String> {
    let p = regular_file(option, path)?;
    Jar::open(&p, JarLimits::default()).map_err(|e| format!("{option} {}: {}", path.display(), e.message))?;
    Ok(p)
}

/// Every path of a repeatable jar option.
pub fn jars(option: &str, paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    paths.iter().map(|p| jar(option, p)).collect()
}

/// Whether `path` can be written as a report: an existing regular file opened for writing, or a
/// new file in an existing directory (created and removed again).
pub fn writable(option: &str, path: &Path) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| format!("{option} {}: cannot be written: {e}", path.display());
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => OpenOptions::new()
            .write(true)
            .open(path)
            .map(drop)
            .map_err(|e| fail(&e)),
        Ok(_) => Err(fail(&"not a regular file")),
        Err(_) => {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(|e| fail(&e))?;
            let _ = std::fs::remove_file(path);
            Ok(())
        }
    }
}

/// `--slots`: a whole number of at least 1.
pub fn slots(value: &str) -> Result<u32, String> {
    match value.trim().parse::<i64>() {
        Ok(n) if n >= 1 && n <= i64::from(i32::MAX) => Ok(n as u32),
        Ok(_) => Err(format!(
            "--slots {value}: a TaskManager needs at least one slot (and at most {})",
            i32::MAX
        )),
        Err(_) => Err(format!("--slots {value}: not a whole number")),
    }
}

/// The entry class of a Flink job jar: `entry` when given (it must be in the jar or in the parent
/// class path `parent`), else the manifest's (`program-class`, then `Main-Class`).
pub fn flink_entry(job_jar: &Path, entry: Option<&str>, parent: Option<&JarIndex>) -> Result<String, String> {
    let j =
        Jar::open(job_jar, JarLimits::default()).map_err(|e| format!("--jar {}: {}", job_jar.display(), e.message))?;
    match entry {
        Some(e) => {
            let file = class_file(e);
            let in_jar = j.entries().iter().any(|x| x.name == file);
            let in_parent = parent.is_some_and(|p| p.find(&file).is_some());
            if in_jar || in_parent {
                Ok(e.to_string())
            } else {
                Err(format!(
                    "--entry {e}: no class {e} in {} (nor in the distribution's lib/)",
                    job_jar.display()
                ))
            }
        }
        None => {
            let manifest = j
                .manifest_entry()
                .and_then(|i| j.read(i).ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            manifest_entry_class(&manifest).ok_or_else(|| {
                format!(
                    "--jar {}: no --entry given and the jar's manifest names no Main-Class (nor program-class)",
                    job_jar.display()
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tmrt-checks-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn slots_must_be_positive_whole_numbers() {
        assert_eq!(slots("3"), Ok(3));
        assert!(slots("0").unwrap_err().contains("at least one slot"));
        assert!(slots("-1").unwrap_err().contains("at least one slot"));
        assert!(slots("two").unwrap_err().contains("not a whole number"));
    }

    #[test]
    fn a_jar_that_is_not_a_zip_a_directory_or_a_fifo_is_refused_without_blocking() {
        let d = scratch("jars");
        let text = d.join("job.jar");
        std::fs::write(&text, "not a zip").unwrap();
        assert!(jar("--jar", &text)
            .unwrap_err()
            .starts_with(&format!("--jar {}: ", text.display())));
        assert!(jar("--lib", &d).unwrap_err().contains("is a directory"));
        let fifo = d.join("fifo.jar");
        let c = std::ffi::CString::new(fifo.display().to_string()).unwrap();
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(jar("--jar", &fifo).unwrap_err().contains("not a regular file"));
        assert!(jar("--jar", &d.join("missing.jar")).is_err());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn report_paths_are_checked_and_nothing_is_left_behind() {
        let d = scratch("reports");
        let fresh = d.join("r.json");
        assert!(writable("--report", &fresh).is_ok());
        assert!(!fresh.exists(), "the check leaves no file behind");
        assert!(writable("--report", &d.join("no/such/dir/r.json"))
            .unwrap_err()
            .contains("cannot be written"));
        assert!(writable("--report-html", &d)
            .unwrap_err()
            .contains("not a regular file"));
        std::fs::write(&fresh, "old").unwrap();
        assert!(writable("--report", &fresh).is_ok());
        assert_eq!(
            std::fs::read_to_string(&fresh).unwrap(),
            "old",
            "an existing file is not truncated by the check"
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
