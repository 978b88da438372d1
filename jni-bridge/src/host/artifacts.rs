//! Finding tmrt's own two artifacts for a hosted JVM: `libtmrt.so` (the agent, and the native
//! side of the Java library) and `tmrt.jar` (the Java library).
//!
//! Both are looked for relative to the running `tmrt` binary, because that is what a build or
//! an install moves together: `cargo build --release` puts the binary and the library in
//! `target/release/` and the jar in `target/java/` (`../java` from the binary). An environment
//! variable overrides each (`TMRT_LIBRARY`, `TMRT_JAR`); the build-time location of the jar is
//! the last resort, so a binary run from elsewhere in the same checkout still finds it.

use std::fmt;
use std::path::{Path, PathBuf};

/// Environment variable naming `libtmrt.so` explicitly.
pub const LIBRARY_ENV: &str = "TMRT_LIBRARY";
/// Environment variable naming `tmrt.jar` explicitly.
pub const JAR_ENV: &str = "TMRT_JAR";

/// One of tmrt's artifacts is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactNotFound {
    pub artifact: &'static str,
    pub tried: Vec<PathBuf>,
    pub hint: &'static str,
}

impl fmt::Display for ArtifactNotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tried: Vec<String> = self.tried.iter().map(|p| p.display().to_string()).collect();
        write!(
            f,
            "{} not found; looked at: {}. {}",
            self.artifact,
            tried.join(", "),
            self.hint
        )
    }
}

impl std::error::Error for ArtifactNotFound {}

/// The directory of the running executable.
fn exe_dir() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|e| std::fs::canonicalize(e).ok())
        .and_then(|e| e.parent().map(Path::to_path_buf))
}

fn first_file(
    artifact: &'static str,
    hint: &'static str,
    candidates: Vec<PathBuf>,
) -> Result<PathBuf, ArtifactNotFound> {
    match candidates.iter().find(|p| p.is_file()) {
        Some(p) => Ok(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())),
        None => Err(ArtifactNotFound {
            artifact,
            tried: candidates,
            hint,
        }),
    }
}

/// Candidates for `libtmrt.so`: `$TMRT_LIBRARY` (alone when set), else next to the binary (and
/// one level up, for test binaries in `target/release/deps`).
pub fn library_candidates(env: Option<PathBuf>, exe_dir: Option<&Path>) -> Vec<PathBuf> {
    if let Some(p) = env {
        return vec![p];
    }
    let mut v = Vec::new();
    if let Some(d) = exe_dir {
        v.push(d.join("libtmrt.so"));
        if let Some(up) = d.parent() {
            v.push(up.join("libtmrt.so"));
        }
    }
    v
}

/// Candidates for `tmrt.jar`: `$TMRT_JAR` (alone when set), else `../java/tmrt.jar` from the
/// binary (and from one level up), else where this build wrote it.
pub fn jar_candidates(env: Option<PathBuf>, exe_dir: Option<&Path>, built: &Path) -> Vec<PathBuf> {
    if let Some(p) = env {
        return vec![p];
    }
    let mut v = Vec::new();
    if let Some(d) = exe_dir {
        for base in [Some(d), d.parent()].into_iter().flatten() {
            if let Some(target) = base.parent() {
                v.push(target.join("java").join("tmrt.jar"));
            }
        }
    }
    v.push(built.to_path_buf());
    v
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// `libtmrt.so` for this `tmrt`.
pub fn find_library() -> Result<PathBuf, ArtifactNotFound> {
    first_file(
        "libtmrt.so",
        "Build it with `cargo build --release` or set TMRT_LIBRARY=/path/to/libtmrt.so",
        library_candidates(env_path(LIBRARY_ENV), exe_dir().as_deref()),
    )
}

/// `tmrt.jar` for this `tmrt`.
pub fn find_jar() -> Result<PathBuf, ArtifactNotFound> {
    first_file(
        "tmrt.jar",
        "Build it with `cargo build --release` or set TMRT_JAR=/path/to/tmrt.jar",
        jar_candidates(env_path(JAR_ENV), exe_dir().as_deref(), Path::new(crate::JAR_PATH)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_override_is_the_only_candidate() {
        let p = PathBuf::from("/opt/tmrt/libtmrt.so");
        assert_eq!(library_candidates(Some(p.clone()), Some(Path::new("/x/bin"))), vec![p]);
        let j = PathBuf::from("/opt/tmrt/tmrt.jar");
        assert_eq!(jar_candidates(Some(j.clone()), None, Path::new("/b/tmrt.jar")), vec![j]);
    }

    #[test]
    fn jar_is_looked_for_in_target_java_relative_to_the_binary() {
        let c = jar_candidates(None, Some(Path::new("/w/target/release")), Path::new("/b/tmrt.jar"));
        assert_eq!(
            c,
            vec![
                PathBuf::from("/w/target/java/tmrt.jar"),
                PathBuf::from("/w/java/tmrt.jar"),
                PathBuf::from("/b/tmrt.jar")
            ]
        );
    }

    #[test]
    fn library_is_looked_for_next_to_the_binary() {
        let c = library_candidates(None, Some(Path::new("/w/target/release/deps")));
        assert_eq!(
            c,
            vec![
                PathBuf::from("/w/target/release/deps/libtmrt.so"),
                PathBuf::from("/w/target/release/libtmrt.so")
            ]
        );
    }

    #[test]
    fn missing_artifact_names_places_and_hint() {
        let e = first_file("tmrt.jar", "Set TMRT_JAR", vec![PathBuf::from("/nope/tmrt.jar")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "tmrt.jar not found; looked at: /nope/tmrt.jar. Set TMRT_JAR"
        );
    }
}
