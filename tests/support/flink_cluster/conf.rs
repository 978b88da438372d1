//! The cluster's configuration directory: Flink's logging files copied from the home's `conf/`,
//! and one flat configuration file written fresh — `config.yaml` (standard YAML, values quoted)
//! where the home ships one (1.20, 2.x), else `flink-conf.yaml` in Flink's legacy line format
//! (1.13). A fresh flat file, because Flink refuses a `config.yaml` with a key given twice and the
//! shipped one is nested YAML.

use std::collections::BTreeMap;
use std::path::Path;

use super::ClusterBuilder;

/// The module opens Flink ≥ 1.18 ships in `env.java.opts.all` for JDK 17; used where the shipped
/// configuration has none (1.13.6, whose daemons die on JDK 17 without them).
const JDK17_OPENS: &str = "--add-exports=java.base/sun.net.util=ALL-UNNAMED \
    --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED \
    --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
    --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
    --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.text=ALL-UNNAMED \
    --add-opens=java.base/java.time=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED \
    --add-opens=java.base/java.util.concurrent=ALL-UNNAMED \
    --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED \
    --add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED";

/// Environment variables that would change what Flink's scripts or JVMs do; never inherited.
pub(super) const CLEARED_ENV: &[&str] = &[
    "_FLINK_HOME_DETERMINED",
    "FLINK_LIB_DIR",
    "FLINK_PLUGINS_DIR",
    "FLINK_OPT_DIR",
    "FLINK_BIN_DIR",
    "FLINK_ENV_JAVA_OPTS",
    "FLINK_ENV_JAVA_OPTS_JM",
    "FLINK_ENV_JAVA_OPTS_TM",
    "FLINK_TM_HEAP",
    "FLINK_JM_HEAP",
    "JVM_ARGS",
    "MAX_LOG_FILE_NUMBER",
    "ROOT_LOG_LEVEL",
    "STD_REDIRECT_TO_FILE",
    "HADOOP_CLASSPATH",
    "HADOOP_CONF_DIR",
    "YARN_CONF_DIR",
    "HBASE_CONF_DIR",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
];

/// The cluster's configuration: one flat file, Flink's key names, the harness's entries first,
/// then the builder's (which win).
pub(super) fn write_conf(b: &ClusterBuilder, conf_dir: &Path, rest: u16, rpc: u16, blob: u16) {
    let shipped = b.home.join("conf");
    for entry in std::fs::read_dir(&shipped)
        .unwrap_or_else(|e| panic!("{}: {e}", shipped.display()))
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("log4j") || name.starts_with("logback") {
            std::fs::copy(entry.path(), conf_dir.join(&name)).unwrap();
        }
    }
    let shipped_conf = shipped_config(&shipped);
    // 1.13's scripts read env.java.opts; later ones env.java.opts.all.
    let config_sh = std::fs::read_to_string(b.home.join("bin/config.sh")).unwrap_or_default();
    let opts_key = if config_sh.contains("\"env.java.opts.all\"") {
        "env.java.opts.all"
    } else {
        "env.java.opts"
    };
    let jdk_opens = shipped_conf
        .get("env.java.opts.all")
        .or_else(|| shipped_conf.get("env.java.opts"))
        .cloned()
        .unwrap_or_else(|| JDK17_OPENS.split_whitespace().collect::<Vec<_>>().join(" "));
    let dir = conf_dir.parent().unwrap();
    let path = |p: &str| dir.join(p).to_string_lossy().into_owned();
    let mut conf: BTreeMap<String, String> = [
        (opts_key, jdk_opens),
        ("env.pid.dir", path("pid")),
        ("env.log.dir", path("log")),
        ("io.tmp.dirs", path("tmp")),
        ("web.upload.dir", path("web-upload")),
        ("jobmanager.bind-host", "localhost".into()),
        ("jobmanager.rpc.address", "localhost".into()),
        ("jobmanager.rpc.port", rpc.to_string()),
        ("blob.server.port", blob.to_string()),
        ("jobmanager.memory.process.size", "1024m".into()),
        ("taskmanager.bind-host", "localhost".into()),
        ("taskmanager.host", "localhost".into()),
        ("taskmanager.numberOfTaskSlots", b.slots.to_string()),
        ("taskmanager.memory.process.size", "1728m".into()),
        ("rest.address", "localhost".into()),
        ("rest.bind-address", "localhost".into()),
        ("rest.port", rest.to_string()),
        ("metrics.fetcher.update-interval", "1000".into()),
        ("parallelism.default", "1".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if !b.tm_java_opts.is_empty() {
        conf.insert("env.java.opts.taskmanager".into(), b.tm_java_opts.clone());
    }
    conf.extend(b.config.clone());
    let yaml = shipped.join("config.yaml").is_file();
    let mut text = String::from("# Written by tests/support/flink_cluster.rs\n");
    for (k, v) in &conf {
        assert!(!v.contains('\n'), "config {k}: a value must be one line");
        if yaml {
            // Standard YAML (1.20's and 2.x's config.yaml): single-quoted, quotes doubled.
            text.push_str(&format!("{k}: '{}'\n", v.replace('\'', "''")));
        } else {
            // flink-conf.yaml's own line format: `key: value`, '#' starts a comment.
            assert!(!v.contains('#'), "config {k}: flink-conf.yaml cannot hold '#' in {v:?}");
            text.push_str(&format!("{k}: {v}\n"));
        }
    }
    let file = conf_dir.join(if yaml { "config.yaml" } else { "flink-conf.yaml" });
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
}

/// The scalar entries of the shipped `config.yaml` (nested YAML, flattened with dots) or
/// `flink-conf.yaml` (flat): enough to read `env.java.opts.all`. Lists and comments are skipped.
fn shipped_config(conf_dir: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(conf_dir.join("config.yaml"))
        .or_else(|_| std::fs::read_to_string(conf_dir.join("flink-conf.yaml")))
        .unwrap_or_default();
    let mut map = BTreeMap::new();
    let mut parents: Vec<(usize, String)> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('-') {
            continue;
        }
        let Some((key, value)) = trimmed.split_once(':') else {
            continue;
        };
        let indent = line.len() - trimmed.len();
        while parents.last().is_some_and(|(i, _)| *i >= indent) {
            parents.pop();
        }
        let key = key.trim().to_string();
        let value = value.trim();
        if value.is_empty() {
            parents.push((indent, key));
        } else {
            let full: Vec<&str> = parents.iter().map(|(_, k)| k.as_str()).chain([key.as_str()]).collect();
            map.insert(
                full.join("."),
                value.trim_matches(|c| c == '\'' || c == '"').to_string(),
            );
        }
    }
    map
}
