//! JVMTI object tags: how the agent names the objects it watches.
//!
//! A tag is a non-zero `jlong` the JVM keeps with an object (`SetTag`) and hands back in heap
//! walks and in `ObjectFree` when the object is collected. tmrt tags three kinds of objects, and
//! the top bits say which: a classloader (its [`LoaderId`] in the low bits; its `ObjectFree`
//! means the loader and its classes are gone), a `java.lang.Class` mirror of a loader that
//! existed when the agent started (the loader's id and a per-loader sequence number, so that
//! every such tag is unique and a class seen twice is counted once), and objects tagged only for
//! the duration of one heap walk. Tags are always positive.

use super::LoaderId;

const KIND_SHIFT: u32 = 60;
const KIND_LOADER: i64 = 1;
const KIND_CLASS: i64 = 2;
const KIND_WALK: i64 = 3;
const LOW_MASK: i64 = (1 << KIND_SHIFT) - 1;
const CLASS_SEQ_BITS: u32 = 32;

/// The largest loader id a tag can carry (28 bits: 268 million loaders).
pub const MAX_LOADER_ID: LoaderId = (1 << (KIND_SHIFT - CLASS_SEQ_BITS)) - 1;

/// A decoded tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tag {
    /// A classloader object.
    Loader(LoaderId),
    /// A class mirror: the defining loader and the class's sequence number within it.
    Class { loader: LoaderId, seq: u32 },
    /// An object tagged by one heap walk only.
    Walk(u64),
}

impl Tag {
    /// The `jlong` to give `SetTag`. Panics if a loader id exceeds [`MAX_LOADER_ID`] (the agent
    /// stops registering loaders before that) or a walk number exceeds 60 bits.
    pub fn encode(self) -> i64 {
        match self {
            Tag::Loader(id) => {
                assert!(id <= MAX_LOADER_ID, "loader id {id} out of range");
                (KIND_LOADER << KIND_SHIFT) | id as i64
            }
            Tag::Class { loader, seq } => {
                assert!(loader <= MAX_LOADER_ID, "loader id {loader} out of range");
                (KIND_CLASS << KIND_SHIFT) | ((loader as i64) << CLASS_SEQ_BITS) | seq as i64
            }
            Tag::Walk(n) => {
                assert!(n as i64 <= LOW_MASK && n > 0, "walk tag {n} out of range");
                (KIND_WALK << KIND_SHIFT) | n as i64
            }
        }
    }

    /// Decodes a tag the JVM handed back; `None` for 0 (untagged) or a value tmrt never sets.
    pub fn decode(raw: i64) -> Option<Tag> {
        if raw <= 0 {
            return None;
        }
        let low = raw & LOW_MASK;
        match raw >> KIND_SHIFT {
            KIND_LOADER => Some(Tag::Loader(low as LoaderId)),
            KIND_CLASS => Some(Tag::Class {
                loader: (low >> CLASS_SEQ_BITS) as LoaderId,
                seq: (low & 0xffff_ffff) as u32,
            }),
            KIND_WALK if low > 0 => Some(Tag::Walk(low as u64)),
            _ => None,
        }
    }

    /// The loader a loader or class tag belongs to.
    pub fn loader(self) -> Option<LoaderId> {
        match self {
            Tag::Loader(id) | Tag::Class { loader: id, .. } => Some(id),
            Tag::Walk(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn kinds_are_distinct_and_positive() {
        let l = Tag::Loader(0).encode();
        let c = Tag::Class { loader: 0, seq: 0 }.encode();
        let w = Tag::Walk(1).encode();
        assert!(l > 0 && c > 0 && w > 0);
        assert!(l != c && c != w && l != w);
        assert_eq!(Tag::decode(0), None);
        assert_eq!(Tag::decode(-5), None);
        assert_eq!(Tag::decode(42), None);
        assert_eq!(Tag::decode(3 << 60), None); // a walk tag with number 0
    }

    proptest! {
        #[test]
        fn round_trip(loader in 0..=MAX_LOADER_ID, seq: u32, walk in 1u64..(1 << 60)) {
            prop_assert_eq!(Tag::decode(Tag::Loader(loader).encode()), Some(Tag::Loader(loader)));
            let c = Tag::Class { loader, seq };
            prop_assert_eq!(Tag::decode(c.encode()), Some(c));
            prop_assert_eq!(c.loader(), Some(loader));
            prop_assert_eq!(Tag::decode(Tag::Walk(walk).encode()), Some(Tag::Walk(walk)));
        }
    }
}
