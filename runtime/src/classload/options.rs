//! Flink's classloading options, read from a [`Configuration`] the way each Flink line reads them.
//!
//! | key | 1.13 | 1.20 / 2.2 |
//! | --- | --- | --- |
//! | `classloader.resolve-order` | `child-first` | same |
//! | `classloader.parent-first-patterns.default` (deprecated key `classloader.parent-first-patterns`) | string, split on `;` | list of strings |
//! | `classloader.parent-first-patterns.additional` | string, split on `;` | list of strings |
//! | `classloader.check-leaked-classloader` | `true` | same |
//!
//! Flink 1.13 splits the string with Guava's `Splitter.on(';').omitEmptyStrings()` (no
//! trimming). Flink 1.20 and 2.2 declare the pattern options `stringType().asList()`, parsed by
//! `StructuredOptionsSplitter.splitEscaped(value, ';')`: whitespace around unquoted items is
//! trimmed, `'…'`/`"…"` quote an item (a doubled quote escapes it), an empty item between two
//! `;` is kept. The patterns in effect are the defaults followed by the additional ones
//! (`CoreOptions.getParentFirstLoaderPatterns`).
//!
//! Some of Flink's documentation spells the pattern keys `classloader.parent-first-patterns-default`
//! and `-additional`. Flink ignores those; tmrt accepts them (when the real key is not set) and
//! returns a [`ConfigWarning`] naming the real key, so that callers can tell the user.

use std::fmt;

use crate::config::{Configuration, FlinkVersion};
use crate::memory::java_trim;

pub const RESOLVE_ORDER: &str = "classloader.resolve-order";
pub const PATTERNS_DEFAULT: &str = "classloader.parent-first-patterns.default";
pub const PATTERNS_DEFAULT_DEPRECATED: &str = "classloader.parent-first-patterns";
pub const PATTERNS_ADDITIONAL: &str = "classloader.parent-first-patterns.additional";
pub const CHECK_LEAKED_CLASSLOADER: &str = "classloader.check-leaked-classloader";
const PATTERNS_DEFAULT_MISSPELLED: &str = "classloader.parent-first-patterns-default";
const PATTERNS_ADDITIONAL_MISSPELLED: &str = "classloader.parent-first-patterns-additional";

/// Flink 1.13's default always-parent-first patterns, in Flink's order.
pub const DEFAULT_PATTERNS_1_13: &[&str] = &[
    "java.",
    "scala.",
    "org.apache.flink.",
    "com.esotericsoftware.kryo",
    "org.apache.hadoop.",
    "javax.annotation.",
    "org.slf4j",
    "org.apache.log4j",
    "org.apache.logging",
    "org.apache.commons.logging",
    "ch.qos.logback",
    "org.xml",
    "javax.xml",
    "org.apache.xerces",
    "org.w3c",
];

/// Flink 1.20's and 2.2's default patterns, in Flink's order (`CoreOptions` concatenates the
/// logging patterns after the others).
pub const DEFAULT_PATTERNS_1_20: &[&str] = &[
    "java.",
    "scala.",
    "org.apache.flink.",
    "com.esotericsoftware.kryo",
    "org.apache.hadoop.",
    "javax.annotation.",
    "org.xml",
    "javax.xml",
    "org.apache.xerces",
    "org.w3c",
    "org.rocksdb.",
    "org.slf4j",
    "org.apache.log4j",
    "org.apache.logging",
    "org.apache.commons.logging",
    "ch.qos.logback",
];

/// The default always-parent-first patterns of `version`.
pub fn default_patterns(version: FlinkVersion) -> &'static [&'static str] {
    match version {
        FlinkVersion::V1_13 => DEFAULT_PATTERNS_1_13,
        FlinkVersion::V1_20 | FlinkVersion::V2_2 => DEFAULT_PATTERNS_1_20,
    }
}

/// `classloader.resolve-order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResolveOrder {
    ChildFirst,
    ParentFirst,
}

impl ResolveOrder {
    /// Flink's `ResolveOrder.fromString`: case-insensitive `child-first` / `parent-first`.
    pub fn parse(s: &str) -> Result<Self, ClassLoadConfigError> {
        if s.eq_ignore_ascii_case("parent-first") {
            Ok(ResolveOrder::ParentFirst)
        } else if s.eq_ignore_ascii_case("child-first") {
            Ok(ResolveOrder::ChildFirst)
        } else {
            Err(ClassLoadConfigError {
                key: RESOLVE_ORDER,
                value: s.to_string(),
                message: format!("Unknown resolve order: {s}"),
            })
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ResolveOrder::ChildFirst => "child-first",
            ResolveOrder::ParentFirst => "parent-first",
        }
    }
}

