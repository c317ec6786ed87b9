//! What the vault's secrets and the HSM's keys share: objects with versions
//! and soft-delete state, version attributes, the `attributes` object and
//! deletion fields of their wire shapes, and sealing backups with
//! AES-256-GCM.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::api_version::ApiVersion;
use crate::error::ServiceError;
use crate::vault::VaultSettings;
use crate::vault::model::Properties;

/// When a deleted object was deleted and will be purged.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub(crate) struct Deletion {
    pub(crate) deleted_date: i64,
    pub(crate) scheduled_purge_date: i64,
}

impl Deletion {
    /// A deletion at `now`, purged after the retention period.
    pub(crate) fn at(now: i64, settings: &VaultSettings) -> Self {
        Self {
            deleted_date: now,
            scheduled_purge_date: now
                .saturating_add(i64::from(settings.retention_days).saturating_mul(86_400)),
        }
    }
}

/// The attributes every version has (stored inline with its other fields).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub(crate) struct Attributes {
    pub(crate) enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) exp: Option<i64>,
    pub(crate) created: i64,
    pub(crate) updated: i64,
}

impl Attributes {
    /// A new version's attributes: enabled unless `props` say otherwise.
    pub(crate) fn new(props: &Properties, now: i64) -> Self {
        Self {
            enabled: props.enabled.unwrap_or(true),
            nbf: props.nbf,
            exp: props.exp,
            created: now,
            updated: now,
        }
    }

    /// Applies an update's attributes (what it leaves out stays) and sets
    /// `updated` to `now`.
    pub(crate) fn update(&mut self, props: &Properties, now: i64) {
        if let Some(enabled) = props.enabled {
            self.enabled = enabled;
        }
        if let Some(nbf) = props.nbf {
            self.nbf = Some(nbf);
        }
        if let Some(exp) = props.exp {
            self.exp = Some(exp);
        }
        self.updated = now;
    }
}

/// A secret or a key: its name as first created, its versions by id, the id
/// of the latest, and its deletion state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Stored<V> {
    pub(crate) name: String,
    pub(crate) versions: BTreeMap<String, V>,
    pub(crate) latest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) deleted: Option<Deletion>,
}

impl<V> Stored<V> {
    /// An object without versions yet.
    pub(crate) fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            versions: BTreeMap::new(),
            latest: String::new(),
            deleted: None,
        }
    }

    pub(crate) fn latest(&self) -> Option<&V> {
        self.versions.get(&self.latest)
    }
}

/// A live object's version by name (any case) and version id (`""` for the
/// latest); `not_found` names what is missing.
pub(crate) fn find_live<'s, V>(
    objects: &'s BTreeMap<String, Stored<V>>,
    name: &str,
    version: &str,
    not_found: fn(&str) -> ServiceError,
) -> Result<(&'s Stored<V>, &'s V), ServiceError> {
    let o = objects
        .get(&name.to_ascii_lowercase())
        .filter(|o| o.deleted.is_none())
        .ok_or_else(|| not_found(name))?;
    let v = if version.is_empty() {
        o.latest()
    } else {
        o.versions.get(&version.to_ascii_lowercase())
    };
    let v = v.ok_or_else(|| not_found(&format!("{name}/{version}")))?;
    Ok((o, v))
}

/// A deleted object by name (any case) and its deletion.
pub(crate) fn find_deleted<'s, V>(
    objects: &'s BTreeMap<String, Stored<V>>,
    name: &str,
    not_found: fn(&str) -> ServiceError,
) -> Result<(&'s Stored<V>, Deletion), ServiceError> {
    objects
        .get(&name.to_ascii_lowercase())
        .and_then(|o| o.deleted.map(|d| (o, d)))
        .ok_or_else(|| not_found(name))
}

/// What a response is rendered with. `vault/model.rs` adds the secret wire
/// shapes to it, `hsm/keys.rs` the key ones.
pub(crate) struct Render<'a> {
    /// The URL the client called, without a trailing `/`.
    pub(crate) base: &'a str,
    pub(crate) api: ApiVersion,
    pub(crate) recovery_level: &'static str,
    pub(crate) recoverable_days: u32,
}

