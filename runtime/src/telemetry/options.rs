//! The agent's option string: what follows `=` in `-agentpath:/path/libtmrt.so=...`.
//!
//! Options are `key=value` pairs separated by commas, as async-profiler takes them:
//! `report=PATH`, `metrics=HOST:PORT` (or just `PORT`, which means loopback), `leak-gc-cycles=N`
//! (default 3) and `log=off|info|debug` (default `info`). An unknown key, a missing `=`, a
//! repeated key or a bad value is an [`OptionError`] whose text names the option and the
//! accepted form, in one line: the agent prints it and refuses to load, so the JVM does not start.
//! A path cannot contain a comma (it would start the next option).

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

/// How much the agent says on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Nothing but option errors.
    Off,
    /// One line per notable event: report written, metrics address, leaked loaders, features off.
    Info,
    /// Also every new loader and every leak check.
    Debug,
}

/// Where the Prometheus endpoint listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsAddr {
    /// The host as given (`127.0.0.1`, `localhost`, `::1`, `0.0.0.0`, a host name); loopback when
    /// the option gave only a port.
    pub host: String,
    pub port: u16,
}

impl MetricsAddr {
    /// Whether the endpoint is reachable only from this machine. Host names other than
    /// `localhost` count as non-loopback: they were given explicitly.
    pub fn is_loopback(&self) -> bool {
        if self.host.eq_ignore_ascii_case("localhost") {
            return true;
        }
        self.host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
    }

    /// `host:port`, with IPv6 hosts bracketed, for `ToSocketAddrs`.
    pub fn socket_addr_string(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The parsed options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentOptions {
    /// Where to write the JSON report at VM death (and on request without a path).
    pub report: Option<PathBuf>,
    /// Where to serve Prometheus text exposition.
    pub metrics: Option<MetricsAddr>,
    /// Full collections a released loader may survive before it is reported leaked.
    pub leak_gc_cycles: u32,
    pub log: LogLevel,
}

impl Default for AgentOptions {
    fn default() -> Self {
        AgentOptions {
            report: None,
            metrics: None,
            leak_gc_cycles: 3,
            log: LogLevel::Info,
        }
    }
}

/// A bad option string. `Display` is the one line the agent prints on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionError {
    /// A key the agent does not know.
    Unknown { option: String },
    /// An item without `=`.
    MissingValue { option: String },
    /// A key given twice.
    Repeated { option: String },
    /// A known key with a value it cannot take; `accepted` is the accepted form.
    BadValue {
        option: &'static str,
        value: String,
        accepted: &'static str,
    },
}

/// Every option with its accepted form, as the error messages list them.
pub const ACCEPTED: &str = "report=PATH, metrics=HOST:PORT, leak-gc-cycles=N, log=off|info|debug";

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionError::Unknown { option } => write!(
                f,
                "tmrt agent: unknown option '{}' (accepted: {ACCEPTED})",
                option.escape_debug()
            ),
            OptionError::MissingValue { option } => write!(
                f,
                "tmrt agent: option '{}' has no value (expected key=value; accepted: {ACCEPTED})",
                option.escape_debug()
            ),
            OptionError::Repeated { option } => {
                write!(f, "tmrt agent: option '{option}' given more than once")
            }
            OptionError::BadValue {
                option,
                value,
                accepted,
            } => write!(
                f,
                "tmrt agent: bad value '{}' for option '{option}' (expected {accepted})",
                value.escape_debug()
            ),
        }
    }
}

impl std::error::Error for OptionError {}

const REPORT_FORM: &str = "report=PATH with a non-empty file path";
const METRICS_FORM: &str = "metrics=HOST:PORT or metrics=PORT (loopback), PORT in 0..65535, IPv6 hosts as [::1]:PORT";
const CYCLES_FORM: &str = "leak-gc-cycles=N with N a whole number from 1 to 1000";
const LOG_FORM: &str = "log=off|info|debug";

impl AgentOptions {
    /// Parses the option string (`None` or empty: all defaults).
    pub fn parse(text: Option<&str>) -> Result<AgentOptions, OptionError> {
        let mut opts = AgentOptions::default();
        let Some(text) = text else { return Ok(opts) };
        let mut seen: Vec<&str> = Vec::new();
        for item in text.split(',') {
            if item.is_empty() {
                continue;
            }
            let Some((key, value)) = item.split_once('=') else {
                return Err(match key_name(item) {
                    Some(_) => OptionError::MissingValue {
                        option: item.to_string(),
                    },
                    None => OptionError::Unknown {
                        option: item.to_string(),
                    },
                });
            };
            let Some(key) = key_name(key) else {
                return Err(OptionError::Unknown {
                    option: key.to_string(),
                });
            };
            if seen.contains(&key) {
                return Err(OptionError::Repeated {
                    option: key.to_string(),
                });
            }
            seen.push(key);
            match key {
                "report" => {
                    if value.trim().is_empty() {
                        return Err(bad("report", value, REPORT_FORM));
                    }
                    opts.report = Some(PathBuf::from(value));
                }
                "metrics" => opts.metrics = Some(parse_metrics(value)?),
                "leak-gc-cycles" => {
                    opts.leak_gc_cycles = match value.parse::<u32>() {
                        Ok(n) if (1..=1000).contains(&n) && value.bytes().all(|b| b.is_ascii_digit()) => n,
                        _ => return Err(bad("leak-gc-cycles", value, CYCLES_FORM)),
                    }
                }
                "log" => {
                    opts.log = match value {
                        "off" => LogLevel::Off,
                        "info" => LogLevel::Info,
                        "debug" => LogLevel::Debug,
                        _ => return Err(bad("log", value, LOG_FORM)),
                    }
                }
                _ => unreachable!("key_name returns only known keys"),
            }
        }
        Ok(opts)
    }
}

