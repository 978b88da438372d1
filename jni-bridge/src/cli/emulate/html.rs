//! `--report-html`: the run as one self-contained page — no network, no external file. The page
//! carries the `--report` document itself (a JSON script block) and draws everything from it in
//! the browser with a small inline script: per job the verdict and its failures (root cause
//! first), metaspace used and classes loaded per round as SVG charts (the baseline, each round
//! after its collections, the least-squares line), each user-code loader's life (created,
//! released, collected or leaked) on a round axis, the leak suspects with their reference paths
//! split into steps, and the duplicate classes. Every drawn point carries its value
//! (`data-value`), so that a test in a real browser can check the picture against the numbers;
//! the page marks itself `data-rendered="ok"` when done, or lists what failed.

/// The page for `doc` (the `--report` document).
pub fn render(doc: &serde_json::Value) -> String {
    let data = serde_json::to_string(doc)
        .unwrap_or_else(|_| "null".to_string())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    let title = match doc["jobs"].as_array().map(Vec::len) {
        Some(1) => format!(
            "tmrt emulate: {}",
            escape(doc["jobs"][0]["job"]["entry_class"].as_str().unwrap_or("job"))
        ),
        _ => "tmrt emulate".to_string(),
    };
    TEMPLATE.replace("{{TITLE}}", &title).replace("{{DATA}}", &data)
}

