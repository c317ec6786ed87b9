//! The key routes: create, get, update, list, delete, recover, purge.

use serde_json::Value;

use super::keys::{self, KeyVersion, StoredKey};
use super::{Hsm, Result, State, encode};
use crate::api_version::ApiVersion;
use crate::error::ServiceError;
use crate::objects::{self, Attributes, Deletion, Render};
use crate::server::Request;
use crate::store::{HSM_KEYS, Op};
use crate::vault::paging;

impl Hsm {
    pub(super) fn render<'a>(&self, req: &'a Request, api: ApiVersion) -> Render<'a> {
        Render::new(&req.base_url, api, &self.config.soft_delete)
    }

    pub(super) fn persist_key(&self, key: &str, k: Option<&StoredKey>) -> Result<()> {
        let op = match k {
            Some(k) => Op::Put(HSM_KEYS, key.to_owned(), encode(k)?),
            None => Op::Delete(HSM_KEYS, key.to_owned()),
        };
        self.commit(vec![op])
    }

    pub(super) fn create_key(&self, req: &Request, api: ApiVersion, name: &str) -> Result<Value> {
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
            None => StoredKey::new(name),
        };
        let v = KeyVersion {
            version: uuid::Uuid::new_v4().simple().to_string(),
            kty: kty.into(),
            key_ops: body.key_ops.unwrap_or(default_ops),
            public,
            private,
            attributes: Attributes::new(&body.props, now),
            tags: body.props.tags,
        };
        k.latest = v.version.clone();
        k.versions.insert(v.version.clone(), v.clone());
        self.persist_key(&key, Some(&k))?;
        let out = self.render(req, api).key_bundle(&k.name, &v);
        state.keys.insert(key, k);
        Ok(out)
    }

    pub(super) fn find<'s>(
        state: &'s State,
        name: &str,
        version: &str,
    ) -> Result<(&'s StoredKey, &'s KeyVersion)> {
        objects::find_live(&state.keys, name, version, key_not_found)
    }

    pub(super) fn get_key(
        &self,
        req: &Request,
        api: ApiVersion,
        name: &str,
        version: &str,
    ) -> Result<Value> {
        let state = self.lock();
        let (k, v) = Self::find(&state, name, version)?;
        Ok(self.render(req, api).key_bundle(&k.name, v))
    }

    pub(super) fn update_key(
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
        if let Some(ops) = ops {
            v.key_ops = ops;
        }
        v.attributes.update(&props, now);
        if let Some(tags) = props.tags {
            v.tags = Some(tags);
        }
        k.versions.insert(v.version.clone(), v.clone());
        let key = name.to_ascii_lowercase();
        self.persist_key(&key, Some(&k))?;
        let out = self.render(req, api).key_bundle(&k.name, &v);
        state.keys.insert(key, k);
        Ok(out)
    }

    pub(super) fn delete_key(&self, req: &Request, api: ApiVersion, name: &str) -> Result<Value> {
        let now = self.admin.clock.now();
        let mut state = self.lock();
        let (k, v) = Self::find(&state, name, "")?;
        let (mut k, v) = (k.clone(), v.clone());
        let d = Deletion::at(now, &self.config.soft_delete);
        k.deleted = Some(d);
        let key = name.to_ascii_lowercase();
        self.persist_key(&key, Some(&k))?;
        let out = self.render(req, api).deleted_key_bundle(&k, &v, &d);
        state.keys.insert(key, k);
        Ok(out)
    }

    pub(super) fn list_keys(&self, req: &Request, api: ApiVersion) -> Result<Value> {
        let page = paging::page(req)?;
        let r = self.render(req, api);
        let state = self.lock();
        let items = state
            .keys
            .iter()
            .filter(|(_, k)| k.deleted.is_none())
            .filter_map(|(n, k)| {
                k.latest()
                    .map(|v| (n.clone(), r.key_item(&k.name, v, false)))
            });
        Ok(paging::page_of(req, api, "/keys", &page, items))
    }

    pub(super) fn list_key_versions(
        &self,
        req: &Request,
        api: ApiVersion,
        name: &str,
    ) -> Result<Value> {
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
            .map(|(id, v)| (id.clone(), r.key_item(&k.name, v, true)));
        Ok(paging::page_of(
            req,
            api,
            &format!("/keys/{}/versions", k.name),
            &page,
            items,
        ))
    }

    pub(super) fn list_deleted(&self, req: &Request, api: ApiVersion) -> Result<Value> {
        let page = paging::page(req)?;
        let r = self.render(req, api);
        let state = self.lock();
        let items = state.keys.iter().filter_map(|(n, k)| {
            let (d, v) = (k.deleted?, k.latest()?);
            Some((n.clone(), r.deleted_key_item(k, v, &d)))
        });
        Ok(paging::page_of(req, api, "/deletedkeys", &page, items))
    }

    pub(super) fn find_deleted<'s>(
        state: &'s State,
        name: &str,
    ) -> Result<(&'s StoredKey, Deletion)> {
        objects::find_deleted(&state.keys, name, deleted_key_not_found)
    }

    pub(super) fn get_deleted(&self, req: &Request, api: ApiVersion, name: &str) -> Result<Value> {
        let state = self.lock();
        let (k, d) = Self::find_deleted(&state, name)?;
        let v = k.latest().ok_or_else(|| deleted_key_not_found(name))?;
        Ok(self.render(req, api).deleted_key_bundle(k, v, &d))
    }

    pub(super) fn purge(&self, name: &str) -> Result<()> {
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

    pub(super) fn recover(&self, req: &Request, api: ApiVersion, name: &str) -> Result<Value> {
        let mut state = self.lock();
        let (k, _) = Self::find_deleted(&state, name)?;
        let mut k = k.clone();
        k.deleted = None;
        let key = name.to_ascii_lowercase();
        self.persist_key(&key, Some(&k))?;
        let v = k.latest().ok_or_else(|| deleted_key_not_found(name))?;
        let out = self.render(req, api).key_bundle(&k.name, v);
        state.keys.insert(key, k);
        Ok(out)
    }
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

fn deleted_conflict(name: &str) -> ServiceError {
    ServiceError::conflict(format!(
        "Key {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged."
    ))
}
