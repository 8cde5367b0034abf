//! The scan's metadata helpers: who scanned (this host), the run directory's default name, the
//! permutation seed, durations as recorded.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// A fresh permutation seed.
pub(super) fn random_seed() -> u64 {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 8];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    u64::from_le_bytes(b)
}

/// A duration in whole milliseconds, saturating.
pub(super) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `reports/<prefix><UTC timestamp>` (colons left out: they are awkward in paths).
pub fn default_output(prefix: &str, started_at: &str) -> PathBuf {
    let stamp: String = started_at.chars().filter(|c| *c != ':' && *c != '-').collect();
    Path::new("reports").join(format!("{prefix}{stamp}"))
}

/// This machine's host name, as the kernel has it.
pub(super) fn scanner_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_output_is_a_timestamped_directory_under_reports() {
        assert_eq!(default_output("", "2026-11-22T12:00:00Z"), Path::new("reports/20261122T120000Z"));
        assert_eq!(default_output("demo-", "2026-11-22T12:00:00Z"), Path::new("reports/demo-20261122T120000Z"));
    }
}
