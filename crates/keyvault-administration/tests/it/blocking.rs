//! The blocking clients. The scenarios are written once, over [`Hsm`], and
//! run against the async clients and the blocking ones, each on a fresh
//! emulator served by a runtime of its own; the test's thread makes the
//! calls.

use std::{
    net::TcpListener,
    panic::{AssertUnwindSafe, catch_unwind},
    time::Duration,
};

use futures::TryStreamExt;
use keyvault_administration::{
    BackupAuth, CreateRoleAssignmentOptions, ErrorKind, KeyVaultAccessControlClient,
    KeyVaultBackupClient, KeyVaultBackupResult, KeyVaultDataAction, KeyVaultPermission,
    KeyVaultRoleAssignment, KeyVaultRoleDefinition, KeyVaultRoleScope, KeyVaultSetting,
    KeyVaultSettingsClient, ListOptions, Page, PollStatus, PollerOptions, Result,
    SetRoleDefinitionOptions, blocking,
};
use tokio::runtime::Runtime;

use crate::azurite::Azurite;
use crate::common::{Env, account_sas};

const ARM: &str = "AllowKeyManagementOperationsThroughARM";

type Role = KeyVaultRoleDefinition;
type Assignment = KeyVaultRoleAssignment;
type Backup = KeyVaultBackupResult;

/// What the scenarios call, as both sets of clients offer it. Roles are
/// global, assignments on all keys.
trait Hsm {
    fn roles(&self) -> Result<Vec<Role>>;
    fn role_pages(&self) -> Result<Vec<Page<Role>>>;
    fn set_role(&self, o: SetRoleDefinitionOptions) -> Result<Role>;
    fn get_role(&self, name: &str) -> Result<Role>;
    fn delete_role(&self, name: &str) -> Result<()>;
    fn assign(&self, role: &Role, principal: &str, name: &str) -> Result<Assignment>;
    fn get_assignment(&self, name: &str) -> Result<Assignment>;
    fn assignments(&self, o: Option<ListOptions>) -> Result<Vec<Assignment>>;
    fn unassign(&self, name: &str) -> Result<()>;
    fn settings(&self) -> Result<Vec<KeyVaultSetting>>;
    fn get_setting(&self, name: &str) -> Result<KeyVaultSetting>;
    fn update_setting(&self, setting: &KeyVaultSetting) -> Result<KeyVaultSetting>;
    fn pre_backup(&self, container: &str, auth: BackupAuth) -> Result<()>;
    /// Starts a backup and waits at most `max`: its resume token and result.
    fn backup(&self, container: &str, auth: BackupAuth, max: Duration) -> (String, Result<Backup>);
    fn resume_backup(&self, token: &str) -> Result<Backup>;
    /// Resumes a backup from its token and polls it once.
    fn poll_backup(&self, token: &str) -> Result<PollStatus>;
    fn pre_restore(&self, folder: &str, auth: BackupAuth) -> Result<()>;
    fn restore(&self, folder: &str, auth: BackupAuth) -> Result<()>;
}

/// The async clients, each call run to completion on the emulator's
/// runtime.
struct Async<'a> {
    runtime: &'a Runtime,
    access: KeyVaultAccessControlClient,
    backup: KeyVaultBackupClient,
    settings: KeyVaultSettingsClient,
}

fn fast() -> Option<PollerOptions> {
    Some(PollerOptions {
        frequency: Some(Duration::from_millis(50)),
        ..Default::default()
    })
}

fn named(name: &str) -> Option<CreateRoleAssignmentOptions> {
    Some(CreateRoleAssignmentOptions {
        name: Some(name.to_owned()),
        ..Default::default()
    })
}

const GLOBAL: KeyVaultRoleScope = KeyVaultRoleScope::Global;
const KEYS: KeyVaultRoleScope = KeyVaultRoleScope::Keys;

