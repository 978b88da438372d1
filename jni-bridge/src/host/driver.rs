//! The host's handle on the Java half of `tmrt emulate`: `dev.tmrt.emulator.RoundDriver` (the plain
//! mode) or `dev.tmrt.emulator.FlinkSession` (the Flink mode). Both answer the same calls —
//! `baseline()`, `runRound(n)`, `finish(gcCycles)` — with plain objects whose fields are read here
//! (`super::fields`) into `runtime::emulator` values; the agent's report travels as the agent wrote
//! it, a JSON string, and is read by the caller with telemetry's own model.
//!
//! Every call attaches the current thread if needed, runs inside its own local-reference frame
//! (the host thread lives as long as the run, so locals must not pile up), and a Java exception
//! becomes a [`JavaCallError`] and is cleared.

use std::path::PathBuf;

use jni::objects::{GlobalRef, JObject, JValue};
use jni::JNIEnv;
use runtime::emulator::{Cause, FailureKind, JobOutcome, LeftoverPages, SlotOutcome, TaskFailure};

use super::fields::{self, JniResult};
use super::jvm::HostedJvm;
use super::throwable::{java_string, JavaCallError};

const ROUND_DRIVER: &str = "dev/tmrt/emulator/RoundDriver";
const ROUND_DRIVER_SIG: &str =
    "(Ljava/lang/String;[Ljava/lang/String;Z[Ljava/lang/String;Ljava/lang/String;[Ljava/lang/String;[JIJ)V";
const FLINK_SESSION: &str = "dev/tmrt/emulator/FlinkSession";
const FLINK_SESSION_SIG: &str = "([Ljava/lang/String;[Ljava/lang/String;IIJ)V";
const ROUND_RESULT: &str = "Ldev/tmrt/emulator/RoundResult;";
const RUN_SNAPSHOT: &str = "Ldev/tmrt/emulator/RunSnapshot;";

/// What the plain mode's driver is created with.
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
    /// How long a slot's task may run, milliseconds; 0 for no limit.
    pub task_timeout_millis: u64,
}

/// What the Flink mode's session is created with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlinkSettings {
    /// The MiniCluster's configuration, `(key, value)`.
    pub options: Vec<(String, String)>,
    pub slots: u32,
    pub parallelism: u32,
    /// How long a job may run before it is cancelled, milliseconds; 0 for no limit.
    pub job_timeout_millis: u64,
}

/// A Flink job to submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlinkJob {
    pub jar: PathBuf,
    /// `None`: the jar manifest's `Main-Class`.
    pub entry_class: Option<String>,
    pub args: Vec<String>,
}

/// A round as the driver reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverRound {
    pub round: u32,
    pub millis: u64,
    pub slots: Vec<SlotOutcome>,
    pub job: Option<JobOutcome>,
    pub incidents: Vec<TaskFailure>,
    /// The agent's JSON report after the round's collections.
    pub agent_report: String,
    /// Rounds whose loader is still reachable (plain mode); `None`: the host decides.
    pub loaders_alive: Option<u32>,
}

/// The agent's report at the start or the end of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverSnapshot {
    pub agent_report: String,
    pub exit_intercepted: bool,
    /// At the end (plain mode): rounds whose loader is still reachable.
    pub rounds_alive: Vec<u32>,
}

/// A live driver in the hosted JVM.
pub struct SessionDriver<'jvm> {
    jvm: &'jvm HostedJvm,
    driver: GlobalRef,
}

impl<'jvm> SessionDriver<'jvm> {
    /// Creates the plain mode's `RoundDriver` (and with it the slots' managed-memory pools).
    pub fn plain(jvm: &'jvm HostedJvm, s: &DriverSettings) -> Result<Self, JavaCallError> {
        Self::create(jvm, "new RoundDriver(...)", |env| {
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
            env.new_object(
                ROUND_DRIVER,
                ROUND_DRIVER_SIG,
                &[
                    JValue::Object(&order),
                    JValue::Object(&patterns),
                    JValue::Bool(u8::from(s.check_leaked_classloader)),
                    JValue::Object(&jars),
                    JValue::Object(&entry),
                    JValue::Object(&args),
                    JValue::Object(&slot_bytes),
                    JValue::Int(i32::try_from(s.page_size).unwrap_or(i32::MAX)),
                    JValue::Long(i64::try_from(s.task_timeout_millis).unwrap_or(i64::MAX)),
                ],
            )
        })
    }

