//! The agent's option string: what follows `=` in `-agentpath:/path/libtmrt.so=...`.
//!
//! Options are `key=value` pairs separated by commas, as async-profiler takes them. Every key,
//! its accepted form and its default is written once, in [`OPTIONS`]; the parser, the error
//! texts and the documentation all read that table:
//!
//! - `report=PATH`: where the JSON report goes (at VM death, and on request). `%p` in the path
//!   is replaced by the process id and `%%` by `%`, so that one `env.java.opts.taskmanager` line
//!   serves every TaskManager of a host (`report=/tmp/tmrt-%p.json`).
//! - `metrics=HOST:PORT`, `metrics=PORT` (loopback), or a port range `HOST:FIRST-LAST` in
//!   Flink's reporter convention: the first free port of the range is taken and logged.
//! - `leak-gc-cycles=N` (default 3): full collections a released loader may survive.
//! - `log=off|info|debug` (default `info`).
//! - `pause-budget=DURATION` (default `100ms`; `ms` or `s`, from 1 ms to 60 s): the longest
//!   stop-the-world pause the agent's leak analysis may cause (see `ReferencePaths`).
//! - `reference-paths=budget|full|off` (default `budget`): whether the general root-to-loader
//!   path search runs within the pause budget, as a full heap walk, or not at all.
//! - `runtime=off|classloading|managed-memory|classloading+managed-memory` (default `off`): which
//!   of Flink's TaskManager components tmrt replaces (the drop-in runtime); off, the agent only
//!   observes.
//!
//! An unknown key, a missing `=`, a repeated key or a bad value is an [`OptionError`] whose text
//! names the option and the accepted form, in one line: the agent prints it and refuses to load,
//! so the JVM does not start. A path cannot contain a comma (it would start the next option).

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Every option: key, accepted form (as error texts show it). The one list of keys.
pub const OPTIONS: &[(&str, &str)] = &[
    ("report", "report=PATH with a non-empty file path (%p: the process id, %%: a percent sign)"),
    (
        "metrics",
        "metrics=HOST:PORT, metrics=HOST:FIRST-LAST (first free port), or metrics=PORT (loopback), ports in 0..65535, IPv6 hosts as [::1]:PORT",
    ),
    ("leak-gc-cycles", "leak-gc-cycles=N with N a whole number from 1 to 1000"),
    ("log", "log=off|info|debug"),
    ("pause-budget", "pause-budget=DURATION with DURATION like 100ms or 1s, from 1ms to 60s"),
    ("reference-paths", "reference-paths=budget|full|off"),
    ("runtime", "runtime=off|classloading|managed-memory|classloading+managed-memory"),
];

/// The short forms of all options, as `unknown option` errors list them.
pub fn accepted() -> String {
    OPTIONS
        .iter()
        .map(|(key, _)| match *key {
            "report" => "report=PATH",
            "metrics" => "metrics=HOST:PORT[-PORT]",
            "leak-gc-cycles" => "leak-gc-cycles=N",
            "log" => "log=off|info|debug",
            "pause-budget" => "pause-budget=DURATION",
            "reference-paths" => "reference-paths=budget|full|off",
            "runtime" => "runtime=off|classloading|managed-memory|classloading+managed-memory",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn form(key: &str) -> &'static str {
    OPTIONS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, f)| *f)
        .unwrap_or("key=value")
}

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

/// How the general reference path (GC root to a leaked loader) is searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferencePaths {
    /// Within the pause budget: a walk that would stop the JVM longer is cut short and the path
    /// reported as not computed.
    Budget,
    /// A full heap walk for every leaked loader, whatever it costs (documented cost).
    Full,
    /// Never: only the suspects that need no heap walk.
    Off,
}

/// Which TaskManager components tmrt replaces (the drop-in runtime).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RuntimeComponents {
    /// User-code classloaders resolve through tmrt's jar index.
    pub classloading: bool,
    /// Flink's `MemoryManager` takes its pages from tmrt's slot pools.
    pub managed_memory: bool,
}

impl RuntimeComponents {
    /// Whether any component is replaced.
    pub fn any(self) -> bool {
        self.classloading || self.managed_memory
    }
}

/// Where the Prometheus endpoint listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsAddr {
    /// The host as given (`127.0.0.1`, `localhost`, `::1`, `0.0.0.0`, a host name); loopback when
    /// the option gave only a port.
    pub host: String,
    /// The first port to try.
    pub port: u16,
    /// The last port to try (equal to `port` without a range).
    pub last_port: u16,
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

    /// The ports to try, in order.
    pub fn ports(&self) -> std::ops::RangeInclusive<u16> {
        self.port..=self.last_port
    }

    /// `host:port` for the first port, with IPv6 hosts bracketed, for `ToSocketAddrs`.
    pub fn socket_addr_string(&self) -> String {
        self.socket_addr_string_for(self.port)
    }

    /// `host:port` for `port`, with IPv6 hosts bracketed, for `ToSocketAddrs`.
    pub fn socket_addr_string_for(&self, port: u16) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, port)
        } else {
            format!("{}:{}", self.host, port)
        }
    }
}

