//! `--audit` credentials, loaded before the first packet: the user from `--user`, the password from
//! `--password-file` (a bounded read of its first line) or `REDISCLI_AUTH`. Never from the command line,
//! so the recorded command line and the process title never hold it; errors name the file, never its
//! content.

use std::path::Path;

use super::{SetupError, file_error};
use crate::cli::ScanArgs;
use crate::input::read_capped;
use crate::probe::audit::creds::{Credentials, Secret};

/// Largest password file read.
pub const MAX_PASSWORD_FILE: u64 = 1 << 20;

/// The environment variable redis-cli reads the password from.
pub const PASSWORD_ENV: &str = "REDISCLI_AUTH";

/// The credentials `--audit` authenticates with.
///
/// # Errors
/// An unreadable, empty or non-UTF-8 password file; `--user` without a password; a user name that
/// cannot be one.
pub fn load(args: &ScanArgs) -> Result<Credentials, SetupError> {
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