impl fmt::Display for ResolveOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The classloading settings in effect: what `FlinkUserCodeClassLoaders.create` receives.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClassLoadingOptions {
    pub resolve_order: ResolveOrder,
    /// Defaults (or their override) followed by the additional patterns.
    pub parent_first_patterns: Vec<String>,
    pub check_leaked_classloader: bool,
    /// Accepted but questionable input (deprecated or misspelled keys), for the caller to show.
    pub warnings: Vec<ConfigWarning>,
}

/// A configuration problem that did not stop the derivation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigWarning {
    /// The key the user wrote.
    pub key: String,
    /// The key Flink reads.
    pub real_key: &'static str,
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A classloading option with a value Flink would reject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassLoadConfigError {
    pub key: &'static str,
    pub value: String,
    pub message: String,
}

impl fmt::Display for ClassLoadConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Could not parse value '{}' for key '{}': {}",
            self.value, self.key, self.message
        )
    }
}

impl std::error::Error for ClassLoadConfigError {}

impl ClassLoadingOptions {
    /// Flink's defaults for `version`.
    pub fn defaults(version: FlinkVersion) -> Self {
        ClassLoadingOptions {
            resolve_order: ResolveOrder::ChildFirst,
            parent_first_patterns: default_patterns(version).iter().map(|s| s.to_string()).collect(),
            check_leaked_classloader: true,
            warnings: Vec::new(),
        }
    }

    /// Reads the classloading options from `conf` as `version` does.
    pub fn from_config(conf: &Configuration, version: FlinkVersion) -> Result<Self, ClassLoadConfigError> {
        let mut warnings = Vec::new();
        let resolve_order = match conf.get(RESOLVE_ORDER) {
            Some(v) => ResolveOrder::parse(v)?,
            None => ResolveOrder::ChildFirst,
        };
        let defaults = match lookup(
            conf,
            PATTERNS_DEFAULT,
            &[PATTERNS_DEFAULT_DEPRECATED],
            &[PATTERNS_DEFAULT_MISSPELLED],
            &mut warnings,
        ) {
            Some((key, v)) => split_patterns(v, key, version)?,
            None => default_patterns(version).iter().map(|s| s.to_string()).collect(),
        };
        let additional = match lookup(
            conf,
            PATTERNS_ADDITIONAL,
            &[],
            &[PATTERNS_ADDITIONAL_MISSPELLED],
            &mut warnings,
        ) {
            Some((key, v)) => split_patterns(v, key, version)?,
            None => Vec::new(),
        };
        let check_leaked_classloader = match conf.get(CHECK_LEAKED_CLASSLOADER) {
            None => true,
            Some(v) if v.trim().eq_ignore_ascii_case("true") => true,
            Some(v) if v.trim().eq_ignore_ascii_case("false") => false,
            Some(v) => {
                return Err(ClassLoadConfigError {
                    key: CHECK_LEAKED_CLASSLOADER,
                    value: v.to_string(),
                    message: format!(
                        "Unrecognized option for boolean: {v}. Expected either true or false(case insensitive)"
                    ),
                })
            }
        };
        let mut parent_first_patterns = defaults;
        parent_first_patterns.extend(additional);
        Ok(ClassLoadingOptions {
            resolve_order,
            parent_first_patterns,
            check_leaked_classloader,
            warnings,
        })
    }
}

