//! Audit credentials: the user name and the password, held in a [`Secret`] that prints as
//! `<redacted>` however it is formatted, is never serialised, and is read only where `AUTH` is written.
//! Loaded by [`crate::setup`] from `REDISCLI_AUTH` or `--password-file` (never the command line).

use std::fmt;

/// A password. `Debug` prints `<redacted>`; there is no `Display` and no `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password.
    pub fn new(password: String) -> Self {
        Self(password)
    }

    /// The password itself: for the `AUTH` command and for scrubbing what a server echoed back.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Who the audit authenticates as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// `--user` (an ACL user); `None`: the default user (`AUTH password`).
    pub user: Option<String>,
    /// The password; `None`: no `AUTH` is sent.
    pub password: Option<Secret>,
}

/// Which endpoints a line of a credentials file (`--credentials-file`) covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredScope {
    /// Addresses (an IP, a CIDR or a range), as an interval.
    Addresses(crate::endpoints::Interval),
    /// A host name (lower case): the endpoint's target name.
    Name(String),
}

impl CredScope {
    /// True when the endpoint at `ip`, named `name`, is covered.
    pub fn covers(&self, ip: std::net::IpAddr, name: Option<&str>) -> bool {
        match self {
            Self::Addresses(i) => {
                let (v6, x) = crate::endpoints::family_point(ip);
                i.canonical().any(|c| c.v6 == v6 && c.first <= x && x <= c.last)
            }
            Self::Name(n) => name.is_some_and(|m| m.eq_ignore_ascii_case(n)),
        }
    }
}

/// The credentials of a scan: per-scope ones from a credentials file (first match wins), else the
/// default (`--user`, `--password-file` or `REDISCLI_AUTH`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialMap {
    /// `--credentials-file` lines, in file order.
    pub scoped: Vec<(CredScope, Credentials)>,
    /// For endpoints no line covers.
    pub default: Credentials,
}

impl CredentialMap {
    /// The credentials for the endpoint at `ip`, named `name`.
    pub fn for_endpoint(&self, ip: std::net::IpAddr, name: Option<&str>) -> &Credentials {
        self.scoped.iter().find(|(s, _)| s.covers(ip, name)).map_or(&self.default, |(_, c)| c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let c = Credentials { user: Some("audit".into()), password: Some(Secret::new("hunter2".into())) };
        let shown = format!("{c:?} {c:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn first_matching_scope_wins() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
        let c = |u: &str| Credentials { user: Some(u.into()), password: Some(Secret::new("p".into())) };
        let map = CredentialMap {
            scoped: vec![
                (CredScope::Name("cache.example".into()), c("byname")),
                (CredScope::Addresses(crate::endpoints::Interval::new(ip("10.0.0.0"), ip("10.0.0.255"))), c("net")),
            ],
            default: c("default"),
        };
        assert_eq!(map.for_endpoint(ip("10.0.0.9"), Some("Cache.Example")).user.as_deref(), Some("byname"));
        assert_eq!(map.for_endpoint(ip("::ffff:10.0.0.9"), None).user.as_deref(), Some("net"));
        assert_eq!(map.for_endpoint(ip("10.0.1.9"), None).user.as_deref(), Some("default"));
    }
}
