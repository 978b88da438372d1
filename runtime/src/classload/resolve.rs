//! How a user-code classloader resolves one class, step by step, over a parent classpath (Flink's
//! `lib/`) and the user jars: the same decisions Flink's loaders make, as data.
//!
//! - child-first (`ChildFirstClassLoader`): a name starting with an always-parent-first pattern
//!   is delegated as a standard loader would (parent, then the user jars); any other name is
//!   looked up in the user jars first, then in the parent.
//! - parent-first (`ParentFirstClassLoader`): standard delegation, parent then user jars;
//!   patterns play no part.
//!
//! The parent is modelled by the jars given for it: the JDK's own classes are not indexed, so a
//! `java.*` class that is in no jar resolves to nothing here.

use super::index::{JarIndex, Location};
use super::options::ResolveOrder;
use super::patterns::ParentFirstPatterns;

/// Which classpath a copy of a class comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The parent classloader's classpath (Flink's `lib/`).
    Parent,
    /// The job's jars.
    User,
}

/// One decision or lookup on the way to a class.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum Step {
    /// The name starts with this always-parent-first pattern (child-first order only).
    ParentFirstPattern { pattern: String },
    /// No always-parent-first pattern matches (child-first order only).
    NoPattern,
    /// Parent-first resolve order: patterns are not consulted.
    ParentFirstOrder,
    /// A lookup in one classpath and the first jar that has the class, if any.
    Lookup { side: Side, found: Option<u32> },
}

/// The resolution of one class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// Binary name (`a.b.C`).
    pub class: String,
    /// Entry name (`a/b/C.class`).
    pub resource: String,
    pub steps: Vec<Step>,
    /// Where the class is loaded from, if anywhere.
    pub winner: Option<(Side, Location)>,
    /// Every copy, parent copies first, each classpath in order.
    pub copies: Vec<(Side, Location)>,
}

/// Normalizes `a.b.C`, `a/b/C` or `a/b/C.class` to (binary name, entry name).
pub fn class_names(name: &str) -> (String, String) {
    let stem = name.strip_suffix(".class").unwrap_or(name);
    let binary = stem.replace('/', ".");
    let resource = format!("{}.class", stem.replace('.', "/"));
    (binary, resource)
}

/// Resolves `class` as a user-code classloader with `order` and `patterns` would.
pub fn resolve(
    class: &str,
    order: ResolveOrder,
    patterns: &ParentFirstPatterns,
    parent: &JarIndex,
    user: &JarIndex,
) -> Resolution {
    let (binary, resource) = class_names(class);
    let in_parent = parent.find(&resource);
    let in_user = user.find(&resource);
    let mut steps = Vec::new();
    let parent_then_user = match order {
        ResolveOrder::ParentFirst => {
            steps.push(Step::ParentFirstOrder);
            true
        }
        ResolveOrder::ChildFirst => match patterns.matching_pattern(&binary) {
            Some(p) => {
                steps.push(Step::ParentFirstPattern { pattern: p.to_string() });
                true
            }
            None => {
                steps.push(Step::NoPattern);
                false
            }
        },
    };
    let lookups: [(Side, Option<Location>); 2] = if parent_then_user {
        [(Side::Parent, in_parent), (Side::User, in_user)]
    } else {
        [(Side::User, in_user), (Side::Parent, in_parent)]
    };
    let mut winner = None;
    for (side, found) in lookups {
        steps.push(Step::Lookup {
            side,
            found: found.map(|l| l.jar),
        });
        if let Some(l) = found {
            winner = Some((side, l));
            break;
        }
    }
    let copies = parent
        .find_all(&resource)
        .iter()
        .map(|l| (Side::Parent, *l))
        .chain(user.find_all(&resource).iter().map(|l| (Side::User, *l)))
        .collect();
    Resolution {
        class: binary,
        resource,
        steps,
        winner,
        copies,
    }
}
