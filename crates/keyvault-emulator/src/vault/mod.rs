//! The Key Vault secrets service: routing, the operations, and their state.
//!
//! State lives in memory (a map from lower-case secret name to
//! [`StoredSecret`]) behind one mutex. Every change is committed to the
//! [`Store`] before it is applied in memory and before the answer is sent.

mod backup;
pub(crate) mod model;
pub(crate) mod paging;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use http::Method;
use serde_json::{Value, json};

use crate::admin::{self, Admin};
use crate::api_version::ApiVersion;
use crate::auth::Authenticator;
use crate::error::{ServiceError, empty_response, json_response};
use crate::objects::{self, Attributes, Deletion, Render};
use crate::server::{Handler, HttpResponse, Request};
use crate::service::{self, check_name, method_not_allowed};
use crate::store::{Op, Store, VAULT_SECRETS};
use model::{StoredSecret, StoredVersion};

/// Soft-delete settings of the vault.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VaultSettings {
    pub(crate) retention_days: u32,
    pub(crate) purge_protection: bool,
}

impl VaultSettings {
    pub(crate) fn recovery_level(&self) -> &'static str {
        match (self.retention_days >= 90, self.purge_protection) {
            (true, false) => "Recoverable+Purgeable",
            (false, false) => "CustomizedRecoverable+Purgeable",
            (true, true) => "Recoverable",
            (false, true) => "CustomizedRecoverable",
        }
    }
}

/// The secrets service of one emulator.
pub(crate) struct Vault {
    secrets: Mutex<BTreeMap<String, StoredSecret>>,
    /// The earliest scheduled purge date of any deleted secret (`i64::MAX`
    /// when none), so that most requests skip the purge scan.
    next_due: AtomicI64,
    store: Arc<Store>,
    admin: Arc<Admin>,
    settings: VaultSettings,
    backup_key: [u8; 32],
    auth: Authenticator,
    admin_routes: bool,
}

type Result<T> = std::result::Result<T, ServiceError>;

