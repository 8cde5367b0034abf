//! `serve --config FILE`: the probe modules a scrape selects with `&module=NAME`, read once at startup
//! into one [`ProbeContext`] each (depth, trust anchors, client certificate, timeout). A small TOML file,
//! read with a byte cap; any error names the file and line and stops the exporter before it listens
//! (exit 2). Built in, unless the file redefines them: `quick` (versions and weak-suite classes, no
//! full suite enumeration; the default) and `full` (every suite), both with the system trust store.
//!
//! ```toml
//! [modules.internal]
//! cipher_scan = "quick"          # quick | full | off
//! roots = "none"                 # system | mozilla | none (default: system, none with ca_file)
//! ca_file = ["ca.pem"]           # relative to this file
//! client_cert = "client.pem"
//! client_key = "client.key"
//! timeout = "20s"                # the probe's deadline; a scrape's timeout header shortens it
//! warn_days = 30
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::cli::Roots;
use crate::config::SetupError;
use crate::finding::Rules;
use crate::probe::raw::CipherScan;
use crate::probe::tls::TlsSettings;
use crate::scan::ProbeContext;

/// Largest config file read.
const MAX_CONFIG: u64 = 1 << 20;
/// Timeout of one connect and of one read inside a probe (the module's deadline bounds both).
const STEP_TIMEOUT: Duration = Duration::from_secs(3);
/// A module's deadline when the file gives none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The module used when a scrape names none.
pub const DEFAULT_MODULE: &str = "quick";

