//! Runs the three Managed HSM examples as `cargo run --example` does: each
//! against an embedded emulator of its own, with a managed identity from the
//! emulator, the HSM under its Azure host name and the challenge verified
//! (the backup example also against Azurite, from the workspace's npm
//! install).

mod common;

use examples::{Service, Target};

/// What an example says first: the embedded emulator's HSM, under its
/// Azure name.
const ON_THE_EMULATOR: &str = "Running against the embedded emulator's Managed HSM at \
     https://emulator.managedhsm.azure.net/ (AZURE_MANAGEDHSM_URL is not set)";

common::examples_run! {
    ON_THE_EMULATOR;
    access_control_operations => ["Deleted the role assignment and the role definition"],
    settings_operations => ["AllowKeyManagementOperationsThroughARM is back to false"],
    hsm_backup_restore => ["Restored the HSM from "],
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
