//! The vault's own wire and storage types: what is stored per secret, how
//! request bodies are validated, and how bundles and items are rendered.
//! Deliberately independent of the client crates.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::api_version::ApiVersion;
use crate::error::ServiceError;
use crate::objects::{Attributes, Deletion, Render, Stored};

/// The largest secret value, in bytes.
pub(crate) const MAX_VALUE_BYTES: usize = 25 * 1024;
/// The most tags an object can have.
pub(crate) const MAX_TAGS: usize = 15;
/// The longest tag name, in characters.
pub(crate) const MAX_TAG_NAME: usize = 512;
/// The longest tag value, in characters.
pub(crate) const MAX_TAG_VALUE: usize = 256;

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

/// The secret wire shapes, rendered like every object's.
impl Render<'_> {
    fn common(&self, v: &StoredVersion, id: String, item: bool) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), json!(id));
        m.insert(
            "attributes".into(),
            Value::Object(self.attributes(&v.attributes)),
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
            if self.api.at_least(ApiVersion::V2025_07_01)
                && let Some(pv) = &v.previous_version
            {
                m.insert("previousVersion".into(), json!(pv));
            }
        }
        m
    }

    pub(crate) fn version_id(&self, name: &str, version: &str) -> String {
        format!("{}/secrets/{name}/{version}", self.base)
    }

    /// A SecretBundle, with or without the value.
    pub(crate) fn bundle(&self, name: &str, v: &StoredVersion, with_value: bool) -> Value {
        let mut m = self.common(v, self.version_id(name, &v.version), false);
        if with_value {
            m.insert("value".into(), json!(v.value));
        }
        Value::Object(m)
    }

    /// A DeletedSecretBundle (latest version, no value).
    pub(crate) fn deleted_bundle(
        &self,
        s: &StoredSecret,
        v: &StoredVersion,
        d: &Deletion,
    ) -> Value {
        let mut m = self.common(v, self.version_id(&s.name, &v.version), false);
        self.deletion(&mut m, "deletedsecrets", &s.name, d);
        Value::Object(m)
    }

    /// A SecretItem: `versioned` picks the id with the version (version lists).
    pub(crate) fn item(&self, name: &str, v: &StoredVersion, versioned: bool) -> Value {
        let id = if versioned {
            self.version_id(name, &v.version)
        } else {
            format!("{}/secrets/{name}", self.base)
        };
        Value::Object(self.common(v, id, true))
    }

    /// A DeletedSecretItem.
    pub(crate) fn deleted_item(&self, s: &StoredSecret, v: &StoredVersion, d: &Deletion) -> Value {
        let mut m = self.common(v, format!("{}/secrets/{}", self.base, s.name), true);
        self.deletion(&mut m, "deletedsecrets", &s.name, d);
        Value::Object(m)
    }
}

/// The updatable fields of a set or update request.
#[derive(Debug, Default)]
pub(crate) struct Properties {
    pub(crate) content_type: Option<String>,
    pub(crate) tags: Option<BTreeMap<String, String>>,
    pub(crate) enabled: Option<bool>,
    pub(crate) nbf: Option<i64>,
    pub(crate) exp: Option<i64>,
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

pub(crate) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ServiceError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ServiceError::bad_parameter("The request body is missing."));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ServiceError::bad_parameter(
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(ServiceError::bad_parameter(format!(
            "The request body is not valid JSON: {e}"
        ))),
    }
}

fn opt_string(m: &Map<String, Value>, key: &str) -> Result<Option<String>, ServiceError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ServiceError::bad_parameter(format!(
            "Property '{key}' must be a string."
        ))),
    }
}

fn opt_time(m: &Map<String, Value>, key: &str) -> Result<Option<i64>, ServiceError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(t) if t >= 0 => Ok(Some(t)),
            _ => Err(ServiceError::bad_parameter(format!(
                "Property 'attributes.{key}' must be a Unix time in whole seconds."
            ))),
        },
        Some(_) => Err(ServiceError::bad_parameter(format!(
            "Property 'attributes.{key}' must be an integer."
        ))),
    }
}

pub(crate) fn parse_properties(m: &Map<String, Value>) -> Result<Properties, ServiceError> {
    let mut p = Properties {
        content_type: opt_string(m, "contentType")?,
        ..Properties::default()
    };
    match m.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Object(tags)) => {
            if tags.len() > MAX_TAGS {
                return Err(ServiceError::bad_parameter(format!(
                    "Too many tags: {} (at most {MAX_TAGS} are allowed).",
                    tags.len()
                )));
            }
            let mut out = BTreeMap::new();
            for (k, v) in tags {
                let Value::String(v) = v else {
                    return Err(ServiceError::bad_parameter(format!(
                        "The value of tag '{k}' must be a string."
                    )));
                };
                if k.is_empty() || k.chars().count() > MAX_TAG_NAME {
                    return Err(ServiceError::bad_parameter(format!(
                        "Tag names must be 1 to {MAX_TAG_NAME} characters long."
                    )));
                }
                if v.chars().count() > MAX_TAG_VALUE {
                    return Err(ServiceError::bad_parameter(format!(
                        "The value of tag '{k}' is longer than {MAX_TAG_VALUE} characters."
                    )));
                }
                out.insert(k.clone(), v.clone());
            }
            p.tags = Some(out);
        }
        Some(_) => {
            return Err(ServiceError::bad_parameter(
                "Property 'tags' must be an object of strings.",
            ));
        }
    }
    match m.get("attributes") {
        None | Some(Value::Null) => {}
        Some(Value::Object(a)) => {
            p.enabled = match a.get("enabled") {
                None | Some(Value::Null) => None,
                Some(Value::Bool(b)) => Some(*b),
                Some(_) => {
                    return Err(ServiceError::bad_parameter(
                        "Property 'attributes.enabled' must be a boolean.",
                    ));
                }
            };
            p.nbf = opt_time(a, "nbf")?;
            p.exp = opt_time(a, "exp")?;
        }
        Some(_) => {
            return Err(ServiceError::bad_parameter(
                "Property 'attributes' must be an object.",
            ));
        }
    }
    Ok(p)
}

/// Parses and validates a set-secret body.
pub(crate) fn parse_set(body: &[u8]) -> Result<SetRequest, ServiceError> {
    let m = parse_object(body)?;
    let value = match m.get("value") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => {
            return Err(ServiceError::bad_parameter("Property 'value' is required."));
        }
        Some(_) => {
            return Err(ServiceError::bad_parameter(
                "Property 'value' must be a string.",
            ));
        }
    };
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
    let m = parse_object(body)?;
    match m.get("value") {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => {
            Err(ServiceError::bad_parameter("Property 'value' is required."))
        }
        Some(_) => Err(ServiceError::bad_parameter(
            "Property 'value' must be a base64url string.",
        )),
    }
}

/// Whether `name` is a valid object name: `^[0-9a-zA-Z-]{1,127}$`.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 127
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
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
    fn names() {
        assert!(valid_name("a-B-0"));
        assert!(valid_name(&"a".repeat(127)));
        assert!(!valid_name(&"a".repeat(128)));
        assert!(!valid_name(""));
        assert!(!valid_name("a_b"));
        assert!(!valid_name("a.b"));
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