fn secret_not_found(name: &str) -> ServiceError {
    ServiceError::new(
        404,
        "SecretNotFound",
        format!(
            "A secret with (name/id) {name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
    )
}

fn deleted_not_found(name: &str) -> ServiceError {
    ServiceError::new(
        404,
        "SecretNotFound",
        format!("Deleted Secret not found: {name}"),
    )
}

impl Vault {
    /// Loads the vault's secrets from `store`.
    pub(crate) fn open(
        store: Arc<Store>,
        admin: Arc<Admin>,
        settings: VaultSettings,
        backup_key: [u8; 32],
        auth: Authenticator,
        admin_routes: bool,
    ) -> std::result::Result<Arc<Self>, crate::Error> {
        let secrets = service::load(&store, VAULT_SECRETS)?;
        let vault = Arc::new(Self {
            secrets: Mutex::new(secrets),
            next_due: AtomicI64::new(i64::MIN),
            store,
            admin: admin.clone(),
            settings,
            backup_key,
            auth,
            admin_routes,
        });
        let weak = Arc::downgrade(&vault);
        admin.on_advance(Box::new(move || {
            if let Some(v) = weak.upgrade() {
                v.sweep();
            }
        }));
        vault.sweep();
        Ok(vault)
    }

    /// The endpoint handler (requests run on the blocking pool).
    pub(crate) fn handler(self: &Arc<Self>) -> Handler {
        service::blocking_handler(self, |vault, req| vault.handle(req))
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, StoredSecret>> {
        self.secrets.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn persist(&self, key: &str, secret: Option<&StoredSecret>) -> Result<()> {
        let op = match secret {
            Some(s) => Op::Put(VAULT_SECRETS, key.to_owned(), service::encode(s)?),
            None => Op::Delete(VAULT_SECRETS, key.to_owned()),
        };
        service::commit(&self.store, vec![op])
    }

    /// Purges deleted secrets whose scheduled purge date has passed.
    pub(crate) fn sweep(&self) {
        let now = self.admin.clock.now();
        if now < self.next_due.load(Ordering::SeqCst) {
            return;
        }
        let mut secrets = self.lock();
        let due: Vec<String> = secrets
            .iter()
            .filter(|(_, s)| s.deleted.is_some_and(|d| d.scheduled_purge_date <= now))
            .map(|(k, _)| k.clone())
            .collect();
        let next = secrets
            .values()
            .filter_map(|s| s.deleted)
            .map(|d| d.scheduled_purge_date)
            .filter(|&t| t > now)
            .min()
            .unwrap_or(i64::MAX);
        if due.is_empty() {
            self.next_due.store(next, Ordering::SeqCst);
            return;
        }
        let ops = due
            .iter()
            .map(|k| Op::Delete(VAULT_SECRETS, k.clone()))
            .collect();
        match self.store.commit(ops) {
            Ok(()) => {
                for k in &due {
                    secrets.remove(k);
                }
                self.next_due.store(next, Ordering::SeqCst);
                tracing::info!(
                    count = due.len(),
                    "purged deleted secrets past their purge date"
                );
            }
            Err(e) => tracing::error!(error = %e, "cannot purge due secrets"),
        }
    }

    fn render<'a>(&self, req: &'a Request, api: ApiVersion) -> Render<'a> {
        Render::new(&req.base_url, api, &self.settings)
    }

    /// Serves one request.
    pub(crate) fn handle(&self, req: Request) -> HttpResponse {
        if self.admin_routes && req.path.starts_with(admin::PREFIX) {
            return self.admin.handle(&req);
        }
        let caller = match service::authenticate(&self.auth, &req) {
            Ok(caller) => caller,
            Err(resp) => return *resp,
        };
        let resp = match ApiVersion::parse(req.query("api-version")) {
            Ok(api) => {
                self.sweep();
                self.route(&req, api).unwrap_or_else(|e| e.into_response())
            }
            Err(e) => e.into_response(),
        };
        service::with_caller(resp, caller)
    }

    fn route(&self, req: &Request, api: ApiVersion) -> Result<HttpResponse> {
        let segs = service::segments(&req.path);
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let m = &req.method;
        let ok = |v: Value| Ok(json_response(200, &v));
        match segs.as_slice() {
            ["secrets"] | ["secrets", ""] => match *m {
                Method::GET => ok(self.list(req, api)?),
                _ => Ok(method_not_allowed("GET")),
            },
            ["secrets", "restore"] if *m == Method::POST => ok(self.restore(req, api)?),
            ["secrets", name] => {
                let allow = "GET, PUT, PATCH, DELETE";
                match *m {
                    Method::GET | Method::PUT | Method::PATCH | Method::DELETE => {}
                    _ => return Ok(method_not_allowed(allow)),
                }
                check_name("secret", name)?;
                match *m {
                    Method::PUT => ok(self.set(req, api, name)?),
                    Method::GET => ok(self.get(req, api, name, "")?),
                    Method::PATCH => ok(self.update(req, api, name, "")?),
                    _ => ok(self.delete(req, api, name)?),
                }
            }
            ["secrets", name, "backup"] if *m == Method::POST => {
                check_name("secret", name)?;
                ok(self.backup(name)?)
            }
            ["secrets", name, "versions"] if *m == Method::GET => {
                check_name("secret", name)?;
                ok(self.list_versions(req, api, name)?)
            }
            ["secrets", name, version] => {
                match *m {
                    Method::GET | Method::PATCH => {}
                    _ => return Ok(method_not_allowed("GET, PATCH")),
                }
                check_name("secret", name)?;
                if *m == Method::GET {
                    ok(self.get(req, api, name, version)?)
                } else {
                    ok(self.update(req, api, name, version)?)
                }
            }
            ["deletedsecrets"] | ["deletedsecrets", ""] => match *m {
                Method::GET => ok(self.list_deleted(req, api)?),
                _ => Ok(method_not_allowed("GET")),
            },
            ["deletedsecrets", name] => match *m {
                Method::GET => {
                    check_name("secret", name)?;
                    ok(self.get_deleted(req, api, name)?)
                }
                Method::DELETE => {
                    check_name("secret", name)?;
                    self.purge(name)?;
                    Ok(empty_response(204))
                }
                _ => Ok(method_not_allowed("GET, DELETE")),
            },
            ["deletedsecrets", name, "recover"] => match *m {
                Method::POST => {
                    check_name("secret", name)?;
                    ok(self.recover(req, api, name)?)
                }
                _ => Ok(method_not_allowed("POST")),
            },
            _ => Err(service::no_route(req)),
        }
    }

    fn new_version() -> String {
        uuid::Uuid::new_v4().simple().to_string()
    }

    fn set(&self, req: &Request, api: ApiVersion, name: &str) -> Result<Value> {
        let body = model::parse_set(&req.body)?;
        let key = name.to_ascii_lowercase();
        let now = self.admin.clock.now();
        let mut secrets = self.lock();
        let mut secret = match secrets.get(&key) {
            Some(s) if s.deleted.is_some() => {
                return Err(ServiceError::conflict(format!(
                    "Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged."
                )));
            }
            Some(s) => s.clone(),
            None => StoredSecret::new(name),
        };
        let attributes = Attributes::new(&body.props, now);
        let version = StoredVersion {
            version: Self::new_version(),
            value: body.value,
            content_type: body.props.content_type,
            tags: body.props.tags,
            attributes,
            kid: None,
            managed: None,
            previous_version: (!secret.latest.is_empty()).then(|| secret.latest.clone()),
        };
        secret.latest = version.version.clone();
        secret
            .versions
            .insert(version.version.clone(), version.clone());
        self.persist(&key, Some(&secret))?;
        let out = self.render(req, api).bundle(&secret.name, &version, true);
        secrets.insert(key, secret);
        Ok(out)
    }

    /// Finds a live secret's version ("" for the latest).
    fn find<'s>(
        secrets: &'s BTreeMap<String, StoredSecret>,
        name: &str,
        version: &str,
    ) -> Result<(&'s StoredSecret, &'s StoredVersion)> {
        objects::find_live(secrets, name, version, secret_not_found)
    }

    fn get(&self, req: &Request, api: ApiVersion, name: &str, version: &str) -> Result<Value> {
        if let Some(ct) = req.query("outContentType")
            && ct != "application/x-pkcs12"
            && ct != "application/x-pem-file"
        {
            return Err(ServiceError::bad_parameter(format!(
                "Invalid outContentType '{ct}': expected application/x-pkcs12 or application/x-pem-file."
            )));
        }
        let secrets = self.lock();
        let (secret, v) = Self::find(&secrets, name, version)?;
        if !v.attributes.enabled {
            return Err(ServiceError::forbidden(
                "Operation get is not allowed on a disabled secret.",
            ));
        }
        Ok(self.render(req, api).bundle(&secret.name, v, true))
    }

    fn update(&self, req: &Request, api: ApiVersion, name: &str, version: &str) -> Result<Value> {
        let props = model::parse_update(&req.body)?;
        let now = self.admin.clock.now();
        let mut secrets = self.lock();
        let (secret, v) = Self::find(&secrets, name, version)?;
        let mut secret = secret.clone();
        let mut v = v.clone();
        v.attributes.update(&props, now);
        if let Some(ct) = props.content_type {
            v.content_type = Some(ct);
        }
        if let Some(tags) = props.tags {
            v.tags = Some(tags);
        }
        secret.versions.insert(v.version.clone(), v.clone());
        let key = name.to_ascii_lowercase();
        self.persist(&key, Some(&secret))?;
        let out = self.render(req, api).bundle(&secret.name, &v, false);
        secrets.insert(key, secret);
        Ok(out)
    }

    fn delete(&self, req: &Request, api: ApiVersion, name: &str) -> Result<Value> {
        let now = self.admin.clock.now();
        let mut secrets = self.lock();
        let (secret, _) = Self::find(&secrets, name, "")?;
        let mut secret = secret.clone();
        let deletion = Deletion::at(now, &self.settings);
        secret.deleted = Some(deletion);
        let key = name.to_ascii_lowercase();
        self.persist(&key, Some(&secret))?;
        self.next_due
            .fetch_min(deletion.scheduled_purge_date, Ordering::SeqCst);
        let latest = secret
            .latest()
            .ok_or_else(|| secret_not_found(name))?
            .clone();
        let out = self
            .render(req, api)
            .deleted_bundle(&secret, &latest, &deletion);
        secrets.insert(key, secret);
        Ok(out)
    }

    fn list(&self, req: &Request, api: ApiVersion) -> Result<Value> {
        let page = paging::page(req)?;
        let r = self.render(req, api);
        let secrets = self.lock();
        let items = secrets
            .iter()
            .filter(|(_, s)| s.deleted.is_none())
            .filter_map(|(k, s)| s.latest().map(|v| (k.clone(), r.item(&s.name, v, false))));
        Ok(paging::page_of(req, api, "/secrets", &page, items))
    }

    fn list_versions(&self, req: &Request, api: ApiVersion, name: &str) -> Result<Value> {
        let page = paging::page(req)?;
        let r = self.render(req, api);
        let secrets = self.lock();
        // A missing or deleted secret has no versions (an empty list).
        let secret = secrets
            .get(&name.to_ascii_lowercase())
            .filter(|s| s.deleted.is_none());
        let path = secret.map_or_else(String::new, |s| format!("/secrets/{}/versions", s.name));
        let items = secret.into_iter().flat_map(|s| {
            s.versions
                .iter()
                .map(|(k, v)| (k.clone(), r.item(&s.name, v, true)))
        });
        Ok(paging::page_of(req, api, &path, &page, items))
    }

    fn list_deleted(&self, req: &Request, api: ApiVersion) -> Result<Value> {
        let page = paging::page(req)?;
        let r = self.render(req, api);
        let secrets = self.lock();
        let items = secrets.iter().filter_map(|(k, s)| {
            let (d, v) = (s.deleted?, s.latest()?);
            Some((k.clone(), r.deleted_item(s, v, &d)))
        });
        Ok(paging::page_of(req, api, "/deletedsecrets", &page, items))
    }

    fn find_deleted<'s>(
        secrets: &'s BTreeMap<String, StoredSecret>,
        name: &str,
    ) -> Result<(&'s StoredSecret, Deletion)> {
        objects::find_deleted(secrets, name, deleted_not_found)
    }

    fn get_deleted(&self, req: &Request, api: ApiVersion, name: &str) -> Result<Value> {
        let secrets = self.lock();
        let (s, d) = Self::find_deleted(&secrets, name)?;
        let v = s.latest().ok_or_else(|| deleted_not_found(name))?;
        Ok(self.render(req, api).deleted_bundle(s, v, &d))
    }

    fn purge(&self, name: &str) -> Result<()> {
        let mut secrets = self.lock();
        Self::find_deleted(&secrets, name)?;
        if self.settings.purge_protection {
            return Err(ServiceError::forbidden(format!(
                "Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge secret {name} after the retention period has passed."
            )));
        }
        let key = name.to_ascii_lowercase();
        self.persist(&key, None)?;
        secrets.remove(&key);
        Ok(())
    }

    fn recover(&self, req: &Request, api: ApiVersion, name: &str) -> Result<Value> {
        let mut secrets = self.lock();
        let (s, _) = Self::find_deleted(&secrets, name)?;
        let mut s = s.clone();
        s.deleted = None;
        let key = name.to_ascii_lowercase();
        self.persist(&key, Some(&s))?;
        let v = s.latest().ok_or_else(|| deleted_not_found(name))?;
        let out = self.render(req, api).bundle(&s.name, v, false);
        secrets.insert(key, s);
        Ok(out)
    }

    fn backup(&self, name: &str) -> Result<Value> {
        let secrets = self.lock();
        let (s, _) = Self::find(&secrets, name, "")?;
        Ok(json!({"value": backup::seal(&self.backup_key, s)?}))
    }

    fn restore(&self, req: &Request, api: ApiVersion) -> Result<Value> {
        let blob = model::parse_restore(&req.body)?;
        let mut secret = backup::open(&self.backup_key, &blob)?;
        secret.deleted = None;
        if !model::valid_name(&secret.name) {
            return Err(ServiceError::bad_parameter(
                "Backup blob contains invalid or corrupt version.",
            ));
        }
        let key = secret.name.to_ascii_lowercase();
        let mut secrets = self.lock();
        if let Some(existing) = secrets.get(&key) {
            let state = if existing.deleted.is_some() {
                " (it is deleted but not purged)"
            } else {
                ""
            };
            return Err(ServiceError::conflict(format!(
                "Secret {} already exists{state}; a backup can only be restored when no secret of that name exists.",
                existing.name
            )));
        }
        self.persist(&key, Some(&secret))?;
        let v = secret
            .latest()
            .ok_or_else(|| ServiceError::bad_parameter("Backup blob is empty."))?;
        let out = self.render(req, api).bundle(&secret.name, v, false);
        secrets.insert(key, secret);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_levels() {
        let s = |d, p| VaultSettings {
            retention_days: d,
            purge_protection: p,
        };
        assert_eq!(s(90, false).recovery_level(), "Recoverable+Purgeable");
        assert_eq!(
            s(7, false).recovery_level(),
            "CustomizedRecoverable+Purgeable"
        );
        assert_eq!(s(90, true).recovery_level(), "Recoverable");
        assert_eq!(s(30, true).recovery_level(), "CustomizedRecoverable");
    }
}
