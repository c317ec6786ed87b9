//! The Managed HSM endpoint: role-based access control (role definitions and
//! assignments, and their enforcement), account settings, keys (the subset a
//! backup needs), and full backup / restore jobs against Azure Blob Storage.
//!
//! State lives in memory in one [`State`] behind a mutex. Every change is
//! committed to the [`Store`] before it is applied in memory and before the
//! answer is sent. A full restore commits the whole new state in one
//! transaction and only then swaps it in, so a failed restore changes
//! nothing.

mod blob;
mod jobs;
mod keys;
mod rbac;

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};

use http::{HeaderValue, Method, header};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::admin::{self, Admin};
use crate::api_version::ApiVersion;
use crate::auth::Authenticator;
use crate::error::{ServiceError, empty_response, json_response};
use crate::server::{Caller, Handler, HttpResponse, Request, percent_decode};
use crate::store::{
    HSM_JOBS, HSM_KEYS, HSM_ROLE_ASSIGNMENTS, HSM_ROLE_DEFINITIONS, HSM_SETTINGS, Op, Store, Table,
};
use crate::vault::VaultSettings;
use crate::vault::model::{Deletion, valid_name};
use crate::vault::paging;
use jobs::{Job, JobKind};
use keys::{KeyVersion, StoredKey};
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

/// The account settings an HSM has: `(name, type, default value)`.
const SETTINGS: &[(&str, &str, &str)] =
    &[("AllowKeyManagementOperationsThroughARM", "boolean", "false")];

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

fn load<T: serde::de::DeserializeOwned>(
    store: &Store,
    table: Table,
) -> std::result::Result<BTreeMap<String, T>, crate::Error> {
    let mut out = BTreeMap::new();
    for (key, raw) in store.load(table)? {
        match serde_json::from_slice::<T>(&raw) {
            Ok(v) => {
                out.insert(key, v);
            }
            Err(e) => tracing::error!(key, error = %e, "skipping an unreadable HSM record"),
        }
    }
    Ok(out)
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|_| ServiceError::internal("Cannot encode."))
}

