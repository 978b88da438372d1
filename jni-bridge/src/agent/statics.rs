//! Static fields that keep leaked loaders alive: caches and registries in classes outside the
//! job — JDBC's `DriverManager`, `Runtime.addShutdownHook`'s hooks, interners and caches in
//! classes of Flink's `lib/` — found by one [`JniSearch`] whose roots are the static reference
//! fields of every loaded class not defined by a leaked loader, with the path from the field.
//! JNI reads only: no safepoint is requested; the search stops at its deadline and says so.

use std::collections::HashSet;
use std::time::Instant;

use jni::JNIEnv;
use runtime::telemetry::search::End;
use runtime::telemetry::suspects::{render_chain, Finding};
use runtime::telemetry::{LoaderId, LoaderKind, BOOTSTRAP};

use super::jni_search::{Budget, JniSearch};
use super::jvmti::ACC_STATIC;
use super::loaders::known_loader_id;
use super::state::Agent;
use super::threads::origin_of_loader;

struct Root {
    class: String,
    field: String,
    loader: Option<LoaderId>,
}

/// Every static-field path to any of `targets`, as findings per loader, and what could not be
/// done.
pub fn findings(
    agent: &Agent,
    env: &mut JNIEnv<'_>,
    targets: &HashSet<LoaderId>,
    deadline: Instant,
) -> (Vec<(LoaderId, Finding)>, Option<String>) {
    let mut out = Vec::new();
    let mut limit = None;
    let Some(mut search) = JniSearch::new(
        agent,
        targets,
        false,
        Budget {
            max_objects: 2_000_000,
            max_depth: 32,
            deadline,
            max_hits_per_loader: 4,
        },
    ) else {
        return (
            out,
            Some("the search from static fields could not start (no JVMTI environment)".into()),
        );
    };
    let mut roots: Vec<(u32, Root)> = Vec::new();
    let jvmti = agent.jvmti;
    let _ = env.with_local_frame(64, |env| -> jni::errors::Result<()> {
        let Ok(classes) = jvmti.loaded_classes(env) else {
            limit = Some("loaded classes could not be listed".to_string());
            return Ok(());
        };
        // Classes of the class path (Flink's lib/) first: at equal depth, their caches are found
        // first.
        let mut ordered = Vec::with_capacity(classes.len());
        for c in classes {
            let loader = match jvmti.class_loader(env, &c) {
                Ok(l) if l.is_null() => Some(BOOTSTRAP),
                Ok(l) => {
                    let id = known_loader_id(agent, &l);
                    let _ = env.delete_local_ref(l);
                    id
                }
                Err(_) => None,
            };
            if loader.is_some_and(|l| targets.contains(&l)) || jvmti.is_array_class(&c) {
                let _ = env.delete_local_ref(c);
                continue;
            }
            let first = loader
                .and_then(|l| agent.model.lock().kind(l))
                .is_some_and(|(k, _)| k == LoaderKind::Application);
            ordered.push((!first, loader, c));
        }
        ordered.sort_by_key(|(later, _, _)| *later);
        for (_, loader, c) in ordered {
            if Instant::now() > deadline {
                break;
            }
            let _ = env.with_local_frame(16, |env| -> jni::errors::Result<()> {
                let Ok(fields) = jvmti.class_fields(&c) else {
                    return Ok(());
                };
                let mut class_name = None;
                for f in fields {
                    if !jvmti.field_modifiers(&c, f).is_ok_and(|m| m & ACC_STATIC != 0) {
                        continue;
                    }
                    let Some((name, sig)) = jvmti.field_name(&c, f) else {
                        continue;
                    };
                    if !(sig.starts_with('L') || sig.starts_with('[')) {
                        continue;
                    }
                    if let Some(r) = search.add_static_root(env, &c, f) {
                        let class = class_name
                            .get_or_insert_with(|| jvmti.class_name(&c).unwrap_or_default())
                            .clone();
                        roots.push((
                            r,
                            Root {
                                class,
                                field: name,
                                loader,
                            },
                        ));
                    }
                }
                Ok(())
            });
            let _ = env.delete_local_ref(c);
        }
        Ok(())
    });
    search.run(env);
    for hit in search.hits().to_vec() {
        let Some((_, root)) = roots.iter().find(|(r, _)| *r == hit.root) else {
            continue;
        };
        let steps = search.steps(&hit);
        let first = (format!("static field {}", root.field), search.root_text(&hit));
        let chain = render_chain(
            &format!("class {}", root.class),
            std::iter::once((first.0.as_str(), first.1.as_str()))
                .chain(steps.iter().map(|(a, b)| (a.as_str(), b.as_str()))),
        );
        out.push((
            hit.loader,
            Finding::Static {
                class: root.class.clone(),
                origin: origin_of_loader(agent, root.loader, targets),
                field: root.field.clone(),
                chain,
            },
        ));
    }
    let (reached, end) = search.summary();
    if matches!(end, Some(End::Deadline | End::ObjectBudget)) {
        limit = Some(format!(
            "the search from static fields was cut short after {reached} objects: a cache deeper in the heap may be missing"
        ));
    }
    (out, limit)
}
