//! The drop-in runtime (`runtime=classloading|managed-memory|…`): before any of Flink's classes
//! is loaded, decide per component whether tmrt may replace Flink's classes, then swap the
//! replacements in as the JVM defines the originals.
//!
//! In `Agent_OnLoad` ([`on_load`]): find tmrt.jar (`$TMRT_JAR`, else next to libtmrt.so or in
//! `../java/` from it, where the build puts it), read `java.class.path` (JVMTI
//! `GetSystemProperty`), and let [`runtime::dropin::decide`] check the originals found there
//! against each component's `shape.txt` (all policy is there, tested without a JVM). A component
//! that cannot be used — tmrt.jar missing or unreadable, the class not on the class path, an
//! unknown version, an unexpected shape — is one line on stderr saying why, and Flink's classes
//! stay untouched; a late attach never substitutes. When a component is active, tmrt.jar is
//! appended to the system class loader's search (`AddToSystemClassLoaderSearch`) so that the
//! replacements' helpers (`dev.tmrt.*`) resolve, and the `ClassFileLoadHook` ([`hook`]) returns
//! the replacement bytes for exactly the checked originals, whichever loader defines them.
//! [`report`] feeds `tmrt_runtime_active`, the per-slot `tmrt_managed_*` gauges (from the slot
//! pools the native library records) and the report's `"runtime"` section.

pub mod calls;
pub mod hook;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

use jni::JNIEnv;
use runtime::classload::{Jar, JarLimits};
use runtime::dropin::{decide, ClassPath, Substitution, COMPONENTS};
use runtime::telemetry::runtime_report::{ComponentStatus, RuntimeReport, SlotMemory};
use runtime::telemetry::AgentOptions;

use super::jvmti::Jvmti;

pub use hook::class_file_load_hook;

/// One component's outcome.
struct Component {
    name: &'static str,
    requested: bool,
    active: bool,
    detail: String,
    substituted: AtomicU64,
}

/// A class to swap, with its component and a flag for the one "other bytes" warning.
struct Swap {
    substitution: Substitution,
    component: usize,
    warned: AtomicBool,
}

/// The drop-in state, set once in `Agent_OnLoad`.
pub struct DropIn {
    components: Vec<Component>,
    swaps: Vec<Swap>,
}

static DROPIN: OnceLock<DropIn> = OnceLock::new();

fn state() -> Option<&'static DropIn> {
    DROPIN.get()
}

/// Decides the drop-in components for `options` and records the outcome; returns whether the
/// `ClassFileLoadHook` must be enabled ([`wants_hook`]). Prints one line per requested component.
pub fn on_load(jvmti: &Jvmti, options: &AgentOptions, late: bool) -> bool {
    let requested = |c: &str| match c {
        "classloading" => options.runtime.classloading,
        "managed-memory" => options.runtime.managed_memory,
        _ => false,
    };
    let mut components: Vec<Component> = COMPONENTS
        .iter()
        .map(|&name| Component {
            name,
            requested: requested(name),
            active: false,
            detail: if requested(name) {
                String::new()
            } else {
                "not requested".to_string()
            },
            substituted: AtomicU64::new(0),
        })
        .collect();
    let mut swaps = Vec::new();
    if components.iter().any(|c| c.requested) {
        match plan(jvmti, &components, late) {
            Err(why) => {
                for c in components.iter_mut().filter(|c| c.requested) {
                    c.detail = why.clone();
                }
            }
            Ok(outcomes) => {
                for (i, outcome) in outcomes {
                    match outcome {
                        Ok((detail, subs)) => {
                            components[i].active = true;
                            components[i].detail = detail;
                            swaps.extend(subs.into_iter().map(|substitution| Swap {
                                substitution,
                                component: i,
                                warned: AtomicBool::new(false),
                            }));
                        }
                        Err(why) => components[i].detail = why,
                    }
                }
            }
        }
        if !swaps.is_empty() {
            if let Err(why) = add_tmrt_jar(jvmti) {
                for c in components.iter_mut().filter(|c| c.active) {
                    c.active = false;
                    c.detail = why.clone();
                }
                swaps.clear();
            }
        }
        for c in components.iter().filter(|c| c.requested) {
            if c.active {
                eprintln!("tmrt agent: runtime {} active: {}", c.name, c.detail);
            } else {
                eprintln!(
                    "tmrt agent: runtime {} not active, Flink's classes stay untouched: {}",
                    c.name, c.detail
                );
            }
        }
    }
    let hook = !swaps.is_empty();
    let _ = DROPIN.set(DropIn { components, swaps });
    hook
}

