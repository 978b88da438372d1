//! Classpath conflict analysis (`tmrt classpath`): every class that exists both in the parent
//! classpath and in the user jars, and every class that exists in more than one user jar,
//! grouped by package and jar pair, with which copy the configured loader picks, whether the
//! copies' bytes differ, and the failure that usually follows.
//!
//! Symptoms, from what the JVM does with two copies of a class:
//! - the user copy wins (child-first, no pattern): both copies get loaded, Flink's code using the
//!   parent's and the job's code its own; objects passing between them fail with
//!   `X cannot be cast to X` (or a loader-constraint `LinkageError`);
//! - the parent copy wins and the bytes differ: the job runs against a class it was not compiled
//!   against: `NoSuchMethodError`, `NoSuchFieldError`, `IllegalAccessError`;
//! - the parent copy wins and the bytes are identical: the user copy is dead weight.
//!
//! Duplicates inside the user jars follow the last two rules (the earlier jar wins).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::index::{JarIndex, Location};
use super::jar::IndexError;
use super::options::{ClassLoadingOptions, ResolveOrder};
use super::patterns::ParentFirstPatterns;
use super::resolve::Side;

/// What a conflict most likely leads to at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Symptom {
    /// Both copies are loaded: `X cannot be cast to X`.
    ClassCast,
    /// The winning copy differs from the one the code was compiled against.
    NoSuchMethod,
    /// Identical bytes, one copy shadowed: no failure expected.
    Shadowed,
}

impl Symptom {
    /// The message users see, or a note when nothing fails.
    pub fn description(self) -> &'static str {
        match self {
            Symptom::ClassCast => "X cannot be cast to X (ClassCastException / LinkageError) where objects pass between Flink and job code",
            Symptom::NoSuchMethod => "NoSuchMethodError / IllegalAccessError: code runs against a different version of the class",
            Symptom::Shadowed => "none expected: identical copy shadowed",
        }
    }
}

/// Why the winning copy wins.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum WinReason {
    /// Child-first and the name starts with an always-parent-first pattern.
    ParentFirstPattern { pattern: String },
    /// Child-first, no pattern applies.
    ChildFirst,
    /// `classloader.resolve-order: parent-first`.
    ParentFirstOrder,
    /// Two user jars: the earlier one on the classpath wins.
    ClasspathOrder,
}

/// Classes of one package found in the same two jars, resolved the same way.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConflictGroup {
    pub package: String,
    /// Parent jar (parent/user conflicts) or the earlier user jar (user duplicates).
    pub first_jar: PathBuf,
    /// The user jar (the later one, for user duplicates).
    pub second_jar: PathBuf,
    pub winner: Side,
    pub winning_jar: PathBuf,
    pub reason: WinReason,
    /// Binary class names, sorted.
    pub classes: Vec<String>,
    /// The subset whose two copies differ byte for byte.
    pub differing: Vec<String>,
    pub symptom: Symptom,
}

/// The analysis of one parent classpath against one user classpath.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClasspathReport {
    pub resolve_order: ResolveOrder,
    pub parent_first_patterns: Vec<String>,
    pub parent_jars: Vec<PathBuf>,
    pub user_jars: Vec<PathBuf>,
    /// Classes in both the parent classpath and the user jars.
    pub conflicts: Vec<ConflictGroup>,
    /// Classes in more than one user jar.
    pub user_duplicates: Vec<ConflictGroup>,
}

impl ClasspathReport {
    /// Whether anything was found (the command's exit status 3).
    pub fn has_conflicts(&self) -> bool {
        !self.conflicts.is_empty() || !self.user_duplicates.is_empty()
    }

    /// Number of classes involved in parent/user conflicts.
    pub fn conflicting_classes(&self) -> usize {
        self.conflicts.iter().map(|g| g.classes.len()).sum()
    }
}

/// Binary name of a class entry, or `None` for resources, `module-info` and raw versioned entries.
fn class_entry(name: &str) -> Option<String> {
    let stem = name.strip_suffix(".class")?;
    if stem.is_empty() || name.starts_with("META-INF/") || stem == "module-info" || stem.ends_with("/module-info") {
        return None;
    }
    Some(stem.replace('/', "."))
}

fn package_of(binary: &str) -> String {
    binary.rsplit_once('.').map(|(p, _)| p.to_string()).unwrap_or_default()
}

