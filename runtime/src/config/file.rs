//! Reading a Flink configuration directory, file by file as each Flink line does.
//!
//! - Flink 1.13 reads `flink-conf.yaml` only.
//! - Flink 1.19/1.20 read `flink-conf.yaml` when it exists (the legacy flat format), otherwise
//!   `config.yaml` (standard YAML).
//! - Flink 2.x reads `config.yaml` only.
//!
//! The legacy format is Flink's own line parser, not YAML: everything after the first `#` is a
//! comment, a line is split at the first `": "`, key and value are trimmed, and a line with no
//! separator or an empty key or value is skipped. Standard YAML is flattened: nested mapping keys
//! are joined with dots, lists become `;`-separated values, and scalars keep their text.

use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

use super::{ConfigError, Configuration, FlinkVersion};

const LEGACY: &str = "flink-conf.yaml";
const STANDARD: &str = "config.yaml";

/// Loads the configuration file that `version` reads from `dir`.
pub fn load_conf_dir(dir: &Path, version: FlinkVersion) -> Result<Configuration, ConfigError> {
    let candidates: &[&'static str] = match version {
        FlinkVersion::V1_13 => &[LEGACY],
        FlinkVersion::V1_20 => &[LEGACY, STANDARD],
        FlinkVersion::V2_2 => &[STANDARD],
    };
    for name in candidates {
        let path = dir.join(name);
        if !path.is_file() {
            continue;
        }
        let text = std::fs::read(&path).map_err(|e| ConfigError::Io {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let text = String::from_utf8_lossy(&text);
        return if *name == LEGACY {
            Ok(parse_flink_conf_yaml(&text))
        } else {
            parse_standard_yaml(&text).map_err(|message| ConfigError::Yaml { path, message })
        };
    }
    Err(ConfigError::MissingFile {
        dir: dir.to_path_buf(),
        expected: candidates.to_vec(),
    })
}

/// Parses Flink's legacy flat `flink-conf.yaml` format (`GlobalConfiguration.loadLegacyYAMLResource`).
pub fn parse_flink_conf_yaml(text: &str) -> Configuration {
    let mut conf = Configuration::new();
    for line in text.lines() {
        let content = line.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let Some((k, v)) = content.split_once(": ") else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() || v.is_empty() {
            continue;
        }
        conf.set(k, v);
    }
    conf
}

/// Parses standard YAML (`config.yaml`) and flattens it to Flink's dotted keys.
pub fn parse_standard_yaml(text: &str) -> Result<Configuration, String> {
    check_nesting(text)?;
    let docs = YamlLoader::load_from_str(text).map_err(|e| e.to_string())?;
    let mut conf = Configuration::new();
    match docs.first() {
        None | Some(Yaml::Null) => {}
        Some(Yaml::Hash(_)) => flatten("", &docs[0], &mut conf, 0)?,
        Some(_) => return Err("the top level must be a mapping of option keys".to_string()),
    }
    Ok(conf)
}

/// Deepest nesting accepted; Flink keys have at most a handful of segments.
const MAX_DEPTH: usize = 64;

/// Refuses nesting deeper than [`MAX_DEPTH`] before the tree is built: yaml-rust2's event parser
/// is iterative, but building (and dropping) a tree thousands of block levels deep overflows the
/// stack, which aborts the process instead of reporting an error.
fn check_nesting(text: &str) -> Result<(), String> {
    use yaml_rust2::parser::{Event, Parser};
    let mut parser = Parser::new_from_str(text);
    let mut depth = 0usize;
    loop {
        let (event, mark) = parser.next_token().map_err(|e| e.to_string())?;
        match event {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(format!(
                        "nesting deeper than {MAX_DEPTH} levels at line {}",
                        mark.line()
                    ));
                }
            }
            Event::MappingEnd | Event::SequenceEnd => depth = depth.saturating_sub(1),
            Event::StreamEnd => return Ok(()),
            _ => {}
        }
    }
}

