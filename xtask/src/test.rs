//! `cargo xtask test`: installs what the test suite needs, then runs it.
//!
//! The tests that read the reference data beside the workspace
//! (`../shared/reference`, or `KEYVAULT_REFERENCE_DIR`) fail without it when
//! `CI` or `KEYVAULT_REQUIRE_RECORDINGS=1` is set, and otherwise say
//! `SKIPPED` (see `keyvault_testing::reference`); `.ci/run` sets the latter.

use std::process::{Command, ExitCode};

/// How long each fuzz target runs in the test suite.
const CI_FUZZ_SECONDS: u32 = 5;

/// Runs `cargo test --workspace` with `args` appended, after setting up the
/// npm packages the tests use; then, when no `args` narrow the run, the
/// TLS tests of keyvault-core without its default `http2` feature (HTTP/1.1
/// only), the interop scenarios of the official SDKs (`cargo xtask interop`), the
/// contract test against our specs (`cargo xtask contract`) and a short run of
/// each fuzz target (`cargo xtask fuzz --seconds 5`).
pub(crate) fn run(args: &[String]) -> Result<ExitCode, String> {
    let root = crate::workspace_root();
    crate::setup::npm_ci(&root)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(&cargo)
        .args(["test", "--workspace"])
        .args(args)
        .current_dir(&root)
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if !status.success() {
        return Ok(ExitCode::FAILURE);
    }
    if args.is_empty() {
        let http1 = Command::new(&cargo)
            .args(["test", "-p", "keyvault-core", "--no-default-features"])
            .args(["--test", "it", "tls::"])
            .current_dir(&root)
            .status()
            .map_err(|e| format!("could not run cargo: {e}"))?;
        if !http1.success() {
            return Ok(ExitCode::FAILURE);
        }
        let interop = crate::interop::run(&[])?;
        if interop != ExitCode::SUCCESS {
            return Ok(interop);
        }
        let contract = crate::contract::run(&[])?;
        if contract != ExitCode::SUCCESS {
            return Ok(contract);
        }
        return crate::fuzz::fuzz(&crate::fuzz::Options {
            seconds: CI_FUZZ_SECONDS,
            targets: Vec::new(),
        });
    }
    Ok(ExitCode::SUCCESS)
}
