//! `--format json`: the conformance vectors' field names, so a vector and tmrt's output compare
//! field by field. Errors are `{"ok": false, "error": "..."}`.

use runtime::config::FlinkVersion;
use runtime::memory::{LocalExecutionSpec, TaskExecutorProcessSpec};
use serde_json::{json, Value};

use super::Outcome;

fn cluster(spec: &TaskExecutorProcessSpec) -> Value {
    json!({
        "ok": true,
        "mode": "cluster",
        "flink_version": spec.version.as_str(),
        "bytes": {
            "framework_heap": spec.framework_heap.bytes(),
            "task_heap": spec.task_heap.bytes(),
            "framework_off_heap": spec.framework_off_heap.bytes(),
            "task_off_heap": spec.task_off_heap.bytes(),
            "network": spec.network.bytes(),
            "managed": spec.managed.bytes(),
            "total_flink": spec.total_flink().bytes(),
            "jvm_metaspace": spec.jvm_metaspace.bytes(),
            "jvm_overhead": spec.jvm_overhead.bytes(),
            "total_process": spec.total_process().bytes(),
            "jvm_heap": spec.jvm_heap().bytes(),
            "jvm_direct": spec.jvm_direct().bytes(),
        },
        "num_slots": spec.num_slots,
        "cpu_cores": spec.cpu_cores,
        "jvm_params": spec.jvm_params(),
        "dynamic_configs": spec.dynamic_configs(),
    })
}

fn local(spec: &LocalExecutionSpec) -> Value {
    json!({
        "ok": true,
        "mode": "local",
        "flink_version": spec.version.as_str(),
        "bytes": {
            "task_heap": spec.task_heap.bytes(),
            "task_off_heap": spec.task_off_heap.bytes(),
            "network": spec.network.bytes(),
            "managed": spec.managed.bytes(),
        },
        "cpu_cores": spec.cpu_cores,
    })
}

fn value(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Cluster(spec) => cluster(spec),
        Outcome::Local(spec) => local(spec),
        Outcome::Failed(error) => json!({ "ok": false, "error": error }),
    }
}

/// One derivation as one JSON object.
pub(super) fn outcome(outcome: &Outcome) -> String {
    value(outcome).to_string()
}

/// `--compare` as JSON: both results and the components whose sizes differ.
pub(super) fn compare(a: FlinkVersion, left: &Outcome, b: FlinkVersion, right: &Outcome) -> String {
    let (mut l, mut r) = (value(left), value(right));
    l["flink_version"] = json!(a.as_str());
    r["flink_version"] = json!(b.as_str());
    let mut differ = Vec::new();
    if let (Some(lb), Some(rb)) = (l["bytes"].as_object(), r["bytes"].as_object()) {
        for (k, v) in lb {
            if rb.get(k) != Some(v) {
                differ.push(k.clone());
            }
        }
    }
    let ok = l["ok"] == json!(true) && r["ok"] == json!(true);
    let out = json!({
        "ok": ok,
        "compare": [a.as_str(), b.as_str()],
        "results": [l, r],
        "differ": differ,
    });
    format!("{out}\n")
}
