//! No SAS token and no bearer token (ours, or the emulator's managed
//! identity's for storage) reaches a log line (the client's and the
//! in-process emulator's, at TRACE), the `Debug` output of a client, an
//! option, a model, a poller or an error, or an error message: through
//! full backups and a restore with a SAS token, a backup with the managed
//! identity, a failed backup, role assignments and settings.

use std::time::Duration;

use keyvault_administration::{
    AdministrationClientOptions, BackupAuth, ClientOptions, KeyVaultSetting, Method, PollerOptions,
    ProxyOptions, RestoreOptions,
};
use keyvault_emulator::{AuthMode, Emulator};
use keyvault_testing::logs::capturing_runtime;

use serde_json::json;

use crate::azurite::Azurite;
use crate::backup::key_call;
use crate::common::{StaticToken, account_sas, create_container, start_with};

#[test]
fn backups_with_a_sas_and_the_managed_identity_leak_no_token() {
    let (runtime, captured, _guard) = capturing_runtime();
    let tls = tempfile::tempdir().unwrap();
    let read = |name: &str| std::fs::read_to_string(tls.path().join(name)).unwrap();
    let sas = account_sas("rwdlac");
    let signature = sas.split("sig=").nth(1).expect("a signed SAS").to_owned();
    let mut shown: Vec<String> = Vec::new();
    runtime.block_on(async {
        let builder = Emulator::builder().auth(AuthMode::Jwt).tls_dir(tls.path());
        let env = start_with(builder, StaticToken::jwt("0b1e0000-0000-4000-8000-00000000ad01")).await;
        let plain = Azurite::start();
        let with_sas = create_container(&plain, "sas-backups", &sas).await;
        let secure = Azurite::start_https(&read("server.pem"), &read("server-key.pem"));
        let with_identity = create_container(&secure, "identity-backups", &sas).await;
        let status = key_call(&env, Method::POST, "/keys/k1/create", Some(json!({"kty": "oct"}))).await;
        assert_eq!(status, 200);
        tracing::callsite::rebuild_interest_cache();

        let fast = || Some(PollerOptions { frequency: Some(Duration::from_millis(50)), ..Default::default() });
        let backup = env.backup();
        let poller = backup.begin_backup(&with_sas, BackupAuth::sas_token(sas.clone()), fast()).await.unwrap();
        shown.push(format!("{poller:?} {}", poller.resume_token()));
        let done = poller.await.unwrap();
        let restore = RestoreOptions { frequency: Some(Duration::from_millis(50)), ..Default::default() };
        let poller = backup.begin_restore(&done.folder_url, BackupAuth::sas_token(sas.clone()), Some(restore)).await.unwrap();
        shown.push(format!("{poller:?} {}", poller.resume_token()));
        poller.await.unwrap();
        let by_identity = backup.begin_backup(&with_identity, BackupAuth::ManagedIdentity, fast()).await.unwrap().await.unwrap();
        let missing = plain.container_url("missing");
        let failed = backup.begin_backup(&missing, BackupAuth::sas_token(sas.clone()), fast()).await.unwrap().await.unwrap_err();
        assert_eq!(failed.error_code(), Some("ContainerNotFound"), "{failed:?}");

        let access = env.access();
        let assigned = access
            .create_role_assignment("/", "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/21dbd100-6940-42c2-9190-5d6cb909625b", "0b1e0000-0000-4000-8000-00000000ad02", None)
            .await
            .unwrap();
        let settings = env.settings();
        let setting = settings.get_setting("AllowKeyManagementOperationsThroughARM", None).await.unwrap();
        let refused = settings.update_setting(&KeyVaultSetting::boolean("NoSuchSetting", true), None).await.unwrap_err();
        let options = AdministrationClientOptions {
            client_options: ClientOptions {
                proxy: Some(ProxyOptions::new("http://user:proxy-password-2@proxy.example:3128")),
                ..ClientOptions::default()
            },
            ..Default::default()
        };
        shown.extend([
            format!("{backup:?} {access:?} {settings:?} {options:?}"),
            format!("{:?} {:?}", BackupAuth::sas_token(sas.clone()), BackupAuth::ManagedIdentity),
            format!("{done:?} {by_identity:?} {assigned:?} {setting:?}"),
            format!("{failed} | {failed:?} | {refused} | {refused:?}"),
        ]);
        env.emu.shutdown().await;
    });
    let logs = captured.text();
    assert!(
        logs.contains("KeyVault.FullBackup"),
        "the client's spans:\n{logs}"
    );
    assert!(
        logs.contains("keyvault_emulator::access"),
        "the emulator's access lines:\n{logs}"
    );
    assert!(logs.contains("/backup"), "the backup requests:\n{logs}");
    for text in shown.iter().chain(std::iter::once(&logs)) {
        for (secret, needle) in [
            ("SAS signature", signature.as_str()),
            // Every bearer token here is a JWT: ours, and the managed
            // identity's the emulator gets for storage.
            ("bearer token", "eyJ"),
            ("proxy password", "proxy-password-2"),
        ] {
            assert!(!text.contains(needle), "the {secret} shows: {text}");
        }
    }
    println!(
        "security: {} KiB of TRACE logs of backups (SAS and managed identity) and a restore, and {} Debug and error texts, hold no SAS or bearer token",
        logs.len() / 1024,
        shown.len()
    );
    runtime.shutdown_timeout(Duration::from_secs(5));
}
