//! `cargo xtask test`: installs what the test suite needs, then runs it.
//!
//! The tests that read the reference data beside the workspace
//! (`../shared/reference`, or `KEYVAULT_REFERENCE_DIR`) fail without it when
//! `CI` or `KEYVAULT_REQUIRE_RECORDINGS=1` is set, and otherwise say
//! `SKIPPED` (see `keyvault_testing::reference`); `.ci/run` sets the latter.

use std::process::{Command, ExitCode};

/// Runs `cargo test --workspace` with `args` appended, after setting up the
/// npm packages the tests use when a `package.json` is present.
pub(crate) fn run(args: &[String]) -> Result<ExitCode, String> {
    let root = crate::workspace_root();
    if root.join("package.json").exists() && !root.join("node_modules").exists() {
        eprintln!("installing npm packages for the tests (npm ci)");
        let status = Command::new("npm")
            .arg("ci")
            .arg("--no-audit")
            .arg("--no-fund")
            .current_dir(&root)
            .status()
            .map_err(|e| format!("could not run npm (is Node.js installed?): {e}"))?;
        if !status.success() {
            return Err(format!("npm ci failed: {status}"));
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args(["test", "--workspace"])
        .args(args)
        .current_dir(&root)
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
