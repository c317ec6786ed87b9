//! The blocking clients: the emulator runs on a runtime of its own, and
//! the clients are called from the test's plain thread.

use std::{
    net::TcpListener,
    panic::{AssertUnwindSafe, catch_unwind},
    time::Duration,
};

use keyvault_administration::{
    BackupAuth, CreateRoleAssignmentOptions, ErrorKind, KeyVaultDataAction, KeyVaultPermission,
    KeyVaultRoleScope, KeyVaultSetting, ListOptions, PollStatus, PollerOptions,
    SetRoleDefinitionOptions,
    blocking::{
        IN_ASYNC_CONTEXT, KeyVaultAccessControlClient, KeyVaultBackupClient, KeyVaultSettingsClient,
    },
};

use crate::azurite::Azurite;
use crate::common::{Env, account_sas};

const ARM: &str = "AllowKeyManagementOperationsThroughARM";

/// The emulator, served by a runtime of its own.
struct Blocking {
    runtime: tokio::runtime::Runtime,
    env: Env,
}

impl Blocking {
    fn start() -> Self {
        let runtime = keyvault_testing::emulator::background_runtime();
        let env = runtime.block_on(crate::common::start());
        Self { runtime, env }
    }

    fn access(&self) -> KeyVaultAccessControlClient {
        KeyVaultAccessControlClient::from_async(self.env.access()).expect("client")
    }

    fn backup(&self) -> KeyVaultBackupClient {
        KeyVaultBackupClient::from_async(self.env.backup()).expect("client")
    }

    fn settings(&self) -> KeyVaultSettingsClient {
        KeyVaultSettingsClient::from_async(self.env.settings()).expect("client")
    }

    /// Stops the emulator; drop the clients first (their idle connections
    /// go with their runtimes).
    fn shutdown(self) {
        self.runtime.block_on(self.env.emu.shutdown());
    }
}

fn fast() -> Option<PollerOptions> {
    Some(PollerOptions {
        frequency: Some(Duration::from_millis(50)),
    })
}

#[test]
fn role_definitions_and_assignments() {
    let b = Blocking::start();
    let client = b.access();
    assert_eq!(
        client.vault_url(),
        b.env.emu.hsm_url().trim_end_matches('/')
    );
    let roles: Vec<_> = client
        .list_role_definitions(KeyVaultRoleScope::Global, None)
        .collect::<Result<_, _>>()
        .unwrap();
    let user = roles
        .iter()
        .find(|r| r.role_name.as_deref() == Some("Managed HSM Crypto User"))
        .expect("a built-in role");
    let pages: Vec<_> = client
        .list_role_definitions(KeyVaultRoleScope::Global, None)
        .into_pages()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        pages.iter().map(|p| p.items.len()).sum::<usize>(),
        roles.len()
    );
    assert!(pages.last().unwrap().continuation_token.is_none());

    let options = SetRoleDefinitionOptions {
        role_name: Some("blocking reader".into()),
        permissions: vec![KeyVaultPermission {
            data_actions: Some(vec![KeyVaultDataAction::ReadHsmKey]),
            ..Default::default()
        }],
        ..Default::default()
    };
    let custom = client
        .set_role_definition(KeyVaultRoleScope::Global, Some(options))
        .unwrap();
    let got = client
        .get_role_definition(KeyVaultRoleScope::Global, &custom.name, None)
        .unwrap();
    assert_eq!(got.role_name.as_deref(), Some("blocking reader"));

    let named = CreateRoleAssignmentOptions {
        name: Some("5f5e2a51-2b0a-4b5e-9a62-3b7c0c9e0d11".into()),
    };
    let assignment = client
        .create_role_assignment(
            KeyVaultRoleScope::Keys,
            &user.id,
            "principal-1",
            Some(named),
        )
        .unwrap();
    let again = client
        .get_role_assignment(KeyVaultRoleScope::Keys, &assignment.name, None)
        .unwrap();
    assert_eq!(
        again.properties.principal_id.as_deref(),
        Some("principal-1")
    );
    let listed = client
        .list_role_assignments(KeyVaultRoleScope::Keys, None)
        .filter(|a| a.as_ref().is_ok_and(|a| a.name == assignment.name))
        .count();
    assert_eq!(listed, 1);

    // A continuation token for another host is refused by the first `next`.
    let bad = ListOptions {
        continuation_token: Some("https://elsewhere.example/roleAssignments".into()),
        ..Default::default()
    };
    let mut refused = client.list_role_assignments(KeyVaultRoleScope::Keys, Some(bad));
    let e = refused.next().expect("an error").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(refused.next().is_none());

    client
        .delete_role_assignment(KeyVaultRoleScope::Keys, &assignment.name, None)
        .unwrap();
    client
        .delete_role_definition(KeyVaultRoleScope::Global, &custom.name, None)
        .unwrap();
    // Deleting what is gone is not an error, as in the async client.
    client
        .delete_role_definition(KeyVaultRoleScope::Global, &custom.name, None)
        .unwrap();
    let e = client
        .get_role_definition(KeyVaultRoleScope::Global, &custom.name, None)
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
    drop(client);
    b.shutdown();
}

