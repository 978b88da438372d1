//! tmrt's core, with no JVM in sight: everything here is plain Rust, testable with `cargo test`.
//!
//! A Flink TaskManager is a JVM whose shape is derived from a handful of options, which hands
//! out off-heap memory pages to the tasks of its slots, and which loads each job's classes
//! through a user-code classloader. This crate holds every decision tmrt makes about those three
//! things; the `tmrt-jni` crate only carries values across JNI and JVMTI and renders them. The
//! layers are the ones of Flink's own TaskExecutor utilities: **options → derivation → plain
//! value → rendering**, and nothing below rendering prints.
//!
//! - [`config`] is the input: a flat map of option keys to strings ([`config::Configuration`]),
//!   read from `flink-conf.yaml` or `config.yaml` the way each Flink line reads it (file choice,
//!   Flink's line rules, YAML flattened to dotted keys, Flink's own YAML limits), plus `-D`
//!   overrides. Readers are bounded: a hostile file ends in an error naming it and the limit.
//! - [`memory`] derives the TaskExecutor memory layout byte for byte as Flink 1.13, 1.20 and 2.2
//!   do ([`memory::TaskExecutorProcessSpec`]: every size, the JVM parameters and dynamic configs
//!   `bin/config.sh` uses, and the record of where each size came from).
//! - [`managed`] is Flink's managed memory: a slot's budget as one anonymous mapping, pages
//!   handed out to owners from a lock-free table that Java operates on directly
//!   ([`managed::SlotPool`], [`managed::ManagedMemorySlots`] for a TaskExecutor's slots).
//! - [`classload`] is Flink's user-code classloading without a JVM: resolve order and
//!   always-parent-first patterns, an index over a classpath's jars, and the conflicts between
//!   `lib/` and a job's jars.
//! - [`telemetry`] is the JVMTI agent's model: its options, the per-classloader record book, leak
//!   verdicts, and the JSON and Prometheus renderings of its report.
//! - [`emulator`] is what `tmrt emulate` concludes from the rounds it ran: the TaskManager plan,
//!   the fits over the rounds, the verdict and its exit status.
//!
//! Errors are values that name what was wrong (the option and its value, the file, the jar) and
//! carry Flink's message where Flink has one; nothing here panics on bad input.
//!
//! # Example
//!
//! A TaskManager from a `config.yaml`, its layout as Flink derives it, and pages of one slot's
//! managed memory allocated for a task and given back:
//!
//! ```
//! use runtime::config::{parse_standard_yaml, FlinkVersion};
//! use runtime::managed::{ManagedMemorySlots, OwnerId};
//! use runtime::memory::{process_spec_from_config, Component};
//!
//! let conf = parse_standard_yaml(
//!     "taskmanager:\n  memory:\n    process.size: 1728m\n  numberOfTaskSlots: 2\n",
//! )?;
//! let spec = process_spec_from_config(&conf, FlinkVersion::V1_20)?;
//! assert_eq!(spec.size_of(Component::Managed).bytes(), 536_870_920);
//! assert!(spec.jvm_params().starts_with("-Xmx536870902 -Xms536870902"));
//!
//! // Two equal slots over the managed memory, in pages of taskmanager.memory.segment-size (32 KiB).
//! let slots = ManagedMemorySlots::from_process_spec(&spec, &conf)?;
//! let slot = slots.slot(0)?.expect("slot 0 exists");
//! let task = OwnerId(7);
//! let pages = slot.allocate_pages(task, 4)?;
//! assert_eq!(slot.usage().pages(), 4);
//! slot.release_batch(&pages)?;
//! assert!(slot.verify_empty().is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod classload;
pub mod config;
pub mod dropin;
pub mod emulator;
pub mod managed;
pub mod memory;
pub mod telemetry;