/// The value of `key`, else of a deprecated key (Flink's fallback, with Flink's warning text),
/// else of a misspelled key (tmrt's leniency, with a warning naming the real key).
fn lookup<'c>(
    conf: &'c Configuration,
    key: &'static str,
    deprecated: &[&'static str],
    misspelled: &[&'static str],
    warnings: &mut Vec<ConfigWarning>,
) -> Option<(&'static str, &'c str)> {
    let mut warn = |wrong: &str, message: String| {
        warnings.push(ConfigWarning {
            key: wrong.to_string(),
            real_key: key,
            message,
        })
    };
    if let Some(v) = conf.get(key) {
        for wrong in misspelled.iter().filter(|wrong| conf.contains(wrong)) {
            warn(
                wrong,
                format!("'{wrong}' is not a Flink option and is ignored because '{key}' is set"),
            );
        }
        return Some((key, v));
    }
    for old in deprecated {
        if let Some(v) = conf.get(old) {
            warn(
                old,
                format!("Config uses deprecated configuration key '{old}' instead of proper key '{key}'"),
            );
            return Some((old, v));
        }
    }
    for wrong in misspelled {
        if let Some(v) = conf.get(wrong) {
            warn(
                wrong,
                format!(
                    "'{wrong}' is not a Flink option (Flink ignores it); tmrt read it as '{key}': use '{key}' instead"
                ),
            );
            return Some((wrong, v));
        }
    }
    None
}

fn split_patterns(value: &str, key: &'static str, version: FlinkVersion) -> Result<Vec<String>, ClassLoadConfigError> {
    match version {
        FlinkVersion::V1_13 => Ok(value.split(';').filter(|s| !s.is_empty()).map(str::to_string).collect()),
        FlinkVersion::V1_20 | FlinkVersion::V2_2 => split_escaped(value, ';').map_err(|message| ClassLoadConfigError {
            key,
            value: value.to_string(),
            message,
        }),
    }
}

/// Flink's `StructuredOptionsSplitter.splitEscaped` (list-typed option values).
pub fn split_escaped(s: &str, delimiter: char) -> Result<Vec<String>, String> {
    #[derive(PartialEq)]
    enum Kind {
        Quoted,
        Unquoted,
        Delimiter,
    }
    let chars: Vec<char> = s.chars().collect();
    let mut tokens: Vec<(Kind, String, usize)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' || c == '"' {
            let mut text = String::new();
            let mut j = i + 1;
            let mut closed = false;
            while j < chars.len() {
                if chars[j] == c {
                    if j + 1 < chars.len() && chars[j + 1] == c {
                        text.push(c);
                        j += 2;
                        continue;
                    }
                    closed = true;
                    j += 1;
                    break;
                }
                text.push(chars[j]);
                j += 1;
            }
            if !closed {
                return Err("Could not split string. Quoting was not closed properly.".to_string());
            }
            tokens.push((Kind::Quoted, text, i));
            i = j;
        } else if c == delimiter {
            tokens.push((Kind::Delimiter, String::new(), i));
            i += 1;
        } else if !is_java_whitespace(c) {
            let mut j = i;
            let mut text = String::new();
            while j < chars.len() && chars[j] != delimiter {
                text.push(chars[j]);
                j += 1;
            }
            tokens.push((Kind::Unquoted, java_trim(&text).to_string(), i));
            i = j;
        } else {
            i += 1;
        }
    }
    let mut out = Vec::new();
    for (n, (kind, text, _)) in tokens.iter().enumerate() {
        match kind {
            Kind::Quoted => {
                if let Some((next_kind, _, pos)) = tokens.get(n + 1) {
                    if *next_kind != Kind::Delimiter {
                        return Err(format!(
                            "Could not split string. Illegal quoting at position: {}",
                            pos - 1
                        ));
                    }
                }
                out.push(text.clone());
            }
            Kind::Unquoted => out.push(text.clone()),
            Kind::Delimiter => {
                if matches!(tokens.get(n + 1), Some((Kind::Delimiter, _, _))) {
                    out.push(String::new());
                }
            }
        }
    }
    Ok(out)
}

