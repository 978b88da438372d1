//! The agent in a JVM hosted in-process through the JNI invocation API, as the `tmrt` command
//! hosts one (`-agentpath:` passed as a `JavaVMOption`): the agent must not assume a separate
//! `java` process. One JVM per test process, hence a test file of its own.

mod support;

use std::path::PathBuf;

use jni::objects::{JObject, JValue};
use jni::{InitArgsBuilder, JNIVersion, JavaVM};
use support::*;

fn libjvm() -> PathBuf {
    let java = std::fs::canonicalize(which_java()).expect("java on PATH or JAVA_HOME");
    let home = java.parent().unwrap().parent().unwrap();
    let lib = home.join("lib").join("server").join("libjvm.so");
    assert!(lib.is_file(), "no libjvm at {}", lib.display());
    lib
}

fn which_java() -> PathBuf {
    let j = jdk_tool("java");
    if j.is_absolute() {
        return j;
    }
    std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join("java")).find(|c| c.is_file()))
        .expect("java on PATH")
}

#[test]
fn agent_works_in_a_jvm_hosted_through_jni_invocation() {
    let dir = scratch_dir("agent-hosted");
    let src = |n: &str| std::fs::read_to_string(workspace_root().join("tests").join("agent").join(n)).unwrap();
    let (counts, plugin) = (src("Counts.java"), src("Plugin.java"));
    let app = compile_java(&dir.join("app"), &[("Counts.java", &counts)], &[tmrt_jar()]);
    let plugins = compile_java(&dir.join("plugin"), &[("Plugin.java", &plugin)], &[]);
    let report = dir.join("hosted.json");
    let args = InitArgsBuilder::new()
        .version(JNIVersion::V8)
        .option(format!(
            "-agentpath:{}=report={},log=off",
            libtmrt().display(),
            report.display()
        ))
        .option(format!("-Djava.class.path={}", join_classpath(&[tmrt_jar(), app])))
        .build()
        .unwrap();
    let jvm = JavaVM::with_libjvm(args, || Ok(libjvm())).expect("start a JVM in-process");
    {
        let mut env = jvm.attach_current_thread().unwrap();
        let loaded = env
            .call_static_method("dev/tmrt/telemetry/Telemetry", "isAgentLoaded", "()Z", &[])
            .unwrap()
            .z()
            .unwrap();
        assert!(loaded, "the agent given as a JavaVMOption is loaded");
        let arg = env.new_string(format!("{}/", plugins.display())).unwrap();
        let argv = env.new_object_array(1, "java/lang/String", JObject::null()).unwrap();
        env.set_object_array_element(&argv, 0, arg).unwrap();
        env.call_static_method("Counts", "main", "([Ljava/lang/String;)V", &[JValue::Object(&argv)])
            .unwrap();
    }
    // SAFETY: no JNI references of this thread are used after destroying the JVM.
    unsafe { jvm.destroy() }.expect("destroy the JVM");
    // VMDeath ran inside this process and wrote the report.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report written at VM death")).unwrap();
    let loaders = json["loaders"].as_array().unwrap();
    let counted: Vec<_> = loaders
        .iter()
        .filter(|l| l["name"].as_str().is_some_and(|n| n.starts_with("counted-")))
        .collect();
    assert_eq!(counted.len(), 4, "{json}");
    assert!(
        counted.iter().all(|l| l["alive"] == false && l["released"] == true),
        "{json}"
    );
    let sum: u64 = loaders.iter().map(|l| l["classes_defined"].as_u64().unwrap()).sum();
    assert_eq!(sum, json["classes_loaded_total"].as_u64().unwrap());
}
