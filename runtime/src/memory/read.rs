//! Reading typed option values the way Flink's `Configuration` does.
//!
//! An option is present when its key or one of its deprecated keys is set (`contains`), and its
//! value is the first of those that is set. Values are converted on every read, so a bad value
//! fails only when the derivation actually reads it, which decides which error a configuration
//! with several problems reports. Two wrappings exist in Flink and both are kept: memory sizes
//! read through `ProcessMemoryUtils.getMemorySizeFromConfig` fail as an
//! `IllegalConfigurationException` (“Cannot read memory size from config option …”), every other
//! read as an `IllegalArgumentException` (“Could not parse value …”). Both name option and value.

use crate::config::Configuration;

use super::error::{MemoryConfigError, IAE, NFE};
use super::number::{parse_double, parse_float, parse_int};
use super::options::{MemoryOption, OptionDefault};
use super::size::MemorySizeError;
use super::MemorySize;

/// Flink's `Configuration.contains(option)`.
pub fn contains(conf: &Configuration, option: &MemoryOption) -> bool {
    conf.contains(option.key) || option.deprecated_keys.iter().any(|k| conf.contains(k))
}

fn raw<'c>(conf: &'c Configuration, option: &MemoryOption) -> Option<(&'static str, &'c str)> {
    if let Some(v) = conf.get(option.key) {
        return Some((option.key, v));
    }
    option.deprecated_keys.iter().find_map(|k| conf.get(k).map(|v| (*k, v)))
}

/// The key that supplies `option`'s value (`None` when it is not set).
pub fn key_used(conf: &Configuration, option: &MemoryOption) -> Option<&'static str> {
    raw(conf, option).map(|(k, _)| k)
}

fn size_error_class(e: &MemorySizeError) -> &'static str {
    match e {
        MemorySizeError::NoNumber => NFE,
        _ => IAE,
    }
}

/// `config.get(option)` for a memory option: the parsed value, or the default (`None` when the
/// option has none).
pub fn get_size(conf: &Configuration, option: &MemoryOption) -> Result<Option<MemorySize>, MemoryConfigError> {
    match raw(conf, option) {
        Some((key, value)) => MemorySize::parse(value)
            .map(Some)
            .map_err(|e| MemoryConfigError::parse(key, value, size_error_class(&e), e.to_string())),
        None => Ok(option.default_size()),
    }
}

/// `ProcessMemoryUtils.getMemorySizeFromConfig`: like [`get_size`], for options that have a
/// default or are known to be set.
pub fn memory_size(conf: &Configuration, option: &MemoryOption) -> Result<MemorySize, MemoryConfigError> {
    get_size(conf, option)?.ok_or_else(|| {
        MemoryConfigError::unsupported(format!(
            "Cannot read memory size from config option '{}': the memory option is not set and has no default value.",
            option.key
        ))
    })
}

/// `config.get(option)` for a float option, widened to double as Flink's memory utilities do.
pub fn get_fraction(conf: &Configuration, option: &MemoryOption) -> Result<f64, MemoryConfigError> {
    match raw(conf, option) {
        Some((key, value)) => parse_float(value)
            .map(f64::from)
            .map_err(|e| MemoryConfigError::parse(key, value, NFE, e)),
        None => match option.default {
            OptionDefault::Float(f, _) => Ok(f64::from(f)),
            _ => Ok(0.0),
        },
    }
}

/// `config.get(option)` for an integer option.
pub fn get_int(conf: &Configuration, option: &MemoryOption) -> Result<Option<i32>, MemoryConfigError> {
    match raw(conf, option) {
        Some((key, value)) => parse_int(value)
            .map(Some)
            .map_err(|e| MemoryConfigError::parse(key, value, NFE, e)),
        None => match option.default {
            OptionDefault::Int(i) => Ok(Some(i)),
            _ => Ok(None),
        },
    }
}

/// `config.get(option)` for a double option.
pub fn get_double(conf: &Configuration, option: &MemoryOption) -> Result<Option<f64>, MemoryConfigError> {
    match raw(conf, option) {
        Some((key, value)) => parse_double(value)
            .map(Some)
            .map_err(|e| MemoryConfigError::parse(key, value, NFE, e)),
        None => Ok(None),
    }
}
