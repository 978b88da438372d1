//! Finding `libjvm.so`: `$JAVA_HOME` first, then the `java` on `PATH` (symlinks resolved, as
//! `/usr/bin/java` usually is one into `/usr/lib/jvm/...`).
//!
//! A Java home holds the library at `lib/server/libjvm.so` (JDK 9+); older layouts
//! (`jre/lib/server`, `jre/lib/amd64/server`) are tried too. When nothing is found the error
//! lists every place looked at, so the user knows what to set.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where `libjvm.so` sits under a Java home, newest layout first.
const LAYOUTS: [&str; 4] = [
    "lib/server/libjvm.so",
    "jre/lib/server/libjvm.so",
    "jre/lib/amd64/server/libjvm.so",
    "lib/amd64/server/libjvm.so",
];

/// No JVM to host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JvmNotFound {
    /// Each place looked at, with why it did not do.
    pub tried: Vec<String>,
}

impl fmt::Display for JvmNotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no JVM found (libjvm.so); looked in: {}. Set JAVA_HOME to a JDK or JRE 11+ \
             (e.g. JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64)",
            self.tried.join("; ")
        )
    }
}

impl std::error::Error for JvmNotFound {}

/// `libjvm.so` under a Java home, if one of the known layouts has it.
pub fn libjvm_in_home(home: &Path) -> Option<PathBuf> {
    LAYOUTS.iter().map(|l| home.join(l)).find(|p| p.is_file())
}

/// Finds `libjvm.so` through `$JAVA_HOME`, then the `java` on `$PATH`.
pub fn find_libjvm() -> Result<PathBuf, JvmNotFound> {
    find_libjvm_from(std::env::var_os("JAVA_HOME"), std::env::var_os("PATH"))
}

/// [`find_libjvm`] with the two environment variables given explicitly.
pub fn find_libjvm_from(java_home: Option<OsString>, path: Option<OsString>) -> Result<PathBuf, JvmNotFound> {
    let mut tried = Vec::new();
    match java_home.filter(|h| !h.is_empty()) {
        Some(home) => {
            let home = PathBuf::from(home);
            if let Some(lib) = libjvm_in_home(&home) {
                return Ok(lib);
            }
            tried.push(format!("JAVA_HOME={}: no lib/server/libjvm.so", home.display()));
        }
        None => tried.push("JAVA_HOME: not set".to_string()),
    }
    let java = path
        .as_ref()
        .and_then(|p| std::env::split_paths(p).map(|d| d.join("java")).find(|j| j.is_file()));
    match java {
        Some(java) => {
            let real = std::fs::canonicalize(&java).unwrap_or_else(|_| java.clone());
            // .../bin/java -> ... (the Java home)
            match real.parent().and_then(Path::parent) {
                Some(home) => {
                    if let Some(lib) = libjvm_in_home(home) {
                        return Ok(lib);
                    }
                    tried.push(format!(
                        "java on PATH ({} -> {}): no lib/server/libjvm.so under {}",
                        java.display(),
                        real.display(),
                        home.display()
                    ));
                }
                None => tried.push(format!("java on PATH ({}): not under a Java home", real.display())),
            }
        }
        None => tried.push("PATH: no java executable".to_string()),
    }
    Err(JvmNotFound { tried })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_home(root: &Path, layout: &str) -> PathBuf {
        let home = root.join("jdk");
        let lib = home.join(layout);
        std::fs::create_dir_all(lib.parent().unwrap()).unwrap();
        std::fs::write(&lib, b"").unwrap();
        std::fs::create_dir_all(home.join("bin")).unwrap();
        std::fs::write(home.join("bin/java"), b"").unwrap();
        home
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tmrt-libjvm-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn java_home_wins() {
        let d = scratch("home");
        let home = fake_home(&d, "lib/server/libjvm.so");
        let found = find_libjvm_from(Some(home.clone().into()), Some("/nonexistent".into())).unwrap();
        assert_eq!(found, home.join("lib/server/libjvm.so"));
    }

    #[test]
    fn java_on_path_is_followed_through_symlinks() {
        let d = scratch("path");
        let home = fake_home(&d, "jre/lib/amd64/server/libjvm.so");
        let bin = d.join("usr-bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(home.join("bin/java"), bin.join("java")).unwrap();
        let found = find_libjvm_from(None, Some(bin.into())).unwrap();
        assert_eq!(
            found,
            std::fs::canonicalize(&home)
                .unwrap()
                .join("jre/lib/amd64/server/libjvm.so")
        );
    }

    #[test]
    fn nothing_found_names_every_place() {
        let d = scratch("none");
        let err = find_libjvm_from(Some(d.clone().into()), Some(d.clone().into())).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("no JVM found (libjvm.so)"), "{text}");
        assert!(text.contains(&format!("JAVA_HOME={}", d.display())), "{text}");
        assert!(text.contains("PATH: no java executable"), "{text}");
        assert!(text.contains("Set JAVA_HOME"), "{text}");
    }
}
