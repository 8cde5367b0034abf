//! `--audit` credentials, loaded before the first packet: the user from `--user`, the password from
//! `--password-file` (a bounded read of its first line) or `REDISCLI_AUTH`. Never from the command line,
//! so the recorded command line and the process title never hold it; errors name the file, never its
//! content.

use std::path::Path;

use super::{SetupError, file_error};
use crate::cli::ScanArgs;
use crate::input::read_capped;
use crate::probe::audit::creds::{CredScope, CredentialMap, Credentials, Secret};

/// Largest password file read.
pub const MAX_PASSWORD_FILE: u64 = 1 << 20;

/// The environment variable redis-cli reads the password from.
pub const PASSWORD_ENV: &str = "REDISCLI_AUTH";

/// Largest credentials file.
pub const MAX_CREDENTIALS_FILE: u64 = 16 << 20;

/// The credentials `--audit` authenticates with: the default ones and, with `--credentials-file`, the
/// per-scope ones.
///
/// # Errors
/// As [`default`], and a bad credentials-file line (named `file:line`).
pub fn load(args: &ScanArgs) -> Result<CredentialMap, SetupError> {
    let default = default(args)?;
    let scoped = match &args.credentials_file {
        Some(path) => credentials_file(path)?,
        None => Vec::new(),
    };
    Ok(CredentialMap { scoped, default })
}

/// `--credentials-file`: `SCOPE USER PASSWORD-FILE` lines, password files read now (relative paths from
/// the file's directory).
fn credentials_file(path: &Path) -> Result<Vec<(CredScope, Credentials)>, SetupError> {
    let bytes = read_capped(path, MAX_CREDENTIALS_FILE).map_err(|e| file_error(path, e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| file_error(path, "not UTF-8"))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let at = |reason: String| {
            SetupError::Invalid(format!(
                "{}:{}: {reason}",
                crate::text::sanitize(&path.display().to_string(), usize::MAX),
                i + 1
            ))
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [scope, user, file] = fields.as_slice() else {
            return Err(at("expected SCOPE USER PASSWORD-FILE".into()));
        };
        let scope = match crate::targets::parse_target(scope) {
            Ok((crate::targets::TargetKind::Range { first, last }, None)) => {
                CredScope::Addresses(crate::endpoints::Interval::new(first, last))
            }
            Ok((crate::targets::TargetKind::Host(name), None)) => CredScope::Name(name.to_ascii_lowercase()),
            Ok((_, Some(_))) => return Err(at("a scope is addresses or a host name, without a port".into())),
            Err(e) => return Err(at(format!("'{}': {e}", crate::text::sanitize(scope, 100)))),
        };
        let user = (*user != "-").then(|| user.to_string());
        let password = read_password(&base.join(file))?;
        out.push((scope, Credentials { user, password: Some(password) }));
    }
    Ok(out)
}

/// The default credentials: `--user`, and the password of `--password-file` or `REDISCLI_AUTH`.
///
/// # Errors
/// An unreadable, empty or non-UTF-8 password file; `--user` without a password; a user name that
/// cannot be one.
fn default(args: &ScanArgs) -> Result<Credentials, SetupError> {
    let password = match &args.password_file {
        Some(path) => Some(read_password(path)?),
        None => match std::env::var_os(PASSWORD_ENV).filter(|v| !v.is_empty()) {
            Some(v) => Some(Secret::new(
                v.into_string().map_err(|_| SetupError::Invalid(format!("{PASSWORD_ENV} is not UTF-8")))?,
            )),
            None => None,
        },
    };
    if let Some(user) = &args.user {
        if user.is_empty() || user.len() > 256 || user.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(SetupError::Invalid(format!(
                "--user: '{}' is not an ACL user name",
                crate::text::sanitize(user, 100)
            )));
        }
        if password.is_none() {
            return Err(SetupError::Invalid(format!(
                "--user needs a password: set {PASSWORD_ENV} or give --password-file FILE"
            )));
        }
    }
    Ok(Credentials { user: args.user.clone(), password })
}

/// The first line of `path`, without its line end.
fn read_password(path: &Path) -> Result<Secret, SetupError> {
    let bytes = read_capped(path, MAX_PASSWORD_FILE).map_err(|e| file_error(path, format!("password file: {e}")))?;
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return Err(file_error(path, "password file: its first line is empty"));
    }
    let text = String::from_utf8(line.to_vec()).map_err(|_| file_error(path, "password file: not UTF-8"))?;
    Ok(Secret::new(text))
}
