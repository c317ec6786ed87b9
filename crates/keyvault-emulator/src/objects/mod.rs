//! What the vault's secrets and the HSM's keys share: objects with versions
//! and soft-delete state ([`Collection`]), version attributes, retention,
//! request bodies, paging, and the `attributes` object and deletion fields of
//! their wire shapes. Nothing here knows a service.

mod collection;
pub(crate) mod paging;
pub(crate) mod request;
mod versions;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::api_version::ApiVersion;
pub(crate) use collection::{Collection, Found, Kind, Staged, Versioned};
use request::Properties;
pub(crate) use versions::VersionMap;

/// Soft-delete settings of a vault or an HSM.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retention {
    pub(crate) retention_days: u32,
    pub(crate) purge_protection: bool,
}

impl Retention {
    pub(crate) fn recovery_level(&self) -> &'static str {
        match (self.retention_days >= 90, self.purge_protection) {
            (true, false) => "Recoverable+Purgeable",
            (false, false) => "CustomizedRecoverable+Purgeable",
            (true, true) => "Recoverable",
            (false, true) => "CustomizedRecoverable",
        }
    }
}

/// A new version id: 32 lower-case hex digits.
pub(crate) fn new_version_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// When a deleted object was deleted and will be purged.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub(crate) struct Deletion {
    pub(crate) deleted_date: i64,
    pub(crate) scheduled_purge_date: i64,
}

impl Deletion {
    /// A deletion at `now`, purged after the retention period.
    pub(crate) fn at(now: i64, retention: &Retention) -> Self {
        Self {
            deleted_date: now,
            scheduled_purge_date: now
                .saturating_add(i64::from(retention.retention_days).saturating_mul(86_400)),
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
    pub(crate) versions: VersionMap<V>,
    pub(crate) latest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) deleted: Option<Deletion>,
}

impl<V> Stored<V> {
    /// An object without versions yet.
    pub(crate) fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            versions: VersionMap::default(),
            latest: String::new(),
            deleted: None,
        }
    }

    pub(crate) fn latest(&self) -> Option<&V> {
        self.versions.get(&self.latest)
    }
}

/// What a response is rendered with: the common parts here, the secret and
/// key shapes in the services' [`Versioned`] implementations.
pub(crate) struct Render<'a> {
    /// The URL the client called, without a trailing `/`.
    pub(crate) base: &'a str,
    pub(crate) api: ApiVersion,
    pub(crate) recovery_level: &'static str,
    pub(crate) recoverable_days: u32,
}

impl<'a> Render<'a> {
    pub(crate) fn new(base: &'a str, api: ApiVersion, retention: &Retention) -> Self {
        Self {
            base,
            api,
            recovery_level: retention.recovery_level(),
            recoverable_days: retention.retention_days,
        }
    }

    /// The `attributes` object: the stored attributes (which have the wire
    /// names), `recoveryLevel`, and `recoverableDays` from `7.1` on.
    pub(crate) fn attributes(&self, t: &Attributes) -> Map<String, Value> {
        let Ok(Value::Object(mut a)) = serde_json::to_value(t) else {
            return Map::new();
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_levels() {
        let s = |d, p| Retention {
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

    #[test]
    fn purge_date_saturates() {
        let settings = Retention {
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
}
