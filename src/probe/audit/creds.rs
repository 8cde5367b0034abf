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
}
