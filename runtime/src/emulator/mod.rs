//! The TaskManager emulator's model: what a run of `tmrt emulate` observed and what it concludes.
//!
//! The emulator runs a job round after round in a TaskManager hosted in-process, as a session
//! cluster restarts it: either the job's entry class in every slot with a fresh user-code
//! classloader (the plain mode), or the job's jar submitted to Flink's own MiniCluster, which
//! makes its user-code classloader per job from the blob store (the Flink mode). [`plan`] derives
//! that TaskManager from a configuration as Flink would start it (JVM parameters from the memory
//! model, slots and their managed memory, page size, classloading options; Flink's shipped
//! defaults when no memory is configured) and checks that the machine can commit it;
//! [`session`] configures Flink's MiniCluster so that its TaskExecutor gets that TaskManager's
//! resources. The JVM side
//! (`jni-bridge/src/host`, `dev.tmrt.emulator`) only executes; this module holds the plain values
//! it reports ([`round`]), the agent's reports read as written and each user-code loader's life
//! ([`loaders`]), the least-squares fits over the rounds ([`fit`]) and the verdict with its exit
//! status ([`verdict`]), so that every conclusion is tested without a JVM. Rendering lives in the
//! `tmrt emulate` command.

pub mod entry;
pub mod fit;
pub mod loaders;
pub mod plan;
pub mod round;
pub mod session;
pub mod verdict;

pub use fit::LinearFit;
pub use loaders::{lifetimes, AgentSnapshot, DuplicateClass, LoaderLifetime, ReleasedAt};
pub use plan::{MachineMemory, PlanError, TaskManagerPlan, SHIPPED_DEFAULTS};
pub use round::{Cause, FailureKind, JobOutcome, JvmFigures, LeftoverPages, RoundRecord, SlotOutcome, TaskFailure};
pub use session::{SessionError, SessionOptions};
pub use verdict::{assess, AgentLoader, AgentReport, AgentSuspect, Assessment, Evidence, LocatedFailure, Verdict};
