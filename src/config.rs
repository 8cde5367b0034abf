//! The old home of [`crate::setup`], kept so that `crate::config::{Setup, SetupError, FinishedRun,
//! build, resume, ...}` still resolve while callers move over.

pub use crate::setup::*;
