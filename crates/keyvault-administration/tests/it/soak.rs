//! Soak under faults for the administration clients: role assignments and
//! a setting from 8 tasks through one client of each kind, then a full
//! backup to Azurite and a full restore, against an emulator that gives 10%
//! of the HSM requests a fault. Each task keeps its own assignments, and
//! only the first task changes the setting, so plain maps are an exact
//! model of what was acknowledged; the restore must bring back the model of
//! the moment of the backup.
//!
//! 100 calls by default; a tenth of `KEYVAULT_SOAK_OPS` when it is set
//! (`KEYVAULT_SOAK_OPS=10000` runs 1,000).

use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use keyvault_administration::{
    AdministrationClientOptions, ApiVersion, BackupAuth, CreateRoleAssignmentOptions,
    KeyVaultAccessControlClient, KeyVaultBackupClient, KeyVaultRoleScope, KeyVaultSetting,
    KeyVaultSettingsClient, PollerOptions, RestoreOptions,
};
use keyvault_emulator::{Emulator, EmulatorHandle};
use keyvault_testing::soak::{self, Retries, Rng, Tally, met_its_earlier_try, no_answer};
use tracing::instrument::WithSubscriber;

use crate::azurite::Azurite;
use crate::common::{StaticToken, account_sas, create_container};

const TASKS: usize = 8;
const ARM: &str = "AllowKeyManagementOperationsThroughARM";
const CRYPTO_USER: &str = "Managed HSM Crypto User";

/// The clients, one of each kind, shared by the tasks.
#[derive(Clone)]
struct Clients {
    access: KeyVaultAccessControlClient,
    settings: KeyVaultSettingsClient,
    backup: KeyVaultBackupClient,
}

impl Clients {
    fn new(emu: &EmulatorHandle) -> Self {
        let options = || {
            Some(AdministrationClientOptions {
                api_version: ApiVersion::default(),
                client_options: soak::client_options(emu.ca_cert_pem()),
            })
        };
        let credential = Arc::new(StaticToken::default());
        let url = emu.hsm_url();
        Self {
            access: KeyVaultAccessControlClient::new(url, credential.clone(), options()).unwrap(),
            settings: KeyVaultSettingsClient::new(url, credential.clone(), options()).unwrap(),
            backup: KeyVaultBackupClient::new(url, credential, options()).unwrap(),
        }
    }
}

fn fast() -> Option<PollerOptions> {
    Some(PollerOptions {
        frequency: Some(Duration::from_millis(50)),
        ..Default::default()
    })
}

/// A task: its role assignments (name to principal) and, for the first
/// task, the setting.
struct Task {
    clients: Clients,
    tally: Arc<Tally>,
    role: String,
    prefix: String,
    assignments: BTreeMap<String, String>,
    setting: Option<bool>,
    rng: Rng,
    calls: usize,
}

impl Task {
    fn call(&mut self) {
        self.calls += 1;
        self.tally.call();
    }

    /// Reads an assignment and checks it against the model.
    async fn get(&mut self, name: &str) {
        self.call();
        let got = (self.clients.access)
            .get_role_assignment(KeyVaultRoleScope::Global, name, None)
            .await;
        let principal = match got {
            Ok(a) => a.properties.principal_id,
            Err(e) if e.is_not_found() => None,
            Err(e) => return self.tally.error("get assignment", &e),
        };
        if principal.as_ref() != self.assignments.get(name) {
            let want = self.assignments.get(name);
            (self.tally).violation(format!(
                "assignment {name}: read {principal:?}, not {want:?}"
            ));
        }
    }

