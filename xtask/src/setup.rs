//! Installing what the tests and the interop scenarios run with.

use std::path::Path;
use std::process::Command;

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
