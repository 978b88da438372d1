//! The drop-in runtime's decision, without a JVM: which of Flink's classes tmrt replaces, and
//! whether it may.
//!
//! tmrt.jar carries, per component (`classloading`, `managed-memory`), one or more *variants*:
//! a directory `META-INF/tmrt/dropin/<component>[.<variant>]/` holding `shape.txt` ([`shape`])
//! and the compiled replacement of each class it names (`<internal/Name>.class`, where no class
//! loader looks by accident). Before any of Flink's classes is loaded, the agent reads the
//! originals' bytes from the JVM's class path ([`ClassPath`], the first copy on it, as the
//! application class loader would find it), and [`decide`] takes the first variant whose every
//! original has the expected shape and whose replacements fit them ([`shape::check_original`],
//! [`shape::check_replacement`]); none fitting means the component stays off, with a reason
//! that names the class and what differs. The agent's class-file hook then swaps in a
//! replacement only for a class whose bytes are exactly the original that was checked
//! ([`Substitution::matches`]), whatever loader defines it. [`classfile`] parses just enough of
//! a class file for the checks, defensively.

pub mod classfile;
pub mod shape;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::classload::{Jar, JarLimits};
use shape::Shape;

/// Where replacements live in tmrt.jar.
pub const DROPIN_PREFIX: &str = "META-INF/tmrt/dropin/";

/// The components the `runtime=` option can name, in report order.
pub const COMPONENTS: [&str; 2] = ["classloading", "managed-memory"];

/// The JVM's class path (`java.class.path`), searched as the application class loader does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassPath {
    pub entries: Vec<PathBuf>,
}

impl ClassPath {
    /// Splits `java.class.path` (`:`-separated; an empty element is the current directory).
    pub fn parse(value: &str) -> ClassPath {
        ClassPath {
            entries: value
                .split(':')
                .map(|e| {
                    if e.is_empty() {
                        PathBuf::from(".")
                    } else {
                        PathBuf::from(e)
                    }
                })
                .collect(),
        }
    }

    /// The bytes of class `internal` (`a/b/C`) from the first entry holding it, and that entry.
    /// Entries that do not exist or cannot be read are skipped, as the JVM skips them.
    pub fn find_class(&self, internal: &str) -> Option<(PathBuf, Vec<u8>)> {
        let entry_name = format!("{internal}.class");
        for e in &self.entries {
            if e.is_dir() {
                if let Ok(b) = std::fs::read(e.join(&entry_name)) {
                    return Some((e.clone(), b));
                }
            } else if e.is_file() {
                let Ok(jar) = Jar::open(e, JarLimits::default()) else {
                    continue;
                };
                if let Some(i) = jar.entries().iter().position(|x| x.name == entry_name) {
                    if let Ok(b) = jar.read(i) {
                        return Some((e.clone(), b));
                    }
                }
            }
        }
        None
    }
}

/// One class to replace: the original's exact bytes (as checked) and tmrt's replacement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Substitution {
    /// Internal name.
    pub class: String,
    /// Where the checked original was found.
    pub source: PathBuf,
    pub original: Vec<u8>,
    pub replacement: Vec<u8>,
}

impl Substitution {
    /// Whether a class being defined is the checked original.
    pub fn matches(&self, name: &[u8], bytes: &[u8]) -> bool {
        name == self.class.as_bytes() && bytes == self.original.as_slice()
    }
}

/// A component that may replace Flink's classes: the variant chosen and its substitutions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveComponent {
    pub component: String,
    /// The variant directory's suffix (`flink-1.13`), or empty for a component with one.
    pub variant: String,
    pub substitutions: Vec<Substitution>,
}

