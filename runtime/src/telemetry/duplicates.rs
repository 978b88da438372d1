//! Classes defined by two or more live loaders at once: where "X cannot be cast to X" comes from
//! (a library both in Flink's `lib/` and in a job jar, loaded child-first).
//!
//! The agent lists every loaded class with its defining loader; this keeps the names defined by
//! more than one loader, leaves out classes whose names are not unique by construction (hidden
//! classes such as lambdas, whose names carry `/0x…`, and reflection's generated accessors), and
//! returns the biggest first (most loaders, then name), capped.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::LoaderId;

/// How many duplicate names the report lists at most.
pub const MAX_DUPLICATES: usize = 100;

/// One class name defined by several loaders (the report's `duplicate_classes` items).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DuplicateClass {
    pub name: String,
    /// The defining loaders' ids, ascending.
    pub loaders: Vec<LoaderId>,
}

/// Whether a class name can only ever be defined once by design (so that two of them mean
/// nothing).
fn unique_by_construction(name: &str) -> bool {
    name.contains("/0x")
        || name.contains("$$Lambda")
        || name.starts_with("jdk.internal.reflect.Generated")
        || name.starts_with("jdk.proxy")
        || name.starts_with("com.sun.proxy.$Proxy")
}

/// The duplicates among `(class name, defining loader)` pairs, biggest first, at most `cap`;
/// also returns how many names were left out by the cap.
pub fn duplicate_classes<'a>(
    classes: impl IntoIterator<Item = (&'a str, LoaderId)>,
    cap: usize,
) -> (Vec<DuplicateClass>, usize) {
    let mut by_name: BTreeMap<&str, Vec<LoaderId>> = BTreeMap::new();
    for (name, loader) in classes {
        if unique_by_construction(name) {
            continue;
        }
        let loaders = by_name.entry(name).or_default();
        if !loaders.contains(&loader) {
            loaders.push(loader);
        }
    }
    let mut dups: Vec<DuplicateClass> = by_name
        .into_iter()
        .filter(|(_, l)| l.len() > 1)
        .map(|(name, mut loaders)| {
            loaders.sort_unstable();
            DuplicateClass {
                name: name.to_string(),
                loaders,
            }
        })
        .collect();
    dups.sort_by(|a, b| b.loaders.len().cmp(&a.loaders.len()).then_with(|| a.name.cmp(&b.name)));
    let cut = dups.len().saturating_sub(cap);
    dups.truncate(cap);
    (dups, cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_names_of_several_loaders_biggest_first() {
        let classes = [
            ("com.google.common.base.Preconditions", 2),
            ("com.google.common.base.Preconditions", 7),
            ("com.google.common.base.Preconditions", 9),
            ("org.example.Job", 7),
            ("org.slf4j.Logger", 2),
            ("org.slf4j.Logger", 7),
            ("org.slf4j.Logger", 7),
            ("a.Only", 3),
        ];
        let (d, cut) = duplicate_classes(classes, 10);
        assert_eq!(cut, 0);
        assert_eq!(
            d,
            vec![
                DuplicateClass {
                    name: "com.google.common.base.Preconditions".into(),
                    loaders: vec![2, 7, 9]
                },
                DuplicateClass {
                    name: "org.slf4j.Logger".into(),
                    loaders: vec![2, 7]
                },
            ]
        );
    }

    #[test]
    fn hidden_and_generated_classes_are_not_duplicates_and_the_cap_counts() {
        let classes = [
            ("Job$$Lambda$12/0x0000000800c0b000", 4),
            ("Job$$Lambda$12/0x0000000800c0b000", 5),
            ("jdk.internal.reflect.GeneratedMethodAccessor1", 6),
            ("jdk.internal.reflect.GeneratedMethodAccessor1", 7),
            ("x.A", 1),
            ("x.A", 2),
            ("x.B", 1),
            ("x.B", 2),
        ];
        let (d, cut) = duplicate_classes(classes, 1);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].name, "x.A");
        assert_eq!(cut, 1);
    }
}
