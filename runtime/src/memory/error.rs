//! Why a TaskManager memory configuration is refused, in Flink's words.
//!
//! Flink reports a bad memory configuration as a chain of exceptions. What matters to a user is
//! the innermost `IllegalConfigurationException`, whose message names the components and sizes
//! in conflict; for a value that does not parse, the option and the value. [`MemoryConfigError`]
//! keeps that message as its `Display`, and also the innermost cause exactly as Flink has it
//! ([`MemoryConfigError::root_message`], [`MemoryConfigError::root_class`]), so that tests compare
//! it with Flink's own and a user can search for it.

use std::fmt;

/// The kind of failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The value of an option does not parse.
    Parse { key: String, value: String },
    /// The options contradict each other (Flink's `IllegalConfigurationException`).
    Conflict,
    /// A size computation overflowed (Flink's `ArithmeticException` / negative `MemorySize`).
    Arithmetic,
    /// The configuration uses something tmrt does not model.
    Unsupported,
}

/// A refused memory configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryConfigError {
    kind: ErrorKind,
    message: String,
    root_class: &'static str,
    root_message: String,
}

pub(crate) const ICE: &str = "org.apache.flink.configuration.IllegalConfigurationException";
pub(crate) const IAE: &str = "java.lang.IllegalArgumentException";
pub(crate) const NFE: &str = "java.lang.NumberFormatException";

impl MemoryConfigError {
    /// A conflict whose innermost cause is the `IllegalConfigurationException` itself.
    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        let message = message.into();
        MemoryConfigError {
            kind: ErrorKind::Conflict,
            root_class: ICE,
            root_message: message.clone(),
            message,
        }
    }

    /// A conflict reported by Flink as an `IllegalConfigurationException` wrapping an
    /// `IllegalArgumentException` (a range with min above max, a fraction out of range).
    pub(crate) fn conflict_with_cause(message: impl Into<String>, cause: impl Into<String>) -> Self {
        MemoryConfigError {
            kind: ErrorKind::Conflict,
            message: message.into(),
            root_class: IAE,
            root_message: cause.into(),
        }
    }

    /// A value of `key` that does not parse; `reason` is the parser's message.
    pub(crate) fn parse(key: &str, value: &str, root_class: &'static str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        MemoryConfigError {
            kind: ErrorKind::Parse {
                key: key.to_string(),
                value: value.to_string(),
            },
            message: format!("Could not parse value '{value}' for key '{key}': {reason}"),
            root_class,
            root_message: reason,
        }
    }

    /// An overflow in a size computation.
    pub(crate) fn arithmetic(root_class: &'static str, root_message: &str, context: &str) -> Self {
        MemoryConfigError {
            kind: ErrorKind::Arithmetic,
            message: format!("{context}: {root_message}"),
            root_class,
            root_message: root_message.to_string(),
        }
    }

    /// Something tmrt does not model.
    pub(crate) fn unsupported(message: impl Into<String>) -> Self {
        let message = message.into();
        MemoryConfigError {
            kind: ErrorKind::Unsupported,
            root_class: "tmrt.Unsupported",
            root_message: message.clone(),
            message,
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Whether this is a derivation conflict (Flink's `IllegalConfigurationException`).
    pub fn is_conflict(&self) -> bool {
        self.kind == ErrorKind::Conflict
    }

    /// The message of the innermost exception in Flink's chain, exactly as Flink has it.
    pub fn root_message(&self) -> &str {
        &self.root_message
    }

    /// The Java class of the innermost exception in Flink's chain.
    pub fn root_class(&self) -> &'static str {
        self.root_class
    }
}

impl fmt::Display for MemoryConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MemoryConfigError {}