/// A probe module, ready to use.
#[derive(Debug, Clone)]
pub struct Module {
    /// Probe settings (its `endpoint_timeout` is the module's deadline).
    pub ctx: Arc<ProbeContext>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    modules: BTreeMap<String, toml::Spanned<Spec>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[serde(default)]
    cipher_scan: Option<Depth>,
    #[serde(default)]
    roots: Option<RootsName>,
    #[serde(default)]
    ca_file: Vec<PathBuf>,
    #[serde(default)]
    client_cert: Option<PathBuf>,
    #[serde(default)]
    client_key: Option<PathBuf>,
    #[serde(default)]
    timeout: Option<String>,
    #[serde(default)]
    warn_days: Option<i64>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Depth {
    Quick,
    Full,
    Off,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RootsName {
    System,
    Mozilla,
    None,
}

/// Loads the modules: the built-in ones, then those of `path` (which replace built-ins of the same name).
/// Every module shares `sockets`, the exporter's socket budget.
///
/// # Errors
/// [`SetupError`] naming the file (and line) or the PEM file at fault.
pub fn load(path: Option<&Path>, sockets: &Arc<crate::probe::Sockets>) -> Result<BTreeMap<String, Module>, SetupError> {
    let mut specs: BTreeMap<String, (Spec, String)> = BTreeMap::new();
    specs.insert("quick".into(), (Spec { cipher_scan: Some(Depth::Quick), ..Spec::default() }, "built-in".into()));
    specs.insert("full".into(), (Spec { cipher_scan: Some(Depth::Full), ..Spec::default() }, "built-in".into()));
    let mut base = PathBuf::new();
    if let Some(path) = path {
        let bytes = crate::input::read_capped(path, MAX_CONFIG)
            .map_err(|e| SetupError::File { path: path.to_path_buf(), reason: e.to_string() })?;
        let text = String::from_utf8(bytes)
            .map_err(|_| SetupError::File { path: path.to_path_buf(), reason: "not UTF-8 text".into() })?;
        let file: File = toml::from_str(&text).map_err(|e| {
            let line = e.span().map_or(String::new(), |s| format!(":{}", line_of(&text, s.start)));
            SetupError::Invalid(format!("{}{line}: {}", path.display(), e.message()))
        })?;
        for (name, spec) in file.modules {
            let at = format!("{}:{}", path.display(), line_of(&text, spec.span().start));
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
                return Err(SetupError::Invalid(format!("{at}: module name '{name}': use letters, digits, _ and -")));
            }
            specs.insert(name, (spec.into_inner(), at));
        }
        base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    }
    specs.into_iter().map(|(name, (spec, at))| Ok((name.clone(), build(&name, spec, &at, &base, sockets)?))).collect()
}

/// One module's probe context.
fn build(
    name: &str,
    spec: Spec,
    at: &str,
    base: &Path,
    sockets: &Arc<crate::probe::Sockets>,
) -> Result<Module, SetupError> {
    let invalid = |why: String| SetupError::Invalid(format!("{at}: module '{name}': {why}"));
    let timeout = match &spec.timeout {
        Some(t) => humantime::parse_duration(t).map_err(|e| invalid(format!("timeout '{t}': {e}")))?,
        None => DEFAULT_TIMEOUT,
    };
    if timeout.is_zero() || timeout > Duration::from_secs(3600) {
        return Err(invalid("timeout must be more than 0 and at most 1 hour".into()));
    }
    let ca_files: Vec<PathBuf> = spec.ca_file.iter().map(|p| base.join(p)).collect();
    let roots = spec.roots.map(|r| match r {
        RootsName::System => Roots::System,
        RootsName::Mozilla => Roots::Mozilla,
        RootsName::None => Roots::None,
    });
    let (anchors, _) = crate::setup::load_anchors(roots, &ca_files)?;
    let (cert, key) = (spec.client_cert.map(|p| base.join(p)), spec.client_key.map(|p| base.join(p)));
    if cert.is_some() != key.is_some() {
        return Err(invalid("client_cert and client_key go together".into()));
    }
    let (client, _) = crate::setup::pem::load_client(cert.as_deref(), key.as_deref())?;
    let tls = TlsSettings::new(client).map_err(|e| invalid(format!("client key unusable: {e}")))?;
    let cipher_scan = match spec.cipher_scan.unwrap_or(Depth::Quick) {
        Depth::Quick => CipherScan::Quick,
        Depth::Full => CipherScan::Full,
        Depth::Off => CipherScan::Off,
    };
    let ctx = ProbeContext {
        connect_timeout: STEP_TIMEOUT.min(timeout),
        read_timeout: STEP_TIMEOUT.min(timeout),
        endpoint_timeout: timeout,
        sni: None,
        tls,
        anchors,
        rules: Rules::new(spec.warn_days.unwrap_or(30)),
        cipher_scan,
        rate: None,
        host_concurrency: 1,
        sockets: Some(sockets.clone()),
        // The exporter never authenticates: only PING and handshakes.
        audit: None,
    };
    Ok(Module { ctx: Arc::new(ctx) })
}

/// The 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes().iter().take(at).filter(|b| **b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sockets() -> Arc<crate::probe::Sockets> {
        crate::probe::Sockets::new(64)
    }

    #[test]
    fn built_in_modules_exist_without_a_file() {
        let m = load(None, &sockets()).unwrap();
        assert_eq!(m.keys().collect::<Vec<_>>(), ["full", "quick"]);
        assert_eq!(m["quick"].ctx.cipher_scan, CipherScan::Quick);
        assert_eq!(m["full"].ctx.cipher_scan, CipherScan::Full);
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("modules.toml");
        std::fs::write(&path, "[modules.a]\ncipher_scan = \"quick\"\n\n[modules.b]\ncolour = 1\n").unwrap();
        let err = load(Some(&path), &sockets()).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}:5", path.display())), "{err}");
        std::fs::write(&path, "[modules.a]\ntimeout = \"soon\"\n").unwrap();
        let err = load(Some(&path), &sockets()).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}:1: module 'a': timeout", path.display())), "{err}");
        std::fs::write(&path, "[modules.a]\nca_file = [\"missing.pem\"]\n").unwrap();
        let err = load(Some(&path), &sockets()).unwrap_err().to_string();
        assert!(err.contains("missing.pem"), "{err}");
    }
}