fn key_not_found(name: &str) -> ServiceError {
    ServiceError::new(
        404,
        "KeyNotFound",
        format!(
            "A key with (name/id) {name} was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
    )
}

fn deleted_key_not_found(name: &str) -> ServiceError {
    ServiceError::new(404, "KeyNotFound", format!("Deleted Key not found: {name}"))
}

fn method_not_allowed(allow: &'static str) -> HttpResponse {
    let mut resp = ServiceError::new(
        405,
        "MethodNotAllowed",
        format!("The requested method is not allowed on this resource. Allowed: {allow}."),
    )
    .into_response();
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    resp
}

fn check_key_name(name: &str) -> Result<()> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(ServiceError::bad_parameter(format!(
            "The key name '{name}' is invalid: names are 1 to 127 characters of 0-9, a-z, A-Z and '-'."
        )))
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

    /// The endpoint handler: runs each request on the blocking pool, since
    /// durable commits and key generation block.
    pub(crate) fn handler(self: &Arc<Self>) -> Handler {
        let hsm = self.clone();
        Arc::new(move |req: Request| {
            let hsm = hsm.clone();
            Box::pin(async move {
                match tokio::task::spawn_blocking(move || hsm.handle(req)).await {
                    Ok(resp) => resp,
                    Err(_) => ServiceError::internal("The request failed.").into_response(),
                }
            })
        })
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
        self.store.commit(ops).map_err(|e| {
            tracing::error!(error = %e, "durable commit failed");
            ServiceError::internal("The change could not be stored.")
        })
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
        let caller = match self.auth.check(&req.headers) {
            Ok(caller) => caller,
            Err(challenge) => {
                let mut resp = challenge.error.into_response();
                resp.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, challenge.www_authenticate);
                return resp;
            }
        };
        self.sweep();
        let mut resp = self
            .route(&req, caller.as_deref())
            .unwrap_or_else(|e| e.into_response());
        if let Some(oid) = caller {
            resp.extensions_mut().insert(Caller(oid));
        }
        resp
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
        let segs: Vec<String> = raw_path
            .trim_start_matches('/')
            .split('/')
            .map(|s| percent_decode(s, false))
            .collect();
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
                    check_key_name(name)?;
                    self.authorize(caller, action::KEYS_CREATE, &format!("/keys/{name}"))?;
                    ok(self.create_key(req, api, name)?)
                }
                _ => Ok(method_not_allowed("POST")),
            },
            ["keys", name, "restore"] => match *m {
                Method::PUT => {
                    check_key_name(name)?;
                    self.authorize(caller, action::RESTORE_START, "/")?;
                    self.start_restore(req, JobKind::SelectiveRestore, Some(name))
                }
                _ => Ok(method_not_allowed("PUT")),
            },
            ["keys", name, "versions"] => match *m {
                Method::GET => {
                    check_key_name(name)?;
                    self.authorize(caller, action::KEYS_READ, &format!("/keys/{name}"))?;
                    ok(self.list_key_versions(req, api, name)?)
                }
                _ => Ok(method_not_allowed("GET")),
            },
            ["keys", name] => {
                check_key_name(name)?;
                let scope = format!("/keys/{name}");
                match *m {
                    Method::GET => {
                        self.authorize(caller, action::KEYS_READ, &scope)?;
                        ok(self.get_key(req, api, name, "")?)
                    }
                    Method::PATCH => {
                        self.authorize(caller, action::KEYS_WRITE, &scope)?;
                        ok(self.update_key(req, api, name, "")?)
                    }
                    Method::DELETE => {
                        self.authorize(caller, action::KEYS_DELETE, &scope)?;
                        ok(self.delete_key(req, api, name)?)
                    }
                    _ => Ok(method_not_allowed("GET, PATCH, DELETE")),
                }
            }
            ["keys", name, version] => {
                check_key_name(name)?;
                let scope = format!("/keys/{name}");
                match *m {
                    Method::GET => {
                        self.authorize(caller, action::KEYS_READ, &scope)?;
                        ok(self.get_key(req, api, name, version)?)
                    }
                    Method::PATCH => {
                        self.authorize(caller, action::KEYS_WRITE, &scope)?;
                        ok(self.update_key(req, api, name, version)?)
                    }
                    _ => Ok(method_not_allowed("GET, PATCH")),
                }
            }
            ["deletedkeys"] | ["deletedkeys", ""] => match *m {
                Method::GET => {
                    self.authorize(caller, action::DELETED_READ, "/keys")?;
                    ok(self.list_deleted(req, api)?)
                }
                _ => Ok(method_not_allowed("GET")),
            },
            ["deletedkeys", name] => {
                check_key_name(name)?;
                let scope = format!("/keys/{name}");
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
                    check_key_name(name)?;
                    self.authorize(caller, action::DELETED_RECOVER, &format!("/keys/{name}"))?;
                    ok(self.recover(req, api, name)?)
                }
                _ => Ok(method_not_allowed("POST")),
            },
            _ => Err(ServiceError::not_found(format!(
                "The requested resource '{}' was not found.",
                req.path
            ))),
        }
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

    // ---- RBAC ----------------------------------------------------------

    fn route_rbac(
        &self,
        req: &Request,
        caller: Option<&str>,
        scope: &str,
        parts: &[&str],
    ) -> Result<HttpResponse> {
        let m = &req.method;
        let kind = parts.first().copied().unwrap_or_default();
        let name = match parts {
            [_] | [_, ""] => None,
            [_, n] => Some(*n),
            _ => {
                return Err(ServiceError::not_found(format!(
                    "The requested resource '{}' was not found.",
                    req.path
                )));
            }
        };
        if kind.eq_ignore_ascii_case("roleDefinitions") {
            match (m.clone(), name) {
                (Method::GET, None) => {
                    self.authorize(caller, action::DEFINITIONS_READ, scope)?;
                    let filter = rbac::parse_definition_filter(req.query("$filter"))?;
                    let state = self.lock();
                    let value: Vec<Value> = rbac::all_definitions(&state.definitions)
                        .iter()
                        .filter(|d| {
                            filter
                                .as_deref()
                                .is_none_or(|f| d.role_name.eq_ignore_ascii_case(f))
                        })
                        .map(rbac::render_definition)
                        .collect();
                    Ok(json_response(
                        200,
                        &json!({"value": value, "nextLink": null}),
                    ))
                }
                (Method::GET, Some(n)) => {
                    self.authorize(caller, action::DEFINITIONS_READ, scope)?;
                    let state = self.lock();
                    let d = find_definition(&state, n)?;
                    Ok(json_response(200, &rbac::render_definition(&d)))
                }
                (Method::PUT, Some(n)) => {
                    self.authorize(caller, action::DEFINITIONS_WRITE, scope)?;
                    self.put_definition(n, &req.body)
                }
                (Method::DELETE, Some(n)) => {
                    self.authorize(caller, action::DEFINITIONS_DELETE, scope)?;
                    self.delete_definition(n)
                }
                (_, None) => Ok(method_not_allowed("GET")),
                (_, Some(_)) => Ok(method_not_allowed("GET, PUT, DELETE")),
            }
        } else if kind.eq_ignore_ascii_case("roleAssignments") {
            match (m.clone(), name) {
                (Method::GET, None) => {
                    self.authorize(caller, action::ASSIGNMENTS_READ, scope)?;
                    let filter = rbac::parse_assignment_filter(req.query("$filter"))?;
                    let state = self.lock();
                    let value: Vec<Value> = state
                        .assignments
                        .values()
                        .filter(|a| {
                            rbac::scope_covers(&a.scope, scope)
                                || (!filter.at_scope && rbac::scope_covers(scope, &a.scope))
                        })
                        .filter(|a| {
                            filter
                                .principal_id
                                .as_deref()
                                .is_none_or(|p| a.principal_id.eq_ignore_ascii_case(p))
                        })
                        .map(rbac::render_assignment)
                        .collect();
                    Ok(json_response(
                        200,
                        &json!({"value": value, "nextLink": null}),
                    ))
                }
                (Method::GET, Some(n)) => {
                    self.authorize(caller, action::ASSIGNMENTS_READ, scope)?;
                    let state = self.lock();
                    let a = find_assignment(&state, n)?;
                    Ok(json_response(200, &rbac::render_assignment(a)))
                }
                (Method::PUT, Some(n)) => {
                    self.authorize(caller, action::ASSIGNMENTS_WRITE, scope)?;
                    self.put_assignment(scope, n, &req.body)
                }
                (Method::DELETE, Some(n)) => {
                    self.authorize(caller, action::ASSIGNMENTS_DELETE, scope)?;
                    self.delete_assignment(n)
                }
                (_, None) => Ok(method_not_allowed("GET")),
                (_, Some(_)) => Ok(method_not_allowed("GET, PUT, DELETE")),
            }
        } else {
            Err(ServiceError::not_found(format!(
                "The requested resource '{}' was not found.",
                req.path
            )))
        }
    }

    fn put_definition(&self, name: &str, body: &[u8]) -> Result<HttpResponse> {
        if rbac::built_in()
            .iter()
            .any(|d| d.name.eq_ignore_ascii_case(name))
        {
            return Err(ServiceError::new(
                403,
                "Forbidden",
                format!(
                    "Role definition {name} is a built-in role (AKVBuiltInRole); built-in roles cannot be modified."
                ),
            ));
        }
        if !rbac::is_guid(name) {
            return Err(ServiceError::bad_parameter(format!(
                "The role definition name '{name}' is not valid: it must be a GUID."
            )));
        }
        let key = name.to_ascii_lowercase();
        let mut state = self.lock();
        let d = rbac::parse_definition(body, name, state.definitions.get(&key))?;
        self.commit(vec![Op::Put(
            HSM_ROLE_DEFINITIONS,
            key.clone(),
            encode(&d)?,
        )])?;
        let out = rbac::render_definition(&d);
        state.definitions.insert(key, d);
        Ok(json_response(201, &out))
    }

    fn delete_definition(&self, name: &str) -> Result<HttpResponse> {
        if rbac::built_in()
            .iter()
            .any(|d| d.name.eq_ignore_ascii_case(name))
        {
            return Err(ServiceError::new(
                403,
                "Forbidden",
                format!(
                    "Role definition {name} is a built-in role (AKVBuiltInRole); built-in roles cannot be deleted."
                ),
            ));
        }
        let key = name.to_ascii_lowercase();
        let mut state = self.lock();
        let d = state
            .definitions
            .get(&key)
            .cloned()
            .ok_or_else(|| definition_not_found(name))?;
        if let Some(a) = state.assignments.values().find(|a| a.role == key) {
            return Err(ServiceError::new(
                409,
                "RoleDefinitionHasAssignments",
                format!(
                    "Role definition {name} cannot be deleted: it is used by role assignment {}. Delete its assignments first.",
                    a.name
                ),
            ));
        }
        self.commit(vec![Op::Delete(HSM_ROLE_DEFINITIONS, key.clone())])?;
        state.definitions.remove(&key);
        Ok(json_response(200, &rbac::render_definition(&d)))
    }

    fn put_assignment(&self, scope: &str, name: &str, body: &[u8]) -> Result<HttpResponse> {
        if !rbac::is_guid(name) {
            return Err(ServiceError::bad_parameter(format!(
                "The role assignment name '{name}' is not valid: it must be a GUID."
            )));
        }
        let new = rbac::parse_assignment(body)?;
        let key = name.to_ascii_lowercase();
        let mut state = self.lock();
        if state.assignments.contains_key(&key) {
            return Err(ServiceError::new(
                409,
                "RoleAssignmentExists",
                format!("The role assignment {name} already exists."),
            ));
        }
        let known = rbac::built_in().iter().any(|d| d.name == new.role)
            || state.definitions.contains_key(&new.role);
        if !known {
            return Err(ServiceError::bad_parameter(format!(
                "Requested role definition {} does not exist.",
                new.role
            )));
        }
        let a = RoleAssignment {
            name: name.to_owned(),
            scope: scope.to_owned(),
            role: new.role,
            principal_id: new.principal_id,
        };
        self.commit(vec![Op::Put(
            HSM_ROLE_ASSIGNMENTS,
            key.clone(),
            encode(&a)?,
        )])?;
        let out = rbac::render_assignment(&a);
        state.assignments.insert(key, a);
        Ok(json_response(201, &out))
    }

    fn delete_assignment(&self, name: &str) -> Result<HttpResponse> {
        let key = name.to_ascii_lowercase();
        let mut state = self.lock();
        let a = find_assignment(&state, name)?.clone();
        self.commit(vec![Op::Delete(HSM_ROLE_ASSIGNMENTS, key.clone())])?;
        state.assignments.remove(&key);
        Ok(json_response(200, &rbac::render_assignment(&a)))
    }

    // ---- settings ------------------------------------------------------

    fn setting_json(&self, state: &State, name: &str) -> Option<Value> {
        SETTINGS
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
            .map(|(n, t, default)| {
                let value = state.settings.get(*n).map_or(*default, String::as_str);
                json!({"name": n, "value": value, "type": t})
            })
    }

    fn list_settings(&self) -> Value {
        let state = self.lock();
        let settings: Vec<Value> = SETTINGS
            .iter()
            .filter_map(|(n, _, _)| self.setting_json(&state, n))
            .collect();
        json!({"settings": settings})
    }

    fn get_setting(&self, name: &str) -> Result<Value> {
        let state = self.lock();
        self.setting_json(&state, name)
            .ok_or_else(|| setting_not_found(name))
    }

    fn update_setting(&self, name: &str, body: &[u8]) -> Result<Value> {
        let (n, t, _) = SETTINGS
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| setting_not_found(name))?;
        let m = crate::vault::model::parse_object(body)?;
        let value = match m.get("value") {
            Some(Value::String(s)) => s.clone(),
            _ => {
                return Err(ServiceError::bad_parameter(
                    "Property 'value' is required and must be a string.",
                ));
            }
        };
        let value = if *t == "boolean" {
            match value.to_ascii_lowercase().as_str() {
                v @ ("true" | "false") => v.to_owned(),
                _ => {
                    return Err(ServiceError::bad_parameter(format!(
                        "The value of setting {n} must be 'true' or 'false', not '{value}'."
                    )));
                }
            }
        } else {
            value
        };
        let mut state = self.lock();
        self.commit(vec![Op::Put(
            HSM_SETTINGS,
            (*n).to_owned(),
            encode(&value)?,
        )])?;
        state.settings.insert((*n).to_owned(), value);
        Ok(self.setting_json(&state, n).unwrap_or(Value::Null))
    }

    // ---- keys ----------------------------------------------------------

    fn render<'a>(&self, req: &'a Request, api: ApiVersion) -> keys::Render<'a> {
        keys::Render {
            base: &req.base_url,
            api,
            recovery_level: self.config.soft_delete.recovery_level(),
            recoverable_days: self.config.soft_delete.retention_days,
        }
    }

    fn persist_key(&self, key: &str, k: Option<&StoredKey>) -> Result<()> {
        let op = match k {
            Some(k) => Op::Put(HSM_KEYS, key.to_owned(), encode(k)?),
            None => Op::Delete(HSM_KEYS, key.to_owned()),
        };
        self.commit(vec![op])
    }

    fn create_key(&self, req: &Request, api: ApiVersion, name: &str) -> Result<Value> {
        let body = keys::parse_create(&req.body)?;
        let key = name.to_ascii_lowercase();
        if self
            .lock()
            .keys
            .get(&key)
            .is_some_and(|k| k.deleted.is_some())
        {
            return Err(deleted_conflict(name));
        }
        // Generate outside the lock: RSA takes a while.
        let (kty, default_ops, public, private) = keys::generate(&body.spec)?;
        let now = self.admin.clock.now();
        let mut state = self.lock();
        let mut k = match state.keys.get(&key) {
            Some(k) if k.deleted.is_some() => return Err(deleted_conflict(name)),
            Some(k) => k.clone(),
            None => StoredKey {
                name: name.to_owned(),
                versions: BTreeMap::new(),
                latest: String::new(),
                deleted: None,
            },
        };
        let v = KeyVersion {
            version: uuid::Uuid::new_v4().simple().to_string(),
            kty: kty.into(),
            key_ops: body.key_ops.unwrap_or(default_ops),
            public,
            private,
            enabled: body.props.enabled.unwrap_or(true),
            nbf: body.props.nbf,
            exp: body.props.exp,
            created: now,
            updated: now,
            tags: body.props.tags,
        };
        k.latest = v.version.clone();
        k.versions.insert(v.version.clone(), v.clone());
        self.persist_key(&key, Some(&k))?;
        let out = self.render(req, api).bundle(&k.name, &v);
        state.keys.insert(key, k);
        Ok(out)
    }

    fn find<'s>(
        state: &'s State,
        name: &str,
        version: &str,
    ) -> Result<(&'s StoredKey, &'s KeyVersion)> {
        let k = state
            .keys
            .get(&name.to_ascii_lowercase())
            .filter(|k| k.deleted.is_none())
            .ok_or_else(|| key_not_found(name))?;
        let v = if version.is_empty() {
            k.latest()
        } else {
            k.versions.get(&version.to_ascii_lowercase())
        };
        let v = v.ok_or_else(|| key_not_found(&format!("{name}/{version}")))?;
        Ok((k, v))
    }

    fn get_key(&self, req: &Request, api: ApiVersion, name: &str, version: &str) -> Result<Value> {
        let state = self.lock();
        let (k, v) = Self::find(&state, name, version)?;
        Ok(self.render(req, api).bundle(&k.name, v))
    }

    fn update_key(
        &self,
        req: &Request,
        api: ApiVersion,
        name: &str,
        version: &str,
    ) -> Result<Value> {
        let (props, ops) = keys::parse_update(&req.body)?;
        let now = self.admin.clock.now();
        let mut state = self.lock();
        let (k, v) = Self::find(&state, name, version)?;
        let mut k = k.clone();
        let mut v = v.clone();
        if let Some(tags) = props.tags {
            v.tags = Some(tags);
        }
        if let Some(e) = props.enabled {
            v.enabled = e;
        }
        if let Some(nbf) = props.nbf {
            v.nbf = Some(nbf);
        }
        if let Some(exp) = props.exp {
            v.exp = Some(exp);
        }
        if let Some(ops) = ops {
            v.key_ops = ops;
        }
        v.updated = now;
        k.versions.insert(v.version.clone(), v.clone());
        let key = name.to_ascii_lowercase();
        self.persist_key(&key, Some(&k))?;
        let out = self.render(req, api).bundle(&k.name, &v);
        state.keys.insert(key, k);
        Ok(out)
    }

    fn delete_key(&self, req: &Request, api: ApiVersion, name: &str) -> Result<Value> {
        let now = self.admin.clock.now();
        let mut state = self.lock();
        let (k, v) = Self::find(&state, name, "")?;
        let (mut k, v) = (k.clone(), v.clone());
        let d = Deletion {
            deleted_date: now,
            scheduled_purge_date: now + i64::from(self.config.soft_delete.retention_days) * 86_400,
        };
        k.deleted = Some(d);
        let key = name.to_ascii_lowercase();
        self.persist_key(&key, Some(&k))?;
        let out = self.render(req, api).deleted_bundle(&k, &v, &d);
        state.keys.insert(key, k);
        Ok(out)
    }

    fn list_keys(&self, req: &Request, api: ApiVersion) -> Result<Value> {
        let page = paging::page(req)?;
        let r = self.render(req, api);
        let state = self.lock();
        let items = state
            .keys
            .iter()
            .filter(|(_, k)| k.deleted.is_none())
            .filter_map(|(n, k)| k.latest().map(|v| (n.clone(), r.item(&k.name, v, false))));
        Ok(page_of(req, api, "/keys", &page, items))
    }

    fn list_key_versions(&self, req: &Request, api: ApiVersion, name: &str) -> Result<Value> {
        let page = paging::page(req)?;
        let r = self.render(req, api);
        let state = self.lock();
        let Some(k) = state
            .keys
            .get(&name.to_ascii_lowercase())
            .filter(|k| k.deleted.is_none())
        else {
            return Err(key_not_found(name));
        };
        let items = k
            .versions
            .iter()
            .map(|(id, v)| (id.clone(), r.item(&k.name, v, true)));
        Ok(page_of(
            req,
            api,
            &format!("/keys/{}/versions", k.name),
            &page,
            items,
        ))
    }

    fn list_deleted(&self, req: &Request, api: ApiVersion) -> Result<Value> {
        let page = paging::page(req)?;
        let r = self.render(req, api);
        let state = self.lock();
        let items = state.keys.iter().filter_map(|(n, k)| {
            let (d, v) = (k.deleted?, k.latest()?);
            Some((n.clone(), r.deleted_item(k, v, &d)))
        });
        Ok(page_of(req, api, "/deletedkeys", &page, items))
    }

    fn find_deleted<'s>(state: &'s State, name: &str) -> Result<(&'s StoredKey, Deletion)> {
        state
            .keys
            .get(&name.to_ascii_lowercase())
            .and_then(|k| k.deleted.map(|d| (k, d)))
            .ok_or_else(|| deleted_key_not_found(name))
    }

    fn get_deleted(&self, req: &Request, api: ApiVersion, name: &str) -> Result<Value> {
        let state = self.lock();
        let (k, d) = Self::find_deleted(&state, name)?;
        let v = k.latest().ok_or_else(|| deleted_key_not_found(name))?;
        Ok(self.render(req, api).deleted_bundle(k, v, &d))
    }

    fn purge(&self, name: &str) -> Result<()> {
        let mut state = self.lock();
        Self::find_deleted(&state, name)?;
        if self.config.soft_delete.purge_protection {
            return Err(ServiceError::forbidden(format!(
                "Operation \"purge\" is not allowed because purge protection is enabled for this HSM. Key {name} will be purged automatically after the retention period."
            )));
        }
        let key = name.to_ascii_lowercase();
        self.persist_key(&key, None)?;
        state.keys.remove(&key);
        Ok(())
    }

    fn recover(&self, req: &Request, api: ApiVersion, name: &str) -> Result<Value> {
        let mut state = self.lock();
        let (k, _) = Self::find_deleted(&state, name)?;
        let mut k = k.clone();
        k.deleted = None;
        let key = name.to_ascii_lowercase();
        self.persist_key(&key, Some(&k))?;
        let v = k.latest().ok_or_else(|| deleted_key_not_found(name))?;
        let out = self.render(req, api).bundle(&k.name, v);
        state.keys.insert(key, k);
        Ok(out)
    }

    // ---- jobs ----------------------------------------------------------

    fn job_status(&self, id: &str, backup: bool) -> Result<HttpResponse> {
        let jobs = self.lock_jobs();
        let job = jobs
            .get(&id.to_ascii_lowercase())
            .filter(|j| j.kind.is_backup() == backup)
            .ok_or_else(|| {
                ServiceError::new(
                    404,
                    "JobNotFound",
                    format!("No job with id {id} was found."),
                )
            })?;
        let mut resp = json_response(200, &job.render());
        if job.status == "InProgress" {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        Ok(resp)
    }

    /// Records a new job durably and answers 202 with its status URL.
    fn accept_job(&self, req: &Request, job: &Job) -> Result<HttpResponse> {
        let mut jobs = self.lock_jobs();
        self.commit(vec![Op::Put(HSM_JOBS, job.id.clone(), encode(job)?)])?;
        jobs.insert(job.id.clone(), job.clone());
        let mut resp = json_response(202, &job.render());
        let url = format!("{}{}", req.base_url, job.status_path());
        if let Ok(v) = HeaderValue::from_str(&url) {
            resp.headers_mut().insert("azure-asyncoperation", v);
        }
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        Ok(resp)
    }

    /// Ends a job: records the outcome durably.
    fn finish(&self, id: &str, outcome: jobs::Outcome) {
        let now = self.admin.clock.now();
        let mut jobs = self.lock_jobs();
        let Some(job) = jobs.get_mut(id) else { return };
        job.end = Some(now);
        match outcome {
            Ok(details) => {
                job.status = "Succeeded".into();
                job.status_details = details;
            }
            Err((code, message)) => {
                job.status = "Failed".into();
                job.error = Some((code, message));
                if job.kind == JobKind::Backup {
                    job.folder_url = None;
                }
            }
        }
        if job.status != "Succeeded" || job.kind != JobKind::Backup {
            job.folder_url = None;
        }
        let raw = serde_json::to_vec(&*job).unwrap_or_default();
        if let Err(e) = self
            .store
            .commit(vec![Op::Put(HSM_JOBS, id.to_owned(), raw)])
        {
            tracing::error!(error = %e, "cannot persist a job's end");
        }
        tracing::info!(job = id, kind = ?job.kind, status = %job.status, "HSM job ended");
    }

    fn start_backup(self: &Arc<Self>, req: &Request, pre: bool) -> Result<HttpResponse> {
        let m = crate::vault::model::parse_object(&req.body)?;
        let (container, _) = parse_sas(&m)?;
        let now = self.admin.clock.now();
        let job = Job::new(
            if pre {
                JobKind::PreBackup
            } else {
                JobKind::Backup
            },
            now,
        );
        let folder = jobs::folder_name(&hsm_name(&req.base_url), now);
        let folder_url = container.folder_url(&folder);
        let resp = self.accept_job(req, &job)?;
        let hsm = self.clone();
        let snapshot = self.lock().clone();
        self.spawn_job(async move {
            let outcome = if pre {
                jobs::pre_backup(&hsm.storage, &container).await
            } else {
                jobs::backup(
                    &hsm.storage,
                    &container,
                    &folder,
                    &hsm.backup_key,
                    &snapshot,
                    now,
                )
                .await
            };
            let id = job.id.clone();
            let ok = outcome.is_ok();
            let _ = tokio::task::spawn_blocking(move || {
                if ok
                    && !pre
                    && let Some(j) = hsm.lock_jobs().get_mut(&id)
                {
                    j.folder_url = Some(folder_url);
                }
                hsm.finish(&id, outcome);
            })
            .await;
        });
        Ok(resp)
    }

    fn start_restore(
        self: &Arc<Self>,
        req: &Request,
        kind: JobKind,
        key: Option<&str>,
    ) -> Result<HttpResponse> {
        let m = crate::vault::model::parse_object(&req.body)?;
        let sas = match m.get("sasTokenParameters") {
            Some(Value::Object(s)) => s.clone(),
            _ => {
                return Err(ServiceError::bad_parameter(
                    "Property 'sasTokenParameters' is required and must be an object.",
                ));
            }
        };
        let (container, _) = parse_sas(&sas)?;
        let folder_field = if kind == JobKind::SelectiveRestore {
            "folder"
        } else {
            "folderToRestore"
        };
        let folder = match m.get(folder_field) {
            Some(Value::String(f)) if !f.trim().trim_matches('/').is_empty() => {
                f.trim().trim_matches('/').to_owned()
            }
            _ => {
                return Err(ServiceError::bad_parameter(format!(
                    "Property '{folder_field}' is required and must be a folder name."
                )));
            }
        };
        let job = Job::new(kind, self.admin.clock.now());
        let resp = self.accept_job(req, &job)?;
        let hsm = self.clone();
        let key = key.map(str::to_owned);
        self.spawn_job(async move {
            let id = job.id.clone();
            let outcome = match kind {
                JobKind::PreRestore => {
                    jobs::pre_restore(&hsm.storage, &container, &folder, &hsm.backup_key).await
                }
                JobKind::SelectiveRestore => {
                    let name = key.unwrap_or_default();
                    match jobs::read_key(&hsm.storage, &container, &folder, &hsm.backup_key, &name)
                        .await
                    {
                        Ok(k) => {
                            let h = hsm.clone();
                            tokio::task::spawn_blocking(move || h.merge_key(k))
                                .await
                                .unwrap_or_else(|_| Err(job_internal()))
                        }
                        Err(e) => Err(e),
                    }
                }
                _ => match jobs::read_state(&hsm.storage, &container, &folder, &hsm.backup_key)
                    .await
                {
                    Ok(state) => {
                        let h = hsm.clone();
                        tokio::task::spawn_blocking(move || h.replace_state(state))
                            .await
                            .unwrap_or_else(|_| Err(job_internal()))
                    }
                    Err(e) => Err(e),
                },
            };
            let _ = tokio::task::spawn_blocking(move || hsm.finish(&id, outcome)).await;
        });
        Ok(resp)
    }

    /// A full restore: commits the whole new state in one transaction, then
    /// swaps it in. On any failure nothing changes.
    fn replace_state(&self, new: State) -> jobs::Outcome {
        let mut state = self.lock();
        let mut ops = Vec::new();
        fn diff<T: Serialize>(
            ops: &mut Vec<Op>,
            table: Table,
            old: &BTreeMap<String, T>,
            new: &BTreeMap<String, T>,
        ) -> std::result::Result<(), (String, String)> {
            for k in old.keys().filter(|k| !new.contains_key(*k)) {
                ops.push(Op::Delete(table, k.clone()));
            }
            for (k, v) in new {
                let raw = serde_json::to_vec(v).map_err(|_| job_internal())?;
                ops.push(Op::Put(table, k.clone(), raw));
            }
            Ok(())
        }
        diff(&mut ops, HSM_KEYS, &state.keys, &new.keys)?;
        diff(
            &mut ops,
            HSM_ROLE_DEFINITIONS,
            &state.definitions,
            &new.definitions,
        )?;
        diff(
            &mut ops,
            HSM_ROLE_ASSIGNMENTS,
            &state.assignments,
            &new.assignments,
        )?;
        diff(&mut ops, HSM_SETTINGS, &state.settings, &new.settings)?;
        self.store.commit(ops).map_err(|e| {
            tracing::error!(error = %e, "cannot commit a restore");
            job_internal()
        })?;
        *state = new;
        Ok(None)
    }

    /// A selective key restore: versions the HSM lacks are added; existing
    /// versions are not overwritten.
    fn merge_key(&self, backup: StoredKey) -> jobs::Outcome {
        let key = backup.name.to_ascii_lowercase();
        let mut state = self.lock();
        let (merged, restored, skipped) = match state.keys.get(&key) {
            Some(existing) if existing.deleted.is_some() => {
                return Err((
                    "Conflict".into(),
                    format!(
                        "Key {} is deleted but not purged; recover or purge it before restoring it.",
                        existing.name
                    ),
                ));
            }
            Some(existing) => {
                let mut merged = existing.clone();
                let mut restored = 0;
                let mut skipped = 0;
                for (id, v) in &backup.versions {
                    if merged.versions.contains_key(id) {
                        skipped += 1;
                    } else {
                        merged.versions.insert(id.clone(), v.clone());
                        restored += 1;
                    }
                }
                (merged, restored, skipped)
            }
            None => {
                let mut k = backup.clone();
                k.deleted = None;
                let n = k.versions.len();
                (k, n, 0)
            }
        };
        let raw = serde_json::to_vec(&merged).map_err(|_| job_internal())?;
        self.store
            .commit(vec![Op::Put(HSM_KEYS, key.clone(), raw)])
            .map_err(|_| job_internal())?;
        state.keys.insert(key, merged);
        Ok(Some(format!(
            "Number of successful key versions restored: {restored}, Number of key versions could not overwrite: {skipped}"
        )))
    }
}

