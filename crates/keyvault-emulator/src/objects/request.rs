//! What the request bodies of secrets and keys share: the updatable
//! properties (`contentType`, `tags`, `attributes`), the JSON object check,
//! and object names.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::ServiceError;

/// The most tags an object can have.
pub(crate) const MAX_TAGS: usize = 15;
/// The longest tag name, in characters.
pub(crate) const MAX_TAG_NAME: usize = 512;
/// The longest tag value, in characters.
pub(crate) const MAX_TAG_VALUE: usize = 256;

/// The updatable fields of a set or update request.
#[derive(Debug, Default)]
pub(crate) struct Properties {
    pub(crate) content_type: Option<String>,
    pub(crate) tags: Option<BTreeMap<String, String>>,
    pub(crate) enabled: Option<bool>,
    pub(crate) nbf: Option<i64>,
    pub(crate) exp: Option<i64>,
}

/// The body as a JSON object (a missing body, another JSON value or bad JSON is a `400`).
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

/// A required string property; `what` says what it must be (`a string`).
pub(crate) fn required_string(
    m: &Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<String, ServiceError> {
    match m.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => Err(ServiceError::bad_parameter(format!(
            "Property '{key}' is required."
        ))),
        Some(_) => Err(ServiceError::bad_parameter(format!(
            "Property '{key}' must be {what}."
        ))),
    }
}

/// An optional string property.
pub(crate) fn opt_string(
    m: &Map<String, Value>,
    key: &str,
) -> Result<Option<String>, ServiceError> {
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

/// Whether `name` is a valid object name: `^[0-9a-zA-Z-]{1,127}$`.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 127
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Checks an object name (`kind` is `secret` or `key`).
pub(crate) fn check_name(kind: &str, name: &str) -> Result<(), ServiceError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(ServiceError::bad_parameter(format!(
            "The {kind} name '{name}' is invalid: names are 1 to 127 characters of 0-9, a-z, A-Z and '-'."
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("a-B-0"));
        assert!(valid_name(&"a".repeat(127)));
        assert!(!valid_name(&"a".repeat(128)));
        assert!(!valid_name(""));
        assert!(!valid_name("a_b"));
        assert!(!valid_name("a.b"));
    }
}