    /// Creates the Flink mode's `FlinkSession`: starts Flink's MiniCluster.
    pub fn flink(jvm: &'jvm HostedJvm, s: &FlinkSettings) -> Result<Self, JavaCallError> {
        Self::create(jvm, "new FlinkSession(...)", |env| {
            let keys: Vec<String> = s.options.iter().map(|(k, _)| k.clone()).collect();
            let values: Vec<String> = s.options.iter().map(|(_, v)| v.clone()).collect();
            let keys = string_array(env, &keys)?;
            let values = string_array(env, &values)?;
            env.new_object(
                FLINK_SESSION,
                FLINK_SESSION_SIG,
                &[
                    JValue::Object(&keys),
                    JValue::Object(&values),
                    JValue::Int(i32::try_from(s.slots).unwrap_or(i32::MAX)),
                    JValue::Int(i32::try_from(s.parallelism).unwrap_or(i32::MAX)),
                    JValue::Long(i64::try_from(s.job_timeout_millis).unwrap_or(i64::MAX)),
                ],
            )
        })
    }

    fn create(
        jvm: &'jvm HostedJvm,
        call: &str,
        make: impl for<'l> FnOnce(&mut JNIEnv<'l>) -> JniResult<JObject<'l>>,
    ) -> Result<Self, JavaCallError> {
        let mut env = attach(jvm, call)?;
        let driver = env
            .with_local_frame(32, |env| -> JniResult<GlobalRef> {
                let obj = make(env)?;
                env.new_global_ref(obj)
            })
            .map_err(|e| JavaCallError::from_jni(&mut env, call, e))?;
        Ok(SessionDriver { jvm, driver })
    }

    /// `flinkVersion()` (Flink mode): the distribution's version.
    pub fn flink_version(&self) -> Result<String, JavaCallError> {
        self.call("FlinkSession.flinkVersion()", |env, d| {
            let s = env.call_method(d, "flinkVersion", "()Ljava/lang/String;", &[])?.l()?;
            java_string(env, s)
        })
    }

    /// `baseline()`: the agent's report before round one, after a full GC.
    pub fn baseline(&self) -> Result<DriverSnapshot, JavaCallError> {
        self.call("baseline()", |env, d| {
            let s = env.call_method(d, "baseline", format!("(){RUN_SNAPSHOT}"), &[])?.l()?;
            read_snapshot(env, &s)
        })
    }

    /// `runJob(round, jar, entry, args)` (Flink mode): the job submitted once; what the round observed.
    pub fn run_job(&self, round: u32, job: &FlinkJob) -> Result<DriverRound, JavaCallError> {
        self.call(&format!("runJob({round})"), |env, d| {
            let jar = env.new_string(job.jar.display().to_string())?;
            let entry = match &job.entry_class {
                Some(e) => JObject::from(env.new_string(e)?),
                None => JObject::null(),
            };
            let args = string_array(env, &job.args)?;
            let r = env
                .call_method(
                    d,
                    "runJob",
                    format!("(ILjava/lang/String;Ljava/lang/String;[Ljava/lang/String;){ROUND_RESULT}"),
                    &[
                        JValue::Int(round as i32),
                        JValue::Object(&jar),
                        JValue::Object(&entry),
                        JValue::Object(&args),
                    ],
                )?
                .l()?;
            read_round(env, &r)
        })
    }

    /// `close()` (Flink mode): closes the MiniCluster; whether it closed in time.
    pub fn close(&self) -> Result<bool, JavaCallError> {
        self.call("close()", |env, d| env.call_method(d, "close", "()Z", &[])?.z())
    }

    /// `runRound(round)` (plain mode): one round in every slot; what it observed.
    pub fn run_round(&self, round: u32) -> Result<DriverRound, JavaCallError> {
        self.call(&format!("runRound({round})"), |env, d| {
            let r = env
                .call_method(
                    d,
                    "runRound",
                    format!("(I){ROUND_RESULT}"),
                    &[JValue::Int(round as i32)],
                )?
                .l()?;
            read_round(env, &r)
        })
    }

    /// `collect()` (Flink mode): a full GC, then the agent's report.
    pub fn collect(&self) -> Result<String, JavaCallError> {
        self.call("collect()", |env, d| {
            let s = env.call_method(d, "collect", "()Ljava/lang/String;", &[])?.l()?;
            java_string(env, s)
        })
    }

    /// `finish(gcCycles)`: the agent's report after its forced collections; ends the session.
    pub fn finish(&self, gc_cycles: u32) -> Result<DriverSnapshot, JavaCallError> {
        self.call(&format!("finish({gc_cycles})"), |env, d| {
            let s = env
                .call_method(
                    d,
                    "finish",
                    format!("(I){RUN_SNAPSHOT}"),
                    &[JValue::Int(gc_cycles as i32)],
                )?
                .l()?;
            read_snapshot(env, &s)
        })
    }

    fn call<T>(
        &self,
        call: &str,
        f: impl for<'l> FnOnce(&mut JNIEnv<'l>, &JObject<'_>) -> JniResult<T>,
    ) -> Result<T, JavaCallError> {
        let mut env = attach(self.jvm, call)?;
        env.with_local_frame(32, |env| f(env, self.driver.as_obj()))
            .map_err(|e| JavaCallError::from_jni(&mut env, call, e))
    }
}

