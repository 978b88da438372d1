//! The TaskManager emulator's model: what a run of `tmrt emulate` observed and what it concludes.
//!
//! The emulator runs a job's entry class in every slot of a TaskManager hosted in-process, round
//! after round, each round with a fresh user-code classloader, as a session cluster does on
//! every restart. [`plan`] derives that TaskManager from a configuration as Flink would start it
//! (JVM parameters from the memory model, slots and their managed memory, page size, classloading
//! options). The JVM side (`jni-bridge/src/host`, `dev.tmrt.emulator`) only executes; this
//! module holds the plain values it reports ([`round`]), the least-squares fits over the rounds
//! ([`fit`]) and the verdict with its exit status ([`verdict`]), so that every conclusion is
//! tested without a JVM. Rendering lives in the `tmrt emulate` command.

pub mod fit;
pub mod plan;
pub mod round;
pub mod verdict;

pub use fit::LinearFit;
pub use plan::{PlanError, TaskManagerPlan};
pub use round::{FailureKind, JvmFigures, LeftoverPages, RoundRecord, SlotOutcome, TaskFailure};
pub use verdict::{assess, AgentLoader, AgentReport, AgentSuspect, Assessment, LocatedFailure, Verdict};
