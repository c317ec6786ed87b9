//! The Managed HSM endpoint: role-based access control (role definitions and
//! assignments, and their enforcement), account settings, keys (the subset a
//! backup needs), and full backup / restore jobs against Azure Blob Storage.
//!
//! State lives in memory in one [`State`] behind a mutex. Every change is
//! committed to the [`Store`] before it is applied in memory and before the
//! answer is sent. A full restore commits the whole new state in one
//! transaction and only then swaps it in, so a failed restore changes
//! nothing.

mod access;
mod blob;
mod job_ops;
mod jobs;
mod key_ops;
mod keys;
mod rbac;
mod settings;

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};

use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::admin::{self, Admin};
use crate::api_version::ApiVersion;
use crate::auth::Authenticator;
use crate::error::{ServiceError, empty_response, json_response};
use crate::server::{Handler, HttpResponse, Request, percent_decode};
use crate::service::{self, check_name, load};
pub(super) use crate::service::{encode, method_not_allowed};
use crate::store::{
    HSM_JOBS, HSM_KEYS, HSM_ROLE_ASSIGNMENTS, HSM_ROLE_DEFINITIONS, HSM_SETTINGS, Op, Store,
};
use crate::vault::VaultSettings;
use jobs::{Job, JobKind};
use keys::StoredKey;
use rbac::{RoleAssignment, RoleDefinition, action};

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

/// Everything a full backup holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct State {
    /// Keys by lower-case name.
    pub(crate) keys: BTreeMap<String, StoredKey>,
    /// Custom role definitions by lower-case GUID.
    pub(crate) definitions: BTreeMap<String, RoleDefinition>,
    /// Role assignments by lower-case name.
    pub(crate) assignments: BTreeMap<String, RoleAssignment>,
    /// Settings that were written, by name.
    pub(crate) settings: BTreeMap<String, String>,
}

/// Options of the HSM endpoint.
#[derive(Debug, Clone)]
pub(crate) struct HsmConfig {
    pub(crate) soft_delete: VaultSettings,
    pub(crate) rbac: RbacMode,
    /// Object ids that are Managed HSM Administrators at `/`.
    pub(crate) admins: Vec<String>,
}

/// The Managed HSM service of one emulator.
pub(crate) struct Hsm {
    state: Mutex<State>,
    jobs: Mutex<BTreeMap<String, Job>>,
    store: Arc<Store>,
    admin: Arc<Admin>,
    config: HsmConfig,
    backup_key: [u8; 32],
    auth: Authenticator,
    admin_routes: bool,
    runtime: tokio::runtime::Handle,
    storage: reqwest::Client,
    /// Running job tasks, stopped on shutdown.
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Hsm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hsm")
    }
}

type Result<T> = std::result::Result<T, ServiceError>;

