//! Limits: timeouts within what an `Instant` can hold, and the open-file budget (the soft limit raised
//! to the hard one, a reserve kept for files, the rest shared as sockets by every probe).

use std::sync::Arc;
use std::time::Duration;

use super::SetupError;

/// Longest accepted timeout: beyond that an `Instant` deadline could overflow, and no probe needs it.
const MAX_TIMEOUT: Duration = Duration::from_secs(86_400);
/// File descriptors kept free for stdio, the runtime, the journal, the lock and the reports.
const FD_RESERVE: u64 = 64;

/// The open-file limit below which no scan starts: stdio, the main runtime and its signal pipe, the
/// journal, the row spool, the run directory and its lock, and one scan thread's runtime (17 in all,
/// measured with `ls /proc/PID/fd` during a scan). It does not grow with the cores: under a low limit the concurrency
/// is clamped to one endpoint, and a scan starts no more threads than endpoints in flight. Above it a
/// probe that finds no descriptor left is the scanner's shortage (`scanner_out_of_resources`); below it
/// not even the runtimes could start.
pub const MIN_OPEN_FILES: u64 = 17;

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
/// Under [`MIN_OPEN_FILES`]: a scan could not even open its runtimes and reports (a setup error, found
/// before the first packet, not an interrupted scan).
pub fn clamp_concurrency(
    wanted: usize,
    cipher_scan: crate::probe::raw::CipherScan,
    warnings: &mut Vec<String>,
) -> Result<(usize, Arc<crate::probe::Sockets>), SetupError> {
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).min(64) as u64;
    let floor = MIN_OPEN_FILES;
    if limit < floor {
        return Err(SetupError::Invalid(format!(
            "the open-file limit is {limit}: a scan needs at least {floor} (stdio, runtimes, journal, lock and \
             sockets); raise it with ulimit -n"
        )));
    }
    let reserve = FD_RESERVE + 2 * threads.saturating_sub(8);
    let sockets = usize::try_from(limit.saturating_sub(reserve).max(1)).unwrap_or(usize::MAX);
    let per_endpoint = crate::probe::peak_sockets(cipher_scan);
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
