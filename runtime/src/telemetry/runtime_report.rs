//! What the drop-in runtime (`runtime=`) did, as a plain value, and its two renderings: the
//! `tmrt_runtime_active` gauge of the Prometheus exposition and the `"runtime"` section of the
//! JSON report. Every component is always listed, `active` 0 when it was not asked for or could
//! not be used (the `detail` says why).
//!
//! With managed memory from tmrt's slot pools, each live pool is a [`SlotMemory`]: the slot's
//! figures (`tmrt_managed_*{slot="N"}` gauges) and, in the report, what each owner holds. Slot
//! numbers are the agent's (the lowest free one when the pool was made, so a TaskManager with `n`
//! slots shows numbers below `n`); at most [`MAX_SLOT_SERIES`] get series of their own, the rest
//! are summed into `slot="other"`, so the label set stays bounded whatever runs.

use std::fmt::Write;

use serde::Serialize;

use crate::managed::{PoolFigures, UsageReport};

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
    /// The live slot pools of managed memory, by slot number (empty without them).
    pub slots: Vec<SlotMemory>,
}

/// One live slot pool (one Flink `MemoryManager`, i.e. one slot, with `runtime=managed-memory`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct SlotMemory {
    /// The agent's number for the slot (see the module docs).
    pub slot: u32,
    /// The slot's managed memory budget in bytes (pages and reservations together).
    pub budget_bytes: u64,
    pub page_size: u64,
    /// Pages the budget holds.
    pub pages: u32,
    /// Pages held by owners now.
    pub pages_in_use: u32,
    /// Bytes reserved now (`reserveMemory`: RocksDB, Python, …), with the bytes owners keep as
    /// credit for their next reservation (the Java memory managers' `OwnerBook`; the owners'
    /// own figures, in `owners`, are without it).
    pub reserved_bytes: u64,
    /// Bytes neither in pages nor reserved.
    pub available_bytes: u64,
    /// What each owner holds now (owners holding nothing are not listed; empty where the
    /// holdings were not read: the metrics).
    pub owners: Vec<OwnerMemory>,
}

impl SlotMemory {
    /// A slot pool's figures and (when read) its holdings under the agent's slot number.
    pub fn of_pool(slot: u32, figures: &PoolFigures, usage: Option<&UsageReport>) -> SlotMemory {
        SlotMemory {
            slot,
            budget_bytes: figures.budget_bytes,
            page_size: figures.page_size,
            pages: figures.total_pages,
            pages_in_use: figures.pages_in_use,
            reserved_bytes: figures.reserved_bytes,
            available_bytes: figures.available_bytes,
            owners: usage.map_or_else(Vec::new, |usage| {
                usage
                    .owners
                    .iter()
                    .map(|o| OwnerMemory {
                        owner: o.owner.0,
                        pages: o.pages,
                        page_bytes: u64::from(o.pages) * usage.page_size,
                        reserved_bytes: o.reserved_bytes,
                    })
                    .collect()
            }),
        }
    }
}

/// What one owner (an operator, a state backend) holds in a slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerMemory {
    /// The number the memory manager gave the owner object (in order of first use).
    pub owner: u64,
    pub pages: u32,
    /// `pages` × the page size.
    pub page_bytes: u64,
    pub reserved_bytes: u64,
}

/// Slots with a series of their own; the rest are summed into `slot="other"`.
pub const MAX_SLOT_SERIES: u32 = 64;

/// The per-slot gauges: (name, help, value of a slot).
type SlotGauge = (&'static str, &'static str, fn(&SlotMemory) -> u64);

const SLOT_GAUGES: &[SlotGauge] = &[
    (
        "tmrt_managed_pages_in_use",
        "Managed memory pages held by owners in this slot's tmrt pool now.",
        |s| u64::from(s.pages_in_use),
    ),
    (
        "tmrt_managed_pages",
        "Pages of this slot's managed memory budget.",
        |s| u64::from(s.pages),
    ),
    (
        "tmrt_managed_budget_bytes",
        "This slot's managed memory budget in bytes (pages and reservations together).",
        |s| s.budget_bytes,
    ),
    (
        "tmrt_managed_reserved_bytes",
        "Managed memory bytes reserved in this slot now (reserveMemory: RocksDB, Python), with the \
         bytes owners keep for their next reservation (at most 1/64 of the slot each, handed back \
         before anyone is refused).",
        |s| s.reserved_bytes,
    ),
    (
        "tmrt_managed_available_bytes",
        "Managed memory bytes of this slot neither in pages nor reserved (owners' kept bytes count as \
         reserved here).",
        |s| s.available_bytes,
    ),
];

/// Appends `tmrt_runtime_active{component="..."} 1|0` for every component and, when managed
/// memory is tmrt's (or any slot pool is live), `tmrt_managed_slots` and the per-slot gauges.
pub fn render_prometheus(report: &RuntimeReport, out: &mut String) {
    render_active(report, out);
    let managed = report
        .components
        .iter()
        .any(|c| c.component == "managed-memory" && c.active);
    if managed || !report.slots.is_empty() {
        render_slots(&report.slots, out);
    }
}

