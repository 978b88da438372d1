//! The configuration input shared by every subcommand that reads a Flink configuration:
//! `--conf-dir DIR` (default `$FLINK_CONF_DIR`), repeatable `-D key=value`, `--flink-version V`.

use std::path::PathBuf;

use clap::Args;
use runtime::config::{load_conf_dir, ConfigError, Configuration, FlinkVersion};

#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// Flink configuration directory (flink-conf.yaml or config.yaml); default $FLINK_CONF_DIR,
    /// none means an empty configuration.
    #[arg(long = "conf-dir", value_name = "DIR")]
    pub conf_dir: Option<PathBuf>,

    /// Override an option (repeatable): -D taskmanager.memory.process.size=4g
    #[arg(short = 'D', value_name = "key=value", action = clap::ArgAction::Append)]
    pub dynamic: Vec<String>,

    /// Flink line to model: 1.13, 1.20 or 2.2 (full versions such as 1.20.3 accepted).
    #[arg(long = "flink-version", value_name = "V", default_value = "1.20", value_parser = parse_version)]
    pub flink_version: FlinkVersion,
}

/// `--flink-version`'s parser (also for every other flag that names a Flink version).
pub(crate) fn parse_version(s: &str) -> Result<FlinkVersion, String> {
    s.parse().map_err(|e: ConfigError| e.to_string())
}

impl ConfigArgs {
    /// The configuration directory in effect: `--conf-dir`, else `$FLINK_CONF_DIR`.
    pub fn conf_dir(&self) -> Option<PathBuf> {
        self.conf_dir.clone().or_else(|| {
            std::env::var_os("FLINK_CONF_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
    }

    /// Reads the configuration for `version`: the directory's file, then the `-D` overrides.
    pub fn load_for(&self, version: FlinkVersion) -> Result<Configuration, ConfigError> {
        let mut conf = match self.conf_dir() {
            Some(dir) => load_conf_dir(&dir, version)?,
            None => Configuration::new(),
        };
        for d in &self.dynamic {
            conf.apply_dynamic(d)?;
        }
        Ok(conf)
    }

    /// Reads the configuration for the selected `--flink-version`.
    pub fn load(&self) -> Result<Configuration, ConfigError> {
        self.load_for(self.flink_version)
    }
}
