//! `cargo xtask spec-diff DIR`: compare specs/ with upstream spec files.

use std::process::ExitCode;

pub(crate) fn run(_args: &[String]) -> Result<ExitCode, String> {
    Err("spec-diff is not implemented yet".into())
}
