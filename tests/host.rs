//! Hosting a JVM in-process through the JNI invocation API (`tmrt::host`): libjvm is found, the
//! options reach the JVM, tmrt's jar is on the class path and finds libtmrt.so, and a second JVM
//! in the same process is refused. One JVM per test process, so one test.

mod support;

use support::*;
use tmrt::host::{find_jar, find_libjvm, HostedJvm, JvmSpec, StartError};

#[test]
fn hosted_jvm_gets_its_options_class_path_and_native_library() {
    let libjvm = find_libjvm().expect("a JDK is installed");
    assert!(libjvm.ends_with("lib/server/libjvm.so"), "{}", libjvm.display());
    let jar = find_jar().expect("tmrt.jar built");
    assert_eq!(std::fs::canonicalize(tmrt_jar()).unwrap(), jar);

    let spec = JvmSpec {
        libjvm: libjvm.clone(),
        class_path: vec![jar],
        options: vec![
            "-Xmx96m".to_string(),
            "-XX:MaxMetaspaceSize=64m".to_string(),
            format!("-Dtmrt.library={}", libtmrt().display()),
        ],
        hooks: false,
    };
    let jvm = HostedJvm::start(spec.clone()).expect("JVM starts");
    let mut env = jvm.vm().attach_current_thread().unwrap();

    let rt = env
        .call_static_method("java/lang/Runtime", "getRuntime", "()Ljava/lang/Runtime;", &[])
        .unwrap()
        .l()
        .unwrap();
    let max = env.call_method(&rt, "maxMemory", "()J", &[]).unwrap().j().unwrap();
    // -Xmx96m: the heap may report a little less (one survivor space), never more.
    assert!(max <= 96 << 20 && max > 80 << 20, "maxMemory {max}");

    let v = env
        .call_static_method("dev/tmrt/NativeLibrary", "load", "()Ljava/lang/String;", &[])
        .unwrap()
        .l()
        .unwrap();
    let v: String = env.get_string(&v.into()).unwrap().into();
    assert_eq!(v, tmrt::VERSION);

    // A missing class is a Java exception the host can describe, not a crash.
    let err = env.find_class("no/such/Clazz").unwrap_err();
    let text = tmrt::host::throwable::take_pending(&mut env).expect("pending exception");
    assert!(
        text.contains("java.lang.NoClassDefFoundError: no/such/Clazz"),
        "{err} {text}"
    );
    assert!(!env.exception_check().unwrap());

    drop(env);
    match HostedJvm::start(spec) {
        Err(StartError::AlreadyStarted) => {}
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("second JVM started"),
    }
}