impl<'a> Render<'a> {
    pub(crate) fn new(base: &'a str, api: ApiVersion, settings: &VaultSettings) -> Self {
        Self {
            base,
            api,
            recovery_level: settings.recovery_level(),
            recoverable_days: settings.retention_days,
        }
    }

    /// The `attributes` object (`recoverableDays` from `7.1` on).
    pub(crate) fn attributes(&self, t: &Attributes) -> Map<String, Value> {
        let mut a = Map::new();
        a.insert("enabled".into(), json!(t.enabled));
        if let Some(nbf) = t.nbf {
            a.insert("nbf".into(), json!(nbf));
        }
        if let Some(exp) = t.exp {
            a.insert("exp".into(), json!(exp));
        }
        a.insert("created".into(), json!(t.created));
        a.insert("updated".into(), json!(t.updated));
        a.insert("recoveryLevel".into(), json!(self.recovery_level));
        if self.api.at_least(ApiVersion::V7_1) {
            a.insert("recoverableDays".into(), json!(self.recoverable_days));
        }
        a
    }

    /// Adds `recoveryId` (`{base}/{collection}/{name}`), `deletedDate` and
    /// `scheduledPurgeDate`.
    pub(crate) fn deletion(
        &self,
        m: &mut Map<String, Value>,
        collection: &str,
        name: &str,
        d: &Deletion,
    ) {
        m.insert(
            "recoveryId".into(),
            json!(format!("{}/{collection}/{name}", self.base)),
        );
        m.insert("deletedDate".into(), json!(d.deleted_date));
        m.insert("scheduledPurgeDate".into(), json!(d.scheduled_purge_date));
    }
}

/// The length of a sealed blob's header: a format byte and a 12-byte nonce.
const HEADER: usize = 13;
/// The length of the AES-GCM tag.
const TAG: usize = 16;

/// Seals `plain` as `format byte || nonce || ciphertext and tag`, bound to
/// `aad`.
pub(crate) fn seal(key: &[u8; 32], format: u8, aad: &[u8], plain: &[u8]) -> Option<Vec<u8>> {
    let mut nonce = [0u8; 12];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = Aes256Gcm::new(key.into())
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
        .ok()?;
    let mut out = Vec::with_capacity(HEADER + sealed.len());
    out.push(format);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Some(out)
}

/// Opens what [`seal`] made with the same key, format and `aad`; `None` for
/// anything else (short, another format, tampered, another key).
pub(crate) fn open(key: &[u8; 32], format: u8, aad: &[u8], raw: &[u8]) -> Option<Vec<u8>> {
    if raw.len() < HEADER + TAG || raw[0] != format {
        return None;
    }
    Aes256Gcm::new(key.into())
        .decrypt(
            Nonce::from_slice(&raw[1..HEADER]),
            Payload {
                msg: &raw[HEADER..],
                aad,
            },
        )
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purge_date_saturates() {
        let settings = VaultSettings {
            retention_days: 90,
            purge_protection: false,
        };
        assert_eq!(
            Deletion::at(10, &settings).scheduled_purge_date,
            10 + 90 * 86_400
        );
        assert_eq!(
            Deletion::at(i64::MAX - 5, &settings).scheduled_purge_date,
            i64::MAX
        );
    }

    #[test]
    fn sealing() {
        let key = [7u8; 32];
        let sealed = seal(&key, 1, b"a", b"plain").unwrap();
        assert_eq!(open(&key, 1, b"a", &sealed).unwrap(), b"plain");
        assert!(open(&key, 1, b"b", &sealed).is_none());
        assert!(open(&key, 2, b"a", &sealed).is_none());
        assert!(open(&[8u8; 32], 1, b"a", &sealed).is_none());
        assert!(open(&key, 1, b"a", &sealed[..HEADER + TAG - 1]).is_none());
        assert!(open(&key, 1, b"a", &[]).is_none());
    }
}
