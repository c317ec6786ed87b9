//! The vault's own wire and storage types: what is stored per secret, how
//! its request bodies are validated, and how bundles and items are rendered.
//! Deliberately independent of the client crates.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::api_version::ApiVersion;
use crate::error::ServiceError;
use crate::objects::request::{Properties, parse_object, parse_properties, required_string};
use crate::objects::{Attributes, Render, Stored, Versioned};

/// The largest secret value, in bytes.
pub(crate) const MAX_VALUE_BYTES: usize = 25 * 1024;
/// One version of a secret. Its `Debug` never shows the value.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct StoredVersion {
    pub(crate) version: String,
    pub(crate) value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tags: Option<BTreeMap<String, String>>,
    #[serde(flatten)]
    pub(crate) attributes: Attributes,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) managed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) previous_version: Option<String>,
}

impl std::fmt::Debug for StoredVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredVersion")
            .field("version", &self.version)
            .field("value", &"<redacted>")
            .field("attributes", &self.attributes)
            .finish_non_exhaustive()
    }
}

/// A secret: its name as first created, its versions, and its deletion state.
pub(crate) type StoredSecret = Stored<StoredVersion>;

/// The secret wire shapes.
impl Versioned for StoredVersion {
    fn id(&self) -> &str {
        &self.version
    }

    /// A SecretBundle without the value.
    fn bundle(&self, r: &Render<'_>, name: &str) -> Map<String, Value> {
        common(
            r,
            self,
            format!("{}/secrets/{name}/{}", r.base, self.version),
            false,
        )
    }

    /// A SecretItem.
    fn item(&self, r: &Render<'_>, name: &str, versioned: bool) -> Map<String, Value> {
        let id = if versioned {
            format!("{}/secrets/{name}/{}", r.base, self.version)
        } else {
            format!("{}/secrets/{name}", r.base)
        };
        common(r, self, id, true)
    }
}

fn common(r: &Render<'_>, v: &StoredVersion, id: String, item: bool) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.insert(
        "attributes".into(),
        Value::Object(r.attributes(&v.attributes)),
    );
    if let Some(ct) = &v.content_type {
        m.insert("contentType".into(), json!(ct));
    }
    if let Some(tags) = &v.tags {
        m.insert("tags".into(), json!(tags));
    }
    if let Some(managed) = v.managed {
        m.insert("managed".into(), json!(managed));
    }
    if !item {
        if let Some(kid) = &v.kid {
            m.insert("kid".into(), json!(kid));
        }
        if r.api.at_least(ApiVersion::V2025_07_01)
            && let Some(pv) = &v.previous_version
        {
            m.insert("previousVersion".into(), json!(pv));
        }
    }
    m
}

/// A validated set-secret body. Its `Debug` never shows the value.
pub(crate) struct SetRequest {
    pub(crate) value: String,
    pub(crate) props: Properties,
}

impl std::fmt::Debug for SetRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetRequest")
            .field("value", &"<redacted>")
            .field("props", &self.props)
            .finish()
    }
}

/// Parses and validates a set-secret body.
pub(crate) fn parse_set(body: &[u8]) -> Result<SetRequest, ServiceError> {
    let m = parse_object(body)?;
    let value = required_string(&m, "value", "a string")?;
    if value.len() > MAX_VALUE_BYTES {
        return Err(ServiceError::bad_parameter(format!(
            "The secret value is too large: {} bytes (at most {MAX_VALUE_BYTES}).",
            value.len()
        )));
    }
    Ok(SetRequest {
        value,
        props: parse_properties(&m)?,
    })
}

/// Parses and validates an update-secret body.
pub(crate) fn parse_update(body: &[u8]) -> Result<Properties, ServiceError> {
    parse_properties(&parse_object(body)?)
}

/// Parses a restore body: the base64url backup blob.
pub(crate) fn parse_restore(body: &[u8]) -> Result<String, ServiceError> {
    required_string(&parse_object(body)?, "value", "a base64url string")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_value() {
        let v = StoredVersion {
            version: "v".into(),
            value: "hunter2".into(),
            content_type: None,
            tags: None,
            attributes: Attributes::new(&Properties::default(), 0),
            kid: None,
            managed: None,
            previous_version: None,
        };
        let shown = format!("{v:?}");
        assert!(!shown.contains("hunter2") && shown.contains("<redacted>"));
        let set = parse_set(br#"{"value":"hunter2","contentType":"text/plain"}"#).unwrap();
        let shown = format!("{set:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("text/plain"),
            "{shown}"
        );
    }

    #[test]
    fn stored_records_keep_their_shape() {
        // Records written before the attributes had their own type still load,
        // and new ones are written the same way.
        let old = json!({
            "version": "v1", "value": "x", "enabled": false, "exp": 9,
            "created": 1, "updated": 2, "previous_version": "v0"
        });
        let v: StoredVersion = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(
            (v.attributes.enabled, v.attributes.exp, v.attributes.nbf),
            (false, Some(9), None)
        );
        assert_eq!(serde_json::to_value(&v).unwrap(), old);
    }

    #[test]
    fn set_validation() {
        assert!(parse_set(br#"{"value":"v"}"#).is_ok());
        assert!(parse_set(br#"{"value":1}"#).is_err());
        assert!(parse_set(br#"{}"#).is_err());
        assert!(parse_set(b"").is_err());
        assert!(parse_set(b"[1]").is_err());
        assert!(parse_set(b"{bad").is_err());
        assert!(parse_set(br#"{"value":"v","attributes":{"enabled":"yes"}}"#).is_err());
        assert!(parse_set(br#"{"value":"v","attributes":{"exp":1.5}}"#).is_err());
        assert!(parse_set(br#"{"value":"v","tags":{"a":1}}"#).is_err());
        let big = format!(r#"{{"value":"{}"}}"#, "x".repeat(MAX_VALUE_BYTES + 1));
        assert!(parse_set(big.as_bytes()).is_err());
        let ok = format!(r#"{{"value":"{}"}}"#, "x".repeat(MAX_VALUE_BYTES));
        assert!(parse_set(ok.as_bytes()).is_ok());
        let tags: Map<String, Value> = (0..16).map(|i| (format!("t{i}"), json!("v"))).collect();
        let body = json!({"value": "v", "tags": tags}).to_string();
        assert!(parse_set(body.as_bytes()).is_err());
        let r = parse_set(
            br#"{"value":"v","attributes":{"enabled":false,"nbf":5,"exp":9,"created":1}}"#,
        )
        .unwrap();
        assert_eq!(
            (r.props.enabled, r.props.nbf, r.props.exp),
            (Some(false), Some(5), Some(9))
        );
    }
}
