//! Runs the three Managed HSM examples as `cargo run --example` does: each
//! against an embedded emulator of its own, with a managed identity from the
//! emulator, the HSM under its Azure host name and the challenge verified
//! (the backup example also against Azurite, from the workspace's npm
//! install).

mod common;

use common::run_example;
use examples::{Service, Target};

/// What an example says first: the embedded emulator's HSM, under its
/// Azure name.
const ON_THE_EMULATOR: &str = "Running against the embedded emulator's Managed HSM at \
     https://emulator.managedhsm.azure.net/ (AZURE_MANAGEDHSM_URL is not set)";

#[test]
fn access_control_operations_runs() {
    let stdout = run_example("access_control_operations", ON_THE_EMULATOR);
    assert!(
        stdout.contains("Deleted the role assignment and the role definition"),
        "{stdout}"
    );
}

#[test]
fn settings_operations_runs() {
    let stdout = run_example("settings_operations", ON_THE_EMULATOR);
    assert!(
        stdout.contains("AllowKeyManagementOperationsThroughARM is back to false"),
        "{stdout}"
    );
}

#[test]
fn hsm_backup_restore_runs() {
    let stdout = run_example("hsm_backup_restore", ON_THE_EMULATOR);
    assert!(stdout.contains("Restored the HSM from "), "{stdout}");
}

#[test]
fn a_real_hsm_uses_the_default_credential_chain() {
    let target =
        Target::azure(Service::ManagedHsm, "https://myhsm.managedhsm.azure.net").expect("target");
    assert!(!target.is_emulator());
    assert_eq!(
        target.describe(),
        "Running against https://myhsm.managedhsm.azure.net (AZURE_MANAGEDHSM_URL)"
    );
    let client = target.settings_client().expect("client");
    assert_eq!(client.vault_url(), "https://myhsm.managedhsm.azure.net");
}
