//! Limits: timeouts within what an `Instant` can hold, and the open-file budget (the soft limit raised
//! to the hard one, a reserve kept for files, the rest shared as sockets by every probe).

use std::sync::Arc;
use std::time::Duration;

use super::SetupError;

/// Longest accepted timeout: beyond that an `Instant` deadline could overflow, and no probe needs it.
const MAX_TIMEOUT: Duration = Duration::from_secs(86_400);
/// File descriptors kept free for stdio, the runtime, the journal, the lock and the reports (besides the
/// inherited ones).
const FD_RESERVE: u64 = 64;

/// Descriptors a scan holds besides its sockets, stdio included: the main runtime and its signal pipe,
/// the journal, the row spool, the run directory and its lock, and one scan thread's runtime. Measured
/// in a clean environment (only stdio inherited) by lowering `ulimit -n` until the one probe of a
/// closed port found no socket: 16. It does not grow with the cores: under a low limit the concurrency
/// is clamped to one endpoint, and a scan starts no more threads than endpoints in flight.
pub const FILES_BESIDES_SOCKETS: u64 = 16;

/// Descriptors the report pass at the end may hold beyond the sweep's own files, once the sweep's
/// sockets and scan runtime are closed: the temporary reports (`report.json`, the two CSVs, `summary.md`,
/// `report.html`), the directory each syncs as they finish side by side, the journal read again and the
/// spool; with `--prometheus`, its file and one spool file per metric family it writes. Measured as
/// [`FILES_BESIDES_SOCKETS`] was: without `--prometheus` the pass fits in 16 + 1; with it, on a plaintext
/// endpoint (7 families), it needed 16 + 8, and timing moved that by one between runs. A bound, not a
/// measurement: 9 for the files, plus every family there is.
pub const REPORT_PASS_FILES: u64 = 9 + crate::report::prometheus::FAMILIES.len() as u64;

/// The open-file limit (soft, once raised to the hard one) and the descriptors already open when the
/// process started beyond stdio, taken once, before any runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// The open-file limit this process runs under.
    pub limit: u64,
    /// Descriptors open at start beyond stdio: a parent (a shell, a CI runner, a test harness) may leak
    /// some, and each one is a socket less for the probes.
    pub inherited: u64,
}

impl OpenFiles {
    /// Raises the soft limit to the hard one and counts the open descriptors, the first time only: the
    /// binary calls it before it starts a runtime, so that the count is what the parent left open.
    pub fn at_start() -> Self {
        static START: std::sync::OnceLock<OpenFiles> = std::sync::OnceLock::new();
        *START.get_or_init(|| {
            let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
            // Stdio and the listing's own descriptor are among the entries. Without /proc, assume
            // nothing was inherited.
            let open = std::fs::read_dir("/proc/self/fd").map_or(4, Iterator::count) as u64;
            Self { limit, inherited: open.saturating_sub(4) }
        })
    }

    /// The limit below which a scan does not start: its own files, the inherited ones, and the larger
    /// of the sockets one endpoint holds at once (the socket budget is never smaller than that, so below
    /// it the budget would promise sockets the system cannot give) and what the report pass opens.
    pub fn floor(self, cipher_scan: crate::probe::raw::CipherScan) -> u64 {
        FILES_BESIDES_SOCKETS + self.inherited + (crate::probe::peak_sockets(cipher_scan) as u64).max(REPORT_PASS_FILES)
    }

    /// Refuses a limit under [`Self::floor`]: a setup error, found before any runtime, file or packet.
    ///
    /// # Errors
    /// The limit, the floor and what it is made of, and how to raise it.
    pub fn check(self, cipher_scan: crate::probe::raw::CipherScan) -> Result<Self, SetupError> {
        let floor = self.floor(cipher_scan);
        if self.limit >= floor {
            return Ok(self);
        }
        let inherited = match self.inherited {
            0 => String::new(),
            n => format!(", {n} inherited from the parent process"),
        };
        Err(SetupError::Invalid(format!(
            "the open-file limit is {}: a scan needs at least {floor} ({FILES_BESIDES_SOCKETS} for stdio, runtimes, \
             journal and lock{inherited}, then {} for one endpoint's sockets or {REPORT_PASS_FILES} for the reports \
             at the end); raise it with ulimit -n",
            self.limit,
            crate::probe::peak_sockets(cipher_scan),
        )))
    }
}