/// Whether the entries at `a` (in `ia`) and `b` (in `ib`) hold different bytes. Sizes and
/// CRC-32s from the central directories settle most cases without reading anything.
fn bytes_differ(ia: &JarIndex, a: Location, ib: &JarIndex, b: Location) -> Result<bool, IndexError> {
    let ea = &ia.jar(a.jar).expect("location from this index").entries()[a.entry as usize];
    let eb = &ib.jar(b.jar).expect("location from this index").entries()[b.entry as usize];
    if ea.size != eb.size || ea.crc32 != eb.crc32 {
        return Ok(true);
    }
    Ok(ia.read(a)? != ib.read(b)?)
}

type GroupKey = (String, u32, u32, Side, WinReason);

/// Analyses `user` against `parent` under `options`.
pub fn analyse(
    options: &ClassLoadingOptions,
    parent: &JarIndex,
    user: &JarIndex,
) -> Result<ClasspathReport, IndexError> {
    let patterns = ParentFirstPatterns::new(&options.parent_first_patterns);
    let mut groups: BTreeMap<GroupKey, (Vec<String>, Vec<String>)> = BTreeMap::new();
    let mut dups: BTreeMap<GroupKey, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for (name, user_locs) in user.iter() {
        let Some(binary) = class_entry(name) else { continue };
        let u = user_locs[0];
        if let Some(p) = parent.find(name) {
            let (winner, reason) = match options.resolve_order {
                ResolveOrder::ParentFirst => (Side::Parent, WinReason::ParentFirstOrder),
                ResolveOrder::ChildFirst => match patterns.matching_pattern(&binary) {
                    Some(pat) => (
                        Side::Parent,
                        WinReason::ParentFirstPattern {
                            pattern: pat.to_string(),
                        },
                    ),
                    None => (Side::User, WinReason::ChildFirst),
                },
            };
            let differ = bytes_differ(parent, p, user, u)?;
            let slot = groups
                .entry((package_of(&binary), p.jar, u.jar, winner, reason))
                .or_default();
            if differ {
                slot.1.push(binary.clone());
            }
            slot.0.push(binary.clone());
        }
        for later in &user_locs[1..] {
            let differ = bytes_differ(user, u, user, *later)?;
            let slot = dups
                .entry((
                    package_of(&binary),
                    u.jar,
                    later.jar,
                    Side::User,
                    WinReason::ClasspathOrder,
                ))
                .or_default();
            if differ {
                slot.1.push(binary.clone());
            }
            slot.0.push(binary.clone());
        }
    }
    let finish = |map: BTreeMap<GroupKey, (Vec<String>, Vec<String>)>, first: &JarIndex| -> Vec<ConflictGroup> {
        map.into_iter()
            .map(|((package, a, b, winner, reason), (mut classes, mut differing))| {
                classes.sort();
                differing.sort();
                let first_jar = first.jar(a).unwrap().path().to_path_buf();
                let second_jar = user.jar(b).unwrap().path().to_path_buf();
                let winning_jar = if winner == Side::Parent || reason == WinReason::ClasspathOrder {
                    first_jar.clone()
                } else {
                    second_jar.clone()
                };
                let symptom = if winner == Side::User && reason != WinReason::ClasspathOrder {
                    Symptom::ClassCast
                } else if differing.is_empty() {
                    Symptom::Shadowed
                } else {
                    Symptom::NoSuchMethod
                };
                ConflictGroup {
                    package,
                    first_jar,
                    second_jar,
                    winner,
                    winning_jar,
                    reason,
                    classes,
                    differing,
                    symptom,
                }
            })
            .collect::<Vec<_>>()
    };
    // Worst first: two live copies, then version skew, then harmless shadowing.
    let by_severity = |mut v: Vec<ConflictGroup>| {
        v.sort_by_key(|g| g.symptom);
        v
    };
    Ok(ClasspathReport {
        resolve_order: options.resolve_order,
        parent_first_patterns: options.parent_first_patterns.clone(),
        parent_jars: parent.jars().iter().map(|j| j.path().to_path_buf()).collect(),
        user_jars: user.jars().iter().map(|j| j.path().to_path_buf()).collect(),
        conflicts: by_severity(finish(groups, parent)),
        user_duplicates: by_severity(finish(dups, user)),
    })
}