    async fn create(&mut self) {
        let name = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            self.rng.below(1 << 32),
            self.rng.below(1 << 48)
        );
        let principal = format!("{}-{}", self.prefix, self.calls);
        let options = CreateRoleAssignmentOptions {
            name: Some(name.clone()),
            ..Default::default()
        };
        self.call();
        let created = (self.clients.access)
            .create_role_assignment(
                KeyVaultRoleScope::Global,
                &self.role,
                &principal,
                Some(options),
            )
            .await;
        match created {
            Ok(a) => assert_eq!(
                a.properties.principal_id.as_deref(),
                Some(principal.as_str())
            ),
            // The PUT was applied, its answer lost, and the retry met it.
            Err(e) if met_its_earlier_try(&e) => self.tally.earlier_try(),
            Err(e) => return self.tally.error("create assignment", &e),
        }
        self.assignments.insert(name.clone(), principal);
        self.get(&name).await;
    }

    async fn delete(&mut self, name: &str) {
        self.call();
        let deleted = (self.clients.access)
            .delete_role_assignment(KeyVaultRoleScope::Global, name, None)
            .await;
        match deleted {
            // A 404 of a retry is already an answer of success.
            Ok(()) => {}
            Err(e) => return self.tally.error("delete assignment", &e),
        }
        self.assignments.remove(name);
        self.get(name).await;
    }

    async fn list(&mut self) {
        self.call();
        let listed: Result<Vec<_>, _> = (self.clients.access)
            .list_role_assignments(KeyVaultRoleScope::Global, None)
            .try_collect()
            .await;
        let listed = match listed {
            Ok(l) => l,
            Err(e) => return self.tally.error("list assignments", &e),
        };
        let mine: BTreeMap<String, String> = (listed.into_iter())
            .filter_map(|a| Some((a.name, a.properties.principal_id?)))
            .filter(|(_, p)| p.starts_with(&format!("{}-", self.prefix)))
            .collect();
        if mine != self.assignments {
            let want = &self.assignments;
            (self.tally).violation(format!("{}: listed {mine:?}, not {want:?}", self.prefix));
        }
    }

    async fn read_setting(&mut self, allowed: &[bool]) {
        self.call();
        match self.clients.settings.get_setting(ARM, None).await {
            Ok(s) => {
                let seen = s.as_bool().expect("a boolean");
                if !allowed.contains(&seen) {
                    (self.tally).violation(format!("{ARM}: read {seen}, allowed {allowed:?}"));
                }
                self.setting = Some(seen);
            }
            Err(e) => self.tally.error("get setting", &e),
        }
    }

    /// Flips the setting. A PATCH is not sent again by the client once its
    /// body may have reached the service: the caller reads what happened
    /// (either value is allowed) and sends the same change again.
    async fn flip_setting(&mut self) {
        let Some(old) = self.setting else {
            return self.read_setting(&[true, false]).await;
        };
        let new = !old;
        for _ in 0..5 {
            self.call();
            let setting = KeyVaultSetting::boolean(ARM, new);
            match self.clients.settings.update_setting(&setting, None).await {
                Ok(s) => {
                    assert_eq!(s.as_bool().ok(), Some(new));
                    self.setting = Some(new);
                    return self.read_setting(&[new]).await;
                }
                Err(e) if no_answer(&e) => {
                    self.tally.unknown();
                    self.read_setting(&[old, new]).await;
                    self.tally.resent();
                }
                Err(e) => return self.tally.error("update setting", &e),
            }
        }
    }

    async fn run(mut self, calls: usize, settings: bool) -> Self {
        if settings {
            self.read_setting(&[true, false]).await;
        }
        while self.calls < calls {
            let names: Vec<String> = self.assignments.keys().cloned().collect();
            let pick = self.rng.below(100);
            match (pick, names.is_empty()) {
                (0..40, _) | (_, true) => self.create().await,
                (40..60, _) => {
                    let name = &names[self.rng.below(names.len() as u64) as usize];
                    self.get(name).await;
                }
                (60..80, _) => {
                    let name = &names[self.rng.below(names.len() as u64) as usize];
                    self.delete(name).await;
                }
                (80..90, _) => self.list().await,
                _ if settings => self.flip_setting().await,
                _ => self.list().await,
            }
        }
        self
    }
}

