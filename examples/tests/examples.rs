//! Runs the secrets examples against a fresh emulator each.

use examples::{Service, Target};

macro_rules! example {
    ($name:ident, $file:literal) => {
        #[allow(dead_code)]
        #[path = $file]
        mod $name;

        #[tokio::test]
        async fn $name() {
            let target = Target::emulator(Service::Vault).await.expect("emulator");
            assert!(target.describe().contains("embedded emulator"));
            let client = target.secret_client().expect("client");
            $name::run(&client).await.expect("the example runs");
            target.shutdown().await;
        }
    };
}

example!(hello_world, "../examples/hello_world.rs");
example!(list_operations, "../examples/list_operations.rs");
example!(
    backup_restore_operations,
    "../examples/backup_restore_operations.rs"
);
example!(
    recover_purge_operations,
    "../examples/recover_purge_operations.rs"
);
example!(cached_secrets, "../examples/cached_secrets.rs");

#[test]
fn a_real_vault_uses_the_developer_tools_credential() {
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

/// `managed_identity` starts the embedded emulator and runs itself as an app
/// that knows only its environment: `ManagedIdentityCredential` from the
/// emulator's identity endpoint, default client options, the vault under its
/// Azure host name (challenge verified), the emulator checking tokens.
#[test]
fn managed_identity_runs_from_its_environment_only() {
    let exe = std::env::current_exe().expect("test binary");
    let target = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let example = target.join(format!(
        "examples/managed_identity{}",
        std::env::consts::EXE_SUFFIX
    ));
    assert!(
        example.exists(),
        "{} is missing: run the tests with `cargo test --workspace`, which builds the examples",
        example.display()
    );
    let out = std::process::Command::new(&example)
        .env_remove("AZURE_KEYVAULT_URL")
        .output()
        .expect("the example starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Set https://emulator.vault.azure.net/secrets/managed-identity-"),
        "{stdout}"
    );
    assert!(stdout.contains("Read it back: 23 characters"), "{stdout}");
}