/// The drop-in variants tmrt.jar carries for `component`: directory names under
/// [`DROPIN_PREFIX`], `component` itself or `component.<variant>`, sorted.
pub fn variants(tmrt_jar: &Jar, component: &str) -> Vec<String> {
    let mut dirs: Vec<String> = tmrt_jar
        .entries()
        .iter()
        .filter_map(|e| e.name.strip_prefix(DROPIN_PREFIX)?.strip_suffix("/shape.txt"))
        .filter(|d| {
            *d == component
                || d.strip_prefix(component)
                    .is_some_and(|v| v.starts_with('.') && v.len() > 1)
        })
        .map(str::to_string)
        .collect();
    dirs.sort();
    dirs
}

fn entry(jar: &Jar, name: &str) -> Result<Vec<u8>, String> {
    let i = jar
        .entries()
        .iter()
        .position(|e| e.name == name)
        .ok_or_else(|| format!("tmrt.jar has no {name}"))?;
    jar.read(i).map_err(|e| e.to_string())
}

/// Decides whether `component` can be active: the first variant of tmrt.jar whose originals on
/// `classpath` all have the expected shape. The error is one line for the log: per variant,
/// why not.
pub fn decide(component: &str, tmrt_jar: &Jar, classpath: &ClassPath) -> Result<ActiveComponent, String> {
    let dirs = variants(tmrt_jar, component);
    if dirs.is_empty() {
        return Err(format!(
            "{} carries no drop-in for {component}",
            tmrt_jar.path().display()
        ));
    }
    let mut originals: HashMap<String, Option<(PathBuf, Vec<u8>)>> = HashMap::new();
    let mut why = Vec::new();
    for dir in &dirs {
        let variant = dir
            .strip_prefix(component)
            .unwrap_or("")
            .trim_start_matches('.')
            .to_string();
        let label = if variant.is_empty() {
            component.to_string()
        } else {
            variant.clone()
        };
        match try_variant(dir, tmrt_jar, classpath, &mut originals) {
            Ok(substitutions) => {
                return Ok(ActiveComponent {
                    component: component.to_string(),
                    variant,
                    substitutions,
                })
            }
            Err(e) => why.push(format!("{label}: {e}")),
        }
    }
    Err(why.join("; "))
}

fn try_variant(
    dir: &str,
    tmrt_jar: &Jar,
    classpath: &ClassPath,
    originals: &mut HashMap<String, Option<(PathBuf, Vec<u8>)>>,
) -> Result<Vec<Substitution>, String> {
    let text = entry(tmrt_jar, &format!("{DROPIN_PREFIX}{dir}/shape.txt"))?;
    let shape = Shape::parse(&String::from_utf8_lossy(&text)).map_err(|e| e.to_string())?;
    if shape.classes.is_empty() {
        return Err("shape.txt names no class".to_string());
    }
    let mut out = Vec::new();
    for spec in &shape.classes {
        let found = originals
            .entry(spec.name.clone())
            .or_insert_with(|| classpath.find_class(&spec.name));
        let Some((source, original)) = found.clone() else {
            return Err(format!("{} is not on the class path", spec.name));
        };
        let what = |e: classfile::ClassFileError| format!("{} in {}: {e}", spec.name, source.display());
        let original_shape = classfile::parse(&original).map_err(what)?;
        shape::check_original(spec, &original_shape).map_err(|e| format!("{e} (in {})", source.display()))?;
        let replacement = entry(tmrt_jar, &format!("{DROPIN_PREFIX}{dir}/{}.class", spec.name))?;
        let replacement_shape =
            classfile::parse(&replacement).map_err(|e| format!("tmrt's replacement of {}: {e}", spec.name))?;
        shape::check_replacement(spec, &original_shape, &replacement_shape)?;
        out.push(Substitution {
            class: spec.name.clone(),
            source,
            original,
            replacement,
        });
    }
    Ok(out)
}

/// The first of `candidates` that is a file.
pub fn first_file(candidates: &[PathBuf]) -> Option<&Path> {
    candidates.iter().find(|p| p.is_file()).map(PathBuf::as_path)
}