/// The parsed options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentOptions {
    /// Where to write the JSON report at VM death (and on request without a path), with `%p`
    /// and `%%` not yet expanded (see [`AgentOptions::report_path`]).
    pub report: Option<PathBuf>,
    /// Where to serve Prometheus text exposition.
    pub metrics: Option<MetricsAddr>,
    /// Full collections a released loader may survive before it is reported leaked.
    pub leak_gc_cycles: u32,
    pub log: LogLevel,
    /// The longest pause the leak analysis may cause.
    pub pause_budget: Duration,
    pub reference_paths: ReferencePaths,
    pub runtime: RuntimeComponents,
}

impl Default for AgentOptions {
    fn default() -> Self {
        AgentOptions {
            report: None,
            metrics: None,
            leak_gc_cycles: 3,
            log: LogLevel::Info,
            pause_budget: Duration::from_millis(100),
            reference_paths: ReferencePaths::Budget,
            runtime: RuntimeComponents::default(),
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

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionError::Unknown { option } => write!(
                f,
                "tmrt agent: unknown option '{}' (accepted: {})",
                option.escape_debug(),
                accepted()
            ),
            OptionError::MissingValue { option } => write!(
                f,
                "tmrt agent: option '{}' has no value (expected key=value; accepted: {})",
                option.escape_debug(),
                accepted()
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
            let bad = || bad(key, value);
            match key {
                "report" => {
                    if value.trim().is_empty() || expand_report(value, 0).is_none() {
                        return Err(bad());
                    }
                    opts.report = Some(PathBuf::from(value));
                }
                "metrics" => opts.metrics = Some(parse_metrics(value)?),
                "leak-gc-cycles" => {
                    opts.leak_gc_cycles = match value.parse::<u32>() {
                        Ok(n) if (1..=1000).contains(&n) && value.bytes().all(|b| b.is_ascii_digit()) => n,
                        _ => return Err(bad()),
                    }
                }
                "log" => {
                    opts.log = match value {
                        "off" => LogLevel::Off,
                        "info" => LogLevel::Info,
                        "debug" => LogLevel::Debug,
                        _ => return Err(bad()),
                    }
                }
                "pause-budget" => opts.pause_budget = parse_duration(value).ok_or_else(bad)?,
                "reference-paths" => {
                    opts.reference_paths = match value {
                        "budget" => ReferencePaths::Budget,
                        "full" => ReferencePaths::Full,
                        "off" => ReferencePaths::Off,
                        _ => return Err(bad()),
                    }
                }
                "runtime" => opts.runtime = parse_runtime(value).ok_or_else(bad)?,
                _ => unreachable!("key_name returns only known keys"),
            }
        }
        Ok(opts)
    }

    /// The report path for the process `pid`: `%p` replaced by the pid, `%%` by `%`.
    pub fn report_path(&self, pid: u32) -> Option<PathBuf> {
        let text = self.report.as_ref()?.to_str()?;
        expand_report(text, pid).map(PathBuf::from)
    }
}

fn key_name(key: &str) -> Option<&'static str> {
    OPTIONS.iter().map(|(k, _)| *k).find(|k| *k == key)
}

fn bad(option: &'static str, value: &str) -> OptionError {
    OptionError::BadValue {
        option,
        value: value.to_string(),
        accepted: form(option),
    }
}

/// `%p` → pid, `%%` → `%`; any other `%` sequence is refused (`None`).
fn expand_report(text: &str, pid: u32) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('p') => out.push_str(&pid.to_string()),
            Some('%') => out.push('%'),
            _ => return None,
        }
    }
    Some(out)
}

