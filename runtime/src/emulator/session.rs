//! The Flink session an emulator run starts in the hosted JVM: Flink's own `MiniCluster`, with one
//! TaskManager whose resources are those the user's configuration gives a standalone TaskManager.
//!
//! A MiniCluster's TaskExecutor takes its resources through Flink's local-execution derivation
//! (`resourceSpecFromConfigForLocalExecution`), which ignores the totals and falls back to
//! "unlimited" heap and 128 MiB of managed memory. So the session configuration pins the
//! components the memory model derived for the user's TaskManager (task heap and off-heap,
//! managed, network, CPU cores, slots), and [`SessionOptions::from_plan`] runs the local
//! derivation (`runtime::memory::local_spec_from_config`) over it to check that Flink will give
//! exactly those. Everything else comes from the user's configuration as it is (classloading,
//! segment size, restart strategy...), except what a throw-away session on one machine must own:
//! the REST endpoint binds a free loopback port, temporary and blob directories live in the run's
//! own directory (removed at the end), and a job that fails is not restarted unless a restart
//! strategy is configured.

use std::fmt;
use std::path::Path;

use super::plan::{TaskManagerPlan, SLOTS};
use crate::config::{Configuration, FlinkVersion};
use crate::memory::{local_spec_from_config, LocalExecutionSpec, MemoryConfigError, MemorySize};

/// Keys that select a restart strategy, across the Flink lines.
const RESTART_KEYS: [&str; 2] = ["restart-strategy.type", "restart-strategy"];

/// The MiniCluster's configuration and what Flink will derive from it.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Every option the session's `Configuration` gets, in key order.
    pub options: Configuration,
    /// Flink's local-execution derivation of `options`: the TaskExecutor's resources.
    pub local: LocalExecutionSpec,
    /// The parallelism jobs get unless they set their own (`parallelism.default`, else 1).
    pub parallelism: u32,
}

/// Why the session cannot be configured.
#[derive(Debug, Clone)]
pub enum SessionError {
    /// Flink's local derivation refused the pinned configuration.
    Local(MemoryConfigError),
    /// Flink's local derivation would give other resources than the plan's.
    Mismatch {
        component: &'static str,
        plan: u64,
        local: u64,
    },
    /// `parallelism.default` does not parse or is not positive.
    Parallelism(String),
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Local(e) => write!(f, "Flink's local execution refuses the TaskManager: {e}"),
            SessionError::Mismatch { component, plan, local } => write!(
                f,
                "Flink's local execution would give the TaskManager {local} bytes of {component}, not the {plan} derived for it"
            ),
            SessionError::Parallelism(v) => {
                write!(f, "Could not parse value '{v}' for key 'parallelism.default' (a positive whole number)")
            }
        }
    }
}

impl std::error::Error for SessionError {}

fn bytes(size: MemorySize) -> String {
    format!("{}b", size.bytes())
}