type Outcome = Result<(String, Vec<Substitution>), String>;

/// tmrt.jar, the class path, and each requested component's decision.
fn plan(jvmti: &Jvmti, components: &[Component], late: bool) -> Result<Vec<(usize, Outcome)>, String> {
    if late {
        return Err("the agent was attached to a running JVM; runtime= needs -agentpath at JVM start".to_string());
    }
    let jar_path = tmrt_jar()
        .map_err(|tried| format!("tmrt.jar not found (looked at {tried}); set TMRT_JAR=/path/to/tmrt.jar"))?;
    let jar = Jar::open(&jar_path, JarLimits::default()).map_err(|e| e.to_string())?;
    TMRT_JAR.set(jar_path).ok();
    let class_path = calls::system_property(jvmti, "java.class.path")
        .ok_or_else(|| "the JVM does not tell its class path (java.class.path)".to_string())?;
    let class_path = ClassPath::parse(&class_path);
    Ok(components
        .iter()
        .enumerate()
        .filter(|(_, c)| c.requested)
        .map(|(i, c)| {
            let outcome = decide(c.name, &jar, &class_path).map(|active| {
                let classes: Vec<String> = active
                    .substitutions
                    .iter()
                    .map(|s| format!("{} from {}", s.class, s.source.display()))
                    .collect();
                let variant = if active.variant.is_empty() {
                    String::new()
                } else {
                    format!(" (variant {})", active.variant)
                };
                (
                    format!("tmrt's replacement of {}{variant}", classes.join(", ")),
                    active.substitutions,
                )
            });
            (i, outcome)
        })
        .collect())
}

static TMRT_JAR: OnceLock<PathBuf> = OnceLock::new();

/// Appends tmrt.jar to the system class loader's search, unless the class path has it.
fn add_tmrt_jar(jvmti: &Jvmti) -> Result<(), String> {
    let jar = TMRT_JAR.get().ok_or("tmrt.jar not found")?;
    let canonical = std::fs::canonicalize(jar).unwrap_or_else(|_| jar.clone());
    if let Some(cp) = calls::system_property(jvmti, "java.class.path") {
        if ClassPath::parse(&cp)
            .entries
            .iter()
            .any(|e| std::fs::canonicalize(e).is_ok_and(|c| c == canonical))
        {
            return Ok(());
        }
    }
    calls::add_to_system_class_loader_search(jvmti, &canonical).map_err(|rc| {
        format!(
            "cannot add {} to the system class path (JVMTI error {rc})",
            canonical.display()
        )
    })
}

/// tmrt.jar for this libtmrt.so: `$TMRT_JAR`, else `tmrt.jar` next to the library, else
/// `../java/tmrt.jar` and `../../java/tmrt.jar` from it (`target/release[/deps]` →
/// `target/java`). The error lists the places tried.
fn tmrt_jar() -> Result<PathBuf, String> {
    let candidates = jar_candidates(
        std::env::var_os("TMRT_JAR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
        library_dir().as_deref(),
    );
    runtime::dropin::first_file(&candidates)
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        })
}

fn jar_candidates(env: Option<PathBuf>, lib_dir: Option<&Path>) -> Vec<PathBuf> {
    if let Some(p) = env {
        return vec![p];
    }
    let Some(d) = lib_dir else { return Vec::new() };
    let mut v = vec![d.join("tmrt.jar")];
    for up in [d.parent(), d.parent().and_then(Path::parent)].into_iter().flatten() {
        v.push(up.join("java").join("tmrt.jar"));
    }
    v
}

