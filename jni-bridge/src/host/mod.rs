//! Hosting a JVM inside the `tmrt` process, as `tmrt emulate` does.
//!
//! [`libjvm`] finds `libjvm.so` (`$JAVA_HOME`, then the `java` on `PATH`); [`artifacts`] finds
//! tmrt's own `libtmrt.so` and `tmrt.jar` next to the binary; [`flink`] reads a Flink
//! distribution (its `lib/` in Flink's class-path order, its version) and owns the run's
//! directory; [`machine`] says how much memory this machine can commit. [`stdio`] gives the host
//! its own copies of stdout and stderr, so that nothing a job does to the JVM's streams reaches
//! tmrt's output; [`guard`] restores the default crash handlers and reports a JVM that could not
//! start, crashed or exited. [`jvm`] creates the process's one JVM through the JNI invocation API
//! with the options the caller derived (the memory model's `-Xmx`/`-Xms`/
//! `-XX:MaxDirectMemorySize`/`-XX:MaxMetaspaceSize`, the agent, the class path) and the guard's
//! hooks; [`session`] starts the TaskManager a plan describes and runs jobs in it round by round;
//! [`driver`] is the handle on the Java half of the emulator (its results read field by field by
//! [`fields`]), and [`throwable`] turns Java exceptions into errors. Nothing here decides anything
//! about a run: the command does, with `runtime::emulator`.

pub mod artifacts;
pub mod driver;
pub mod fields;
pub mod flink;
pub mod guard;
pub mod jvm;
pub mod libjvm;
pub mod machine;
pub mod session;
pub mod stdio;
pub mod throwable;

pub use artifacts::{find_jar, find_library, ArtifactNotFound};
pub use driver::{DriverSettings, FlinkJob, FlinkSettings, SessionDriver};
pub use jvm::{HostedJvm, JvmSpec, StartError};
pub use libjvm::{find_libjvm, JvmNotFound};
pub use throwable::JavaCallError;
