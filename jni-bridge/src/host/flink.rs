//! A Flink distribution for the Flink mode: its `lib/` (the TaskManager's class path, in the order
//! Flink's `bin/config.sh` builds it: every jar under `lib/` sorted by path, `flink-dist` last),
//! its version (from the `flink-dist` jar's name), its `conf/` when present, and the run's own
//! directory for the session's temporary files and Flink's log.

use std::fmt;
use std::path::{Path, PathBuf};

use runtime::config::FlinkVersion;

/// A Flink distribution (a `FLINK_HOME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlinkDistribution {
    pub home: PathBuf,
    /// `1.20.3`, from `flink-dist-1.20.3.jar` (`flink-dist_2.12-1.13.6.jar`).
    pub version: String,
    /// The line whose rules tmrt applies.
    pub line: FlinkVersion,
    /// The class path, in Flink's order.
    pub lib_jars: Vec<PathBuf>,
    /// `conf/`, when the distribution has one.
    pub conf_dir: Option<PathBuf>,
}

/// Why a directory is not a usable Flink distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAFlinkHome(pub String);

impl fmt::Display for NotAFlinkHome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotAFlinkHome {}

/// The version in a `flink-dist` jar's file name.
pub fn dist_version(file_name: &str) -> Option<String> {
    let stem = file_name.strip_prefix("flink-dist")?.strip_suffix(".jar")?;
    // flink-dist-1.20.3, flink-dist_2.12-1.13.6
    let version = stem.rsplit('-').next()?;
    let ok = !version.is_empty()
        && version.split('.').all(|p| !p.is_empty())
        && version.starts_with(|c: char| c.is_ascii_digit());
    ok.then(|| version.to_string())
}

/// The line whose rules apply to Flink `version`, and a note when it is not the line's tested
/// release.
pub fn line_of(version: &str) -> Result<(FlinkVersion, Option<String>), NotAFlinkHome> {
    let mut parts = version.split('.');
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let line = match (major, minor) {
        (1, 13) => FlinkVersion::V1_13,
        (1, 14..=20) => FlinkVersion::V1_20,
        (2, _) => FlinkVersion::V2_2,
        _ => {
            return Err(NotAFlinkHome(format!(
                "Flink {version} is not supported (tmrt models Flink 1.13, 1.20 and 2.2)"
            )))
        }
    };
    let tested = line.reference_release();
    let note = (!version.starts_with(&format!("{}.", line.as_str())) && version != line.as_str())
        .then(|| format!("Flink {version} is modelled with Flink {line}'s rules (tested with {tested})"));
    Ok((line, note))
}

fn jars_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            jars_under(&p, out);
        } else if p.extension().is_some_and(|x| x == "jar") {
            out.push(p);
        }
    }
}

impl FlinkDistribution {
    /// Opens the distribution at `home`.
    pub fn open(home: &Path) -> Result<FlinkDistribution, NotAFlinkHome> {
        let home =
            std::fs::canonicalize(home).map_err(|e| NotAFlinkHome(format!("--flink-home {}: {e}", home.display())))?;
        let lib = home.join("lib");
        if !lib.is_dir() {
            return Err(NotAFlinkHome(format!(
                "{}: no lib/ directory (a Flink distribution has its jars in lib/)",
                home.display()
            )));
        }
        let mut jars = Vec::new();
        jars_under(&lib, &mut jars);
        jars.sort();
        let (dist, mut lib_jars): (Vec<PathBuf>, Vec<PathBuf>) = jars.into_iter().partition(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("flink-dist"))
        });
        let version = dist
            .iter()
            .find_map(|p| dist_version(p.file_name()?.to_str()?))
            .ok_or_else(|| {
                NotAFlinkHome(format!(
                    "{}: no flink-dist jar in lib/ (run scripts/fetch-flink.sh, or point at a Flink distribution)",
                    home.display()
                ))
            })?;
        let (line, _) = line_of(&version)?;
        lib_jars.extend(dist);
        let conf = home.join("conf");
        Ok(FlinkDistribution {
            conf_dir: conf.is_dir().then_some(conf),
            home,
            version,
            line,
            lib_jars,
        })
    }

    /// Flink's log configuration in `conf/`, when the distribution has one.
    pub fn log4j_config(&self) -> Option<PathBuf> {
        self.conf_dir
            .as_ref()
            .map(|c| c.join("log4j.properties"))
            .filter(|p| p.is_file())
    }
}

/// Where `tmrt demo` finds a Flink distribution: `$FLINK_HOME`, else `.flink/VERSION` (from
/// `scripts/fetch-flink.sh`) in the working directory or the checkout the binary was built in;
/// 1.20.3 first, then 2.2.0, then any other.
pub fn find_flink_home(env_home: Option<PathBuf>, bases: &[PathBuf]) -> Option<FlinkDistribution> {
    if let Some(home) = env_home {
        return FlinkDistribution::open(&home).ok();
    }
    for base in bases {
        let dir = base.join(".flink");
        let mut versions: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|e| e.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        let rank = |p: &PathBuf| match p.file_name().and_then(|n| n.to_str()) {
            Some("1.20.3") => 0,
            Some("2.2.0") => 1,
            _ => 2,
        };
        versions.sort_by_key(|p| (rank(p), p.clone()));
        if let Some(d) = versions.iter().find_map(|v| FlinkDistribution::open(v).ok()) {
            return Some(d);
        }
    }
    None
}

