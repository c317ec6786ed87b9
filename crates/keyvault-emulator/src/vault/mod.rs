//! The Key Vault secrets service: its route table and the operations.
//!
//! Secrets live in a [`Collection`], which commits every change to the
//! store before it is applied in memory and before the answer is sent.

mod backup;
pub(crate) mod model;

use std::sync::Arc;

use serde_json::{Value, json};

use crate::error::{ServiceError, empty_response};
use crate::objects::request::valid_name;
use crate::objects::{Attributes, Collection, Found, Kind, Retention, new_version_id};
use crate::server::HttpResponse;
use crate::service::{Ctx, Result, Route, Service, ok};
use crate::store::{Store, VAULT_SECRETS};
use model::StoredVersion;

/// What the vault's collection holds.
const SECRETS: Kind = Kind {
    noun: "secret",
    title: "Secret",
    not_found_code: "SecretNotFound",
    path: "secrets",
    deleted_path: "deletedsecrets",
    purge_protected: |name| {
        format!(
            "Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge secret {name} after the retention period has passed."
        )
    },
};

/// A vault of the emulator: its secrets service.
pub(crate) struct Vault {
    /// The vault's name (lower case).
    name: String,
    pub(crate) secrets: Collection<StoredVersion>,
    backup_key: [u8; 32],
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Service for Vault {
    const NOUN: &'static str = SECRETS.noun;
    #[rustfmt::skip]
    const ROUTES: &'static [Route<Self>] = &[
        ("GET", "/secrets/", "", |v, c| ok(v.secrets.list(c.req, c.api, false)?)),
        ("POST", "/secrets/restore", "", Self::restore),
        ("GET", "/secrets/{name}", "", Self::get),
        ("PUT", "/secrets/{name}", "", Self::set),
        ("PATCH", "/secrets/{name}", "", Self::update),
        ("DELETE", "/secrets/{name}", "", |v, c| v.answer(c, &v.secrets.delete(c.name())?, false)),
        ("POST", "/secrets/{name}/backup", "", Self::backup),
        ("GET", "/secrets/{name}/versions", "", |v, c| ok(v.secrets.list_versions(c.req, c.api, c.name())?)),
        ("GET", "/secrets/{name}/{version}", "", Self::get),
        ("PATCH", "/secrets/{name}/{version}", "", Self::update),
        ("GET", "/deletedsecrets/", "", |v, c| ok(v.secrets.list(c.req, c.api, true)?)),
        ("GET", "/deletedsecrets/{name}", "", |v, c| v.answer(c, &v.secrets.get_deleted(c.name())?, false)),
        ("DELETE", "/deletedsecrets/{name}", "", |v, c| v.secrets.purge(c.name()).map(|()| empty_response(204))),
        ("POST", "/deletedsecrets/{name}/recover", "", |v, c| v.answer(c, &v.secrets.recover(c.name())?, false)),
    ];

    fn sweep(&self) {
        self.secrets.sweep();
    }
}

impl Vault {
    /// Loads the vault's secrets from `store`.
    pub(crate) fn open(
        name: &str,
        store: Arc<Store>,
        clock: crate::Clock,
        retention: Retention,
        backup_key: [u8; 32],
    ) -> std::result::Result<Arc<Self>, crate::Error> {
        let secrets = Collection::open(&SECRETS, VAULT_SECRETS.of(name), store, clock, retention)?;
        Ok(Arc::new(Self {
            name: name.to_owned(),
            secrets,
            backup_key,
        }))
    }

    /// A bundle of `f`, with the value when `with_value`.
    fn answer(
        &self,
        c: &Ctx<'_>,
        f: &Found<StoredVersion>,
        with_value: bool,
    ) -> Result<HttpResponse> {
        let mut m = self.secrets.bundle(&self.secrets.render(c.req, c.api), f);
        if with_value {
            m.insert("value".into(), json!(f.version.value));
        }
        ok(Value::Object(m))
    }

    fn set(self: &Arc<Self>, c: &Ctx<'_>) -> Result<HttpResponse> {
        let body = model::parse_set(&c.req.body)?;
        let attributes = Attributes::new(&body.props, self.secrets.clock().now());
        let f = self.secrets.create(c.name(), |previous| StoredVersion {
            version: new_version_id(),
            value: body.value,
            content_type: body.props.content_type,
            tags: body.props.tags,
            attributes,
            kid: None,
            managed: None,
            previous_version: previous.map(str::to_owned),
        })?;
        self.answer(c, &f, true)
    }

    fn get(self: &Arc<Self>, c: &Ctx<'_>) -> Result<HttpResponse> {
        if let Some(ct) = c.req.query("outContentType")
            && ct != "application/x-pkcs12"
            && ct != "application/x-pem-file"
        {
            return Err(ServiceError::bad_parameter(format!(
                "Invalid outContentType '{ct}': expected application/x-pkcs12 or application/x-pem-file."
            )));
        }
        let f = self.secrets.get(c.name(), c.version())?;
        if !f.version.attributes.enabled {
            return Err(ServiceError::forbidden(
                "Operation get is not allowed on a disabled secret.",
            ));
        }
        self.answer(c, &f, true)
    }

    fn update(self: &Arc<Self>, c: &Ctx<'_>) -> Result<HttpResponse> {
        let props = model::parse_update(&c.req.body)?;
        let now = self.secrets.clock().now();
        let f = self.secrets.update(c.name(), c.version(), |v| {
            v.attributes.update(&props, now);
            if let Some(ct) = props.content_type {
                v.content_type = Some(ct);
            }
            if let Some(tags) = props.tags {
                v.tags = Some(tags);
            }
        })?;
        self.answer(c, &f, false)
    }

    fn backup(self: &Arc<Self>, c: &Ctx<'_>) -> Result<HttpResponse> {
        let s = self.secrets.get_all(c.name())?;
        ok(json!({"value": backup::seal(&self.backup_key, &s)?}))
    }

    fn restore(self: &Arc<Self>, c: &Ctx<'_>) -> Result<HttpResponse> {
        let blob = model::parse_restore(&c.req.body)?;
        let secret = backup::open(&self.backup_key, &blob)?;
        if !valid_name(&secret.name) {
            return Err(ServiceError::bad_parameter(
                "Backup blob contains invalid or corrupt version.",
            ));
        }
        let f = self.secrets.insert_new(secret)?;
        self.answer(c, &f, false)
    }
}