fn render_slots(slots: &[SlotMemory], out: &mut String) {
    out.push_str("# HELP tmrt_managed_slots Live tmrt slot pools of managed memory (one per Flink memory manager).\n");
    out.push_str("# TYPE tmrt_managed_slots gauge\n");
    let _ = writeln!(out, "tmrt_managed_slots {}", slots.len());
    let mut own: Vec<&SlotMemory> = slots.iter().filter(|s| s.slot < MAX_SLOT_SERIES).collect();
    own.sort_by_key(|s| s.slot);
    let rest: Vec<&SlotMemory> = slots.iter().filter(|s| s.slot >= MAX_SLOT_SERIES).collect();
    for (name, help, value) in SLOT_GAUGES {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for s in &own {
            let _ = writeln!(out, "{name}{{slot=\"{}\"}} {}", s.slot, value(s));
        }
        if !rest.is_empty() {
            let sum: u64 = rest.iter().map(|s| value(s)).sum();
            let _ = writeln!(out, "{name}{{slot=\"other\"}} {sum}");
        }
    }
}

fn render_active(report: &RuntimeReport, out: &mut String) {
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
            slots: Vec::new(),
        }
    }

    fn slot(slot: u32, in_use: u32) -> SlotMemory {
        SlotMemory {
            slot,
            budget_bytes: 1 << 20,
            page_size: 32 << 10,
            pages: 32,
            pages_in_use: in_use,
            reserved_bytes: 4096,
            available_bytes: (1 << 20) - 4096 - u64::from(in_use) * (32 << 10),
            owners: Vec::new(),
        }
    }

    #[test]
    fn slot_gauges_only_with_managed_memory_and_bounded_labels() {
        let mut s = String::new();
        render_prometheus(&report(), &mut s);
        assert!(!s.contains("tmrt_managed_"), "{s}");

        let mut r = report();
        r.components[1].active = true;
        let mut s = String::new();
        render_prometheus(&r, &mut s);
        assert!(s.contains("\ntmrt_managed_slots 0\n"), "{s}");
        assert!(!s.contains("{slot="), "{s}");

        r.slots = vec![
            slot(1, 3),
            slot(0, 5),
            slot(MAX_SLOT_SERIES, 2),
            slot(MAX_SLOT_SERIES + 7, 4),
        ];
        let mut s = String::new();
        render_prometheus(&r, &mut s);
        assert!(s.contains("\ntmrt_managed_slots 4\n"), "{s}");
        let zero = s.find("tmrt_managed_pages_in_use{slot=\"0\"} 5\n").unwrap();
        let one = s.find("tmrt_managed_pages_in_use{slot=\"1\"} 3\n").unwrap();
        assert!(zero < one, "slots in order: {s}");
        assert!(s.contains("tmrt_managed_pages_in_use{slot=\"other\"} 6\n"), "{s}");
        assert!(s.contains("tmrt_managed_reserved_bytes{slot=\"other\"} 8192\n"), "{s}");
        assert!(s.contains("tmrt_managed_budget_bytes{slot=\"1\"} 1048576\n"), "{s}");
        assert!(s.contains("tmrt_managed_pages{slot=\"0\"} 32\n"), "{s}");
        assert!(!s.contains(&format!("slot=\"{MAX_SLOT_SERIES}\"")), "{s}");
        // Every sample line belongs to a family declared just before.
        for name in ["tmrt_managed_pages_in_use", "tmrt_managed_available_bytes"] {
            assert!(s.contains(&format!("# TYPE {name} gauge\n{name}{{slot=\"0\"}}")), "{s}");
        }
    }

    #[test]
    fn slot_of_a_real_pool_and_its_owners_in_the_json() {
        use crate::managed::{OwnerId, PageSize, SlotPool};
        let pool = SlotPool::new("slot", 1 << 20, PageSize::new(32 << 10).unwrap()).unwrap();
        pool.allocate_with(OwnerId(7), 3, |_| {}).unwrap();
        pool.reserve_memory(OwnerId(9), 1000).unwrap();
        let s = SlotMemory::of_pool(2, &pool.figures(), Some(&pool.usage()));
        assert_eq!((s.slot, s.pages, s.pages_in_use, s.reserved_bytes), (2, 32, 3, 1000));
        assert_eq!(s.available_bytes, (1 << 20) - 3 * (32 << 10) - 1000);
        let mut owners = s.owners.clone();
        owners.sort_by_key(|o| o.owner);
        assert_eq!(
            owners,
            vec![
                OwnerMemory {
                    owner: 7,
                    pages: 3,
                    page_bytes: 3 * (32 << 10),
                    reserved_bytes: 0
                },
                OwnerMemory {
                    owner: 9,
                    pages: 0,
                    page_bytes: 0,
                    reserved_bytes: 1000
                },
            ]
        );
        let mut r = report();
        r.slots = vec![s];
        let v: serde_json::Value = serde_json::from_str(&add_to_json("{}\n", &r)).unwrap();
        assert_eq!(v["runtime"]["slots"][0]["slot"], 2);
        assert_eq!(v["runtime"]["slots"][0]["pages_in_use"], 3);
        assert_eq!(v["runtime"]["slots"][0]["owners"].as_array().unwrap().len(), 2);
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
