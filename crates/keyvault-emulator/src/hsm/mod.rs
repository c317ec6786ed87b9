//! The Managed HSM endpoint: role-based access control (role definitions and
//! assignments, and their enforcement), account settings, keys (the subset a
//! backup needs), and full backup / restore jobs against Azure Blob Storage.
//!
//! Keys live in a [`Collection`], the rest in one [`State`] behind a mutex.
//! Every change is committed to the [`Store`] before it is applied in memory
//! and before the answer is sent. Writers of the state take turns (they hold
//! the right to write it from their checks to the apply), but not its lock
//! while their commit runs, so reads and access checks never wait on one. A full restore commits the whole new
//! state in one transaction and only then swaps it in, so a failed restore
//! changes nothing.

mod access;
mod blob;
mod job_ops;
mod jobs;
pub(crate) mod keys;
pub(crate) mod rbac;
pub(crate) mod settings;

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use crate::api_version::ApiVersion;
use crate::clock::Clock;
use crate::error::{ServiceError, empty_response};
use crate::objects::{Attributes, Collection, Found, Kind, Retention, new_version_id};
use crate::server::{HttpResponse, Request, percent_decode};
use crate::service::{self, Ctx, Result, Route, Service, ok};
use crate::store::{
    HSM_JOBS, HSM_KEYS, HSM_ROLE_ASSIGNMENTS, HSM_ROLE_DEFINITIONS, HSM_SETTINGS, Op, Store, Table,
    records,
};
pub(crate) use blob::StorageConfig;
use jobs::{Job, JobKind};
use keys::{KeyVersion, StoredKey};
use rbac::{RoleAssignment, RoleDefinition, action};

/// What the HSM's key collection holds.
const KEYS: Kind = Kind {
    noun: "key",
    title: "Key",
    not_found_code: "KeyNotFound",
    path: "keys",
    deleted_path: "deletedkeys",
    purge_protected: |name| {
        format!(
            "Operation \"purge\" is not allowed because purge protection is enabled for this HSM. Key {name} will be purged automatically after the retention period."
        )
    },
};

/// Whether the HSM endpoint enforces role-based access control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RbacMode {
    /// Every authenticated caller may do everything (the default).
    #[default]
    Off,
    /// Each call is checked against the caller's role assignments (the
    /// caller is the `oid` of its JWT, so this needs [`AuthMode::Jwt`](crate::AuthMode::Jwt)).
    Enforce,
}

impl FromStr for RbacMode {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "off" => Ok(RbacMode::Off),
            "enforce" => Ok(RbacMode::Enforce),
            other => Err(format!(
                "unknown RBAC mode {other:?} (expected off or enforce)"
            )),
        }
    }
}

/// The HSM's state besides its keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct State {
    /// Custom role definitions by lower-case GUID.
    pub(crate) definitions: BTreeMap<String, RoleDefinition>,
    /// Role assignments by lower-case name.
    pub(crate) assignments: BTreeMap<String, RoleAssignment>,
    /// Settings that were written, by name.
    pub(crate) settings: BTreeMap<String, String>,
}

/// Everything a full backup holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Snapshot {
    /// Keys (live and deleted) by lower-case name.
    pub(crate) keys: BTreeMap<String, StoredKey>,
    pub(crate) state: State,
}

/// Options of the HSM endpoint.
#[derive(Debug, Clone)]
pub(crate) struct HsmConfig {
    pub(crate) soft_delete: Retention,
    pub(crate) rbac: RbacMode,
    /// Object ids that are Managed HSM Administrators at `/`.
    pub(crate) admins: Vec<String>,
    /// What backup and restore jobs trust and who they are in storage.
    pub(crate) storage: StorageConfig,
}

/// The store tables of one HSM.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tables {
    keys: Table,
    pub(crate) definitions: Table,
    pub(crate) assignments: Table,
    pub(crate) settings: Table,
    jobs: Table,
}

impl Tables {
    fn of(name: &str) -> Self {
        Self {
            keys: HSM_KEYS.of(name),
            definitions: HSM_ROLE_DEFINITIONS.of(name),
            assignments: HSM_ROLE_ASSIGNMENTS.of(name),
            settings: HSM_SETTINGS.of(name),
            jobs: HSM_JOBS.of(name),
        }
    }
}

