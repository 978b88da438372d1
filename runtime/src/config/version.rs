//! The Flink lines tmrt models.

use std::fmt;
use std::str::FromStr;

use super::ConfigError;

/// A Flink release line whose TaskExecutor behaviour tmrt reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum FlinkVersion {
    /// Flink 1.13 (vectors from 1.13.6).
    V1_13,
    /// Flink 1.20 (vectors from 1.20.3); the default.
    #[default]
    V1_20,
    /// Flink 2.2 (vectors from 2.2.0).
    V2_2,
}

impl FlinkVersion {
    /// All modelled versions, oldest first.
    pub const ALL: [FlinkVersion; 3] = [FlinkVersion::V1_13, FlinkVersion::V1_20, FlinkVersion::V2_2];

    /// The short name: `1.13`, `1.20`, `2.2`.
    pub fn as_str(self) -> &'static str {
        match self {
            FlinkVersion::V1_13 => "1.13",
            FlinkVersion::V1_20 => "1.20",
            FlinkVersion::V2_2 => "2.2",
        }
    }

    /// The release the conformance vectors were produced with.
    pub fn reference_release(self) -> &'static str {
        match self {
            FlinkVersion::V1_13 => "1.13.6",
            FlinkVersion::V1_20 => "1.20.3",
            FlinkVersion::V2_2 => "2.2.0",
        }
    }
}

impl fmt::Display for FlinkVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FlinkVersion {
    type Err = ConfigError;

    /// Accepts `1.13`, `1.20`, `2.2` and full versions of those lines (`1.13.6`, `1.20.3`,
    /// `2.2.0`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let mut parts = t.split('.');
        let major = parts.next().unwrap_or("");
        let minor = parts.next().unwrap_or("");
        let rest: Vec<&str> = parts.collect();
        let patch_ok = rest.len() <= 1
            && rest
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        let v = match (major, minor) {
            ("1", "13") => Some(FlinkVersion::V1_13),
            ("1", "20") => Some(FlinkVersion::V1_20),
            ("2", "2") => Some(FlinkVersion::V2_2),
            _ => None,
        };
        match v {
            Some(v) if patch_ok => Ok(v),
            _ => Err(ConfigError::UnsupportedVersion(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_full_versions() {
        assert_eq!("1.13".parse::<FlinkVersion>().unwrap(), FlinkVersion::V1_13);
        assert_eq!("1.13.6".parse::<FlinkVersion>().unwrap(), FlinkVersion::V1_13);
        assert_eq!("1.20.3".parse::<FlinkVersion>().unwrap(), FlinkVersion::V1_20);
        assert_eq!("2.2".parse::<FlinkVersion>().unwrap(), FlinkVersion::V2_2);
        assert_eq!("2.2.0".parse::<FlinkVersion>().unwrap(), FlinkVersion::V2_2);
        for bad in ["", "1", "1.2", "1.14", "2.0", "1.20.", "1.20.x", "1.20.3.1", "v1.20"] {
            let err = bad.parse::<FlinkVersion>().unwrap_err();
            assert!(err.to_string().contains("unsupported Flink version"), "{bad}: {err}");
        }
    }
}