/// The run's own directory under the temporary directory: the session's `io.tmp.dirs`, blob
/// storage and Flink's log. Removed by [`RunDir::remove`] (the log is kept when asked to).
#[derive(Debug)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    /// Creates `tmrt-emulate-PID-N` under the temporary directory.
    pub fn create() -> std::io::Result<RunDir> {
        let base = std::env::temp_dir();
        for n in 0..1000u32 {
            let path = base.join(format!("tmrt-emulate-{}-{n}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(RunDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "no free run directory name",
        ))
    }

    /// Flink's log file of the session.
    pub fn log_file(&self) -> PathBuf {
        self.path.join("flink.log")
    }

    /// The JVM options that send the session's Flink log to [`Self::log_file`]: the
    /// distribution's `conf/log4j.properties`, else the configuration [`Self::write_log_config`]
    /// writes.
    pub fn logging_options(&self, dist: &FlinkDistribution) -> Result<Vec<String>, String> {
        let config = match dist.log4j_config() {
            Some(p) => p,
            None => self
                .write_log_config()
                .map_err(|e| format!("cannot write the log configuration: {e}"))?,
        };
        Ok(vec![
            format!("-Dlog.file={}", self.log_file().display()),
            format!("-Dlog4j.configurationFile={}", config.display()),
            format!("-Dlog4j2.configurationFile={}", config.display()),
        ])
    }

    /// A log4j 2 configuration writing everything from INFO to [`Self::log_file`] (used when the
    /// distribution has no `conf/log4j.properties`).
    pub fn write_log_config(&self) -> std::io::Result<PathBuf> {
        let path = self.path.join("log4j2.properties");
        std::fs::write(
            &path,
            "rootLogger.level = INFO\n\
             rootLogger.appenderRef.file.ref = MainAppender\n\
             appender.main.name = MainAppender\n\
             appender.main.type = File\n\
             appender.main.append = true\n\
             appender.main.fileName = ${sys:log.file}\n\
             appender.main.layout.type = PatternLayout\n\
             appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n\n",
        )?;
        Ok(path)
    }

    /// Removes the directory; with `keep_log`, everything but Flink's log.
    pub fn remove(&self, keep_log: bool) {
        if !keep_log {
            let _ = std::fs::remove_dir_all(&self.path);
            return;
        }
        if let Ok(entries) = std::fs::read_dir(&self.path) {
            for e in entries.flatten() {
                let p = e.path();
                if p == self.log_file() {
                    continue;
                }
                let _ = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_from_the_dist_jar_name() {
        assert_eq!(dist_version("flink-dist-1.20.3.jar").as_deref(), Some("1.20.3"));
        assert_eq!(dist_version("flink-dist_2.12-1.13.6.jar").as_deref(), Some("1.13.6"));
        assert_eq!(dist_version("flink-dist-2.2.0.jar").as_deref(), Some("2.2.0"));
        assert_eq!(dist_version("flink-dist.jar"), None);
        assert_eq!(dist_version("flink-table.jar"), None);
    }

    #[test]
    fn lines_and_notes() {
        assert_eq!(line_of("1.20.3").unwrap(), (FlinkVersion::V1_20, None));
        assert_eq!(line_of("2.2.0").unwrap(), (FlinkVersion::V2_2, None));
        assert_eq!(line_of("1.13.6").unwrap(), (FlinkVersion::V1_13, None));
        let (line, note) = line_of("1.17.2").unwrap();
        assert_eq!(line, FlinkVersion::V1_20);
        assert!(note.unwrap().contains("Flink 1.20's rules"));
        assert!(line_of("1.12.0").is_err());
        assert!(line_of("3.0.0").is_err());
    }

    #[test]
    fn class_path_is_sorted_with_flink_dist_last() {
        let dir = std::env::temp_dir().join(format!("tmrt-flink-home-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("lib/sub")).unwrap();
        for f in [
            "lib/zeta.jar",
            "lib/flink-dist-1.20.3.jar",
            "lib/alpha.jar",
            "lib/sub/mid.jar",
            "lib/notes.txt",
        ] {
            std::fs::write(dir.join(f), b"").unwrap();
        }
        let d = FlinkDistribution::open(&dir).unwrap();
        let names: Vec<String> = d
            .lib_jars
            .iter()
            .map(|p| p.strip_prefix(&d.home).unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "lib/alpha.jar",
                "lib/sub/mid.jar",
                "lib/zeta.jar",
                "lib/flink-dist-1.20.3.jar"
            ]
        );
        assert_eq!((d.version.as_str(), d.line), ("1.20.3", FlinkVersion::V1_20));
        assert_eq!(d.conf_dir, None);
        std::fs::remove_file(dir.join("lib/flink-dist-1.20.3.jar")).unwrap();
        assert!(FlinkDistribution::open(&dir)
            .unwrap_err()
            .0
            .contains("no flink-dist jar"));
        assert!(FlinkDistribution::open(&dir.join("nope")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