/// A Managed HSM of the emulator.
pub(crate) struct Hsm {
    /// The HSM's name (lower case).
    name: String,
    pub(crate) tables: Tables,
    pub(crate) keys: Collection<KeyVersion>,
    state: Mutex<State>,
    /// Held by a writer of `state` from its checks to the apply.
    writes: Mutex<()>,
    jobs: Mutex<BTreeMap<String, Job>>,
    pub(crate) store: Arc<Store>,
    clock: Clock,
    config: HsmConfig,
    backup_key: [u8; 32],
    runtime: tokio::runtime::Handle,
    storage: blob::Storage,
    /// Running job tasks, stopped on shutdown.
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Hsm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hsm")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The HSM's name as it appears in backup folder names: the first label of
/// the host the client called.
fn hsm_name(base_url: &str) -> String {
    let host = base_url
        .trim_start_matches("https://")
        .split([':', '/'])
        .next()
        .unwrap_or_default();
    let label: String = host
        .split('.')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    if label.is_empty() {
        "emulator".into()
    } else {
        label
    }
}

impl Hsm {
    /// Loads the HSM's state and jobs from `store`. Jobs that were running
    /// when the emulator stopped are marked failed.
    pub(crate) fn open(
        name: &str,
        store: Arc<Store>,
        clock: Clock,
        config: HsmConfig,
        backup_key: [u8; 32],
    ) -> std::result::Result<Arc<Self>, crate::Error> {
        let tables = Tables::of(name);
        let keys = Collection::open(
            &KEYS,
            tables.keys,
            store.clone(),
            clock.clone(),
            config.soft_delete,
        )?;
        let state = State {
            definitions: records(&store, tables.definitions)?,
            assignments: records(&store, tables.assignments)?,
            settings: records::<String>(&store, tables.settings)?,
        };
        let mut jobs: BTreeMap<String, Job> = records(&store, tables.jobs)?;
        let now = clock.now();
        let ops = jobs::fail_interrupted(jobs.values_mut(), now)
            .into_iter()
            .map(|job| {
                let record = serde_json::to_vec(job).unwrap_or_default();
                Op::Put(tables.jobs, job.id.clone(), record)
            })
            .collect();
        store.commit(ops)?;
        let storage = blob::Storage::new(&config.storage)?;
        let hsm = Arc::new(Self {
            name: name.to_owned(),
            tables,
            keys,
            state: Mutex::new(state),
            writes: Mutex::new(()),
            jobs: Mutex::new(jobs),
            store,
            clock,
            config,
            backup_key,
            runtime: tokio::runtime::Handle::current(),
            storage,
            tasks: Mutex::new(Vec::new()),
        });
        hsm.ensure_admin_assignments()?;
        Ok(hsm)
    }

    /// Gives each `--hsm-admin` a visible Administrator assignment at `/`.
    fn ensure_admin_assignments(&self) -> std::result::Result<(), crate::Error> {
        let mut state = self.lock();
        let mut ops = Vec::new();
        let mut added = Vec::new();
        for oid in &self.config.admins {
            let name = rbac::guid_from(&format!("hsm-admin:{oid}"));
            if state.assignments.contains_key(&name) {
                continue;
            }
            let a = RoleAssignment {
                name: name.clone(),
                scope: "/".into(),
                role: rbac::ADMINISTRATOR.into(),
                principal_id: oid.clone(),
            };
            ops.push(Op::Put(
                self.tables.assignments,
                name.clone(),
                serde_json::to_vec(&a).unwrap_or_default(),
            ));
            added.push((name, a));
        }
        self.store.commit(ops)?;
        state.assignments.extend(added);
        Ok(())
    }

    /// Runs a job task in the background (stopped by [`Hsm::stop_jobs`]).
    fn spawn_job(&self, job: impl Future<Output = ()> + Send + 'static) {
        let handle = self.runtime.spawn(job);
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }

