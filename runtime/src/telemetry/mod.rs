//! Classloader telemetry, as tmrt's JVMTI agent keeps it — everything but the JVM.
//!
//! The agent (`jni-bridge/src/agent`) watches class loading from inside a JVM; this module holds
//! every decision it makes, so that each is tested without one. The layers follow Flink's own
//! utilities: [`options`] parses the `-agentpath:libtmrt.so=key=value,...` string into
//! [`AgentOptions`]; [`tag`] is the encoding of the JVMTI object tags that identify loaders and
//! classes (a loader is known by its tag, never by hashing); [`model`] is the per-loader record
//! book and the leak bookkeeping (a released loader still alive after `leak-gc-cycles` full
//! collections is leaked); [`gc`] says which garbage collectors run full collections. The model
//! yields a plain [`Report`] value, which [`report`] renders as JSON and [`prometheus`] as text
//! exposition. Nothing in the model prints; nothing in rendering derives.

pub mod budget;
pub mod duplicates;
pub mod flink_job;
pub mod gc;
pub mod kind;
pub mod model;
pub mod options;
pub mod prometheus;
pub mod report;
pub mod runtime_report;
pub mod search;
pub mod suspects;
pub mod tag;
pub mod walk;

pub use duplicates::DuplicateClass;
pub use kind::LoaderKind;
pub use model::{
    JvmFigures, LoaderId, LoaderInfo, LoaderReport, Release, Report, Suspect, SuspectKind, Telemetry, BOOTSTRAP,
};
pub use options::{AgentOptions, LogLevel, MetricsAddr, OptionError, ReferencePaths, RuntimeComponents};
pub use tag::Tag;
