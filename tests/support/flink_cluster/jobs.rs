//! Jobs on the cluster through Flink's REST API: build a job jar against the cluster's Flink,
//! upload it (`POST /jars/upload`, multipart), run it (`POST /jars/:id/run`), poll `/jobs/:id` to
//! its final state and read the root exception of a failed job; TaskManager metrics over REST.
//! The calls are the same in 1.13, 1.20 and 2.x except the failed job's exception, which 2.x
//! gives only in `exceptionHistory`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::super::http;
use super::super::{compile_java, make_jar};
use super::{FlinkCluster, TaskManager};

/// Compiles Java job sources (`(relative path, text)` pairs) with `javac --release 11` against
/// every jar in `home/lib` (flink-dist and the rest) and packs them into `out/job.jar`.
pub fn build_job_jar(home: &Path, out: &Path, sources: &[(&str, &str)]) -> PathBuf {
    let mut classpath: Vec<PathBuf> = std::fs::read_dir(home.join("lib"))
        .unwrap_or_else(|e| panic!("{}/lib: {e}", home.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jar"))
        .collect();
    classpath.sort();
    let classes = compile_java(out, sources, &classpath);
    let jar = out.join("job.jar");
    make_jar(&classes, &jar);
    jar
}

/// How a job ended.
#[derive(Debug, Clone)]
pub struct JobOutcome {
    pub job_id: String,
    /// Flink's final job status: `FINISHED`, `FAILED`, `CANCELED` or `SUSPENDED`.
    pub state: String,
    /// On failure, the root exception's stack trace from `/jobs/:id/exceptions`.
    pub root_exception: Option<String>,
    /// From submission (`/jars/:id/run`) to the final state being seen.
    pub duration: Duration,
}

impl JobOutcome {
    pub fn finished(&self) -> bool {
        self.state == "FINISHED"
    }
}

/// The JSON body of a REST answer; a non-2xx status or a body that is not JSON is an error with
/// Flink's `errors` text.
pub(super) fn json_of(what: &str, resp: &http::Response) -> Result<Value, String> {
    let v: Value = serde_json::from_slice(&resp.body).map_err(|e| {
        format!(
            "{what}: {} with a body that is not JSON ({e}): {}",
            resp.status,
            resp.text()
        )
    })?;
    if (200..300).contains(&resp.status) {
        Ok(v)
    } else {
        let errors = v["errors"]
            .as_array()
            .map(|a| a.iter().map(|e| e.as_str().unwrap_or_default()).collect::<Vec<_>>());
        Err(format!(
            "{what}: {} {}",
            resp.status,
            errors.map_or_else(|| v.to_string(), |e| e.join("\n"))
        ))
    }
}

impl FlinkCluster {
    /// Compiles a job against this cluster's Flink (see [`build_job_jar`]) into `jobs/<name>/`.
    pub fn job_jar(&self, name: &str, sources: &[(&str, &str)]) -> PathBuf {
        build_job_jar(&self.home, &self.dir.join("jobs").join(name), sources)
    }

    /// `GET path` on the REST API as JSON; an error names the path and what went wrong.
    pub fn rest_get(&self, path: &str) -> Result<Value, String> {
        let resp = http::get(self.rest, path, Duration::from_secs(30)).map_err(|e| format!("GET {path}: {e}"))?;
        json_of(&format!("GET {path}"), &resp)
    }

    fn rest_send(&self, method: &str, path: &str, ct: &str, body: &[u8], timeout: Duration) -> Result<Value, String> {
        let what = format!("{method} {path}");
        let resp =
            http::request(self.rest, method, path, Some(ct), body, timeout).map_err(|e| format!("{what}: {e}"))?;
        json_of(&what, &resp)
    }

    /// Uploads a job jar (`POST /jars/upload`); returns its jar id.
    pub fn upload_jar(&self, jar: &Path) -> Result<String, String> {
        let data = std::fs::read(jar).map_err(|e| format!("{}: {e}", jar.display()))?;
        let name = jar
            .file_name()
            .map_or("job.jar".into(), |n| n.to_string_lossy().into_owned());
        let (ct, body) = http::multipart_file("jarfile", &name, "application/x-java-archive", &data);
        let v = self.rest_send("POST", "/jars/upload", &ct, &body, Duration::from_secs(60))?;
        let file = v["filename"]
            .as_str()
            .ok_or_else(|| format!("POST /jars/upload: no filename in {v}"))?;
        Ok(file.rsplit('/').next().unwrap_or(file).to_string())
    }

    /// Runs an uploaded jar (`POST /jars/:id/run`: its `main` runs in the JobManager and submits
    /// the job); returns the job id.
    pub fn run_jar(&self, jar_id: &str, entry_class: &str, args: &[&str], parallelism: u32) -> Result<String, String> {
        let body = json!({ "entryClass": entry_class, "programArgsList": args, "parallelism": parallelism });
        let path = format!("/jars/{jar_id}/run");
        let v = self.rest_send(
            "POST",
            &path,
            "application/json",
            body.to_string().as_bytes(),
            Duration::from_secs(180),
        )?;
        v["jobid"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("POST {path}: no jobid in {v}"))
    }

    /// Polls `/jobs/:id` until the job reaches a final state; on `FAILED`, adds the root exception.
    /// A job still running after `timeout` is cancelled and reported as an error.
    pub fn wait_for_job(&self, job_id: &str, timeout: Duration) -> Result<JobOutcome, String> {
        let start = Instant::now();
        let path = format!("/jobs/{job_id}");
        loop {
            let v = self.rest_get(&path)?;
            let state = v["state"].as_str().unwrap_or_default().to_string();
            if ["FINISHED", "FAILED", "CANCELED", "SUSPENDED"].contains(&state.as_str()) {
                let root_exception = if state == "FAILED" {
                    Some(self.root_exception(job_id))
                } else {
                    None
                };
                return Ok(JobOutcome {
                    job_id: job_id.to_string(),
                    state,
                    root_exception,
                    duration: start.elapsed(),
                });
            }
            if start.elapsed() > timeout {
                let _ = self.cancel_job(job_id);
                return Err(format!("job {job_id} still {state} after {timeout:?}; cancelled"));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Uploads `jar`, runs `entry_class` with `args` and `parallelism`, and waits for the job's end.
    pub fn run_job(
        &self,
        jar: &Path,
        entry_class: &str,
        args: &[&str],
        parallelism: u32,
        timeout: Duration,
    ) -> Result<JobOutcome, String> {
        let jar_id = self.upload_jar(jar)?;
        let job_id = self.run_jar(&jar_id, entry_class, args, parallelism)?;
        self.wait_for_job(&job_id, timeout)
    }

    /// Cancels a job (`PATCH /jobs/:id?mode=cancel`).
    pub fn cancel_job(&self, job_id: &str) -> Result<(), String> {
        let path = format!("/jobs/{job_id}?mode=cancel");
        http::request(self.rest, "PATCH", &path, None, &[], Duration::from_secs(30))
            .map_err(|e| format!("PATCH {path}: {e}"))
            .and_then(|r| {
                if r.status < 300 {
                    Ok(())
                } else {
                    Err(format!("PATCH {path}: {} {}", r.status, r.text()))
                }
            })
    }

    /// The failed job's root exception: 1.x's `root-exception`, else the newest entry of
    /// `exceptionHistory` (2.x has only that). Waits a little for it to be recorded.
    fn root_exception(&self, job_id: &str) -> String {
        let path = format!("/jobs/{job_id}/exceptions");
        let mut last = String::new();
        for _ in 0..40 {
            match self.rest_get(&path) {
                Ok(v) => {
                    if let Some(s) = v["root-exception"].as_str() {
                        return s.to_string();
                    }
                    if let Some(s) = v["exceptionHistory"]["entries"][0]["stacktrace"].as_str() {
                        return s.to_string();
                    }
                    last = v.to_string();
                }
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        format!("(no root exception recorded: {last})")
    }

    /// A TaskManager metric over REST (`/taskmanagers/:id/metrics?get=NAME`, e.g.
    /// `Status.JVM.Memory.Metaspace.Used`), polled until the JobManager has fetched it (its
    /// fetcher runs every `metrics.fetcher.update-interval`, 1 s here) or `timeout` passes.
    pub fn taskmanager_metric(&self, tm: &TaskManager, name: &str, timeout: Duration) -> Result<f64, String> {
        let path = format!("/taskmanagers/{}/metrics?get={name}", tm.resource_id);
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.rest_get(&path)?;
            if let Some(value) = v[0]["value"].as_str() {
                return value
                    .parse()
                    .map_err(|_| format!("GET {path}: value {value:?} is not a number"));
            }
            if Instant::now() > deadline {
                return Err(format!("GET {path}: no value within {timeout:?} (last answer {v})"));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}