fn flatten(prefix: &str, node: &Yaml, conf: &mut Configuration, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("nesting deeper than {MAX_DEPTH} levels under '{prefix}'"));
    }
    match node {
        Yaml::Hash(map) => {
            for (k, v) in map {
                let key = scalar_text(k).ok_or_else(|| format!("unsupported key under '{prefix}'"))?;
                let full = if prefix.is_empty() {
                    key
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&full, v, conf, depth + 1)?;
            }
            Ok(())
        }
        Yaml::Array(items) => {
            let mut parts = Vec::with_capacity(items.len());
            for item in items {
                parts.push(scalar_text(item).ok_or_else(|| format!("'{prefix}': lists may only hold scalars"))?);
            }
            conf.set(prefix, parts.join(";"));
            Ok(())
        }
        Yaml::Null => Ok(()),
        other => {
            let text = scalar_text(other).ok_or_else(|| format!("'{prefix}': unsupported value"))?;
            conf.set(prefix, text);
            Ok(())
        }
    }
}

fn scalar_text(node: &Yaml) -> Option<String> {
    match node {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_format_follows_flinks_line_parser() {
        let c = parse_flink_conf_yaml(
            "# comment\n\
             taskmanager.memory.process.size: 1728m\n\
             taskmanager.numberOfTaskSlots: 2 # trailing comment\n\
             no-separator-line\n\
             empty.value: \n\
             a.b:c\n\
             url: http://host:80/x\n\
             taskmanager.memory.process.size: 2g\n",
        );
        assert_eq!(c.get("taskmanager.memory.process.size"), Some("2g"));
        assert_eq!(c.get("taskmanager.numberOfTaskSlots"), Some("2"));
        assert_eq!(c.get("url"), Some("http://host:80/x"));
        assert!(!c.contains("empty.value"));
        assert!(!c.contains("a.b:c") && !c.contains("a.b"));
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn standard_yaml_is_flattened() {
        let c = parse_standard_yaml(
            "taskmanager:\n  memory:\n    process.size: 1728m\n    managed:\n      fraction: 0.40\n  numberOfTaskSlots: 4\n\
             classloader.parent-first-patterns.additional:\n  - com.foo.\n  - org.bar\n\
             flag: true\n",
        )
        .unwrap();
        assert_eq!(c.get("taskmanager.memory.process.size"), Some("1728m"));
        assert_eq!(c.get("taskmanager.memory.managed.fraction"), Some("0.40"));
        assert_eq!(c.get("taskmanager.numberOfTaskSlots"), Some("4"));
        assert_eq!(
            c.get("classloader.parent-first-patterns.additional"),
            Some("com.foo.;org.bar")
        );
        assert_eq!(c.get("flag"), Some("true"));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text: String = (0..20_000).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
        let err = parse_standard_yaml(&text).unwrap_err();
        assert!(err.contains("nesting deeper than 64 levels"), "{err}");
    }

    #[test]
    fn bad_yaml_is_an_error() {
        assert!(parse_standard_yaml("a: [1, 2").is_err());
        assert!(parse_standard_yaml("- just\n- a list\n").is_err());
        assert!(parse_standard_yaml("").unwrap().is_empty());
    }

    #[test]
    fn conf_dir_picks_the_file_each_version_reads() {
        let dir = std::env::temp_dir().join(format!("tmrt-confdir-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(STANDARD), "taskmanager:\n  numberOfTaskSlots: 7\n").unwrap();
        assert!(matches!(
            load_conf_dir(&dir, FlinkVersion::V1_13),
            Err(ConfigError::MissingFile { .. })
        ));
        assert_eq!(
            load_conf_dir(&dir, FlinkVersion::V1_20)
                .unwrap()
                .get("taskmanager.numberOfTaskSlots"),
            Some("7")
        );
        std::fs::write(dir.join(LEGACY), "taskmanager.numberOfTaskSlots: 3\n").unwrap();
        assert_eq!(
            load_conf_dir(&dir, FlinkVersion::V1_13)
                .unwrap()
                .get("taskmanager.numberOfTaskSlots"),
            Some("3")
        );
        assert_eq!(
            load_conf_dir(&dir, FlinkVersion::V1_20)
                .unwrap()
                .get("taskmanager.numberOfTaskSlots"),
            Some("3")
        );
        assert_eq!(
            load_conf_dir(&dir, FlinkVersion::V2_2)
                .unwrap()
                .get("taskmanager.numberOfTaskSlots"),
            Some("7")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
