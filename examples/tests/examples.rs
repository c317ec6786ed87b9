//! Runs the secrets examples as `cargo run --example` does: each against an
//! embedded emulator of its own, with a managed identity from the emulator,
//! the vault under its Azure host name and the challenge verified.

mod common;

use examples::{Service, Target};

/// What an example says first: the embedded emulator, under the vault's
/// Azure name.
const ON_THE_EMULATOR: &str = "Running against the embedded emulator at \
     https://emulator.vault.azure.net/ (AZURE_KEYVAULT_URL is not set)";

common::examples_run! {
    ON_THE_EMULATOR;
    hello_world => ["value matches: true", "Deleting secret hello-world-"],
    list_operations => ["Deleted secrets:"],
    backup_restore_operations => ["Deleted and purged", "Restored backup-"],
    recover_purge_operations => ["is gone for good"],
}

#[test]
fn a_real_vault_uses_the_default_credential_chain() {
    // Building the target sends nothing; the credential runs on first use.
    let target = Target::azure(Service::Vault, "https://myvault.vault.azure.net").expect("target");
    assert!(!target.is_emulator());
    assert_eq!(
        target.describe(),
        "Running against https://myvault.vault.azure.net (AZURE_KEYVAULT_URL)"
    );
    let client = target.secret_client().expect("client");
    assert_eq!(client.vault_url(), "https://myvault.vault.azure.net");
}

#[test]
fn names_differ_from_run_to_run() {
    let a = examples::unique_name("x");
    std::thread::sleep(std::time::Duration::from_millis(2));
    let b = examples::unique_name("x");
    assert!(a.starts_with("x-") && a != b, "{a} {b}");
    assert!(a.len() <= 127 && a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'));
}

/// `managed_identity` is an app that knows only its environment:
/// `ManagedIdentityCredential` from the emulator's identity endpoint, default
/// client options, the vault under its Azure host name (challenge verified),
/// the emulator checking tokens.
#[test]
fn managed_identity_runs_from_its_environment_only() {
    let stdout = common::run_example(
        "managed_identity",
        "Running against https://emulator.vault.azure.net/ as a managed identity",
    );
    assert!(
        stdout.contains("Set https://emulator.vault.azure.net/secrets/managed-identity-"),
        "{stdout}"
    );
    assert!(stdout.contains("Read it back: 23 characters"), "{stdout}");
}