    /// Stops running jobs and waits until they are gone. Their durable state
    /// stays `InProgress`; the next start reports them as failed.
    pub(crate) async fn stop_jobs(&self) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for t in tasks {
            t.abort();
            let _ = t.await;
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The right to write the state (taken before its lock, never while
    /// holding it).
    pub(crate) fn lock_writes(&self) -> MutexGuard<'_, ()> {
        self.writes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_jobs(&self) -> MutexGuard<'_, BTreeMap<String, Job>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The keys and the rest of the state, as one consistent snapshot.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let state = self.lock();
        Snapshot {
            keys: self.keys.snapshot(),
            state: state.clone(),
        }
    }

    /// Checks that `caller` may read the emulator's export, which holds
    /// every key: as whoever may start a full backup.
    pub(crate) fn authorize_export(&self, caller: Option<&str>) -> Result<()> {
        self.authorize(caller, action::BACKUP_START, "/")
    }

    /// Checks that `caller` may perform `action` at `scope`.
    fn authorize(&self, caller: Option<&str>, action: &str, scope: &str) -> Result<()> {
        if self.config.rbac == RbacMode::Off {
            return Ok(());
        }
        let denied = || {
            ServiceError::new(
                403,
                "ForbiddenByRbac",
                format!(
                    "Caller is not authorized to perform action on resource. Caller: oid={}. Action: '{action}'. Resource: '{scope}'. If role assignments were recently changed, please wait several minutes for role assignments to become effective.",
                    caller.unwrap_or("<none>")
                ),
            )
        };
        let Some(oid) = caller else {
            return Err(denied());
        };
        let builtins = rbac::built_in();
        if self
            .config
            .admins
            .iter()
            .any(|a| a.eq_ignore_ascii_case(oid))
            && builtins
                .iter()
                .any(|d| d.name == rbac::ADMINISTRATOR && rbac::grants(d, action))
        {
            return Ok(());
        }
        let state = self.lock();
        let allowed = state
            .assignments
            .values()
            .filter(|a| a.principal_id.eq_ignore_ascii_case(oid))
            .filter(|a| rbac::scope_covers(&a.scope, scope))
            .any(|a| {
                builtins
                    .iter()
                    .find(|d| d.name.eq_ignore_ascii_case(&a.role))
                    .or_else(|| state.definitions.get(&a.role))
                    .is_some_and(|d| rbac::grants(d, action))
            });
        if allowed { Ok(()) } else { Err(denied()) }
    }
}

const RBAC_PREFIX: &str = "/providers/microsoft.authorization/";

impl Service for Hsm {
    const NOUN: &'static str = KEYS.noun;
    #[rustfmt::skip]
    const ROUTES: &'static [Route<Self>] = &[
        ("GET", "/backup/{id}/pending", action::BACKUP_STATUS, |h, c| h.job_status(c.name(), true)),
        ("GET", "/restore/{id}/pending", action::RESTORE_STATUS, |h, c| h.job_status(c.name(), false)),
        ("GET", "/settings/", action::DEFINITIONS_READ, |h, _| ok(h.list_settings())),
        ("GET", "/settings/{setting}", action::DEFINITIONS_READ, |h, c| ok(h.get_setting(c.name())?)),
        ("PATCH", "/settings/{setting}", action::DEFINITIONS_WRITE, |h, c| ok(h.update_setting(c.name(), &c.req.body)?)),
        ("POST", "/backup", action::BACKUP_START, |h, c| h.start_backup(c, false)),
        ("POST", "/prebackup", action::BACKUP_START, |h, c| h.start_backup(c, true)),
        ("PUT", "/restore", action::RESTORE_START, |h, c| h.start_restore(c, JobKind::Restore)),
        ("PUT", "/prerestore", action::RESTORE_START, |h, c| h.start_restore(c, JobKind::PreRestore)),
        ("GET", "/keys/", action::KEYS_READ, |h, c| ok(h.keys.list(c.req, c.api, false)?)),
        ("POST", "/keys/{name}/create", action::KEYS_CREATE, Self::create_key),
        // Either an HSM-wide restore right or the key's own (checked by the handler).
        ("PUT", "/keys/{name}/restore", "", |h, c| h.start_restore(c, JobKind::SelectiveRestore)),
        ("GET", "/keys/{name}/versions", action::KEYS_READ, |h, c| ok(h.keys.list_versions(c.req, c.api, c.name())?)),
        ("GET", "/keys/{name}", action::KEYS_READ, Self::get_key),
        ("PATCH", "/keys/{name}", action::KEYS_WRITE, Self::update_key),
        ("DELETE", "/keys/{name}", action::KEYS_DELETE, |h, c| h.answer(c, h.keys.delete(c.name())?)),
        ("GET", "/keys/{name}/{version}", action::KEYS_READ, Self::get_key),
        ("PATCH", "/keys/{name}/{version}", action::KEYS_WRITE, Self::update_key),
        ("GET", "/deletedkeys/", action::DELETED_READ, |h, c| ok(h.keys.list(c.req, c.api, true)?)),
        ("GET", "/deletedkeys/{name}", action::DELETED_READ, |h, c| h.answer(c, h.keys.get_deleted(c.name())?)),
        ("DELETE", "/deletedkeys/{name}", action::DELETED_PURGE, |h, c| h.keys.purge(c.name()).map(|()| empty_response(204))),
        ("POST", "/deletedkeys/{name}/recover", action::DELETED_RECOVER, |h, c| h.answer(c, h.keys.recover(c.name())?)),
    ];

