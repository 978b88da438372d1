//! Reading a Flink configuration directory, file by file as each Flink line does.
//!
//! - Flink 1.13 reads `flink-conf.yaml` only.
//! - Flink 1.19/1.20 read `flink-conf.yaml` when it exists (the legacy flat format), otherwise
//!   `config.yaml` (standard YAML, see [`super::yaml`]).
//! - Flink 2.x reads `config.yaml` only.
//!
//! "Exists" is Java's `File.exists()`: whatever is at the path, so a `flink-conf.yaml` that is a
//! directory is the file 1.20 reads, and is reported as a directory (Flink fails on it too) rather
//! than skipped. Only regular files are read: a FIFO, socket or device is named as what it is, and
//! the file is opened non-blocking, so a FIFO never hangs the reader. Sizes are bounded before
//! anything is read: `config.yaml` by Flink's own limit (3 Mi code points, so at most 4 bytes
//! each plus a byte-order mark), `flink-conf.yaml` by [`LEGACY_MAX_BYTES`] (Flink has none).
//!
//! The legacy format is Flink's own line parser (`GlobalConfiguration.loadLegacyYAMLResource`),
//! not YAML: lines end at `\n`, `\r\n` or `\r` (`BufferedReader.readLine`), everything after the
//! first `#` is a comment, a line is split at the first `": "`, key and value are trimmed as
//! Java's `String.trim` does (every character up to U+0020), and a line with no separator or an
//! empty key or value is skipped. Bytes are decoded as UTF-8 with replacement; a UTF-8
//! byte-order mark stays part of the first key, as in Flink (which then does not see that key).

use std::fs::{File, Metadata};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use super::yaml::{decode_yaml_bytes, parse_standard_yaml_with_limits, YamlError, YamlLimits};
use super::{ConfigError, Configuration, FlinkVersion};

pub(super) const LEGACY: &str = "flink-conf.yaml";
pub(super) const STANDARD: &str = "config.yaml";

/// Largest `flink-conf.yaml` read (Flink reads any size; a real one is a few KiB).
pub const LEGACY_MAX_BYTES: u64 = 16 << 20;

/// Loads the configuration file that `version` reads from `dir`.
pub fn load_conf_dir(dir: &Path, version: FlinkVersion) -> Result<Configuration, ConfigError> {
    load_conf_dir_with_limits(dir, version, &YamlLimits::default())
}

/// [`load_conf_dir`] with explicit limits for `config.yaml`.
pub fn load_conf_dir_with_limits(
    dir: &Path,
    version: FlinkVersion,
    limits: &YamlLimits,
) -> Result<Configuration, ConfigError> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(m) => {
            return Err(ConfigError::ConfDir {
                dir: dir.to_path_buf(),
                message: format!("is {}, not a directory", kind_of(&m)),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ConfigError::ConfDir {
                dir: dir.to_path_buf(),
                message: "does not exist".to_string(),
            })
        }
        Err(e) => {
            return Err(ConfigError::ConfDir {
                dir: dir.to_path_buf(),
                message: format!("cannot be read: {}", io_text(&e)),
            })
        }
    }
    let candidates: &[&'static str] = match version {
        FlinkVersion::V1_13 => &[LEGACY],
        FlinkVersion::V1_20 => &[LEGACY, STANDARD],
        FlinkVersion::V2_2 => &[STANDARD],
    };
    for name in candidates {
        let path = dir.join(name);
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(ConfigError::Io {
                    path,
                    message: io_text(&e),
                })
            }
        };
        check_regular(&path, &meta)?;
        return if *name == LEGACY {
            let bytes = read_bounded(
                &path,
                LEGACY_MAX_BYTES,
                "tmrt reads at most this much of a flink-conf.yaml",
            )?;
            Ok(parse_flink_conf_yaml(&String::from_utf8_lossy(&bytes)))
        } else {
            // At most 4 bytes per code point, plus a byte-order mark.
            let max = (limits.max_code_points as u64).saturating_mul(4).saturating_add(4);
            let bytes = read_bounded(
                &path,
                max,
                "4 bytes for each of the code points Flink's YAML reader accepts",
            )?;
            let yaml_error = |e: YamlError| match e {
                YamlError::Limit(message) => ConfigError::Limit {
                    path: path.clone(),
                    message,
                },
                YamlError::Invalid(message) => ConfigError::Yaml {
                    path: path.clone(),
                    message,
                },
            };
            let text = decode_yaml_bytes(bytes).map_err(yaml_error)?;
            parse_standard_yaml_with_limits(&text, limits).map_err(yaml_error)
        };
    }
    Err(ConfigError::MissingFile {
        dir: dir.to_path_buf(),
        expected: candidates.to_vec(),
    })
}

