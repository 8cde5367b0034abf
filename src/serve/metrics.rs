//! The exporter's own metrics (`GET /metrics`): probes by module and result, their durations as a
//! histogram, requests refused before any probe by reason, probes in flight, and connections dropped for
//! a malformed, oversized or slow request. Lock-free counters; rendered in the exposition format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::report::prometheus::label;

/// Upper bounds of the duration histogram, seconds.
const BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Why a request was refused before any probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The target is not on the allow-list.
    NotAllowed,
    /// A malformed request or target.
    BadRequest,
    /// The module is not configured.
    UnknownModule,
    /// Every probe slot stayed busy.
    Busy,
    /// No such path (or method).
    NotFound,
}

impl Refused {
    const ALL: [Refused; 5] = [Self::NotAllowed, Self::BadRequest, Self::UnknownModule, Self::Busy, Self::NotFound];

    /// The `reason` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotAllowed => "not_allowed",
            Self::BadRequest => "bad_request",
            Self::UnknownModule => "unknown_module",
            Self::Busy => "busy",
            Self::NotFound => "not_found",
        }
    }
}

#[derive(Debug, Default)]
struct ModuleStats {
    success: AtomicU64,
    failure: AtomicU64,
    /// Observations per bucket (not cumulative), plus the overflow past the last bound.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

/// The exporter's counters.
#[derive(Debug)]
pub struct ExporterMetrics {
    modules: Vec<(String, ModuleStats)>,
    refused: [AtomicU64; Refused::ALL.len()],
    in_flight: AtomicU64,
    http_errors: AtomicU64,
}

impl ExporterMetrics {
    /// Counters for these modules (all shown from the start, at 0).
    pub fn new(modules: impl IntoIterator<Item = String>) -> Self {
        Self {
            modules: modules.into_iter().map(|m| (m, ModuleStats::default())).collect(),
            refused: Default::default(),
            in_flight: AtomicU64::new(0),
            http_errors: AtomicU64::new(0),
        }
    }

    /// Records one probe of `module`.
    pub fn probed(&self, module: &str, success: bool, took: Duration) {
        let Some((_, s)) = self.modules.iter().find(|(m, _)| m == module) else { return };
        if success { &s.success } else { &s.failure }.fetch_add(1, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        let bucket = BUCKETS.iter().position(|b| secs <= *b).unwrap_or(BUCKETS.len());
        if let Some(b) = s.buckets.get(bucket) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        s.sum_micros.fetch_add(u64::try_from(took.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Records a refused request.
    pub fn refused(&self, why: Refused) {
        if let Some(c) = Refused::ALL.iter().position(|r| *r == why).and_then(|i| self.refused.get(i)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records a connection dropped for a malformed, oversized or slow request.
    pub fn http_error(&self) {
        self.http_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// A probe starts; the guard ends it.
    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(&self.in_flight)
    }

    /// The exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let p = "redis_tls_scan_exporter";
        let _ =
            writeln!(out, "# HELP {p}_probes_total Probes run, by module and result.\n# TYPE {p}_probes_total counter");
        for (m, s) in &self.modules {
            let m = label(m);
            for (result, c) in [("success", &s.success), ("failure", &s.failure)] {
                let _ = writeln!(
                    out,
                    "{p}_probes_total{{module=\"{m}\",result=\"{result}\"}} {}",
                    c.load(Ordering::Relaxed)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP {p}_probe_duration_seconds How long probes took, by module.\n# TYPE {p}_probe_duration_seconds histogram"
        );
        for (m, s) in &self.modules {
            let m = label(m);
            let mut cumulative = 0;
            for (bound, c) in BUCKETS.iter().zip(&s.buckets) {
                cumulative += c.load(Ordering::Relaxed);
                let _ =
                    writeln!(out, "{p}_probe_duration_seconds_bucket{{module=\"{m}\",le=\"{bound}\"}} {cumulative}");
            }
            cumulative += s.buckets.last().map_or(0, |c| c.load(Ordering::Relaxed));
            let _ = writeln!(out, "{p}_probe_duration_seconds_bucket{{module=\"{m}\",le=\"+Inf\"}} {cumulative}");
            let sum = s.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "{p}_probe_duration_seconds_sum{{module=\"{m}\"}} {sum}");
            let _ = writeln!(out, "{p}_probe_duration_seconds_count{{module=\"{m}\"}} {cumulative}");
        }
        let _ = writeln!(
            out,
            "# HELP {p}_refused_total Requests refused before any probe, by reason.\n# TYPE {p}_refused_total counter"
        );
        for (r, c) in Refused::ALL.iter().zip(&self.refused) {
            let _ = writeln!(out, "{p}_refused_total{{reason=\"{}\"}} {}", r.as_str(), c.load(Ordering::Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP {p}_requests_in_flight Probes running now.\n# TYPE {p}_requests_in_flight gauge\n{p}_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP {p}_http_errors_total Connections dropped for a malformed, oversized or slow request.\n# TYPE {p}_http_errors_total counter\n{p}_http_errors_total {}",
            self.http_errors.load(Ordering::Relaxed)
        );
        out
    }
}

/// A probe in flight; counted down on drop.
#[derive(Debug)]
pub struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
