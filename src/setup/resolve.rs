//! Targets to a plan's inputs: target and exclusion lines from arguments, files and stdin (every bad
//! line collected), exclusions as address intervals, host names resolved (all their addresses) with a
//! timeout. A name that does not resolve is a warning, not an error.

use std::net::IpAddr;
use std::time::Duration;

use super::SetupError;
use crate::cli::ScanArgs;
use crate::endpoints::{Interval, Resolved};
use crate::model::Unresolved;
use crate::targets::{self, TargetError, TargetKind, TargetSpec};

/// How long one host name may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Targets from arguments, files and stdin, and exclusions; every error collected.
pub(super) fn read_targets(args: &ScanArgs) -> Result<(Vec<TargetSpec>, Vec<TargetSpec>), SetupError> {
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    for (i, t) in args.targets.iter().enumerate() {
        if t == "-" {
            let (s, e) = targets::parse_lines("stdin", std::io::stdin().lock());
            specs.extend(s);
            errors.extend(e);
            continue;
        }
        match targets::parse_arg("argument", i + 1, t) {
            Ok(s) => specs.push(s),
            Err(e) => errors.push(e),
        }
    }
    for f in &args.targets_files {
        let (s, e) = targets::parse_file(f);
        specs.extend(s);
        errors.extend(e);
    }
    let mut excl = Vec::new();
    for (i, t) in args.exclude.iter().enumerate() {
        match targets::parse_arg("--exclude", i + 1, t) {
            Ok(s) => excl.push(s),
            Err(e) => errors.push(e),
        }
    }
    for f in &args.exclude_file {
        let (s, e) = targets::parse_file(f);
        excl.extend(s);
        errors.extend(e);
    }
    if errors.is_empty() { Ok((specs, excl)) } else { Err(SetupError::Targets(errors)) }
}

/// Exclusions as address intervals: ports and host names are refused.
pub(super) fn exclusion_intervals(specs: &[TargetSpec]) -> Result<Vec<Interval>, SetupError> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for s in specs {
        match (&s.kind, s.port) {
            (TargetKind::Range { first, last }, None) => out.push(Interval::new(*first, *last)),
            (TargetKind::Range { .. }, Some(_)) => errors.push(TargetError {
                origin: s.origin.clone(),
                text: s.text.clone(),
                reason: "exclusions are addresses; a port cannot be excluded".into(),
            }),
            (TargetKind::Host(_), _) => errors.push(TargetError {
                origin: s.origin.clone(),
                text: s.text.clone(),
                reason: "exclusions must be IP addresses, CIDRs or ranges, not host names".into(),
            }),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(SetupError::Targets(errors)) }
}

/// Resolves host-name targets (all addresses); failures become `Unresolved`, not errors.
pub(super) async fn resolve(specs: &[TargetSpec]) -> (Vec<Resolved>, Vec<Unresolved>) {
    let mut resolved = Vec::new();
    let mut unresolved = Vec::new();
    for spec in specs {
        let TargetKind::Host(name) = &spec.kind else {
            resolved.push(Resolved::from_spec(spec));
            continue;
        };
        let lookup = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((name.as_str(), 0))).await;
        let mut ips: Vec<IpAddr> = match lookup {
            Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
            Ok(Err(e)) => {
                unresolved.push(Unresolved {
                    target: name.clone(),
                    origin: spec.origin.to_string(),
                    error: e.to_string(),
                });
                continue;
            }
            Err(_) => {
                unresolved.push(Unresolved {
                    target: name.clone(),
                    origin: spec.origin.to_string(),
                    error: "timed out".into(),
                });
                continue;
            }
        };
        ips.sort();
        ips.dedup();
        resolved.push(Resolved {
            intervals: ips.into_iter().map(|ip| Interval::new(ip, ip)).collect(),
            port: spec.port,
            name: Some(name.clone()),
        });
    }
    (resolved, unresolved)
}