/// Starts a job until it is accepted: a POST whose answer was lost may or
/// may not have started one, and another one is harmless. Returns the job's
/// result.
async fn until_started<T, P>(
    tally: &Tally,
    what: &str,
    start: impl AsyncFn() -> keyvault_administration::Result<P>,
) -> Option<T>
where
    P: IntoFuture<Output = keyvault_administration::Result<T>>,
{
    for _ in 0..5 {
        tally.call();
        match start().await {
            Ok(poller) => match poller.await {
                Ok(done) => return Some(done),
                Err(e) => {
                    tally.error(what, &e);
                    return None;
                }
            },
            Err(e) if no_answer(&e) => {
                tally.unknown();
                tally.resent();
            }
            Err(e) => {
                tally.error(what, &e);
                return None;
            }
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn administration_under_faults_loses_no_acknowledged_write() {
    let calls = soak::ops(1_000) / 10;
    let az = Azurite::start();
    let sas = account_sas("rwdlac");
    let container = create_container(&az, "soak", &sas).await;
    let emu = Emulator::builder()
        .faults(soak::plan(43))
        .start()
        .await
        .expect("emulator starts");
    let clients = Clients::new(&emu);
    let role = (clients
        .access
        .list_role_definitions(KeyVaultRoleScope::Global, None))
    .try_collect::<Vec<_>>()
    .await
    .expect("role definitions")
    .into_iter()
    .find(|r| r.role_name.as_deref() == Some(CRYPTO_USER))
    .expect("the crypto user role")
    .id
    .as_str()
    .to_owned();
    let tally = Arc::new(Tally::default());
    let retries = Retries::default();
    let started = Instant::now();

    // Assignments and the setting from concurrent tasks.
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..TASKS {
        let task = Task {
            clients: clients.clone(),
            tally: tally.clone(),
            role: role.clone(),
            prefix: format!("soak-p{t}"),
            assignments: BTreeMap::new(),
            setting: None,
            rng: Rng::new(100 + t as u64),
            calls: 0,
        };
        let share = calls / TASKS + 1;
        tasks.spawn(task.run(share, t == 0).with_subscriber(retries.dispatch()));
    }
    let mut done = Vec::new();
    while let Some(task) = tasks.join_next().await {
        done.push(task.expect("a task panicked"));
    }
    done.sort_by(|a, b| a.prefix.cmp(&b.prefix));

    // A full backup of that state; changes; a full restore undoes them.
    let snapshot: Vec<_> = (done.iter())
        .map(|t| (t.assignments.clone(), t.setting))
        .collect();
    let sas_auth = || BackupAuth::sas_token(sas.clone());
    let backup = until_started(&tally, "backup", async || {
        clients
            .backup
            .begin_backup(&container, sas_auth(), fast())
            .await
    })
    .with_subscriber(retries.dispatch())
    .await;
    let first = &mut done[0];
    for _ in 0..3 {
        first.create().with_subscriber(retries.dispatch()).await;
    }
    first
        .flip_setting()
        .with_subscriber(retries.dispatch())
        .await;
    if let Some(backup) = &backup {
        let options = || {
            Some(RestoreOptions {
                frequency: Some(Duration::from_millis(50)),
                ..Default::default()
            })
        };
        let restored = until_started(&tally, "restore", async || {
            (clients.backup)
                .begin_restore(&backup.folder_url, sas_auth(), options())
                .await
        })
        .with_subscriber(retries.dispatch())
        .await;
        if restored.is_some() {
            for (task, (assignments, setting)) in done.iter_mut().zip(&snapshot) {
                task.assignments = assignments.clone();
                task.setting = *setting;
            }
        }
    }
    let faults = emu.fault_counts();
    let report = tally.report(
        &format!("administration, {TASKS} tasks"),
        started.elapsed(),
        &faults,
        retries.count(),
    );

    // With faults off, the HSM holds exactly what the model says.
    emu.set_fault_plan(None).unwrap();
    let before = tally.errors().len();
    let mut held = 0;
    for task in &mut done {
        held += task.assignments.len();
        task.list().await;
        if let Some(setting) = task.setting {
            task.read_setting(&[setting]).await;
        }
    }
    let lost = tally.errors().len() - before;

    println!(
        "{}; backup and restore: {}; final model: {held} role assignments and the setting, \
         {lost} acknowledged writes lost",
        report,
        if backup.is_some() { "done" } else { "FAILED" },
    );
    let errors = tally.errors();
    assert!(backup.is_some(), "{errors:#?}");
    assert!(tally.calls() as usize >= calls);
    assert!(faults.total() > 0 && retries.count() > 0);
    assert!(
        errors.is_empty(),
        "errors surfaced to the caller: {errors:#?}"
    );
    emu.shutdown().await;
}