/// `Character.isWhitespace` for the characters that can occur in option values.
fn is_java_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | '\u{1C}'..='\u{1F}')
        || (c.is_whitespace() && !matches!(c, '\u{00A0}' | '\u{2007}' | '\u{202F}'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(pairs: &[(&str, &str)]) -> Configuration {
        Configuration::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn defaults_per_version() {
        for v in FlinkVersion::ALL {
            let o = ClassLoadingOptions::from_config(&Configuration::new(), v).unwrap();
            assert_eq!(o.resolve_order, ResolveOrder::ChildFirst);
            assert!(o.check_leaked_classloader);
            assert!(o.warnings.is_empty());
            assert_eq!(
                o.parent_first_patterns.len(),
                if v == FlinkVersion::V1_13 { 15 } else { 16 }
            );
            assert_eq!(
                o.parent_first_patterns.contains(&"org.rocksdb.".to_string()),
                v != FlinkVersion::V1_13
            );
        }
    }

    #[test]
    fn additional_patterns_are_appended() {
        let c = conf(&[(PATTERNS_ADDITIONAL, "com.acme.;org.foo")]);
        let o = ClassLoadingOptions::from_config(&c, FlinkVersion::V1_20).unwrap();
        assert_eq!(&o.parent_first_patterns[16..], ["com.acme.", "org.foo"]);
        assert_eq!(o.parent_first_patterns[0], "java.");
    }

    #[test]
    fn list_parsing_differs_between_lines() {
        let c = conf(&[(PATTERNS_DEFAULT, " a. ; 'b;c' ;;d")]);
        let o = ClassLoadingOptions::from_config(&c, FlinkVersion::V1_20).unwrap();
        assert_eq!(o.parent_first_patterns, ["a.", "b;c", "", "d"]);
        let o = ClassLoadingOptions::from_config(&c, FlinkVersion::V1_13).unwrap();
        assert_eq!(o.parent_first_patterns, [" a. ", " 'b", "c' ", "d"]);
    }

    #[test]
    fn split_escaped_matches_flink() {
        assert_eq!(split_escaped("a;b", ';').unwrap(), ["a", "b"]);
        assert_eq!(split_escaped(";a;", ';').unwrap(), ["a"]);
        assert_eq!(split_escaped("'it''s';x", ';').unwrap(), ["it's", "x"]);
        assert_eq!(split_escaped("", ';').unwrap(), Vec::<String>::new());
        assert!(split_escaped("'open", ';')
            .unwrap_err()
            .contains("Quoting was not closed"));
        assert!(split_escaped("'a'b", ';')
            .unwrap_err()
            .contains("Illegal quoting at position: 2"));
    }

    #[test]
    fn deprecated_and_misspelled_keys_warn() {
        let c = conf(&[(PATTERNS_DEFAULT_DEPRECATED, "x.")]);
        let o = ClassLoadingOptions::from_config(&c, FlinkVersion::V2_2).unwrap();
        assert_eq!(o.parent_first_patterns, ["x."]);
        assert_eq!(o.warnings.len(), 1);
        assert!(o.warnings[0]
            .message
            .contains("deprecated configuration key 'classloader.parent-first-patterns'"));

        let c = conf(&[
            ("classloader.parent-first-patterns-default", "y."),
            ("classloader.parent-first-patterns-additional", "z."),
        ]);
        let o = ClassLoadingOptions::from_config(&c, FlinkVersion::V1_13).unwrap();
        assert_eq!(o.parent_first_patterns, ["y.", "z."]);
        assert_eq!(o.warnings.len(), 2);
        assert_eq!(o.warnings[0].real_key, PATTERNS_DEFAULT);
        assert!(o.warnings[1]
            .message
            .contains("use 'classloader.parent-first-patterns.additional'"));

        // The real key wins, and the misspelled one is reported as ignored.
        let c = conf(&[
            (PATTERNS_ADDITIONAL, "r."),
            ("classloader.parent-first-patterns-additional", "z."),
        ]);
        let o = ClassLoadingOptions::from_config(&c, FlinkVersion::V1_20).unwrap();
        assert_eq!(o.parent_first_patterns.last().unwrap(), "r.");
        assert!(o.warnings[0].message.contains("ignored"));
    }

    #[test]
    fn bad_values_name_the_option() {
        let e =
            ClassLoadingOptions::from_config(&conf(&[(RESOLVE_ORDER, "sideways")]), FlinkVersion::V1_20).unwrap_err();
        assert_eq!(e.key, RESOLVE_ORDER);
        assert!(e.to_string().contains("Unknown resolve order: sideways"), "{e}");
        let o =
            ClassLoadingOptions::from_config(&conf(&[(RESOLVE_ORDER, "Parent-First")]), FlinkVersion::V1_20).unwrap();
        assert_eq!(o.resolve_order, ResolveOrder::ParentFirst);
        let e = ClassLoadingOptions::from_config(&conf(&[(CHECK_LEAKED_CLASSLOADER, "yes")]), FlinkVersion::V1_20)
            .unwrap_err();
        assert!(e.to_string().contains("classloader.check-leaked-classloader"));
        let e =
            ClassLoadingOptions::from_config(&conf(&[(PATTERNS_ADDITIONAL, "'x")]), FlinkVersion::V1_20).unwrap_err();
        assert!(e.to_string().contains(PATTERNS_ADDITIONAL));
    }
}