impl SessionOptions {
    /// The session configuration for `plan` (derived from the user's configuration), with the
    /// run's own directory `run_dir`.
    pub fn from_plan(plan: &TaskManagerPlan, run_dir: &Path) -> Result<SessionOptions, SessionError> {
        let s = &plan.spec;
        let mut o = plan.config.clone();
        for (key, value) in [
            ("taskmanager.memory.task.heap.size", bytes(s.task_heap)),
            ("taskmanager.memory.task.off-heap.size", bytes(s.task_off_heap)),
            ("taskmanager.memory.managed.size", bytes(s.managed)),
            ("taskmanager.memory.network.min", bytes(s.network)),
            ("taskmanager.memory.network.max", bytes(s.network)),
            ("taskmanager.cpu.cores", format!("{}", s.cpu_cores)),
            (SLOTS, plan.slot_managed_bytes.len().to_string()),
        ] {
            o.set(key, value);
        }
        let dir = |name: &str| run_dir.join(name).display().to_string();
        for (key, value) in [
            ("rest.bind-port", "0".to_string()),
            ("rest.bind-address", "127.0.0.1".to_string()),
            ("rest.address", "127.0.0.1".to_string()),
            ("io.tmp.dirs", dir("tmp")),
            ("blob.storage.directory", dir("blobs")),
            ("web.tmpdir", dir("web")),
        ] {
            o.set(key, value);
        }
        if !RESTART_KEYS.iter().any(|k| o.contains(k)) {
            let key = if plan.version == FlinkVersion::V1_13 {
                "restart-strategy"
            } else {
                "restart-strategy.type"
            };
            o.set(key, "none");
        }
        let parallelism = match o.get("parallelism.default") {
            None => 1,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if n >= 1 => n,
                _ => return Err(SessionError::Parallelism(v.to_string())),
            },
        };
        let local = local_spec_from_config(&o, plan.version).map_err(SessionError::Local)?;
        for (component, planned, derived) in [
            ("task heap", s.task_heap, local.task_heap),
            ("task off-heap memory", s.task_off_heap, local.task_off_heap),
            ("managed memory", s.managed, local.managed),
            ("network memory", s.network, local.network),
        ] {
            if planned != derived {
                return Err(SessionError::Mismatch {
                    component,
                    plan: planned.bytes(),
                    local: derived.bytes(),
                });
            }
        }
        Ok(SessionOptions {
            options: o,
            local,
            parallelism,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(pairs: &[(&str, &str)], version: FlinkVersion) -> TaskManagerPlan {
        TaskManagerPlan::for_flink_session(&Configuration::from_pairs(pairs.iter().copied()), version).unwrap()
    }

    #[test]
    fn flinks_local_derivation_gives_the_standalone_taskmanagers_resources() {
        for version in FlinkVersion::ALL {
            let p = plan(&[("taskmanager.memory.process.size", "1728m"), (SLOTS, "2")], version);
            let s = SessionOptions::from_plan(&p, Path::new("/run")).unwrap();
            assert_eq!(s.local.managed, p.spec.managed, "{version}");
            assert_eq!(s.local.task_heap, p.spec.task_heap, "{version}");
            assert_eq!(s.local.network, p.spec.network, "{version}");
            assert_eq!(s.options.get(SLOTS), Some("2"));
            assert_eq!(s.options.get("io.tmp.dirs"), Some("/run/tmp"));
            assert_eq!(s.options.get("rest.bind-port"), Some("0"));
            assert_eq!(s.parallelism, 1);
        }
    }

    #[test]
    fn no_restarts_unless_configured() {
        let p = plan(&[], FlinkVersion::V1_20);
        let s = SessionOptions::from_plan(&p, Path::new("/r")).unwrap();
        assert_eq!(s.options.get("restart-strategy.type"), Some("none"));
        let p = plan(&[], FlinkVersion::V1_13);
        assert_eq!(
            SessionOptions::from_plan(&p, Path::new("/r"))
                .unwrap()
                .options
                .get("restart-strategy"),
            Some("none")
        );
        let p = plan(&[("restart-strategy", "fixed-delay")], FlinkVersion::V1_20);
        let s = SessionOptions::from_plan(&p, Path::new("/r")).unwrap();
        assert_eq!(s.options.get("restart-strategy.type"), None);
        assert_eq!(s.options.get("restart-strategy"), Some("fixed-delay"));
    }

    #[test]
    fn user_options_pass_through_and_parallelism_is_read() {
        let p = plan(
            &[
                ("classloader.resolve-order", "parent-first"),
                ("parallelism.default", "2"),
            ],
            FlinkVersion::V2_2,
        );
        let s = SessionOptions::from_plan(&p, Path::new("/r")).unwrap();
        assert_eq!(s.options.get("classloader.resolve-order"), Some("parent-first"));
        assert_eq!(s.parallelism, 2);
        let p = plan(&[("parallelism.default", "0")], FlinkVersion::V2_2);
        let e = SessionOptions::from_plan(&p, Path::new("/r")).unwrap_err().to_string();
        assert!(e.contains("parallelism.default") && e.contains("'0'"), "{e}");
    }
}