impl Hsm for Async<'_> {
    fn roles(&self) -> Result<Vec<Role>> {
        let items = self.access.list_role_definitions(GLOBAL, None);
        self.runtime.block_on(items.try_collect())
    }
    fn role_pages(&self) -> Result<Vec<Page<Role>>> {
        let pages = self.access.list_role_definitions(GLOBAL, None).into_pages();
        self.runtime.block_on(pages.try_collect())
    }
    fn set_role(&self, o: SetRoleDefinitionOptions) -> Result<Role> {
        let set = self.access.set_role_definition(GLOBAL, Some(o));
        self.runtime.block_on(set)
    }
    fn get_role(&self, name: &str) -> Result<Role> {
        let get = self.access.get_role_definition(GLOBAL, name, None);
        self.runtime.block_on(get)
    }
    fn delete_role(&self, name: &str) -> Result<()> {
        let delete = self.access.delete_role_definition(GLOBAL, name, None);
        self.runtime.block_on(delete)
    }
    fn assign(&self, role: &Role, principal: &str, name: &str) -> Result<Assignment> {
        let create = self
            .access
            .create_role_assignment(KEYS, &role.id, principal, named(name));
        self.runtime.block_on(create)
    }
    fn get_assignment(&self, name: &str) -> Result<Assignment> {
        let get = self.access.get_role_assignment(KEYS, name, None);
        self.runtime.block_on(get)
    }
    fn assignments(&self, o: Option<ListOptions>) -> Result<Vec<Assignment>> {
        let items = self.access.list_role_assignments(KEYS, o);
        self.runtime.block_on(items.try_collect())
    }
    fn unassign(&self, name: &str) -> Result<()> {
        let delete = self.access.delete_role_assignment(KEYS, name, None);
        self.runtime.block_on(delete)
    }
    fn settings(&self) -> Result<Vec<KeyVaultSetting>> {
        self.runtime.block_on(self.settings.list_settings(None))
    }
    fn get_setting(&self, name: &str) -> Result<KeyVaultSetting> {
        self.runtime.block_on(self.settings.get_setting(name, None))
    }
    fn update_setting(&self, setting: &KeyVaultSetting) -> Result<KeyVaultSetting> {
        self.runtime
            .block_on(self.settings.update_setting(setting, None))
    }
    fn pre_backup(&self, container: &str, auth: BackupAuth) -> Result<()> {
        self.runtime.block_on(async {
            let poller = self
                .backup
                .begin_pre_backup(container, auth, fast())
                .await?;
            poller.await
        })
    }
    fn backup(&self, container: &str, auth: BackupAuth, max: Duration) -> (String, Result<Backup>) {
        self.runtime.block_on(async {
            match self.backup.begin_backup(container, auth, fast()).await {
                Ok(poller) => (poller.resume_token(), poller.wait_for(max).await),
                Err(e) => (String::new(), Err(e)),
            }
        })
    }
    fn resume_backup(&self, token: &str) -> Result<Backup> {
        self.runtime
            .block_on(self.backup.resume_backup(token, fast())?.wait())
    }
    fn poll_backup(&self, token: &str) -> Result<PollStatus> {
        let mut poller = self.backup.resume_backup(token, fast())?;
        self.runtime.block_on(poller.poll())
    }
    fn pre_restore(&self, folder: &str, auth: BackupAuth) -> Result<()> {
        self.runtime.block_on(async {
            let poller = self.backup.begin_pre_restore(folder, auth, fast()).await?;
            poller.await
        })
    }
    fn restore(&self, folder: &str, auth: BackupAuth) -> Result<()> {
        self.runtime.block_on(async {
            let poller = self.backup.begin_restore(folder, auth, None).await?;
            poller.with_frequency(Duration::from_millis(50)).await
        })
    }
}

/// The blocking clients.
struct Blocking {
    access: blocking::KeyVaultAccessControlClient,
    backup: blocking::KeyVaultBackupClient,
    settings: blocking::KeyVaultSettingsClient,
}

