//! Processes around the cluster: free ports, a live process's argv, signals, a command run with
//! a time bound, and the watchdog that stops the daemons if the test process dies unwinding-less.

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `len` consecutive loopback ports that are free right now, as `(first, last)`: for options such
/// as the agent's `metrics=127.0.0.1:FIRST-LAST`.
pub fn free_port_range(len: u16) -> (u16, u16) {
    for _ in 0..50 {
        let first = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let Some(last) = first.checked_add(len - 1) else {
            continue;
        };
        let held: Vec<_> = (first..=last)
            .map_while(|p| TcpListener::bind(("127.0.0.1", p)).ok())
            .collect();
        if held.len() == usize::from(len) {
            return (first, last);
        }
    }
    panic!("no {len} consecutive free loopback ports");
}

/// `n` distinct loopback ports free right now (held together while chosen, then released).
pub(super) fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free port"))
        .collect();
    held.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

/// A shell, in its own process group, that waits for the test process to go (its stdin, our pipe,
/// reaches EOF) and then stops every daemon of the pid files still naming `conf_dir`: SIGTERM,
/// up to 15 s, SIGKILL. `Drop` kills it after stopping the cluster itself.
pub(super) fn spawn_watchdog(pid_dir: &Path, conf_dir: &Path) -> Option<(Child, ChildStdin)> {
    const SCRIPT: &str = r#"
trap '' INT HUP
cat >/dev/null
ours() { tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | grep -qxF -e "$TMRT_CONF"; }
pids=$(cat "$TMRT_PIDS"/*.pid 2>/dev/null)
for p in $pids; do ours "$p" && kill -TERM "$p"; done
for _ in $(seq 150); do
  left=0; for p in $pids; do ours "$p" && left=1; done
  [ "$left" = 0 ] && exit 0
  sleep 0.1
done
for p in $pids; do ours "$p" && kill -KILL "$p"; done
"#;
    let mut child = Command::new("bash")
        .args(["-c", SCRIPT])
        .env("TMRT_PIDS", pid_dir)
        .env("TMRT_CONF", conf_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| eprintln!("flink cluster: no watchdog ({e}); Drop alone stops the cluster"))
        .ok()?;
    let stdin = child.stdin.take()?;
    Some((child, stdin))
}

/// Every live process whose command line names `conf_dir` (see [`names_dir`]).
pub fn processes_naming(conf_dir: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|&pid| cmdline(pid).is_some_and(|args| names_dir(&args, conf_dir)))
        .collect();
    pids.sort_unstable();
    pids
}

/// Whether an argv names `dir`: as an argument of its own (`--configDir DIR`) or as the start of
/// a path in one (`-Dlog4j.configurationFile=file:DIR/log4j.properties`).
pub(super) fn names_dir(args: &[String], dir: &Path) -> bool {
    let dir = dir.to_string_lossy();
    let inside = format!("{dir}/");
    args.iter().any(|a| a == dir.as_ref() || a.contains(&inside))
}

/// CPU time (user + system) a live process has used so far, from `/proc/PID/stat` (in USER_HZ
/// ticks, 100 per second on Linux): a figure that, unlike wall time, does not grow with the load
/// other work puts on the machine.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name (which may hold spaces): state is field 3,
    // utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i - 3).and_then(|f| f.parse::<u64>().ok());
    Some((ticks(14)? + ticks(15)?) as f64 / 100.0)
}

/// Whether `pid` is a process that has not exited: its `/proc/PID/stat` exists and its state is
/// neither zombie (`Z`) nor dead (`X`).
pub(super) fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat.rfind(')').and_then(|i| stat[i + 1..].split_whitespace().next());
    !matches!(state, None | Some("Z") | Some("X"))
}

/// The argv of a live process (`None` when gone, unreadable or a zombie, whose cmdline is empty).
pub(super) fn cmdline(pid: u32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    if raw.is_empty() {
        return None;
    }
    Some(
        raw.split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

pub(super) fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Runs `cmd` to completion with its output captured, or kills it after `timeout`.
pub(super) fn output_within(mut cmd: Command, timeout: Duration) -> Result<Output, String> {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{what}: {e}"))?;
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out_t = drain(child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let err_t = drain(child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{what}: still running after {timeout:?}; killed"));
            }
            Err(e) => return Err(format!("{what}: {e}")),
        }
    };
    Ok(Output {
        status,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    })
}
