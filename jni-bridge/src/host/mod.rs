//! Hosting a JVM inside the `tmrt` process, as `tmrt emulate` does.
//!
//! [`libjvm`] finds `libjvm.so` (`$JAVA_HOME`, then the `java` on `PATH`); [`artifacts`] finds
//! tmrt's own `libtmrt.so` and `tmrt.jar` next to the binary; [`jvm`] creates the process's one
//! JVM through the JNI invocation API with the options the caller derived (the memory model's
//! `-Xmx`/`-Xms`/`-XX:MaxDirectMemorySize`/`-XX:MaxMetaspaceSize`, the agent, the class path);
//! [`session`] starts the TaskManager a plan describes and runs jobs in it round by round;
//! [`driver`] is the handle on the Java half of the emulator, and [`throwable`] turns Java
//! exceptions into errors. Nothing here decides anything about a run: the command does, with
//! `runtime::emulator`.

pub mod artifacts;
pub mod driver;
pub mod jvm;
pub mod libjvm;
pub mod session;
pub mod throwable;

pub use artifacts::{find_jar, find_library, ArtifactNotFound};
pub use driver::{DriverSettings, RoundDriver};
pub use jvm::{HostedJvm, JvmSpec, StartError};
pub use libjvm::{find_libjvm, JvmNotFound};
pub use throwable::JavaCallError;