/// The RBAC scope of the key `name` (`/keys/{name}`), once the name is
/// checked.
fn key_scope(name: &str) -> Result<String> {
    check_name("key", name)?;
    Ok(format!("/keys/{name}"))
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
        store: Arc<Store>,
        admin: Arc<Admin>,
        config: HsmConfig,
        backup_key: [u8; 32],
        auth: Authenticator,
        admin_routes: bool,
    ) -> std::result::Result<Arc<Self>, crate::Error> {
        let state = State {
            keys: load(&store, HSM_KEYS)?,
            definitions: load(&store, HSM_ROLE_DEFINITIONS)?,
            assignments: load(&store, HSM_ROLE_ASSIGNMENTS)?,
            settings: load::<String>(&store, HSM_SETTINGS)?,
        };
        let mut jobs: BTreeMap<String, Job> = load(&store, HSM_JOBS)?;
        let now = admin.clock.now();
        let mut ops = Vec::new();
        for job in jobs.values_mut().filter(|j| j.status == "InProgress") {
            job.status = "Failed".into();
            job.end = Some(now);
            job.error = Some((
                "JobInterrupted".into(),
                "The emulator stopped while this job was running; start it again.".into(),
            ));
            ops.push(Op::Put(
                HSM_JOBS,
                job.id.clone(),
                serde_json::to_vec(job).unwrap_or_default(),
            ));
        }
        store.commit(ops)?;
        let hsm = Arc::new(Self {
            state: Mutex::new(state),
            jobs: Mutex::new(jobs),
            store,
            admin: admin.clone(),
            config,
            backup_key,
            auth,
            admin_routes,
            runtime: tokio::runtime::Handle::current(),
            storage: blob::client()?,
            tasks: Mutex::new(Vec::new()),
        });
        hsm.ensure_admin_assignments()?;
        let weak = Arc::downgrade(&hsm);
        admin.on_advance(Box::new(move || {
            if let Some(h) = weak.upgrade() {
                h.sweep();
            }
        }));
        hsm.sweep();
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
                HSM_ROLE_ASSIGNMENTS,
                name.clone(),
                serde_json::to_vec(&a).unwrap_or_default(),
            ));
            added.push((name, a));
        }
        self.store.commit(ops)?;
        state.assignments.extend(added);
        Ok(())
    }

    /// The endpoint handler (requests run on the blocking pool).
    pub(crate) fn handler(self: &Arc<Self>) -> Handler {
        service::blocking_handler(self, Self::handle)
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

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_jobs(&self) -> MutexGuard<'_, BTreeMap<String, Job>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn commit(&self, ops: Vec<Op>) -> Result<()> {
        service::commit(&self.store, ops)
    }

    /// Purges deleted keys whose scheduled purge date has passed.
    pub(crate) fn sweep(&self) {
        let now = self.admin.clock.now();
        let mut state = self.lock();
        let due: Vec<String> = state
            .keys
            .iter()
            .filter(|(_, k)| k.deleted.is_some_and(|d| d.scheduled_purge_date <= now))
            .map(|(n, _)| n.clone())
            .collect();
        if due.is_empty() {
            return;
        }
        let ops = due
            .iter()
            .map(|k| Op::Delete(HSM_KEYS, k.clone()))
            .collect();
        match self.store.commit(ops) {
            Ok(()) => {
                for k in &due {
                    state.keys.remove(k);
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot purge due keys"),
        }
    }

    /// Serves one request.
    pub(crate) fn handle(self: &Arc<Self>, req: Request) -> HttpResponse {
        if self.admin_routes && req.path.starts_with(admin::PREFIX) {
            return self.admin.handle(&req);
        }
        let caller = match service::authenticate(&self.auth, &req) {
            Ok(caller) => caller,
            Err(resp) => return *resp,
        };
        self.sweep();
        let resp = self
            .route(&req, caller.as_deref())
            .unwrap_or_else(|e| e.into_response());
        service::with_caller(resp, caller)
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

    fn route(self: &Arc<Self>, req: &Request, caller: Option<&str>) -> Result<HttpResponse> {
        let raw_path = req.path.as_str();
        // Job status: Python polls the Azure-AsyncOperation URL as given,
        // without an api-version.
        let segs = service::segments(raw_path);
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        if let [area @ ("backup" | "restore"), id, "pending"] = segs.as_slice() {
            if req.method != Method::GET {
                return Ok(method_not_allowed("GET"));
            }
            if let Some(v) = req.query("api-version") {
                ApiVersion::parse(Some(v))?;
            }
            let is_backup = *area == "backup";
            let act = if is_backup {
                action::BACKUP_STATUS
            } else {
                action::RESTORE_STATUS
            };
            self.authorize(caller, act, "/")?;
            return self.job_status(id, is_backup);
        }
        let api = ApiVersion::parse(req.query("api-version"))?;
        let lower = raw_path.to_ascii_lowercase();
        if let Some(i) = lower.find("/providers/microsoft.authorization/") {
            let scope = rbac::normalize_scope(&percent_decode(&raw_path[..i], false))?;
            let rest = &raw_path[i + "/providers/microsoft.authorization/".len()..];
            let parts: Vec<String> = rest.split('/').map(|s| percent_decode(s, false)).collect();
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            return self.route_rbac(req, caller, &scope, &parts);
        }
        let m = &req.method;
        let ok = |v: Value| Ok(json_response(200, &v));
        match segs.as_slice() {
            ["settings"] | ["settings", ""] => match *m {
                Method::GET => {
                    self.authorize(caller, action::DEFINITIONS_READ, "/")?;
                    ok(self.list_settings())
                }
                _ => Ok(method_not_allowed("GET")),
            },
            ["settings", name] => match *m {
                Method::GET => {
                    self.authorize(caller, action::DEFINITIONS_READ, "/")?;
                    ok(self.get_setting(name)?)
                }
                Method::PATCH => {
                    self.authorize(caller, action::DEFINITIONS_WRITE, "/")?;
                    ok(self.update_setting(name, &req.body)?)
                }
                _ => Ok(method_not_allowed("GET, PATCH")),
            },
            ["backup"] => match *m {
                Method::POST => {
                    self.authorize(caller, action::BACKUP_START, "/")?;
                    self.start_backup(req, false)
                }
                _ => Ok(method_not_allowed("POST")),
            },
            ["prebackup"] => match *m {
                Method::POST => {
                    self.require(api, ApiVersion::V7_6_PREVIEW_2, "prebackup")?;
                    self.authorize(caller, action::BACKUP_START, "/")?;
                    self.start_backup(req, true)
                }
                _ => Ok(method_not_allowed("POST")),
            },
            ["restore"] => match *m {
                Method::PUT => {
                    self.authorize(caller, action::RESTORE_START, "/")?;
                    self.start_restore(req, JobKind::Restore, None)
                }
                _ => Ok(method_not_allowed("PUT")),
            },
            ["prerestore"] => match *m {
                Method::PUT => {
                    self.require(api, ApiVersion::V7_6_PREVIEW_2, "prerestore")?;
                    self.authorize(caller, action::RESTORE_START, "/")?;
                    self.start_restore(req, JobKind::PreRestore, None)
                }
                _ => Ok(method_not_allowed("PUT")),
            },
            ["keys"] | ["keys", ""] => match *m {
                Method::GET => {
                    self.authorize(caller, action::KEYS_READ, "/keys")?;
                    ok(self.list_keys(req, api)?)
                }
                _ => Ok(method_not_allowed("GET")),
            },
            ["keys", name, "create"] => match *m {
                Method::POST => {
                    self.authorize(caller, action::KEYS_CREATE, &key_scope(name)?)?;
                    ok(self.create_key(req, api, name)?)
                }
                _ => Ok(method_not_allowed("POST")),
            },
            ["keys", name, "restore"] => match *m {
                Method::PUT => {
                    let scope = key_scope(name)?;
                    // Either an HSM-wide restore right or the key's own.
                    self.authorize(caller, action::RESTORE_START, "/")
                        .or_else(|_| self.authorize(caller, action::KEYS_RESTORE, &scope))?;
                    self.start_restore(req, JobKind::SelectiveRestore, Some(name))
                }
                _ => Ok(method_not_allowed("PUT")),
            },
            ["keys", name, "versions"] => match *m {
                Method::GET => {
                    self.authorize(caller, action::KEYS_READ, &key_scope(name)?)?;
                    ok(self.list_key_versions(req, api, name)?)
                }
                _ => Ok(method_not_allowed("GET")),
            },
            ["keys", name] => self.route_key(req, api, caller, name, None),
            ["keys", name, version] => self.route_key(req, api, caller, name, Some(version)),
            ["deletedkeys"] | ["deletedkeys", ""] => match *m {
                Method::GET => {
                    self.authorize(caller, action::DELETED_READ, "/keys")?;
                    ok(self.list_deleted(req, api)?)
                }
                _ => Ok(method_not_allowed("GET")),
            },
            ["deletedkeys", name] => {
                let scope = key_scope(name)?;
                match *m {
                    Method::GET => {
                        self.authorize(caller, action::DELETED_READ, &scope)?;
                        ok(self.get_deleted(req, api, name)?)
                    }
                    Method::DELETE => {
                        self.authorize(caller, action::DELETED_PURGE, &scope)?;
                        self.purge(name)?;
                        Ok(empty_response(204))
                    }
                    _ => Ok(method_not_allowed("GET, DELETE")),
                }
            }
            ["deletedkeys", name, "recover"] => match *m {
                Method::POST => {
                    self.authorize(caller, action::DELETED_RECOVER, &key_scope(name)?)?;
                    ok(self.recover(req, api, name)?)
                }
                _ => Ok(method_not_allowed("POST")),
            },
            _ => Err(service::no_route(req)),
        }
    }

    /// `/keys/{name}` (get, update, delete) and `/keys/{name}/{version}`
    /// (get, update).
    fn route_key(
        &self,
        req: &Request,
        api: ApiVersion,
        caller: Option<&str>,
        name: &str,
        version: Option<&str>,
    ) -> Result<HttpResponse> {
        let scope = key_scope(name)?;
        let v = version.unwrap_or_default();
        let value = match req.method {
            Method::GET => {
                self.authorize(caller, action::KEYS_READ, &scope)?;
                self.get_key(req, api, name, v)?
            }
            Method::PATCH => {
                self.authorize(caller, action::KEYS_WRITE, &scope)?;
                self.update_key(req, api, name, v)?
            }
            Method::DELETE if version.is_none() => {
                self.authorize(caller, action::KEYS_DELETE, &scope)?;
                self.delete_key(req, api, name)?
            }
            _ if version.is_none() => return Ok(method_not_allowed("GET, PATCH, DELETE")),
            _ => return Ok(method_not_allowed("GET, PATCH")),
        };
        Ok(json_response(200, &value))
    }

    fn require(&self, api: ApiVersion, min: ApiVersion, what: &str) -> Result<()> {
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