/// Refuses a zero timeout or one longer than a day.
pub(super) fn check_timeouts(timeouts: &[(&str, Duration)]) -> Result<(), SetupError> {
    for (flag, d) in timeouts {
        if d.is_zero() || *d > MAX_TIMEOUT {
            return Err(SetupError::Invalid(format!("{flag} must be more than 0 and at most 1 day")));
        }
    }
    Ok(())
}

/// The concurrency the open-file limit allows and the socket budget the probes share.
///
/// The soft limit is raised to the hard one first. [`FD_RESERVE`] descriptors (plus two per scan thread
/// beyond eight: each runtime has an epoll and an event descriptor) stay free for stdio, the journal, the
/// lock and the reports; the rest are sockets. An endpoint holds up to
/// [`crate::probe::peak_sockets`] of them at once (5: the raw probe's five versions side by side; 2 with
/// `--cipher-scan off`: the TLS 1.3 and 1.2 handshakes), so at most sockets / 5 endpoints are in flight.
///
/// # Errors
/// Under [`OpenFiles::floor`]: a scan could not even open its runtimes, its journal and one endpoint's
/// sockets (a setup error, found before the first packet, not an interrupted scan).
pub fn clamp_concurrency(
    wanted: usize,
    cipher_scan: crate::probe::raw::CipherScan,
    warnings: &mut Vec<String>,
) -> Result<(usize, Arc<crate::probe::Sockets>), SetupError> {
    let files = OpenFiles::at_start().check(cipher_scan)?;
    let limit = files.limit;
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).min(64) as u64;
    let reserve = FD_RESERVE + files.inherited + 2 * threads.saturating_sub(8);
    let per_endpoint = crate::probe::peak_sockets(cipher_scan);
    // The floor leaves room for one endpoint's sockets whatever the reserve says.
    let sockets = usize::try_from(limit.saturating_sub(reserve)).unwrap_or(usize::MAX).max(per_endpoint);
    let usable = (sockets / per_endpoint).max(1);
    let concurrency = if wanted > usable {
        warnings.push(format!(
            "--concurrency {wanted} exceeds the open-file limit ({limit}): {sockets} socket(s) for probes, up to \
             {per_endpoint} per endpoint at once; using {usable} (raise it with ulimit -n)"
        ));
        usable
    } else {
        wanted
    };
    Ok((concurrency, crate::probe::Sockets::new(sockets)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::raw::CipherScan;

    #[test]
    fn the_floor_is_own_files_inherited_ones_and_the_larger_of_sockets_and_reports() {
        // The reports at the end need more than one endpoint's sockets, whatever the depth.
        let floor = 16 + REPORT_PASS_FILES;
        assert_eq!(REPORT_PASS_FILES, 28, "9 and the 19 metric families");
        let clean = OpenFiles { limit: floor, inherited: 0 };
        assert_eq!(clean.floor(CipherScan::Full), floor);
        assert_eq!(clean.floor(CipherScan::Off), floor);
        assert!(clean.check(CipherScan::Full).is_ok());
        let low = OpenFiles { limit: floor - 1, inherited: 0 };
        let err = low.check(CipherScan::Full).unwrap_err().to_string();
        assert!(
            err.contains(&format!("the open-file limit is {}: a scan needs at least {floor} (16 for", floor - 1)),
            "{err}"
        );
        assert!(err.contains("5 for one endpoint's sockets or 28 for the reports"), "{err}");
        assert!(!err.contains("inherited"), "{err}");
        let leaky = OpenFiles { limit: floor, inherited: 3 };
        let err = leaky.check(CipherScan::Off).unwrap_err().to_string();
        assert!(
            err.contains(&format!("at least {}", floor + 3)) && err.contains("3 inherited from the parent process"),
            "{err}"
        );
    }
}
