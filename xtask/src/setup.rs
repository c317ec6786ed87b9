//! Installing what the tests and the interop scenarios run with.

use std::path::{Path, PathBuf};
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

/// The Python of the virtual environment `dir` (relative to `root`), created
/// when missing, with the pinned packages of `requirements` installed when
/// they changed.
pub(crate) fn venv(root: &Path, dir: &str, requirements: &str) -> Result<PathBuf, String> {
    let dir = root.join(dir);
    let python = dir.join("bin/python");
    let requirements = root.join(requirements);
    let marker = dir.join("requirements.installed");
    let wanted = std::fs::read_to_string(&requirements)
        .map_err(|e| format!("could not read {}: {e}", requirements.display()))?;
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(python);
    }
    if !python.exists() {
        eprintln!("creating {}", dir.display());
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&dir)
            .status()
            .map_err(|e| format!("could not run python3 (is Python 3 installed?): {e}"))?;
        if !status.success() {
            return Err(format!("python3 -m venv failed: {status}"));
        }
    }
    eprintln!("installing {} (pip)", requirements.display());
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements)
        .status()
        .map_err(|e| format!("could not run pip: {e}"))?;
    if !status.success() {
        return Err(format!("pip install failed: {status}"));
    }
    std::fs::write(&marker, wanted).map_err(|e| format!("could not write the marker: {e}"))?;
    Ok(python)
}
