//! JVM-wide figures, read from the platform MXBeans through JNI — the numbers a
//! `MemoryPoolMXBean` or `GarbageCollectorMXBean` shows, by construction.
//!
//! Only ever called on a thread that may call Java: the agent thread, a Java thread inside a
//! `dev.tmrt.telemetry.Telemetry` native method, or the `VMDeath` callback. Never from a GC or
//! `ObjectFree` callback.

use jni::objects::{JObject, JString};
use jni::JNIEnv;
use runtime::telemetry::gc::is_full_collector;
use runtime::telemetry::JvmFigures;

type JniResult<T> = Result<T, jni::errors::Error>;

fn list_items<'l>(env: &mut JNIEnv<'l>, list: &JObject<'l>) -> JniResult<Vec<JObject<'l>>> {
    let n = env.call_method(list, "size", "()I", &[])?.i()?;
    let mut out = Vec::with_capacity(n.max(0) as usize);
    for i in 0..n {
        out.push(
            env.call_method(list, "get", "(I)Ljava/lang/Object;", &[i.into()])?
                .l()?,
        );
    }
    Ok(out)
}

fn bean_name(env: &mut JNIEnv<'_>, bean: &JObject<'_>) -> JniResult<String> {
    let name = env.call_method(bean, "getName", "()Ljava/lang/String;", &[])?.l()?;
    let s: String = env.get_string(&JString::from(name))?.into();
    Ok(s)
}

/// Reads the metaspace and compressed-class-space pools and the collectors' counts.
pub fn read(env: &mut JNIEnv<'_>) -> JniResult<JvmFigures> {
    let result = env.with_local_frame(64, |env| -> JniResult<JvmFigures> {
        let mut f = JvmFigures {
            metaspace_max: -1,
            compressed_class_space_max: -1,
            ..JvmFigures::default()
        };
        let mf = "java/lang/management/ManagementFactory";
        let pools = env
            .call_static_method(mf, "getMemoryPoolMXBeans", "()Ljava/util/List;", &[])?
            .l()?;
        for pool in list_items(env, &pools)? {
            let name = bean_name(env, &pool)?;
            if name != "Metaspace" && name != "Compressed Class Space" {
                continue;
            }
            let usage = env
                .call_method(&pool, "getUsage", "()Ljava/lang/management/MemoryUsage;", &[])?
                .l()?;
            let used = env.call_method(&usage, "getUsed", "()J", &[])?.j()?;
            let committed = env.call_method(&usage, "getCommitted", "()J", &[])?.j()?;
            let max = env.call_method(&usage, "getMax", "()J", &[])?.j()?;
            if name == "Metaspace" {
                (f.metaspace_used, f.metaspace_committed, f.metaspace_max) = (used, committed, max);
            } else {
                (
                    f.compressed_class_space_used,
                    f.compressed_class_space_committed,
                    f.compressed_class_space_max,
                ) = (used, committed, max);
            }
        }
        let memory = env
            .call_static_method(mf, "getMemoryMXBean", "()Ljava/lang/management/MemoryMXBean;", &[])?
            .l()?;
        let heap = env
            .call_method(
                &memory,
                "getHeapMemoryUsage",
                "()Ljava/lang/management/MemoryUsage;",
                &[],
            )?
            .l()?;
        f.heap_used = env.call_method(&heap, "getUsed", "()J", &[])?.j()?;
        let gcs = env
            .call_static_method(mf, "getGarbageCollectorMXBeans", "()Ljava/util/List;", &[])?
            .l()?;
        for gc in list_items(env, &gcs)? {
            let name = bean_name(env, &gc)?;
            let count = env.call_method(&gc, "getCollectionCount", "()J", &[])?.j()?;
            if count < 0 {
                continue; // undefined for this collector
            }
            f.gc_count += count as u64;
            if is_full_collector(&name) {
                f.full_gc_count += count as u64;
            }
        }
        Ok(f)
    });
    if matches!(result, Err(jni::errors::Error::JavaException)) {
        let _ = env.exception_clear();
    }
    result
}

/// `ClassLoadingMXBean`'s total loaded and unloaded counts (for late attach, where the agent did
/// not see the classes loaded before it).
pub fn class_loading_counts(env: &mut JNIEnv<'_>) -> JniResult<(u64, u64)> {
    let result = env.with_local_frame(16, |env| -> JniResult<(u64, u64)> {
        let bean = env
            .call_static_method(
                "java/lang/management/ManagementFactory",
                "getClassLoadingMXBean",
                "()Ljava/lang/management/ClassLoadingMXBean;",
                &[],
            )?
            .l()?;
        let loaded = env.call_method(&bean, "getTotalLoadedClassCount", "()J", &[])?.j()?;
        let unloaded = env.call_method(&bean, "getUnloadedClassCount", "()J", &[])?.j()?;
        Ok((loaded.max(0) as u64, unloaded.max(0) as u64))
    });
    if matches!(result, Err(jni::errors::Error::JavaException)) {
        let _ = env.exception_clear();
    }
    result
}