fn job_internal() -> (String, String) {
    (
        "InternalError".into(),
        "The job could not be completed.".into(),
    )
}

fn deleted_conflict(name: &str) -> ServiceError {
    ServiceError::conflict(format!(
        "Key {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged."
    ))
}

fn definition_not_found(name: &str) -> ServiceError {
    ServiceError::new(
        404,
        "RoleDefinitionNotFound",
        format!("Requested role definition {name} was not found."),
    )
}

fn setting_not_found(name: &str) -> ServiceError {
    ServiceError::new(
        404,
        "SettingNotFound",
        format!(
            "The setting '{name}' does not exist. Known settings: {}.",
            SETTINGS
                .iter()
                .map(|(n, _, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

fn find_definition(state: &State, name: &str) -> Result<RoleDefinition> {
    rbac::all_definitions(&state.definitions)
        .into_iter()
        .find(|d| d.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| definition_not_found(name))
}

fn find_assignment<'s>(state: &'s State, name: &str) -> Result<&'s RoleAssignment> {
    state
        .assignments
        .get(&name.to_ascii_lowercase())
        .ok_or_else(|| {
            ServiceError::new(
                404,
                "RoleAssignmentNotFound",
                format!("Requested role assignment {name} was not found."),
            )
        })
}

/// Reads `storageResourceUri`, `token` and `useManagedIdentity`.
fn parse_sas(m: &serde_json::Map<String, Value>) -> Result<(blob::Container, bool)> {
    let uri = match m.get("storageResourceUri") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            return Err(ServiceError::bad_parameter(
                "Property 'storageResourceUri' is required and must be a blob container URL.",
            ));
        }
    };
    let token = match m.get("token") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(ServiceError::bad_parameter(
                "Property 'token' must be a string.",
            ));
        }
    };
    let managed = match m.get("useManagedIdentity") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ServiceError::bad_parameter(
                "Property 'useManagedIdentity' must be a boolean.",
            ));
        }
    };
    if token.as_deref().is_none_or(|t| t.trim().is_empty()) && !managed {
        return Err(ServiceError::bad_parameter(
            "Either a SAS 'token' or 'useManagedIdentity': true is required.",
        ));
    }
    Ok((blob::Container::parse(&uri, token.as_deref())?, managed))
}

/// One page of `items` (in key order), with a `nextLink` when more remain.
fn page_of(
    req: &Request,
    api: ApiVersion,
    path: &str,
    page: &paging::Page,
    items: impl Iterator<Item = (String, Value)>,
) -> Value {
    let mut value = Vec::new();
    let mut last = String::new();
    let mut next = Value::Null;
    for (k, v) in items.filter(|(k, _)| page.after.as_deref().is_none_or(|a| k.as_str() > a)) {
        if value.len() == page.max {
            next = json!(paging::next_link(req, path, page, api.as_str(), &last));
            break;
        }
        last = k;
        value.push(v);
    }
    json!({"value": value, "nextLink": next})
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
