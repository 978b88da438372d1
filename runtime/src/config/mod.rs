//! Configuration input, as Flink receives it: a flat map from option key to string value.
//!
//! Flink reads `flink-conf.yaml` (its own flat `key: value` format; Flink 1.x) or `config.yaml`
//! (standard YAML whose nested keys are flattened with dots; Flink 1.19+ and 2.x). Which file a
//! [`FlinkVersion`] reads, and how, is in [`file`]. `-D key=value` overrides come last. Nothing in
//! this module interprets an option: the memory model and the classloading policy do that.

mod file;
mod version;
mod yaml;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

pub use file::{load_conf_dir, load_conf_dir_with_limits, parse_flink_conf_yaml, LEGACY_MAX_BYTES};
pub use version::FlinkVersion;
pub use yaml::{
    decode_yaml_bytes, parse_standard_yaml, parse_standard_yaml_with_limits, YamlError, YamlLimits, ENTRY_COST,
    FLINK_CODE_POINT_LIMIT, FLINK_MAX_ALIASES_FOR_COLLECTIONS, KEY_COST,
};

/// A flat Flink configuration: option key to raw string value, as `Configuration.fromMap` takes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Configuration {
    entries: BTreeMap<String, String>,
}

impl Configuration {
    /// An empty configuration (every option at its default).
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a configuration from key/value pairs; later pairs override earlier ones.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut c = Self::new();
        for (k, v) in pairs {
            c.set(k, v);
        }
        c
    }

    /// The raw value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// Whether `key` is set.
    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// Sets `key` to `value`, replacing any earlier value.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.entries.insert(key.into(), value.into());
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.entries.remove(key)
    }

    /// All entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no option is set.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Applies a `-D key=value` override (the text after `-D`).
    pub fn apply_dynamic(&mut self, spec: &str) -> Result<(), ConfigError> {
        match spec.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                self.set(k.trim(), v.trim());
                Ok(())
            }
            _ => Err(ConfigError::DynamicProperty(spec.to_string())),
        }
    }
}

/// Why a configuration could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The configuration directory is missing, unreadable or not a directory.
    ConfDir { dir: PathBuf, message: String },
    /// The configuration directory holds none of the files the Flink version reads.
    MissingFile { dir: PathBuf, expected: Vec<&'static str> },
    /// The file the Flink version reads is there but is not a regular file (`kind`: "a
    /// directory", "a FIFO (named pipe)", …).
    NotAFile { path: PathBuf, kind: &'static str },
    /// A configuration file could not be read.
    Io { path: PathBuf, message: String },
    /// `config.yaml` is not YAML Flink reads (syntax, encoding, top level not a mapping, …).
    Yaml { path: PathBuf, message: String },
    /// A configuration file is over one of the reader's bounds; the message names the limit.
    Limit { path: PathBuf, message: String },
    /// A `-D` argument without `key=value` form.
    DynamicProperty(String),
    /// A Flink version tmrt does not model.
    UnsupportedVersion(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::MissingFile { dir, expected } => write!(
                f,
                "The Flink config file '{}' does not exist in {} (this Flink version reads {})",
                expected.last().copied().unwrap_or("config.yaml"),
                dir.display(),
                expected.join(" or ")
            ),
            ConfigError::ConfDir { dir, message } => {
                write!(f, "the Flink configuration directory {} {message}", dir.display())
            }
            ConfigError::NotAFile { path, kind } => write!(
                f,
                "the Flink config file {} is {kind}, not a regular file",
                path.display()
            ),
            ConfigError::Io { path, message } => write!(f, "cannot read {}: {message}", path.display()),
            ConfigError::Yaml { path, message } => write!(f, "invalid YAML in {}: {message}", path.display()),
            ConfigError::Limit { path, message } => write!(f, "refused {}: {message}", path.display()),
            ConfigError::DynamicProperty(s) => {
                write!(f, "invalid dynamic property '-D {s}': expected -D key=value")
            }
            ConfigError::UnsupportedVersion(v) => write!(
                f,
                "unsupported Flink version '{v}': expected 1.13, 1.20 or 2.2 (or a full version such as 1.20.3)"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}
