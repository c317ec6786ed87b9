//! `cargo xtask test`: installs what the test suite needs, then runs it.
//!
//! The tests that read the reference data beside the workspace
//! (`../shared/reference`, or `KEYVAULT_REFERENCE_DIR`) fail without it when
//! `CI` or `KEYVAULT_REQUIRE_RECORDINGS=1` is set, and otherwise say
//! `SKIPPED` (see `keyvault_testing::reference`); `.ci/run` sets the latter.

use std::path::Path;
use std::process::{Command, ExitCode};

/// Runs `cargo test --workspace` with `args` appended, after setting up the
/// npm packages the tests use; then, when no `args` narrow the run, the
/// interop scenarios of the official SDKs (`cargo xtask interop`).
pub(crate) fn run(args: &[String]) -> Result<ExitCode, String> {
    let root = crate::workspace_root();
    npm_ci(&root)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args(["test", "--workspace"])
        .args(args)
        .current_dir(&root)
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if !status.success() {
        return Ok(ExitCode::FAILURE);
    }
    if args.is_empty() {
        return crate::interop::run(&[]);
    }
    Ok(ExitCode::SUCCESS)
}

/// Installs the npm packages of the root `package.json` (`npm ci`) when
/// `node_modules` is missing or older than `package-lock.json`.
pub(crate) fn npm_ci(root: &Path) -> Result<(), String> {
    let lock = root.join("package-lock.json");
    if !lock.exists() {
        return Ok(());
    }
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let installed = modified(&root.join("node_modules/.package-lock.json"));
    if installed.is_some_and(|i| modified(&lock).is_some_and(|l| l <= i)) {
        return Ok(());
    }
    eprintln!("installing npm packages for the tests (npm ci)");
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(root)
        .status()
        .map_err(|e| format!("could not run npm (is Node.js installed?): {e}"))?;
    if !status.success() {
        return Err(format!("npm ci failed: {status}"));
    }
    Ok(())
}
