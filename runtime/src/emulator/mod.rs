//! The TaskManager emulator's model: what a run of `tmrt emulate` observed and what it concludes.
//!
//! The emulator runs a job's entry class in every slot of a TaskManager hosted in-process, round
//! after round, each round with a fresh user-code classloader, as a session cluster does on
//! every restart. The JVM side (`jni-bridge/src/host`, `dev.tmrt.emulator`) only executes; this
//! module holds the plain values it reports ([`round`]), the least-squares fit of metaspace over
//! the rounds ([`fit`]) and the verdict with its exit status ([`verdict`]), so that every
//! conclusion is tested without a JVM. Rendering lives in the `tmrt emulate` command.

pub mod fit;
pub mod round;
pub mod verdict;

pub use fit::LinearFit;
pub use round::{FailureKind, JvmFigures, LeftoverPages, RoundRecord, SlotOutcome, TaskFailure};
pub use verdict::{assess, AgentLoader, AgentReport, AgentSuspect, Assessment, LocatedFailure, Verdict};