impl Hsm for Blocking {
    fn roles(&self) -> Result<Vec<Role>> {
        self.access.list_role_definitions(GLOBAL, None).collect()
    }
    fn role_pages(&self) -> Result<Vec<Page<Role>>> {
        let pages = self.access.list_role_definitions(GLOBAL, None).into_pages();
        pages.collect()
    }
    fn set_role(&self, o: SetRoleDefinitionOptions) -> Result<Role> {
        self.access.set_role_definition(GLOBAL, Some(o))
    }
    fn get_role(&self, name: &str) -> Result<Role> {
        self.access.get_role_definition(GLOBAL, name, None)
    }
    fn delete_role(&self, name: &str) -> Result<()> {
        self.access.delete_role_definition(GLOBAL, name, None)
    }
    fn assign(&self, role: &Role, principal: &str, name: &str) -> Result<Assignment> {
        self.access
            .create_role_assignment(KEYS, &role.id, principal, named(name))
    }
    fn get_assignment(&self, name: &str) -> Result<Assignment> {
        self.access.get_role_assignment(KEYS, name, None)
    }
    fn assignments(&self, o: Option<ListOptions>) -> Result<Vec<Assignment>> {
        self.access.list_role_assignments(KEYS, o).collect()
    }
    fn unassign(&self, name: &str) -> Result<()> {
        self.access.delete_role_assignment(KEYS, name, None)
    }
    fn settings(&self) -> Result<Vec<KeyVaultSetting>> {
        self.settings.list_settings(None)
    }
    fn get_setting(&self, name: &str) -> Result<KeyVaultSetting> {
        self.settings.get_setting(name, None)
    }
    fn update_setting(&self, setting: &KeyVaultSetting) -> Result<KeyVaultSetting> {
        self.settings.update_setting(setting, None)
    }
    fn pre_backup(&self, container: &str, auth: BackupAuth) -> Result<()> {
        self.backup
            .begin_pre_backup(container, auth, fast())?
            .wait()
    }
    fn backup(&self, container: &str, auth: BackupAuth, max: Duration) -> (String, Result<Backup>) {
        match self.backup.begin_backup(container, auth, fast()) {
            Ok(poller) => (poller.resume_token(), poller.wait_for(max)),
            Err(e) => (String::new(), Err(e)),
        }
    }
    fn resume_backup(&self, token: &str) -> Result<Backup> {
        self.backup.resume_backup(token, fast())?.wait()
    }
    fn poll_backup(&self, token: &str) -> Result<PollStatus> {
        self.backup.resume_backup(token, fast())?.poll()
    }
    fn pre_restore(&self, folder: &str, auth: BackupAuth) -> Result<()> {
        self.backup.begin_pre_restore(folder, auth, fast())?.wait()
    }
    fn restore(&self, folder: &str, auth: BackupAuth) -> Result<()> {
        let poller = self.backup.begin_restore(folder, auth, None)?;
        poller.with_frequency(Duration::from_millis(50)).wait()
    }
}

fn blocking(env: &Env) -> Blocking {
    Blocking {
        access: blocking::KeyVaultAccessControlClient::from_async(env.access()).unwrap(),
        backup: blocking::KeyVaultBackupClient::from_async(env.backup()).unwrap(),
        settings: blocking::KeyVaultSettingsClient::from_async(env.settings()).unwrap(),
    }
}

/// Runs `scenario` on a fresh emulator served by a runtime of its own.
fn served(scenario: impl FnOnce(&Runtime, &Env)) {
    let stop = |env: Env| async move { env.emu.shutdown().await };
    keyvault_testing::emulator::served(crate::common::start, scenario, stop);
}

/// Runs `scenario` with the async clients, then with the blocking ones,
/// each on a fresh emulator.
fn with_both(scenario: impl Fn(&dyn Hsm)) {
    served(|runtime, env| {
        scenario(&Async {
            runtime,
            access: env.access(),
            backup: env.backup(),
            settings: env.settings(),
        })
    });
    served(|_, env| scenario(&blocking(env)));
}

