//! What the drop-in runtime (`runtime=`) did, as a plain value, and its two renderings: the
//! `tmrt_runtime_active` gauge of the Prometheus exposition and the `"runtime"` section of the
//! JSON report. Every component is always listed, `active` 0 when it was not asked for or could
//! not be used (the `detail` says why).

use std::fmt::Write;

use serde::Serialize;

/// One component of the drop-in runtime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentStatus {
    /// `classloading` or `managed-memory`.
    pub component: String,
    /// Named in the `runtime=` option.
    pub requested: bool,
    /// Flink's classes of this component are replaced by tmrt's.
    pub active: bool,
    /// What was replaced (variant and classes), or why not.
    pub detail: String,
    /// Classes swapped in so far (once per defining loader).
    pub classes_substituted: u64,
}

/// The drop-in runtime's state.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RuntimeReport {
    pub components: Vec<ComponentStatus>,
}

/// Appends `tmrt_runtime_active{component="..."} 1|0` for every component.
pub fn render_prometheus(report: &RuntimeReport, out: &mut String) {
    out.push_str("# HELP tmrt_runtime_active Whether tmrt's drop-in runtime replaces this component of Flink's TaskManager (1) or not (0).\n");
    out.push_str("# TYPE tmrt_runtime_active gauge\n");
    for c in &report.components {
        let _ = writeln!(
            out,
            "tmrt_runtime_active{{component=\"{}\"}} {}",
            c.component,
            u8::from(c.active)
        );
    }
}

/// Adds `"runtime": {...}` as the last field of the pretty-printed JSON object `json` (the
/// agent's report, whose rendering ends with `}` and a newline).
pub fn add_to_json(json: &str, report: &RuntimeReport) -> String {
    let section = serde_json::to_string_pretty(report).expect("a RuntimeReport always serializes");
    let indented = section.replace('\n', "\n  ");
    match json.trim_end().strip_suffix('}') {
        Some(body) => {
            let body = body.trim_end();
            let sep = if body.ends_with('{') { "" } else { "," };
            format!("{body}{sep}\n  \"runtime\": {indented}\n}}\n")
        }
        None => json.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> RuntimeReport {
        RuntimeReport {
            components: vec![
                ComponentStatus {
                    component: "classloading".into(),
                    requested: true,
                    active: true,
                    detail: "flink-1.20".into(),
                    classes_substituted: 1,
                },
                ComponentStatus {
                    component: "managed-memory".into(),
                    requested: false,
                    active: false,
                    detail: "not requested".into(),
                    classes_substituted: 0,
                },
            ],
        }
    }

    #[test]
    fn prometheus_lines() {
        let mut s = String::new();
        render_prometheus(&report(), &mut s);
        assert!(s.contains("\ntmrt_runtime_active{component=\"classloading\"} 1\n"));
        assert!(s.ends_with("tmrt_runtime_active{component=\"managed-memory\"} 0\n"));
    }

    #[test]
    fn json_section_is_the_last_field_and_parses() {
        let json = "{\n  \"classes_loaded_total\": 3,\n  \"loaders\": []\n}\n";
        let out = add_to_json(json, &report());
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["classes_loaded_total"], 3);
        assert_eq!(v["runtime"]["components"][0]["component"], "classloading");
        assert_eq!(v["runtime"]["components"][0]["active"], true);
        assert_eq!(v["runtime"]["components"][1]["active"], false);
        let empty: serde_json::Value = serde_json::from_str(&add_to_json("{}\n", &report())).unwrap();
        assert!(empty["runtime"].is_object());
    }
}