/// `100ms`, `1s`, `250 ms`: a whole number of milliseconds or seconds, from 1 ms to 60 s.
fn parse_duration(value: &str) -> Option<Duration> {
    let v = value.trim();
    let (digits, unit) = v.split_at(v.find(|c: char| !c.is_ascii_digit())?);
    if digits.is_empty() {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let d = match unit.trim() {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        _ => return None,
    };
    (Duration::from_millis(1)..=Duration::from_secs(60))
        .contains(&d)
        .then_some(d)
}

fn parse_runtime(value: &str) -> Option<RuntimeComponents> {
    let mut c = RuntimeComponents::default();
    if value == "off" {
        return Some(c);
    }
    for part in value.split('+') {
        match part {
            "classloading" if !c.classloading => c.classloading = true,
            "managed-memory" if !c.managed_memory => c.managed_memory = true,
            _ => return None,
        }
    }
    Some(c)
}

fn parse_metrics(value: &str) -> Result<MetricsAddr, OptionError> {
    let err = || bad("metrics", value);
    let port_of = |p: &str| -> Result<u16, OptionError> {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        p.parse::<u16>().map_err(|_| err())
    };
    let ports_of = |p: &str| -> Result<(u16, u16), OptionError> {
        match p.split_once('-') {
            None => port_of(p).map(|p| (p, p)),
            Some((a, b)) => {
                let (a, b) = (port_of(a)?, port_of(b)?);
                // A range of random ports means nothing; a reversed range is a typo.
                if a == 0 || a > b {
                    return Err(err());
                }
                Ok((a, b))
            }
        }
    };
    let (host, ports) = if !value.contains(':') {
        ("127.0.0.1", value)
    } else if let Some(rest) = value.strip_prefix('[') {
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
    let (port, last_port) = ports_of(ports)?;
    Ok(MetricsAddr {
        host: host.to_string(),
        port,
        last_port,
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
            "tmrt agent: unknown option 'repot' (accepted: report=PATH, metrics=HOST:PORT[-PORT], leak-gc-cycles=N, \
             log=off|info|debug, pause-budget=DURATION, reference-paths=budget|full|off, \
             runtime=off|classloading|managed-memory|classloading+managed-memory)"
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

    #[test]
    fn every_key_has_a_form_and_a_short_form() {
        for (key, form) in OPTIONS {
            assert!(form.starts_with(&format!("{key}=")), "{key}: {form}");
            assert!(accepted().contains(&format!("{key}=")), "{key}");
        }
    }

    #[test]
    fn report_pid_placeholder() {
        let o = AgentOptions::parse(Some("report=/tmp/tmrt-%p.json")).unwrap();
        assert_eq!(o.report_path(4242), Some(PathBuf::from("/tmp/tmrt-4242.json")));
        let o = AgentOptions::parse(Some("report=/tmp/100%%-%p-%p")).unwrap();
        assert_eq!(o.report_path(7), Some(PathBuf::from("/tmp/100%-7-7")));
        let o = AgentOptions::parse(Some("report=/tmp/plain.json")).unwrap();
        assert_eq!(o.report_path(7), Some(PathBuf::from("/tmp/plain.json")));
        for bad in ["report=/tmp/%d.json", "report=/tmp/x%", "report=%"] {
            let e = AgentOptions::parse(Some(bad)).unwrap_err();
            assert!(
                e.to_string().contains("'report'") && e.to_string().contains("%p"),
                "{e}"
            );
        }
    }

    #[test]
    fn metrics_port_ranges() {
        let m = parse_metrics("127.0.0.1:9404-9410").unwrap();
        assert_eq!((m.port, m.last_port), (9404, 9410));
        assert_eq!(m.ports().count(), 7);
        assert_eq!(m.socket_addr_string_for(9405), "127.0.0.1:9405");
        let m = parse_metrics("9404-9404").unwrap();
        assert_eq!((m.host.as_str(), m.port, m.last_port), ("127.0.0.1", 9404, 9404));
        let m = parse_metrics("[::1]:80-81").unwrap();
        assert_eq!(m.socket_addr_string_for(81), "[::1]:81");
        let m = parse_metrics("0").unwrap();
        assert_eq!((m.port, m.last_port), (0, 0), "a single random port");
        for bad in ["9410-9404", "0-10", "h:1-", "h:-5", "h:1-2-3", "h:1-99999"] {
            assert!(parse_metrics(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pause_budget_reference_paths_and_runtime() {
        let o = AgentOptions::default();
        assert_eq!(o.pause_budget, Duration::from_millis(100));
        assert_eq!(o.reference_paths, ReferencePaths::Budget);
        assert!(!o.runtime.any());
        let o = AgentOptions::parse(Some(
            "pause-budget=250ms,reference-paths=full,runtime=classloading+managed-memory",
        ))
        .unwrap();
        assert_eq!(o.pause_budget, Duration::from_millis(250));
        assert_eq!(o.reference_paths, ReferencePaths::Full);
        assert!(o.runtime.classloading && o.runtime.managed_memory);
        assert_eq!(
            AgentOptions::parse(Some("pause-budget=2s")).unwrap().pause_budget,
            Duration::from_secs(2)
        );
        let r = |v: &str| AgentOptions::parse(Some(&format!("runtime={v}"))).map(|o| o.runtime);
        assert_eq!(
            r("managed-memory+classloading").unwrap(),
            RuntimeComponents {
                classloading: true,
                managed_memory: true
            }
        );
        assert_eq!(r("off").unwrap(), RuntimeComponents::default());
        assert!(r("classloading").unwrap().classloading && !r("classloading").unwrap().managed_memory);
        for bad in ["", "on", "classloading+classloading", "classloading+", "memory"] {
            let e = r(bad).unwrap_err();
            assert!(
                e.to_string().contains("'runtime'") && e.to_string().contains("managed-memory"),
                "{e}"
            );
        }
        for bad in ["0ms", "61s", "100", "ms", "1.5s", "100 us", "-1ms"] {
            let e = AgentOptions::parse(Some(&format!("pause-budget={bad}"))).unwrap_err();
            assert!(e.to_string().contains("'pause-budget'"), "{e}");
        }
        assert!(AgentOptions::parse(Some("reference-paths=all")).is_err());
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
                ("(report|metrics|leak-gc-cycles|log|pause-budget|reference-paths|runtime|x)", "[=]?", "[a-z0-9:.\\[\\]/-]{0,12}"), 0..5)
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