    fn sweep(&self) {
        self.keys.sweep();
    }

    /// Job status: Python polls the `Azure-AsyncOperation` URL as given,
    /// without an `api-version`.
    fn version_optional(&self, req: &Request) -> bool {
        let segs: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
        matches!(segs.as_slice(), ["backup" | "restore", _, "pending"])
    }

    /// The scope is the key's (`/keys/{name}`), all keys' (`/keys`) or the
    /// HSM's (`/`).
    fn check_access(&self, c: &Ctx<'_>, pattern: &str, action: &'static str) -> Result<()> {
        if action.is_empty() {
            return Ok(());
        }
        let scope = if pattern.contains("{name}") {
            format!("/keys/{}", c.name())
        } else if pattern.starts_with("/keys") || pattern.starts_with("/deletedkeys") {
            "/keys".into()
        } else {
            "/".into()
        };
        self.authorize(c.caller, action, &scope)
    }

    /// Role definitions and assignments live under any scope; the rest is
    /// the route table's.
    fn serve(self: &Arc<Self>, c: Ctx<'_>) -> Result<HttpResponse> {
        let raw_path = c.req.path.as_str();
        if let Some(i) = raw_path.to_ascii_lowercase().find(RBAC_PREFIX) {
            let scope = rbac::normalize_scope(&percent_decode(&raw_path[..i], false))?;
            let rest = &raw_path[i + RBAC_PREFIX.len()..];
            let parts: Vec<String> = rest.split('/').map(|s| percent_decode(s, false)).collect();
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            return self.route_rbac(&c, &scope, &parts);
        }
        service::route(self, c)
    }
}

/// The key operations that are more than one call to the collection.
impl Hsm {
    fn answer(&self, c: &Ctx<'_>, f: Found<KeyVersion>) -> Result<HttpResponse> {
        ok(Value::Object(
            self.keys.bundle(&self.keys.render(c.req, c.api), &f),
        ))
    }

    fn create_key(self: &Arc<Self>, c: &Ctx<'_>) -> Result<HttpResponse> {
        let body = keys::parse_create(&c.req.body)?;
        self.keys.check_not_deleted(c.name())?;
        // Generate outside the lock: RSA takes a while.
        let (kty, default_ops, public, private) = keys::generate(&body.spec)?;
        let now = self.clock.now();
        let f = self.keys.create(c.name(), |_| KeyVersion {
            version: new_version_id(),
            kty: kty.into(),
            key_ops: body.key_ops.unwrap_or(default_ops),
            public,
            private,
            attributes: Attributes::new(&body.props, now),
            tags: body.props.tags,
        })?;
        self.answer(c, f)
    }

    fn get_key(self: &Arc<Self>, c: &Ctx<'_>) -> Result<HttpResponse> {
        self.answer(c, self.keys.get(c.name(), c.version())?)
    }

    fn update_key(self: &Arc<Self>, c: &Ctx<'_>) -> Result<HttpResponse> {
        let (props, ops) = keys::parse_update(&c.req.body)?;
        let now = self.clock.now();
        let f = self.keys.update(c.name(), c.version(), |v| {
            if let Some(ops) = ops {
                v.key_ops = ops;
            }
            v.attributes.update(&props, now);
            if let Some(tags) = props.tags {
                v.tags = Some(tags);
            }
        })?;
        self.answer(c, f)
    }
}

/// Refuses an operation that `api` does not have yet.
pub(super) fn require(api: ApiVersion, min: ApiVersion, what: &str) -> Result<()> {
    if api.at_least(min) {
        Ok(())
    } else {
        Err(ServiceError::bad_parameter(format!(
            "The operation '{what}' is not available in api-version {}; it needs {} or later.",
            api.as_str(),
            min.as_str()
        )))
    }
}

/// Object ids, deduplicated, in order.
pub(crate) fn dedup(ids: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    ids.iter()
        .filter(|i| seen.insert(i.to_ascii_lowercase()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsm_names() {
        assert_eq!(hsm_name("https://localhost:8444"), "localhost");
        assert_eq!(hsm_name("https://myhsm.managedhsm.azure.net"), "myhsm");
        assert_eq!(hsm_name("https://[::1]:1"), "emulator");
    }

    #[test]
    fn rbac_modes() {
        assert_eq!("enforce".parse::<RbacMode>().unwrap(), RbacMode::Enforce);
        assert!("on".parse::<RbacMode>().is_err());
        assert_eq!(dedup(&["A".into(), "a".into(), "b".into()]).len(), 2);
    }
}
