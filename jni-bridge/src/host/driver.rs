//! The host's handle on `dev.tmrt.emulator.RoundDriver`, the Java half of `tmrt emulate`.
//!
//! Every call attaches the current thread if needed, runs inside its own local-reference
//! frame (the host thread lives as long as the run, so locals must not pile up), and returns
//! the driver's JSON text; a Java exception becomes a [`JavaCallError`] and is cleared.

use std::path::PathBuf;

use jni::objects::{GlobalRef, JObject, JValue};
use jni::JNIEnv;

use super::jvm::HostedJvm;
use super::throwable::{java_string, JavaCallError};

const DRIVER_CLASS: &str = "dev/tmrt/emulator/RoundDriver";
const CONSTRUCTOR_SIG: &str =
    "(Ljava/lang/String;[Ljava/lang/String;Z[Ljava/lang/String;Ljava/lang/String;[Ljava/lang/String;[JI)V";

/// What the driver is created with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverSettings {
    /// `child-first` or `parent-first`.
    pub resolve_order: String,
    pub parent_first_patterns: Vec<String>,
    pub check_leaked_classloader: bool,
    /// The job jars.
    pub jars: Vec<PathBuf>,
    pub entry_class: String,
    pub args: Vec<String>,
    /// Managed memory per slot, bytes.
    pub slot_bytes: Vec<u64>,
    pub page_size: u32,
}

/// A live `RoundDriver` in the hosted JVM.
pub struct RoundDriver<'jvm> {
    jvm: &'jvm HostedJvm,
    driver: GlobalRef,
}

impl<'jvm> RoundDriver<'jvm> {
    /// Creates the driver (and with it the slots' managed-memory pools).
    pub fn create(jvm: &'jvm HostedJvm, s: &DriverSettings) -> Result<Self, JavaCallError> {
        let call = "new RoundDriver(...)";
        let mut env = attach(jvm, call)?;
        let driver = env
            .with_local_frame(32, |env| -> jni::errors::Result<GlobalRef> {
                let order = env.new_string(&s.resolve_order)?;
                let patterns = string_array(env, &s.parent_first_patterns)?;
                let jars: Vec<String> = s.jars.iter().map(|p| p.display().to_string()).collect();
                let jars = string_array(env, &jars)?;
                let entry = env.new_string(&s.entry_class)?;
                let args = string_array(env, &s.args)?;
                let bytes: Vec<i64> = s
                    .slot_bytes
                    .iter()
                    .map(|&b| i64::try_from(b).unwrap_or(i64::MAX))
                    .collect();
                let slot_bytes = env.new_long_array(bytes.len() as i32)?;
                env.set_long_array_region(&slot_bytes, 0, &bytes)?;
                let obj = env.new_object(
                    DRIVER_CLASS,
                    CONSTRUCTOR_SIG,
                    &[
                        JValue::Object(&order),
                        JValue::Object(&patterns),
                        JValue::Bool(u8::from(s.check_leaked_classloader)),
                        JValue::Object(&jars),
                        JValue::Object(&entry),
                        JValue::Object(&args),
                        JValue::Object(&slot_bytes),
                        JValue::Int(i32::try_from(s.page_size).unwrap_or(i32::MAX)),
                    ],
                )?;
                env.new_global_ref(obj)
            })
            .map_err(|e| JavaCallError::from_jni(&mut env, call, e))?;
        Ok(RoundDriver { jvm, driver })
    }

    /// `baseline()`: the JVM's figures before round one, after a full GC.
    pub fn baseline(&self) -> Result<String, JavaCallError> {
        self.call_json("RoundDriver.baseline()", "baseline", "()Ljava/lang/String;", &[])
    }

    /// `runRound(round)`: one round in every slot; its record.
    pub fn run_round(&self, round: u32) -> Result<String, JavaCallError> {
        self.call_json(
            &format!("RoundDriver.runRound({round})"),
            "runRound",
            "(I)Ljava/lang/String;",
            &[JValue::Int(round as i32)],
        )
    }

    /// `finish(gcCycles)`: the agent's report after its forced collections; shuts the pools.
    pub fn finish(&self, gc_cycles: u32) -> Result<String, JavaCallError> {
        self.call_json(
            &format!("RoundDriver.finish({gc_cycles})"),
            "finish",
            "(I)Ljava/lang/String;",
            &[JValue::Int(gc_cycles as i32)],
        )
    }

    fn call_json(&self, call: &str, name: &str, sig: &str, args: &[JValue<'_, '_>]) -> Result<String, JavaCallError> {
        let mut env = attach(self.jvm, call)?;
        env.with_local_frame(16, |env| -> jni::errors::Result<String> {
            let s = env.call_method(self.driver.as_obj(), name, sig, args)?.l()?;
            java_string(env, s)
        })
        .map_err(|e| JavaCallError::from_jni(&mut env, call, e))
    }
}

fn attach<'a>(jvm: &'a HostedJvm, call: &str) -> Result<JNIEnv<'a>, JavaCallError> {
    jvm.vm().attach_current_thread_permanently().map_err(|e| JavaCallError {
        call: call.to_string(),
        detail: format!("cannot attach thread to the JVM: {e}"),
    })
}

fn string_array<'l>(env: &mut JNIEnv<'l>, items: &[String]) -> jni::errors::Result<JObject<'l>> {
    let arr = env.new_object_array(items.len() as i32, "java/lang/String", JObject::null())?;
    for (i, item) in items.iter().enumerate() {
        let s = env.new_string(item)?;
        env.set_object_array_element(&arr, i as i32, &s)?;
        env.delete_local_ref(s)?;
    }
    Ok(arr.into())
}
