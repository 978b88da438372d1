//! How much memory this machine can commit to a new JVM: `/proc/meminfo` (`MemTotal`,
//! `SwapTotal`, and with strict overcommit `CommitLimit - Committed_AS`) and
//! `/proc/sys/vm/overcommit_memory`. The decision is `runtime::emulator::TaskManagerPlan::check_fits`.

use runtime::emulator::MachineMemory;

/// The `kB` value of `key:` in `/proc/meminfo` text, in bytes.
fn meminfo_bytes(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(':')?;
        let kb: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kb.saturating_mul(1024))
    })
}

/// Reads `meminfo` text and the overcommit mode.
pub fn machine_memory_from(meminfo: &str, overcommit_mode: Option<&str>) -> Option<MachineMemory> {
    let ram_bytes = meminfo_bytes(meminfo, "MemTotal")?;
    let swap_bytes = meminfo_bytes(meminfo, "SwapTotal").unwrap_or(0);
    let strict_commit_left = match overcommit_mode.map(str::trim) {
        Some("2") => match (
            meminfo_bytes(meminfo, "CommitLimit"),
            meminfo_bytes(meminfo, "Committed_AS"),
        ) {
            (Some(limit), Some(used)) => Some(limit.saturating_sub(used)),
            _ => None,
        },
        _ => None,
    };
    Some(MachineMemory {
        ram_bytes,
        swap_bytes,
        strict_commit_left,
    })
}

/// This machine's memory, or `None` where `/proc` does not say (the check is then skipped).
pub fn machine_memory() -> Option<MachineMemory> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let mode = std::fs::read_to_string("/proc/sys/vm/overcommit_memory").ok();
    machine_memory_from(&meminfo, mode.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMINFO: &str = "MemTotal:       24567892 kB\nMemFree:         1000 kB\nSwapTotal:       1048576 kB\nCommitLimit:    13332520 kB\nCommitted_AS:    3332520 kB\n";

    #[test]
    fn reads_ram_swap_and_the_strict_commit_limit() {
        let m = machine_memory_from(MEMINFO, Some("0\n")).unwrap();
        assert_eq!(m.ram_bytes, 24_567_892 * 1024);
        assert_eq!(m.swap_bytes, 1 << 30);
        assert_eq!(m.strict_commit_left, None);
        let strict = machine_memory_from(MEMINFO, Some("2")).unwrap();
        assert_eq!(strict.strict_commit_left, Some(10_000_000 * 1024));
        assert!(machine_memory_from("nothing", None).is_none());
    }

    #[test]
    fn this_machine_reports_some_memory() {
        let m = machine_memory().expect("/proc/meminfo on Linux");
        assert!(m.ram_bytes > 64 << 20);
    }
}
