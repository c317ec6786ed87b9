//! The reference data beside the workspace (`../shared/reference` from the
//! workspace root): recorded service traffic and the upstream specs.
//!
//! The data is not part of the repository. A test that needs it asks
//! [`require`]; when the data is missing the test fails under CI (the
//! environment variable `CI` is set, or `KEYVAULT_REQUIRE_RECORDINGS=1`), and
//! elsewhere it says `SKIPPED` on standard error (not captured by the test
//! harness, so the skip shows) and passes.
//!
//! `KEYVAULT_REFERENCE_DIR` names another reference folder.

use std::io::Write;
use std::path::PathBuf;

/// The variable naming the reference folder instead of `../shared/reference`.
pub const DIR_VAR: &str = "KEYVAULT_REFERENCE_DIR";
/// The variable that makes missing reference data a failure (`1`).
pub const REQUIRE_VAR: &str = "KEYVAULT_REQUIRE_RECORDINGS";

/// The reference folder: `KEYVAULT_REFERENCE_DIR` (relative to the workspace
/// root), else `../shared/reference` from the workspace root. It may not
/// exist.
pub fn dir() -> PathBuf {
    let dir = std::env::var_os(DIR_VAR).filter(|v| !v.is_empty());
    crate::workspace_root().join(dir.map_or_else(|| "../shared/reference".into(), PathBuf::from))
}

/// Whether missing reference data fails the tests: under CI (`CI` set to
/// anything but empty, `0` or `false`) or with `KEYVAULT_REQUIRE_RECORDINGS=1`.
pub fn required() -> bool {
    let var = |name: &str| std::env::var(name).ok();
    is_on(var(REQUIRE_VAR).as_deref()) || is_on(var("CI").as_deref())
}

/// Whether a flag variable with this value is on.
fn is_on(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// The folder `name` of the reference data (`recordings`, `specs`), for the
/// running test.
///
/// # Panics
/// When the folder is missing and [`required`] says that is a failure.
/// Otherwise a missing folder is `None`, after a `SKIPPED` line (naming the
/// test) on standard error.
pub fn require(name: &str) -> Option<PathBuf> {
    let path = dir().join(name);
    if path.is_dir() {
        return Some(path);
    }
    // The test harness names each test's thread after the test.
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    assert!(
        !required(),
        "{test}: the reference data {} is missing (required under CI or with \
         {REQUIRE_VAR}=1; set {DIR_VAR} to where it is)",
        path.display()
    );
    // Written to the stream itself: the harness captures `eprintln!`.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {} is missing (set {DIR_VAR}, or {REQUIRE_VAR}=1 to fail)",
        path.display()
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_on_unless_empty_zero_or_false() {
        for on in ["1", "true", "yes"] {
            assert!(is_on(Some(on)), "{on}");
        }
        for off in [None, Some(""), Some("0"), Some("false"), Some("FALSE")] {
            assert!(!is_on(off), "{off:?}");
        }
    }

    #[test]
    fn the_reference_folder_is_beside_the_workspace() {
        if std::env::var_os(DIR_VAR).is_none() {
            assert!(dir().ends_with("../shared/reference"));
            assert!(dir().starts_with(crate::workspace_root()));
        }
    }
}