fn key_name(key: &str) -> Option<&'static str> {
    ["report", "metrics", "leak-gc-cycles", "log"]
        .into_iter()
        .find(|k| *k == key)
}

fn bad(option: &'static str, value: &str, accepted: &'static str) -> OptionError {
    OptionError::BadValue {
        option,
        value: value.to_string(),
        accepted,
    }
}

fn parse_metrics(value: &str) -> Result<MetricsAddr, OptionError> {
    let err = || bad("metrics", value, METRICS_FORM);
    let port_of = |p: &str| -> Result<u16, OptionError> {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        p.parse::<u16>().map_err(|_| err())
    };
    if !value.contains(':') {
        return Ok(MetricsAddr {
            host: "127.0.0.1".to_string(),
            port: port_of(value)?,
        });
    }
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let (host, port) = rest.split_once("]:").ok_or_else(err)?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(err());
        }
        (host, port)
    } else {
        let (host, port) = value.rsplit_once(':').ok_or_else(err)?;
        if host.contains(':') {
            return Err(err()); // an unbracketed IPv6 address is ambiguous
        }
        (host, port)
    };
    let valid_host = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'));
    if !valid_host {
        return Err(err());
    }
    Ok(MetricsAddr {
        host: host.to_string(),
        port: port_of(port)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_means_defaults() {
        assert_eq!(AgentOptions::parse(None).unwrap(), AgentOptions::default());
        assert_eq!(AgentOptions::parse(Some("")).unwrap(), AgentOptions::default());
        assert_eq!(AgentOptions::default().leak_gc_cycles, 3);
    }

    #[test]
    fn all_options() {
        let o = AgentOptions::parse(Some(
            "report=/tmp/r.json,metrics=127.0.0.1:9404,leak-gc-cycles=5,log=debug",
        ))
        .unwrap();
        assert_eq!(o.report, Some(PathBuf::from("/tmp/r.json")));
        let m = o.metrics.unwrap();
        assert_eq!((m.host.as_str(), m.port), ("127.0.0.1", 9404));
        assert!(m.is_loopback());
        assert_eq!(o.leak_gc_cycles, 5);
        assert_eq!(o.log, LogLevel::Debug);
    }

    #[test]
    fn metrics_forms() {
        let p = |s: &str| parse_metrics(s);
        let port_only = p("9404").unwrap();
        assert_eq!(port_only.host, "127.0.0.1");
        assert!(port_only.is_loopback());
        assert!(p("localhost:1").unwrap().is_loopback());
        let v6 = p("[::1]:80").unwrap();
        assert!(v6.is_loopback());
        assert_eq!(v6.socket_addr_string(), "[::1]:80");
        assert!(!p("0.0.0.0:9404").unwrap().is_loopback());
        assert!(!p("tm-host.example:9404").unwrap().is_loopback());
        for bad in [
            "",
            ":",
            "host:",
            ":80",
            "host:99999",
            "host:-1",
            "::1:80",
            "[::1]80",
            "a b:1",
            "h:1x",
        ] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_name_the_option_and_form() {
        let e = AgentOptions::parse(Some("repot=/x")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "tmrt agent: unknown option 'repot' (accepted: report=PATH, metrics=HOST:PORT, leak-gc-cycles=N, log=off|info|debug)"
        );
        let e = AgentOptions::parse(Some("leak-gc-cycles=zero")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "tmrt agent: bad value 'zero' for option 'leak-gc-cycles' (expected leak-gc-cycles=N with N a whole number from 1 to 1000)"
        );
        assert!(AgentOptions::parse(Some("leak-gc-cycles=0")).is_err());
        assert!(AgentOptions::parse(Some("leak-gc-cycles=+3")).is_err());
        let e = AgentOptions::parse(Some("log=verbose")).unwrap_err();
        assert!(e.to_string().contains("'log'") && e.to_string().contains("log=off|info|debug"));
        let e = AgentOptions::parse(Some("report")).unwrap_err();
        assert!(matches!(e, OptionError::MissingValue { .. }), "{e}");
        let e = AgentOptions::parse(Some("log=off,log=info")).unwrap_err();
        assert_eq!(e.to_string(), "tmrt agent: option 'log' given more than once");
        assert!(AgentOptions::parse(Some("report=")).is_err());
        assert!(AgentOptions::parse(Some("metrics=1.2.3.4:x")).is_err());
    }

    proptest! {
        #[test]
        fn parser_never_panics_and_errors_are_one_line(s in "\\PC{0,64}") {
            if let Err(e) = AgentOptions::parse(Some(&s)) {
                let text = e.to_string();
                prop_assert!(text.starts_with("tmrt agent: "));
                prop_assert!(!text.contains('\n') && !text.contains('\r'));
            }
        }

        #[test]
        fn structured_strings_never_panic(
            items in proptest::collection::vec(
                ("(report|metrics|leak-gc-cycles|log|x)", "[=]?", "[a-z0-9:.\\[\\]/-]{0,12}"), 0..5)
        ) {
            let s = items.iter().map(|(k, e, v)| format!("{k}{e}{v}")).collect::<Vec<_>>().join(",");
            let _ = AgentOptions::parse(Some(&s));
        }

        #[test]
        fn valid_cycles_round_trip(n in 1u32..=1000) {
            let o = AgentOptions::parse(Some(&format!("leak-gc-cycles={n}"))).unwrap();
            prop_assert_eq!(o.leak_gc_cycles, n);
        }
    }
}
