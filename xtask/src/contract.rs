//! `cargo xtask contract`: schemathesis (from PyPI, installed into
//! `.interop/contract` from `xtask/contract/requirements.txt`, configured
//! by `xtask/contract/schemathesis.toml`) drives the
//! emulator binary from the OpenAPI files we own in `specs/`: the secrets spec
//! against the vault endpoint, the administration specs against the Managed
//! HSM endpoint. Every answer must be no server error and match the spec
//! (status, content type, headers, body schema); the emulator must still be
//! running at the end and its log must hold no panic.
//!
//! The emulator runs with any bearer token accepted (schemathesis sends one)
//! and with `HTTPS_PROXY` pointing at a closed loopback port, so the backup
//! jobs schemathesis starts with made-up storage URLs never leave the machine.

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

use crate::interop::Emulator;

/// Examples per operation and phase unless `--max-examples N` says otherwise:
/// small enough that the whole run stays within two minutes.
const DEFAULT_MAX_EXAMPLES: u32 = 10;

/// The checks every answer goes through.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance";

/// Which spec runs against which endpoint (a field of the emulator's first line).
const SPECS: &[(&str, &str)] = &[
    ("specs/secrets/2025-07-01/secrets.json", "vault_url"),
    ("specs/administration/2025-07-01/rbac.json", "hsm_url"),
    ("specs/administration/2025-07-01/settings.json", "hsm_url"),
    (
        "specs/administration/2025-07-01/backuprestore.json",
        "hsm_url",
    ),
];

/// Runs the contract test; `--max-examples N` and `--seed N` tune the run.
pub(crate) fn run(args: &[String]) -> Result<ExitCode, String> {
    let mut max_examples = DEFAULT_MAX_EXAMPLES;
    let mut seed = "1".to_owned();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--max-examples" => {
                max_examples = value()?
                    .parse()
                    .map_err(|e| format!("--max-examples: {e}"))?;
            }
            "--seed" => seed = value()?.clone(),
            other => return Err(format!("unknown option `{other}` of contract")),
        }
    }
    let root = crate::workspace_root();
    let python = crate::setup::venv(
        &root,
        ".interop/contract",
        "xtask/contract/requirements.txt",
    )?;
    let schemathesis = python.with_file_name("schemathesis");
    let log_dir = tempfile::Builder::new()
        .prefix("keyvault-contract-")
        .tempdir()
        .map_err(|e| format!("could not create a temporary directory: {e}"))?;
    let log_path = log_dir.path().join("emulator.log");
    let log = std::fs::File::create(&log_path)
        .map_err(|e| format!("could not create {}: {e}", log_path.display()))?;
    let mut emulator = Emulator::start(
        &root,
        &["--auth", "any"],
        &[("HTTPS_PROXY", "http://127.0.0.1:9")],
        Stdio::from(log),
    )?;
    let ca = emulator.field("ca_cert").to_owned();
    let mut failed = Vec::new();
    for (spec, endpoint) in SPECS {
        let url = emulator.field(endpoint).trim_end_matches('/').to_owned();
        eprintln!("contract: {spec} against {url}");
        let status = Command::new(&schemathesis)
            .arg("--config-file")
            .arg(root.join("xtask/contract/schemathesis.toml"))
            .arg("run")
            .arg(root.join(spec))
            .args(["--url", &url, "--checks", CHECKS])
            .args(["--max-examples", &max_examples.to_string()])
            .args(["--seed", &seed, "--tls-verify", &ca])
            .args(["--header", "Authorization: Bearer contract-test"])
            .args(["--no-color", "--suppress-health-check", "all"])
            .args(["--generation-database", "none"])
            // Its cache goes where it runs: the temporary folder.
            .current_dir(log_dir.path())
            .status()
            .map_err(|e| format!("could not run {}: {e}", schemathesis.display()))?;
        if !status.success() {
            failed.push(format!("{spec}: {status}"));
        }
    }
    if !emulator.running() {
        failed.push("the emulator exited during the run".to_owned());
    }
    drop(emulator);
    if let Some(line) = panic_in(&log_path) {
        failed.push(format!("the emulator panicked: {line}"));
    }
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(format!("contract test failed: {}", failed.join("; ")))
    }
}

/// The first line of the emulator's log that reports a panic.
fn panic_in(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    (text.lines())
        .find(|l| l.contains("panicked"))
        .map(str::to_owned)
}
