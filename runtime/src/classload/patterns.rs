//! The "always parent-first" decision: does a binary class name start with any of the patterns?
//!
//! Flink loops over its pattern array calling `String.startsWith` for each one, so a miss costs
//! one comparison per pattern. [`ParentFirstPatterns`] compiles the patterns into a byte trie
//! stored as a dense transition table over the bytes the patterns actually use: deciding walks
//! the name once, one table lookup per byte, and stops at the first node that ends a pattern
//! (a match) or has no way on (a miss). The answer is exactly `patterns.any(|p| name.starts_with(p))`
//! whatever the number of patterns; an empty pattern matches every name, as `startsWith("")`
//! does.

/// A compiled set of always-parent-first patterns (plain prefixes of binary class names).
#[derive(Debug, Clone)]
pub struct ParentFirstPatterns {
    patterns: Vec<String>,
    /// Byte -> column in `table` (0 = a byte no pattern uses).
    class_of: [u8; 256],
    /// Number of columns: distinct pattern bytes + 1.
    width: usize,
    /// `table[node * width + class]` = next node, or [`DEAD`].
    table: Vec<u32>,
    /// Whether a pattern ends at the node.
    terminal: Vec<bool>,
}

const DEAD: u32 = u32::MAX;

impl ParentFirstPatterns {
    /// Compiles `patterns` (kept, in order, for [`Self::patterns`]).
    pub fn new<S: AsRef<str>>(patterns: impl IntoIterator<Item = S>) -> Self {
        let patterns: Vec<String> = patterns.into_iter().map(|p| p.as_ref().to_string()).collect();
        let mut class_of = [0u8; 256];
        let mut next_class = 1usize;
        let mut overflow = false;
        for p in &patterns {
            for &b in p.as_bytes() {
                if class_of[b as usize] == 0 {
                    if next_class > 255 {
                        overflow = true;
                        continue;
                    }
                    class_of[b as usize] = next_class as u8;
                    next_class += 1;
                }
            }
        }
        if overflow {
            // Over 255 distinct bytes leave no spare column for "unused byte": use one column per
            // byte value instead (column 0 is then the NUL byte's own).
            for (i, c) in class_of.iter_mut().enumerate() {
                *c = i as u8;
            }
            next_class = 256;
        }
        let width = next_class;
        let mut table = vec![DEAD; width];
        let mut terminal = vec![false];
        for p in &patterns {
            let mut node = 0usize;
            for &b in p.as_bytes() {
                let slot = node * width + class_of[b as usize] as usize;
                if table[slot] == DEAD {
                    let fresh = terminal.len();
                    terminal.push(false);
                    table.extend(std::iter::repeat_n(DEAD, width));
                    table[slot] = fresh as u32;
                }
                node = table[slot] as usize;
            }
            terminal[node] = true;
        }
        ParentFirstPatterns {
            patterns,
            class_of,
            width,
            table,
            terminal,
        }
    }

    /// The patterns, in configuration order.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether `name` starts with any pattern (Flink's `alwaysParentFirstPatterns` check).
    #[inline]
    pub fn is_parent_first(&self, name: &str) -> bool {
        self.is_parent_first_bytes(name.as_bytes())
    }

    /// [`Self::is_parent_first`] over the UTF-8 bytes of a name.
    #[inline]
    pub fn is_parent_first_bytes(&self, name: &[u8]) -> bool {
        let mut node = 0usize;
        if self.terminal[0] {
            return true;
        }
        for &b in name {
            let next = self.table[node * self.width + self.class_of[b as usize] as usize];
            if next == DEAD {
                return false;
            }
            node = next as usize;
            if self.terminal[node] {
                return true;
            }
        }
        false
    }

    /// The first pattern (in configuration order) that `name` starts with, for explanations.
    pub fn matching_pattern(&self, name: &str) -> Option<&str> {
        self.patterns
            .iter()
            .find(|p| name.starts_with(p.as_str()))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn flink_defaults() {
        let p = ParentFirstPatterns::new(["java.", "org.apache.flink.", "org.slf4j", "org.w3c"]);
        assert!(p.is_parent_first("java.lang.String"));
        assert!(!p.is_parent_first("javax.swing.JFrame"));
        assert!(!p.is_parent_first("java"));
        assert!(p.is_parent_first("org.slf4jx.Foo"));
        assert!(p.is_parent_first("org.apache.flink.api.Foo"));
        assert!(!p.is_parent_first("org.apache.flinkx.Foo"));
        assert!(!p.is_parent_first("com.acme.Job"));
        assert!(!p.is_parent_first(""));
        assert_eq!(p.matching_pattern("org.w3c.dom.Node"), Some("org.w3c"));
    }

    #[test]
    fn empty_pattern_matches_everything() {
        let p = ParentFirstPatterns::new(["com.acme.", ""]);
        assert!(p.is_parent_first(""));
        assert!(p.is_parent_first("x.Y"));
        let none = ParentFirstPatterns::new(Vec::<String>::new());
        assert!(!none.is_parent_first("java.lang.Object"));
    }

    #[test]
    fn non_ascii_patterns() {
        let p = ParentFirstPatterns::new(["com.ü.", "日本."]);
        assert!(p.is_parent_first("com.ü.X"));
        assert!(p.is_parent_first("日本.Y"));
        assert!(!p.is_parent_first("com.u.X"));
    }

    proptest! {
        #[test]
        fn same_answer_as_starts_with(
            patterns in proptest::collection::vec("[a-c.$é]{0,6}", 0..40),
            names in proptest::collection::vec("[a-d.$é]{0,10}", 1..20),
        ) {
            let m = ParentFirstPatterns::new(&patterns);
            for n in &names {
                let expected = patterns.iter().any(|p| n.starts_with(p.as_str()));
                prop_assert_eq!(m.is_parent_first(n), expected, "name {:?} patterns {:?}", n, patterns);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(patterns in proptest::collection::vec(".{0,8}", 0..30), name in proptest::collection::vec(any::<u8>(), 0..64)) {
            let m = ParentFirstPatterns::new(&patterns);
            let expected = patterns.iter().any(|p| name.starts_with(p.as_bytes()));
            prop_assert_eq!(m.is_parent_first_bytes(&name), expected);
        }
    }
}