/// The directory of the loaded libtmrt.so, from `/proc/self/maps` (the mapping holding this
/// function's code).
fn library_dir() -> Option<PathBuf> {
    let addr = library_dir as fn() -> Option<PathBuf> as usize;
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines().find_map(|line| {
        let mut parts = line.split_whitespace();
        let (start, end) = parts.next()?.split_once('-')?;
        let (start, end) = (
            usize::from_str_radix(start, 16).ok()?,
            usize::from_str_radix(end, 16).ok()?,
        );
        let path = parts.nth(4)?;
        (start <= addr && addr < end && path.starts_with('/'))
            .then(|| Path::new(path).parent().map(Path::to_path_buf))?
    })
}

/// Registers the `ClassFileLoadHook` callback (enabled only when [`wants_hook`]).
pub fn fill(callbacks: &mut super::jvmti::EventCallbacks) {
    callbacks.set(
        hook::EVENT_CLASS_FILE_LOAD_HOOK,
        class_file_load_hook as *const std::ffi::c_void,
    );
}

/// Whether the `ClassFileLoadHook` must be enabled (a component is active).
pub fn wants_hook() -> bool {
    state().is_some_and(|s| !s.swaps.is_empty())
}

/// The drop-in runtime's state for the metrics and the report. With `env` (the report), each
/// slot lists what its owners hold, with the reserved bytes the Java memory manager books
/// ([`slot_pages::slot_usage`], which calls Java); without it (the metrics, which show per-slot
/// totals only) the owners are not read at all: that would scan each slot's page table per
/// scrape for nothing.
///
/// [`slot_pages::slot_usage`]: crate::managed_jni::slot_pages::slot_usage
pub fn report(mut env: Option<&mut JNIEnv<'_>>) -> RuntimeReport {
    let components = match state() {
        Some(s) => s
            .components
            .iter()
            .map(|c| ComponentStatus {
                component: c.name.to_string(),
                requested: c.requested,
                active: c.active,
                detail: c.detail.clone(),
                classes_substituted: c.substituted.load(Ordering::Relaxed),
            })
            .collect(),
        None => COMPONENTS
            .iter()
            .map(|c| ComponentStatus {
                component: c.to_string(),
                requested: false,
                active: false,
                detail: "not requested".to_string(),
                classes_substituted: 0,
            })
            .collect(),
    };
    let slots = crate::managed_jni::slot_pages::live_slots()
        .iter()
        .map(|s| {
            let usage = env
                .as_deref_mut()
                .map(|env| crate::managed_jni::slot_pages::slot_usage(env, s));
            SlotMemory::of_pool(s.number, &s.pool.figures(), usage.as_ref())
        })
        .collect();
    RuntimeReport { components, slots }
}

/// Appends `tmrt_runtime_active` to a Prometheus exposition.
pub fn add_metrics(text: &mut String) {
    runtime::telemetry::runtime_report::render_prometheus(&report(None), text);
}

/// Adds the `"runtime"` section to the report's JSON (asks Java for each owner's reservations).
pub fn add_to_json(env: &mut JNIEnv<'_>, json: String) -> String {
    runtime::telemetry::runtime_report::add_to_json(&json, &report(Some(env)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jar_is_looked_for_next_to_the_library_then_in_target_java() {
        assert_eq!(
            jar_candidates(None, Some(Path::new("/w/target/release/deps"))),
            vec![
                PathBuf::from("/w/target/release/deps/tmrt.jar"),
                PathBuf::from("/w/target/release/java/tmrt.jar"),
                PathBuf::from("/w/target/java/tmrt.jar"),
            ]
        );
        assert_eq!(
            jar_candidates(Some("/x/t.jar".into()), None),
            vec![PathBuf::from("/x/t.jar")]
        );
    }

    #[test]
    fn library_dir_is_found_in_the_maps() {
        // In a test binary the function lives in the executable, a file with a directory.
        assert!(library_dir().is_some_and(|d| d.is_dir()));
    }
}
