//! Class names defined by two or more live loaders (the report's `duplicate_classes`): one pass
//! over `GetLoadedClasses` with each class's defining loader, when a report is made (never for a
//! metrics scrape, never in a callback). The policy is `runtime::telemetry::duplicates`'.

use jni::JNIEnv;
use runtime::telemetry::duplicates::{duplicate_classes, DuplicateClass, MAX_DUPLICATES};
use runtime::telemetry::BOOTSTRAP;

use super::loaders::known_loader_id;
use super::state::Agent;

/// The duplicates now, biggest first, and how many the cap left out.
pub fn duplicates(agent: &Agent, env: &mut JNIEnv<'_>) -> (Vec<DuplicateClass>, usize) {
    let mut pairs: Vec<(String, u32)> = Vec::new();
    let _ = env.with_local_frame(16, |env| -> jni::errors::Result<()> {
        for class in agent.jvmti.loaded_classes(env).unwrap_or_default() {
            if !agent.jvmti.is_array_class(&class) {
                let loader = match agent.jvmti.class_loader(env, &class) {
                    Ok(l) if l.is_null() => Some(BOOTSTRAP),
                    Ok(l) => {
                        let id = known_loader_id(agent, &l);
                        let _ = env.delete_local_ref(l);
                        id
                    }
                    Err(_) => None,
                };
                if let (Some(loader), Some(name)) = (loader, agent.jvmti.class_name(&class)) {
                    pairs.push((name, loader));
                }
            }
            let _ = env.delete_local_ref(class);
        }
        Ok(())
    });
    duplicate_classes(pairs.iter().map(|(n, l)| (n.as_str(), *l)), MAX_DUPLICATES)
}
