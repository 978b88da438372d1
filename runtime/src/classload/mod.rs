//! User-code classloading as Flink does it, without a JVM: the options, the parent-first
//! decision, a jar index, and what a classpath's duplicate classes will do at run time.
//!
//! Flink loads a job's classes through a `URLClassLoader` over the job's jars whose parent holds
//! Flink's `lib/`. [`options`] reads `classloader.resolve-order` and the always-parent-first
//! patterns from a configuration per Flink line; [`patterns`] compiles the patterns into a trie
//! that decides in one pass over a name; [`jar`] opens a jar defensively and [`index`] maps every
//! name of a list of jars to the jars holding it, so that a miss costs one hash lookup instead of
//! one probe per jar; [`mod@resolve`] replays a loader's decisions for one class; [`conflicts`]
//! finds the classes present twice and says which copy wins and what breaks. The Java loaders of
//! `dev.tmrt.classload` use the same index and matcher through JNI; `tmrt classpath` renders
//! the analysis.

pub mod cache;
pub mod conflicts;
pub mod index;
pub mod jar;
pub mod options;
pub mod patterns;
pub mod resolve;

pub use cache::{JarCache, Reuse, Stamp};
pub use conflicts::{analyse, ClasspathReport, ConflictGroup, Symptom, WinReason};
pub use index::{expand_classpath_element, JarIndex, Location, DEFAULT_RELEASE};
pub use jar::{IndexError, Jar, JarLimits};
pub use options::{ClassLoadConfigError, ClassLoadingOptions, ConfigWarning, ResolveOrder};
pub use patterns::ParentFirstPatterns;
pub use resolve::{resolve, Resolution, Side, Step};