#[test]
fn settings_are_listed_read_and_updated() {
    let b = Blocking::start();
    let client = b.settings();
    let all = client.list_settings(None).unwrap();
    assert!(all.iter().any(|s| s.name == ARM), "{all:?}");
    let before = client.get_setting(ARM, None).unwrap().as_bool().unwrap();
    let updated = client
        .update_setting(&KeyVaultSetting::boolean(ARM, !before), None)
        .unwrap();
    assert_eq!(updated.as_bool().unwrap(), !before);
    assert_eq!(
        client.get_setting(ARM, None).unwrap().as_bool().unwrap(),
        !before
    );
    assert!(client.get_setting("NoSuchSetting", None).is_err());
    drop(client);
    b.shutdown();
}

#[test]
fn backup_and_restore_pollers_wait() {
    let az = Azurite::start();
    let sas = account_sas("rwdlac");
    let container = az.container_url("blocking");
    crate::sas::create_container(&container, &sas).expect("container");
    let b = Blocking::start();
    let client = b.backup();
    let settings = b.settings();
    let auth = || BackupAuth::sas_token(sas.clone());

    client
        .begin_pre_backup(&container, auth(), fast())
        .unwrap()
        .wait()
        .expect("pre-backup passes");
    let mut poller = client.begin_backup(&container, auth(), fast()).unwrap();
    let token = poller.resume_token();
    assert!(!token.contains(&sas), "the token holds no SAS");
    let statuses: Vec<_> = poller.statuses().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        statuses.last(),
        Some(&PollStatus::Succeeded),
        "{statuses:?}"
    );
    let backup = poller.wait_for(Duration::from_secs(60)).expect("backup");
    assert!(
        backup.folder_url.starts_with(&container),
        "{}",
        backup.folder_url
    );
    // The same job, resumed by another client from its token.
    let resumed = b
        .backup()
        .resume_backup(&token, fast())
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(resumed, backup);

    // A change after the backup is undone by a full restore.
    settings
        .update_setting(&KeyVaultSetting::boolean(ARM, true), None)
        .unwrap();
    client
        .begin_pre_restore(&backup.folder_url, auth(), fast())
        .unwrap()
        .wait()
        .expect("pre-restore passes");
    let restore = client
        .begin_restore(&backup.folder_url, auth(), None)
        .unwrap();
    let mut restore = client
        .resume_restore(&restore.resume_token(), fast())
        .unwrap();
    while !restore.poll().unwrap().is_terminal() {
        std::thread::sleep(Duration::from_millis(50));
    }
    restore.wait().expect("restore");
    assert!(!settings.get_setting(ARM, None).unwrap().as_bool().unwrap());
    drop((client, settings));
    b.shutdown();
}

#[test]
fn a_backup_wait_for_times_out_while_the_job_goes_on() {
    // Blob storage that accepts connections and never answers: the job
    // stays in progress.
    let storage = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = storage.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let mut open = Vec::new();
        while let Ok((stream, _)) = storage.accept() {
            open.push(stream);
            if open.len() > 8 {
                break;
            }
        }
    });
    let b = Blocking::start();
    let client = b.backup();
    let container = format!("http://127.0.0.1:{port}/devstoreaccount1/silent");
    let poller = client
        .begin_backup(&container, BackupAuth::sas_token("sv=1&sig=x"), fast())
        .unwrap();
    let token = poller.resume_token();
    let started = std::time::Instant::now();
    let e = poller.wait_for(Duration::from_millis(400)).unwrap_err();
    let waited = started.elapsed();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.to_string().contains("resume token"), "{e}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");

    // Still running: a resumed poller says so.
    let mut resumed = client.resume_backup(&token, fast()).unwrap();
    assert_eq!(resumed.poll().unwrap(), PollStatus::InProgress);
    assert!(!resumed.is_done());
    drop((client, resumed));
    b.shutdown();
    drop(held);
}

#[test]
fn a_call_from_async_code_panics_with_the_documented_message() {
    let b = Blocking::start();
    let client = b.settings();
    let panic = b.runtime.block_on(async {
        catch_unwind(AssertUnwindSafe(|| client.list_settings(None))).unwrap_err()
    });
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or_default();
    assert!(message.starts_with(IN_ASYNC_CONTEXT), "{message}");
    // The same client is fine from spawn_blocking on that runtime.
    let settings = b
        .runtime
        .block_on(
            async move { tokio::task::spawn_blocking(move || client.list_settings(None)).await },
        )
        .unwrap()
        .unwrap();
    assert!(!settings.is_empty());
    b.shutdown();
}