/// HTML-escapes text for the page's title.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const TEMPLATE: &str = r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{TITLE}}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
header { background: #1d2330; color: #fff; padding: 14px 24px; }
header h1 { font-size: 18px; margin: 0 0 4px; }
header p { margin: 0; color: #c9cfdb; }
main { padding: 16px 24px 40px; max-width: 1180px; }
section.job { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: 14px 18px; margin: 16px 0; }
h2 { font-size: 16px; margin: 0 0 8px; }
h3 { font-size: 14px; margin: 16px 0 6px; color: #3b4456; }
.verdict { display: inline-block; padding: 2px 10px; border-radius: 12px; font-weight: 600; color: #fff; }
.verdict.clean { background: #2e8b57; } .verdict.leak-found { background: #c0392b; }
.verdict.task-failure { background: #d68910; } .verdict.bad-input { background: #7f8c8d; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
.chart { flex: 1 1 440px; min-width: 0; }
svg text { font: 11px system-ui, sans-serif; fill: #3b4456; }
svg .axis { stroke: #8a93a6; stroke-width: 1; }
svg .grid { stroke: #e7eaf0; stroke-width: 1; }
svg .series { fill: none; stroke: #2d6cdf; stroke-width: 2; }
svg .pt { fill: #2d6cdf; }
svg .pt.baseline-pt { fill: #8a93a6; }
svg .baseline { stroke: #8a93a6; stroke-dasharray: 4 3; }
svg .fit { stroke: #c0392b; stroke-width: 1.5; stroke-dasharray: 6 3; }
svg .life { stroke-width: 10; stroke-linecap: butt; }
svg .life.collected { stroke: #7fb77e; } svg .life.leaked { stroke: #c0392b; } svg .life.alive { stroke: #b9c0cc; }
svg .released { fill: #1d2330; }
table { border-collapse: collapse; width: 100%; }
td, th { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eef0f4; vertical-align: top; }
th { color: #5b6478; font-weight: 600; }
code, .path { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
ol.path { margin: 4px 0 8px; padding-left: 22px; }
.failure { border-left: 3px solid #d68910; padding: 4px 10px; margin: 6px 0; background: #fdf6ec; }
.muted { color: #6b7385; }
#errors { color: #c0392b; }
</style>
</head>
<body data-rendered="pending">
<header><h1>{{TITLE}}</h1><p id="subtitle"></p></header>
<main>
<div id="errors"></div>
<section class="job" id="taskmanager"></section>
<div id="jobs"></div>
</main>
<script type="application/json" id="tmrt-report">{{DATA}}</script>
<script>
(function () {
  "use strict";
  var errors = [];
  window.addEventListener("error", function (e) { errors.push(String(e.message)); showErrors(); });
  function showErrors() {
    var box = document.getElementById("errors");
    box.textContent = "";
    errors.forEach(function (m) { var p = el("p", { "class": "error" }); p.textContent = m; box.appendChild(p); });
    document.body.setAttribute("data-rendered", "error");
  }
  var SVG = "http://www.w3.org/2000/svg";
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function bytes(n) {
    var u = ["B", "KiB", "MiB", "GiB", "TiB"], v = n, i = 0;
    while (Math.abs(v) >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return i === 0 ? n + " B" : v.toFixed(1) + " " + u[i];
  }
  function row(table, cells, head) {
    var tr = el("tr");
    cells.forEach(function (c) { tr.appendChild(el(head ? "th" : "td", {}, c)); });
    table.appendChild(tr);
  }

  // A line chart of one series per round: round 0 is the baseline. The value axis follows the
  // rounds (and the fitted line); a baseline far outside them (a Flink session's first job loads
  // the client's classes) is named under the chart instead of flattening the rounds.
  function chart(id, title, points, fit, baseline, format) {
    var W = 540, H = 240, L = 70, R = 16, T = 26, B = 34;
    var box = el("div", { "class": "chart" });
    var s = svg("svg", { id: id, width: "100%", viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": title });
    s.appendChild(svg("text", { x: L, y: 14, "font-weight": "600" }, title));
    var rounds = points.filter(function (p) { return p.round > 0; });
    var ys = rounds.map(function (p) { return p.value; });
    var lo = Math.min.apply(null, ys), hi = Math.max.apply(null, ys);
    var x1r = Math.max.apply(null, rounds.map(function (p) { return p.round; }));
    if (fit) {
      [Math.min.apply(null, rounds.map(function (p) { return p.round; })), x1r].forEach(function (x) {
        var y = fit.intercept + fit.slope * x; lo = Math.min(lo, y); hi = Math.max(hi, y);
      });
    }
    var span = Math.max(hi - lo, Math.abs(hi) * 0.01, 1);
    var showBase = baseline !== null && baseline >= lo - 2 * span && baseline <= hi + 2 * span;
    if (showBase) { lo = Math.min(lo, baseline); hi = Math.max(hi, baseline); }
    var shown = points.filter(function (p) { return p.round > 0 || showBase; });
    var xs = shown.map(function (p) { return p.round; });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    if (x1 === x0) x1 = x0 + 1;
    var pad = (hi - lo) * 0.1 || Math.max(1, Math.abs(hi) * 0.05);
    lo -= pad; hi += pad;
    function X(x) { return L + (x - x0) / (x1 - x0) * (W - L - R); }
    function Y(y) { return T + (hi - y) / (hi - lo) * (H - T - B); }
    for (var k = 0; k <= 4; k++) {
      var gy = lo + (hi - lo) * k / 4;
      s.appendChild(svg("line", { "class": "grid", x1: L, x2: W - R, y1: Y(gy), y2: Y(gy) }));
      s.appendChild(svg("text", { x: L - 6, y: Y(gy) + 4, "text-anchor": "end" }, format(gy)));
    }
    s.appendChild(svg("line", { "class": "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
    s.appendChild(svg("line", { "class": "axis", x1: L, x2: L, y1: T, y2: H - B }));
    xs.forEach(function (x) {
      s.appendChild(svg("text", { x: X(x), y: H - B + 16, "text-anchor": "middle" }, x === 0 ? "base" : String(x)));
    });
    s.appendChild(svg("text", { x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle" }, "round (after its full GCs)"));
    if (showBase) {
      s.appendChild(svg("line", { "class": "baseline", x1: L, x2: W - R, y1: Y(baseline), y2: Y(baseline), "data-value": baseline }));
    }
    if (fit) {
      var fx0 = Math.max(1, x0);
      s.appendChild(svg("line", { "class": "fit", x1: X(fx0), x2: X(x1), y1: Y(fit.intercept + fit.slope * fx0), y2: Y(fit.intercept + fit.slope * x1),
        "data-slope": fit.slope, "data-intercept": fit.intercept }));
    }
    s.appendChild(svg("polyline", { "class": "series", points: shown.map(function (p) { return X(p.round) + "," + Y(p.value); }).join(" ") }));
    shown.forEach(function (p) {
      var c = svg("circle", { "class": "pt" + (p.round === 0 ? " baseline-pt" : ""), cx: X(p.round), cy: Y(p.value), r: 3.5,
        "data-series": id.split("-")[0], "data-round": p.round, "data-value": p.value });
      c.appendChild(svg("title", {}, (p.round === 0 ? "baseline" : "round " + p.round) + ": " + format(p.value)));
      s.appendChild(c);
    });
    box.appendChild(s);
    var legend = el("p", { "class": "muted" });
    legend.textContent = (fit ? "dashed red: least-squares line, " + format(fit.slope) + " per round (r\u00b2 " + fit.r2.toFixed(2) + "); " : "") +
      (showBase ? "dashed grey: baseline" : "baseline before round 1: " + format(baseline) + " (off the chart)");
    if (!showBase) legend.setAttribute("data-baseline", baseline);
    box.appendChild(legend);
    return box;
  }

  // Each user-code loader's life on the round axis.
  function lifetimes(id, loaders, rounds) {
    var W = 1100, RH = 18, L = 360, R = 20, T = 22;
    var H = T + loaders.length * RH + 28;
    var s = svg("svg", { id: id, width: "100%", viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "user-code classloaders" });
    function X(r) { return L + r / Math.max(1, rounds) * (W - L - R); }
    for (var r = 0; r <= rounds; r++) {
      s.appendChild(svg("line", { "class": "grid", x1: X(r), x2: X(r), y1: T - 6, y2: H - 24 }));
      s.appendChild(svg("text", { x: X(r), y: H - 8, "text-anchor": "middle" }, r === 0 ? "base" : String(r)));
    }
    loaders.forEach(function (l, i) {
      var y = T + i * RH + RH / 2;
      var role = l.flink_job_id ? " job " + l.flink_job_id.slice(0, 8) : (l.kind === "flink" ? " client" : "");
      var label = "#" + l.id + " " + l.class.replace(/^.*\./, "") + role + (l.round ? " (round " + l.round + ")" : "");
      s.appendChild(svg("text", { x: L - 8, y: y + 4, "text-anchor": "end" }, label));
      var start = Math.max(0, l.seen_after_round - 1);
      var state = l.leaked ? "leaked" : (l.collected_after_round !== null && l.collected_after_round !== undefined ? "collected" : "alive");
      var end = state === "collected" ? l.collected_after_round : rounds;
      var bar = svg("line", { "class": "life " + state, x1: X(start), x2: X(Math.max(end, start + 0.15)), y1: y, y2: y,
        "data-loader": l.id, "data-state": state, "data-created": l.seen_after_round, "data-end": end });
      bar.appendChild(svg("title", {}, label + ": " + state));
      s.appendChild(bar);
      if (l.released_after_round !== null && l.released_after_round !== undefined) {
        s.appendChild(svg("circle", { "class": "released", cx: X(l.released_after_round), cy: y, r: 3, "data-loader": l.id }));
      }
    });
    return s;
  }

  function failureBox(f) {
    var d = el("div", { "class": "failure" });
    var where = (f.round ? "round " + f.round : "after the rounds") + (f.slot !== null && f.slot !== undefined ? " slot " + f.slot : "") + (f.thread ? " (thread \"" + f.thread + "\")" : "");
    var chain = f.chain || [];
    var rootFirst = (f.kind === "job-failed" || f.kind === "program-failed") && chain.length > 0;
    var root = rootFirst ? chain[chain.length - 1] : { exception: f.exception, message: f.message, stack: f.stack || [] };
    d.appendChild(el("div", {}, where + ": " + f.kind + ": " + (root.exception ? root.exception + ": " : "") + root.message));
    var pre = el("pre", { "class": "path" });
    pre.textContent = (root.stack || []).slice(0, 8).map(function (s) { return "    at " + s; }).join("\n");
    if (pre.textContent) d.appendChild(pre);
    chain.slice(0, rootFirst ? chain.length - 1 : chain.length).reverse().forEach(function (c) {
      if (!rootFirst && c.exception === root.exception && c.message === root.message) return;
      d.appendChild(el("div", { "class": "muted" }, "in " + c.exception + (c.message ? ": " + c.message : "")));
    });
    return d;
  }

  function suspects(loader) {
    var box = el("div", { "class": "suspects", "data-loader": loader.id });
    box.appendChild(el("h4", {}, "loader #" + loader.id + " " + loader.class + " \u2014 " + (loader.classes_defined || 0) + " classes"));
    if (!loader.suspects || loader.suspects.length === 0) box.appendChild(el("p", { "class": "muted" }, "no suspect found"));
    (loader.suspects || []).forEach(function (s) {
      var p = el("div", { "class": "suspect", "data-kind": s.kind });
      p.appendChild(el("strong", {}, s.kind + ": "));
      if (s.description.indexOf(" -> ") >= 0) {
        var ol = el("ol", { "class": "path" });
        s.description.split(" -> ").forEach(function (step) { ol.appendChild(el("li", {}, step)); });
        p.appendChild(ol);
      } else {
        p.appendChild(el("span", { "class": "path" }, s.description));
      }
      box.appendChild(p);
    });
    return box;
  }

  function render(doc) {
    var tm = doc.taskmanager, b = tm.bytes;
    document.getElementById("subtitle").textContent =
      (doc.mode === "flink" ? "Flink " + doc.flink.version + " session (MiniCluster), runtime: " + doc.flink.runtime : "plain mode") +
      " \u00b7 tmrt " + doc.tmrt_version;
    var t = document.getElementById("taskmanager");
    t.appendChild(el("h2", {}, "TaskManager (Flink " + doc.flink_version + "): " + bytes(b.total_process) + ", " + tm.slot_managed_bytes.length + " slot(s)"));
    if (doc.defaults_applied && doc.defaults_applied.length) {
      t.appendChild(el("p", { "class": "muted" }, "Not configured, so Flink's shipped defaults apply: " +
        doc.defaults_applied.map(function (d) { return d.key + ": " + d.value; }).join(", ")));
    }
    var table = el("table");
    [["JVM heap", b.jvm_heap], ["direct memory", b.jvm_direct], ["managed memory", b.managed], ["JVM metaspace", b.jvm_metaspace], ["JVM overhead", b.jvm_overhead]]
      .forEach(function (r) { row(table, [r[0], bytes(r[1])]); });
    row(table, ["user code", tm.resolve_order + ", " + tm.parent_first_patterns.length + " parent-first patterns"]);
    t.appendChild(table);
    var dups = doc.flink && doc.flink.duplicate_classes;
    if (dups && dups.length) {
      t.appendChild(el("h3", {}, "Classes of the job jar also on the TaskManager's class path"));
      var dt = el("table", { id: "duplicates" });
      row(dt, ["classes", "jars", "winner", "symptom"], true);
      dups.forEach(function (g) {
        row(dt, [g.classes.slice(0, 4).join(", ") + (g.classes.length > 4 ? " \u2026 (" + g.classes.length + ")" : ""),
          g.first_jar.replace(/^.*\//, "") + " / " + g.second_jar.replace(/^.*\//, ""), g.winner, g.symptom]);
      });
      t.appendChild(dt);
    }
    var jobs = document.getElementById("jobs");
    doc.jobs.forEach(function (j, n) {
      var a = j.assessment, sec = el("section", { "class": "job", id: "job-" + n, "data-verdict": a.verdict });
      var h = el("h2", {}, j.job.entry_class + " ");
      h.appendChild(el("span", { "class": "verdict " + a.verdict }, a.verdict.replace("-", " ").toUpperCase()));
      sec.appendChild(h);
      sec.appendChild(el("p", { "class": "muted" }, j.rounds.length + " of " + j.job.rounds + " round(s) ran \u00b7 " +
        j.job.jars.map(function (p) { return p.replace(/^.*\//, ""); }).join(", ")));
      (a.failures || []).forEach(function (f) { sec.appendChild(failureBox(f)); });
      var meta = [{ round: 0, value: j.baseline.metaspace_used_bytes }].concat(j.rounds.map(function (r) { return { round: r.round, value: r.after.metaspace_used_bytes }; }));
      var cls = [{ round: 0, value: j.baseline.classes_loaded }].concat(j.rounds.map(function (r) { return { round: r.round, value: r.after.classes_loaded }; }));
      var charts = el("div", { "class": "charts" });
      charts.appendChild(chart("metaspace-" + n, "Metaspace used after each round's GC", meta, a.metaspace_growth, j.baseline.metaspace_used_bytes, bytes));
      charts.appendChild(chart("classes-" + n, "Classes loaded after each round's GC", cls, a.classes_growth, j.baseline.classes_loaded, function (v) { return String(Math.round(v)); }));
      sec.appendChild(charts);
      sec.appendChild(el("h3", {}, "User-code classloaders (" + (j.loaders || []).length + ")"));
      if (j.loaders && j.loaders.length) {
        sec.appendChild(lifetimes("loaders-" + n, j.loaders, j.rounds.length));
        sec.appendChild(el("p", { "class": "muted" }, "green: collected \u00b7 red: leaked \u00b7 grey: still alive \u00b7 dot: released"));
      } else {
        sec.appendChild(el("p", { "class": "muted" }, "the agent reported no user-code classloader for this job"));
      }
      if (a.leaked_loaders && a.leaked_loaders.length) {
        sec.appendChild(el("h3", {}, "Leak suspects"));
        a.leaked_loaders.forEach(function (l) { sec.appendChild(suspects(l)); });
      }
      if (j.duplicate_classes && j.duplicate_classes.length) {
        sec.appendChild(el("h3", {}, "Classes defined by more than one loader (agent)"));
        var ul = el("ul", { id: "agent-duplicates-" + n });
        j.duplicate_classes.forEach(function (d) { ul.appendChild(el("li", { "class": "path" }, d.name + " \u2014 loaders " + d.loaders.join(", "))); });
        sec.appendChild(ul);
      }
      jobs.appendChild(sec);
    });
  }

  try {
    render(JSON.parse(document.getElementById("tmrt-report").textContent));
    if (errors.length === 0) document.body.setAttribute("data-rendered", "ok");
  } catch (e) {
    errors.push(String(e && e.stack || e));
    showErrors();
  }
})();
</script>
</body>
</html>
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_cannot_end_its_script_block() {
        let doc = serde_json::json!({"jobs": [{"job": {"entry_class": "</script><b>x&y"}}]});
        let page = render(&doc);
        let start = page.find("id=\"tmrt-report\">").unwrap();
        let end = start + page[start..].find("</script>").unwrap();
        let data = &page[start + "id=\"tmrt-report\">".len()..end];
        assert!(!data.contains('<') && !data.contains('>'), "{data}");
        let back: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(back, doc);
        assert!(page.contains("<title>tmrt emulate: &lt;/script&gt;&lt;b&gt;x&amp;y</title>"));
    }

    #[test]
    fn the_page_fetches_nothing() {
        let page = render(&serde_json::json!({"jobs": []}));
        for needle in ["http://", "https://", "src=", "href=", "@import", "url("] {
            let hits: Vec<_> = page
                .match_indices(needle)
                .map(|(i, _)| &page[i.saturating_sub(20)..i + 30])
                .collect();
            let allowed = hits.iter().all(|h| h.contains("www.w3.org/2000/svg"));
            assert!(allowed, "{needle}: {hits:?}");
        }
    }
}
