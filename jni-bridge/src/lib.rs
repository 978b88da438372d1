//! `libtmrt.so`: the part of tmrt that lives inside a JVM, plus the `tmrt` command's library.
//!
//! One shared object plays three roles, all thin over the [`runtime`] crate, where every
//! decision lives and is tested without a JVM:
//!
//! - **A JVMTI agent** ([`agent`]): `java -agentpath:…/libtmrt.so=report=r.json,metrics=9404`.
//!   `Agent_OnLoad` parses its option string with [`runtime::telemetry::AgentOptions`] (a bad
//!   option is one line and a JVM that does not start), takes its capabilities and registers
//!   callbacks that only count and tag. Everything that needs Java (MXBean figures, leak
//!   verdicts, suspects, the Prometheus rendering) runs on the agent's own thread, never in a
//!   callback; the metrics endpoint runs on native threads never attached to the JVM.
//! - **The native side of the Java library** (`dev.tmrt.*`): the managed-memory pool behind
//!   `dev.tmrt.memory.MemoryManager` and the jar index behind `dev.tmrt.classload`. Every
//!   `extern "system"` function runs its body through [`ffi::jni_entry`] (or catches panics
//!   itself), so an error becomes a Java exception and no panic ever unwinds into the JVM;
//!   handles crossing JNI are registry keys or reference-counted pointers the Java side keeps
//!   alive, never bare addresses it could forge.
//! - **The `tmrt` command** ([`cli`], with [`host`] for `tmrt emulate`): each subcommand loads
//!   its input, calls `runtime`, and renders; `tmrt emulate` starts a JVM inside the process
//!   through the JNI invocation API with this same library as its agent.
//!
//! `unsafe` is confined to the JNI/JVMTI boundary, and every block says why it is sound in a
//! `// SAFETY:` comment (the workspace's clippy lints deny one without).
//!
//! # Example
//!
//! The agent's option string, as `-agentpath:libtmrt.so=…` passes it, and the command line as the
//! `tmrt` binary runs it (here `tmrt memory --format bash`, the two lines `bin/config.sh` reads):
//!
//! ```
//! use clap::Parser;
//! use runtime::telemetry::AgentOptions;
//!
//! let options = AgentOptions::parse(Some("report=/tmp/tm-%p.json,metrics=9404-9410,leak-gc-cycles=5"))?;
//! assert_eq!(options.leak_gc_cycles, 5);
//! assert_eq!(options.report_path(4242).unwrap().to_str(), Some("/tmp/tm-4242.json"));
//! assert_eq!(options.metrics.as_ref().unwrap().ports(), 9404..=9410);
//! assert!(AgentOptions::parse(Some("leak-gc-cycles=0")).is_err());
//!
//! let cli = tmrt::cli::Cli::try_parse_from([
//!     "tmrt", "memory", "--format", "bash", "-D", "taskmanager.memory.process.size=1728m",
//! ])?;
//! assert_eq!(tmrt::cli::run(cli), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod agent;
pub mod classload_jni;
pub mod cli;
pub mod ffi;
pub mod host;
pub mod managed_jni;
mod native_library;

/// The version of this library, as reported to `dev.tmrt.NativeLibrary`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where the build put the Java library (`target/java/tmrt.jar`).
pub const JAR_PATH: &str = env!("TMRT_JAR_PATH");
