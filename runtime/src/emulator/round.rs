//! What one round of the emulator observed, as the Java driver reports it.
//!
//! The driver (`dev.tmrt.emulator.RoundDriver`) runs a round and hands back a JSON object with
//! exactly these field names; the types here are that contract, and the `--report` file reuses
//! them unchanged.

use serde::{Deserialize, Serialize};

/// Why a slot's task did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// The entry class is not in the user jars nor on the parent class path.
    EntryClassNotFound,
    /// The entry class has neither `public static void main(String[])` nor implements
    /// `dev.tmrt.emulator.Task` with a public no-argument constructor.
    NoEntryMethod,
    /// The task threw (anything not classified below).
    TaskThrew,
    /// The task asked its slot's `MemoryManager` for more pages than the slot's budget
    /// (`MemoryAllocationException`).
    SlotBudgetExceeded,
    /// `OutOfMemoryError: Metaspace` (or `Compressed class space`).
    MetaspaceExhausted,
}

impl FailureKind {
    /// Whether the failure is the input's fault (wrong entry class) rather than the task's.
    pub fn is_bad_input(self) -> bool {
        matches!(self, FailureKind::EntryClassNotFound | FailureKind::NoEntryMethod)
    }

    /// One-line human description.
    pub fn describe(self) -> &'static str {
        match self {
            FailureKind::EntryClassNotFound => "entry class not found",
            FailureKind::NoEntryMethod => "no suitable entry method",
            FailureKind::TaskThrew => "task threw",
            FailureKind::SlotBudgetExceeded => "task exceeded its slot's managed-memory budget",
            FailureKind::MetaspaceExhausted => "metaspace exhausted",
        }
    }
}

/// A slot's task failure, with the Java exception that caused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFailure {
    pub kind: FailureKind,
    /// Binary name of the exception (`java.lang.OutOfMemoryError`).
    pub exception: String,
    /// The exception's message (may be empty).
    #[serde(default)]
    pub message: String,
    /// Top frames of the exception's stack trace, `Class.method(File:line)`.
    #[serde(default)]
    pub stack: Vec<String>,
}

/// Managed-memory pages an owner still held when its slot's task ended (released by the
/// host afterwards, as Flink's `MemoryManager.releaseAll` does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftoverPages {
    /// The owner's `toString()`.
    pub owner: String,
    pub pages: u64,
}

/// One slot in one round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotOutcome {
    pub slot: u32,
    /// Wall time of the task in the slot's thread, milliseconds.
    #[serde(default)]
    pub millis: u64,
    #[serde(default)]
    pub failure: Option<TaskFailure>,
    /// Pages left behind, per owner.
    #[serde(default)]
    pub leftover: Vec<LeftoverPages>,
}

/// JVM-wide figures after the round's loader was closed and a full GC ran.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JvmFigures {
    pub metaspace_used_bytes: u64,
    #[serde(default)]
    pub metaspace_committed_bytes: u64,
    pub classes_loaded_total: u64,
    pub classes_unloaded_total: u64,
    /// Classes currently loaded.
    #[serde(default)]
    pub classes_loaded: u64,
    #[serde(default)]
    pub gc_count: u64,
}

/// One round: a fresh user-code classloader, the entry run in every slot, then clean-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundRecord {
    /// Round number, from 1.
    pub round: u32,
    /// Wall time of the whole round, milliseconds.
    #[serde(default)]
    pub millis: u64,
    pub slots: Vec<SlotOutcome>,
    /// Figures after the round's clean-up and full GC.
    pub after: JvmFigures,
    /// User-code loaders of this and earlier rounds still reachable after this round's GC.
    #[serde(default)]
    pub loaders_alive: u32,
}

impl RoundRecord {
    /// The failures of this round, by slot.
    pub fn failures(&self) -> impl Iterator<Item = (u32, &TaskFailure)> {
        self.slots
            .iter()
            .filter_map(|s| s.failure.as_ref().map(|f| (s.slot, f)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_parses_from_driver_json() {
        let json = r#"{"round":2,"millis":31,"loaders_alive":1,
            "slots":[{"slot":0,"millis":12,"failure":null,"leftover":[]},
                     {"slot":1,"millis":9,"failure":{"kind":"slot-budget-exceeded",
                        "exception":"dev.tmrt.memory.MemoryAllocationException",
                        "message":"Could not allocate 99 pages","stack":["a.B.c(B.java:1)"]},
                      "leftover":[{"owner":"job","pages":3}]}],
            "after":{"metaspace_used_bytes":100,"metaspace_committed_bytes":200,
                     "classes_loaded_total":10,"classes_unloaded_total":4,"classes_loaded":6,"gc_count":7}}"#;
        let r: RoundRecord = serde_json::from_str(json).unwrap();
        assert_eq!(r.round, 2);
        assert_eq!(r.after.metaspace_used_bytes, 100);
        let f: Vec<_> = r.failures().collect();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].0, 1);
        assert_eq!(f[0].1.kind, FailureKind::SlotBudgetExceeded);
        assert_eq!(r.slots[1].leftover[0].pages, 3);
    }

    #[test]
    fn failure_kinds_use_kebab_case_names() {
        for (k, s) in [
            (FailureKind::EntryClassNotFound, "\"entry-class-not-found\""),
            (FailureKind::NoEntryMethod, "\"no-entry-method\""),
            (FailureKind::TaskThrew, "\"task-threw\""),
            (FailureKind::SlotBudgetExceeded, "\"slot-budget-exceeded\""),
            (FailureKind::MetaspaceExhausted, "\"metaspace-exhausted\""),
        ] {
            assert_eq!(serde_json::to_string(&k).unwrap(), s);
            assert_eq!(serde_json::from_str::<FailureKind>(s).unwrap(), k);
        }
        assert!(FailureKind::NoEntryMethod.is_bad_input());
        assert!(!FailureKind::MetaspaceExhausted.is_bad_input());
    }
}