#[test]
fn role_definitions_and_assignments() {
    with_both(|hsm| {
        let roles = hsm.roles().unwrap();
        let user = roles
            .iter()
            .find(|r| r.role_name.as_deref() == Some("Managed HSM Crypto User"))
            .expect("a built-in role");
        let pages = hsm.role_pages().unwrap();
        assert_eq!(
            pages.iter().map(|p| p.items.len()).sum::<usize>(),
            roles.len()
        );
        assert!(pages.last().unwrap().continuation_token.is_none());

        let custom = hsm
            .set_role(SetRoleDefinitionOptions {
                role_name: Some("blocking reader".into()),
                permissions: vec![KeyVaultPermission {
                    data_actions: Some(vec![KeyVaultDataAction::ReadHsmKey]),
                    ..Default::default()
                }],
                ..Default::default()
            })
            .unwrap();
        let got = hsm.get_role(&custom.name).unwrap();
        assert_eq!(got.role_name.as_deref(), Some("blocking reader"));

        let name = "5f5e2a51-2b0a-4b5e-9a62-3b7c0c9e0d11";
        let assignment = hsm.assign(user, "principal-1", name).unwrap();
        assert_eq!(assignment.name, name);
        let again = hsm.get_assignment(name).unwrap();
        assert_eq!(
            again.properties.principal_id.as_deref(),
            Some("principal-1")
        );
        let listed = hsm.assignments(None).unwrap();
        assert_eq!(listed.iter().filter(|a| a.name == name).count(), 1);

        // A continuation token for another host is refused.
        let bad = ListOptions {
            continuation_token: Some("https://elsewhere.example/roleAssignments".into()),
            ..Default::default()
        };
        let e = hsm.assignments(Some(bad)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");

        hsm.unassign(name).unwrap();
        hsm.delete_role(&custom.name).unwrap();
        // Deleting what is gone is not an error.
        hsm.delete_role(&custom.name).unwrap();
        assert!(hsm.get_role(&custom.name).unwrap_err().is_not_found());
    });
}

#[test]
fn settings_are_listed_read_and_updated() {
    with_both(|hsm| {
        assert!(hsm.settings().unwrap().iter().any(|s| s.name == ARM));
        let before = hsm.get_setting(ARM).unwrap().as_bool().unwrap();
        let flipped = KeyVaultSetting::boolean(ARM, !before);
        assert_eq!(
            hsm.update_setting(&flipped).unwrap().as_bool().unwrap(),
            !before
        );
        assert_eq!(hsm.get_setting(ARM).unwrap().as_bool().unwrap(), !before);
        assert!(hsm.get_setting("NoSuchSetting").is_err());
    });
}

/// A new container in `az`, and an account SAS token for it.
fn container(az: &Azurite, name: &str) -> (String, String) {
    let sas = account_sas("rwdlac");
    let url = az.create_container(name, &sas).expect("container");
    (url, sas)
}

#[test]
fn backup_and_restore_pollers_wait() {
    let az = Azurite::start();
    let (container, sas) = container(&az, "blocking");
    let auth = || BackupAuth::sas_token(sas.clone());
    with_both(|hsm| {
        hsm.pre_backup(&container, auth())
            .expect("pre-backup passes");
        let (token, backup) = hsm.backup(&container, auth(), Duration::from_secs(60));
        let backup = backup.expect("backup");
        assert!(!token.contains(&sas), "the token holds no SAS");
        assert!(
            backup.folder_url.starts_with(&container),
            "{}",
            backup.folder_url
        );
        // The same job, resumed from its token.
        assert_eq!(hsm.resume_backup(&token).unwrap(), backup);

        // A change after the backup is undone by a full restore.
        hsm.update_setting(&KeyVaultSetting::boolean(ARM, true))
            .unwrap();
        hsm.pre_restore(&backup.folder_url, auth())
            .expect("pre-restore passes");
        hsm.restore(&backup.folder_url, auth()).expect("restore");
        assert!(!hsm.get_setting(ARM).unwrap().as_bool().unwrap());
    });
}

#[test]
fn a_backup_wait_for_times_out_while_the_job_goes_on() {
    // Blob storage that accepts connections and never answers: the job
    // stays in progress.
    let storage = TcpListener::bind("127.0.0.1:0").unwrap();
    let container = format!(
        "http://{}/devstoreaccount1/silent",
        storage.local_addr().unwrap()
    );
    let held = std::thread::spawn(move || {
        let mut open = Vec::new();
        while let Ok((stream, _)) = storage.accept() {
            open.push(stream);
            if open.len() > 8 {
                break;
            }
        }
    });
    with_both(|hsm| {
        let auth = BackupAuth::sas_token("sv=1&sig=x");
        let started = std::time::Instant::now();
        let (token, waited) = hsm.backup(&container, auth, Duration::from_millis(400));
        let e = waited.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(e.to_string().contains("resume token"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(10));
        // Still running: a poller resumed from its token says so.
        assert_eq!(hsm.poll_backup(&token).unwrap(), PollStatus::InProgress);
    });
    drop(held);
}

#[test]
fn the_blocking_poller_reports_its_status_as_it_goes() {
    let az = Azurite::start();
    let (container, sas) = container(&az, "watched");
    served(|_, env| {
        let clients = blocking(env);
        let mut poller = clients
            .backup
            .begin_backup(&container, BackupAuth::sas_token(sas.clone()), fast())
            .unwrap();
        let statuses: Vec<_> = poller.statuses().collect::<Result<_>>().unwrap();
        assert_eq!(
            statuses.last(),
            Some(&PollStatus::Succeeded),
            "{statuses:?}"
        );
        assert!(poller.is_done());
        assert_eq!(poller.status(), PollStatus::Succeeded);
        assert!(poller.wait().unwrap().folder_url.starts_with(&container));
    });
}

#[test]
fn a_call_from_async_code_panics_with_the_documented_message() {
    served(|runtime, env| {
        let client = blocking(env).settings;
        let panic = runtime.block_on(async {
            catch_unwind(AssertUnwindSafe(|| client.list_settings(None))).unwrap_err()
        });
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or_default();
        assert!(message.starts_with(blocking::IN_ASYNC_CONTEXT), "{message}");
        // The same client is fine from spawn_blocking on that runtime.
        let listed = runtime.block_on(async move {
            tokio::task::spawn_blocking(move || client.list_settings(None)).await
        });
        assert!(!listed.unwrap().unwrap().is_empty());
    });
}