fn attach<'a>(jvm: &'a HostedJvm, call: &str) -> Result<JNIEnv<'a>, JavaCallError> {
    jvm.vm().attach_current_thread_permanently().map_err(|e| JavaCallError {
        call: call.to_string(),
        detail: format!("cannot attach thread to the JVM: {e}"),
    })
}

fn string_array<'l>(env: &mut JNIEnv<'l>, items: &[String]) -> JniResult<JObject<'l>> {
    let arr = env.new_object_array(items.len() as i32, "java/lang/String", JObject::null())?;
    for (i, item) in items.iter().enumerate() {
        let s = env.new_string(item)?;
        env.set_object_array_element(&arr, i as i32, &s)?;
        env.delete_local_ref(s)?;
    }
    Ok(arr.into())
}

fn millis(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn read_snapshot(env: &mut JNIEnv<'_>, s: &JObject<'_>) -> JniResult<DriverSnapshot> {
    Ok(DriverSnapshot {
        agent_report: fields::string(env, s, "agentReport")?,
        exit_intercepted: fields::boolean(env, s, "exitIntercepted")?,
        rounds_alive: fields::ints(env, s, "roundsAlive")?
            .into_iter()
            .filter_map(|r| u32::try_from(r).ok())
            .collect(),
    })
}

fn read_round(env: &mut JNIEnv<'_>, r: &JObject<'_>) -> JniResult<DriverRound> {
    let slots = fields::objects(env, r, "slots", "[Ldev/tmrt/emulator/SlotResult;", |env, s| {
        Ok(SlotOutcome {
            slot: fields::int(env, s, "slot")? as u32,
            millis: millis(fields::long(env, s, "millis")?),
            failure: read_failure_field(env, s, "failure")?,
            leftover: fields::objects(
                env,
                s,
                "leftover",
                "[Ldev/tmrt/emulator/SlotResult$Leftover;",
                |env, l| {
                    Ok(LeftoverPages {
                        owner: fields::string(env, l, "owner")?,
                        pages: millis(fields::long(env, l, "pages")?),
                    })
                },
            )?,
        })
    })?;
    let job_obj = fields::object(env, r, "job", "Ldev/tmrt/emulator/JobResult;")?;
    let job = if job_obj.is_null() {
        None
    } else {
        Some(JobOutcome {
            job_id: fields::string(env, &job_obj, "jobId")?,
            status: fields::string(env, &job_obj, "status")?,
            graph_millis: millis(fields::long(env, &job_obj, "graphMillis")?),
            run_millis: millis(fields::long(env, &job_obj, "runMillis")?),
            failure: read_failure_field(env, &job_obj, "failure")?,
        })
    };
    let incidents = fields::objects(env, r, "incidents", "[Ldev/tmrt/emulator/Failure;", read_failure)?;
    let alive = fields::int(env, r, "loadersAlive")?;
    Ok(DriverRound {
        round: fields::int(env, r, "round")? as u32,
        millis: millis(fields::long(env, r, "millis")?),
        slots,
        job,
        incidents,
        agent_report: fields::string(env, r, "agentReport")?,
        loaders_alive: u32::try_from(alive).ok(),
    })
}

fn read_failure_field(env: &mut JNIEnv<'_>, obj: &JObject<'_>, name: &str) -> JniResult<Option<TaskFailure>> {
    let f = fields::object(env, obj, name, "Ldev/tmrt/emulator/Failure;")?;
    if f.is_null() {
        return Ok(None);
    }
    Ok(Some(read_failure(env, &f)?))
}

/// A `Failure`; a kind this host does not know reads as "task threw" with the kind in the message.
fn read_failure(env: &mut JNIEnv<'_>, f: &JObject<'_>) -> JniResult<TaskFailure> {
    let kind_text = fields::string(env, f, "kind")?;
    let mut message = fields::string(env, f, "message")?;
    let kind = serde_json::from_value(serde_json::Value::String(kind_text.clone())).unwrap_or_else(|_| {
        message = format!("({kind_text}) {message}");
        FailureKind::TaskThrew
    });
    Ok(TaskFailure {
        kind,
        exception: fields::string(env, f, "exception")?,
        message,
        stack: fields::strings(env, f, "stack")?,
        chain: fields::objects(env, f, "chain", "[Ldev/tmrt/emulator/Cause;", |env, c| {
            Ok(Cause {
                exception: fields::string(env, c, "exception")?,
                message: fields::string(env, c, "message")?,
                stack: fields::strings(env, c, "stack")?,
            })
        })?,
        thread: fields::opt_string(env, f, "thread")?,
    })
}