/// `std::io::Error`'s text without the "(os error N)" suffix.
fn io_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// What a non-regular file is, for messages.
fn kind_of(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

fn check_regular(path: &Path, meta: &Metadata) -> Result<(), ConfigError> {
    if meta.is_file() {
        Ok(())
    } else {
        Err(ConfigError::NotAFile {
            path: path.to_path_buf(),
            kind: kind_of(meta),
        })
    }
}

/// Reads a regular file of at most `max` bytes. Opened non-blocking (a FIFO swapped in after
/// the check cannot block), checked again on the open descriptor, and read through a bounded
/// reader (a file that grows while read cannot exceed `max`).
fn read_bounded(path: &Path, max: u64, why: &str) -> Result<Vec<u8>, ConfigError> {
    let io = |e: std::io::Error| ConfigError::Io {
        path: path.to_path_buf(),
        message: io_text(&e),
    };
    let too_big = |size: String| ConfigError::Limit {
        path: path.to_path_buf(),
        message: format!("{size} bytes, more than the {max} bytes tmrt reads ({why})"),
    };
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    check_regular(path, &meta)?;
    if meta.len() > max {
        return Err(too_big(meta.len().to_string()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > max {
        return Err(too_big(format!("more than {max}")));
    }
    Ok(bytes)
}

/// Java's `String.trim`: strips every character up to U+0020 at both ends.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// Parses Flink's legacy flat `flink-conf.yaml` format (`GlobalConfiguration.loadLegacyYAMLResource`).
pub fn parse_flink_conf_yaml(text: &str) -> Configuration {
    let mut conf = Configuration::new();
    for line in text.split(['\n', '\r']) {
        let content = java_trim(line.split('#').next().unwrap_or(""));
        if content.is_empty() {
            continue;
        }
        let Some((k, v)) = content.split_once(": ") else {
            continue;
        };
        let (k, v) = (java_trim(k), java_trim(v));
        if k.is_empty() || v.is_empty() {
            continue;
        }
        conf.set(k, v);
    }
    conf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_format_follows_flinks_line_parser() {
        let c = parse_flink_conf_yaml(
            "# comment\n\
             taskmanager.memory.process.size: 1728m\n\
             taskmanager.numberOfTaskSlots: 2 # trailing comment\n\
             no-separator-line\n\
             empty.value: \n\
             a.b:c\n\
             url: http://host:80/x\n\
             taskmanager.memory.process.size: 2g\n",
        );
        assert_eq!(c.get("taskmanager.memory.process.size"), Some("2g"));
        assert_eq!(c.get("taskmanager.numberOfTaskSlots"), Some("2"));
        assert_eq!(c.get("url"), Some("http://host:80/x"));
        assert!(!c.contains("empty.value"));
        assert!(!c.contains("a.b:c") && !c.contains("a.b"));
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn legacy_lines_and_trimming_are_javas() {
        // `BufferedReader.readLine` ends a line at a lone '\r' too; `String.trim` strips control
        // characters but not U+00A0 or a byte-order mark (which Flink then keeps in the key).
        let c = parse_flink_conf_yaml("\u{FEFF}first: 1\ra: 2\r\nb:\u{1}\u{7f}: 3 \u{1}\n\u{a0}c: 4\n");
        assert_eq!(c.get("\u{FEFF}first"), Some("1"));
        assert!(!c.contains("first"));
        assert_eq!(c.get("a"), Some("2"));
        assert_eq!(c.get("b:\u{1}\u{7f}"), Some("3"));
        assert_eq!(c.get("\u{a0}c"), Some("4"));
        assert_eq!(c.len(), 4);
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("tmrt-conf-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_config_file_that_is_not_a_regular_file_is_named_as_what_it_is() {
        let dir = scratch("kinds");
        // 1.20: a flink-conf.yaml that exists is the one read, even as a directory (as Flink).
        std::fs::create_dir(dir.join(LEGACY)).unwrap();
        std::fs::write(dir.join(STANDARD), "a: 1\n").unwrap();
        let err = load_conf_dir(&dir, FlinkVersion::V1_20).unwrap_err().to_string();
        assert!(
            err.contains(&format!("{} is a directory", dir.join(LEGACY).display())),
            "{err}"
        );
        std::fs::remove_dir(dir.join(LEGACY)).unwrap();
        // A FIFO is reported, never opened for a blocking read.
        let fifo = dir.join(LEGACY);
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for version in [FlinkVersion::V1_13, FlinkVersion::V1_20] {
            let err = load_conf_dir(&dir, version).unwrap_err().to_string();
            assert!(
                err.contains(&format!("{} is a FIFO (named pipe)", fifo.display())),
                "{err}"
            );
        }
        std::fs::remove_file(&fifo).unwrap();
        std::fs::remove_file(dir.join(STANDARD)).unwrap();
        std::fs::create_dir(dir.join(STANDARD)).unwrap();
        let err = load_conf_dir(&dir, FlinkVersion::V2_2).unwrap_err().to_string();
        assert!(err.contains("config.yaml is a directory"), "{err}");
        // The directory itself.
        let err = load_conf_dir(&dir.join("missing"), FlinkVersion::V2_2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing does not exist"), "{err}");
        let err = load_conf_dir(&dir.join(STANDARD).join("x"), FlinkVersion::V2_2).unwrap_err();
        assert!(matches!(err, ConfigError::ConfDir { .. }), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sizes_are_bounded_before_reading() {
        let dir = scratch("sizes");
        let f = std::fs::File::create(dir.join(LEGACY)).unwrap();
        f.set_len(LEGACY_MAX_BYTES + 1).unwrap();
        let err = load_conf_dir(&dir, FlinkVersion::V1_13).unwrap_err().to_string();
        assert!(
            err.contains("flink-conf.yaml") && err.contains(&format!("more than the {LEGACY_MAX_BYTES} bytes")),
            "{err}"
        );
        let limits = YamlLimits {
            max_code_points: 10,
            ..YamlLimits::default()
        };
        std::fs::write(dir.join(STANDARD), "a: 1\nb: 2\nc: 3\n").unwrap();
        let err = load_conf_dir_with_limits(&dir, FlinkVersion::V2_2, &limits)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("config.yaml") && err.contains("more than 10 code points"),
            "{err}"
        );
        std::fs::write(dir.join(STANDARD), "a: 1\nb: 2\nc: 3\n".repeat(4)).unwrap();
        let err = load_conf_dir_with_limits(&dir, FlinkVersion::V2_2, &limits)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("config.yaml") && err.contains("more than the 44 bytes"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn conf_dir_picks_the_file_each_version_reads() {
        let dir = std::env::temp_dir().join(format!("tmrt-confdir-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(STANDARD), "taskmanager:\n  numberOfTaskSlots: 7\n").unwrap();
        assert!(matches!(
            load_conf_dir(&dir, FlinkVersion::V1_13),
            Err(ConfigError::MissingFile { .. })
        ));
        assert_eq!(
            load_conf_dir(&dir, FlinkVersion::V1_20)
                .unwrap()
                .get("taskmanager.numberOfTaskSlots"),
            Some("7")
        );
        std::fs::write(dir.join(LEGACY), "taskmanager.numberOfTaskSlots: 3\n").unwrap();
        assert_eq!(
            load_conf_dir(&dir, FlinkVersion::V1_13)
                .unwrap()
                .get("taskmanager.numberOfTaskSlots"),
            Some("3")
        );
        assert_eq!(
            load_conf_dir(&dir, FlinkVersion::V1_20)
                .unwrap()
                .get("taskmanager.numberOfTaskSlots"),
            Some("3")
        );
        assert_eq!(
            load_conf_dir(&dir, FlinkVersion::V2_2)
                .unwrap()
                .get("taskmanager.numberOfTaskSlots"),
            Some("7")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
