//! Account settings: `GET /settings`, `GET` and `PATCH /settings/{name}`.

use serde_json::{Value, json};

use super::{Hsm, Result, State};
use crate::error::ServiceError;

/// The account settings an HSM has: `(name, type, default value)`.
const SETTINGS: &[(&str, &str, &str)] =
    &[("AllowKeyManagementOperationsThroughARM", "boolean", "false")];

impl Hsm {
    pub(super) fn setting_json(&self, state: &State, name: &str) -> Option<Value> {
        SETTINGS
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
            .map(|(n, t, default)| {
                let value = state.settings.get(*n).map_or(*default, String::as_str);
                json!({"name": n, "value": value, "type": t})
            })
    }

    pub(super) fn list_settings(&self) -> Value {
        let state = self.lock();
        let settings: Vec<Value> = SETTINGS
            .iter()
            .filter_map(|(n, _, _)| self.setting_json(&state, n))
            .collect();
        json!({"settings": settings})
    }

    pub(super) fn get_setting(&self, name: &str) -> Result<Value> {
        let state = self.lock();
        self.setting_json(&state, name)
            .ok_or_else(|| setting_not_found(name))
    }

    pub(super) fn update_setting(&self, name: &str, body: &[u8]) -> Result<Value> {
        let m = crate::objects::request::parse_object(body)?;
        let value = match m.get("value") {
            Some(Value::String(s)) => s.clone(),
            _ => {
                return Err(ServiceError::bad_parameter(
                    "Property 'value' is required and must be a string.",
                ));
            }
        };
        let (n, value) = check_setting(name, &value)?;
        let _writing = self.lock_writes();
        self.store.put(self.tables.settings, n, &value)?;
        let mut state = self.lock();
        state.settings.insert(n.to_owned(), value);
        Ok(self.setting_json(&state, n).unwrap_or(Value::Null))
    }
}

/// The setting's name as the service spells it and the value to store, or
/// why `value` cannot be written to the setting `name`.
pub(crate) fn check_setting(name: &str, value: &str) -> Result<(&'static str, String)> {
    let (n, t, _) = SETTINGS
        .iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
        .ok_or_else(|| setting_not_found(name))?;
    if *t != "boolean" {
        return Ok((n, value.to_owned()));
    }
    match value.to_ascii_lowercase().as_str() {
        v @ ("true" | "false") => Ok((n, v.to_owned())),
        _ => Err(ServiceError::bad_parameter(format!(
            "The value of setting {n} must be 'true' or 'false', not '{value}'."
        ))),
    }
}

/// Whether `value` is the default of the setting `name` (as [`check_setting`]
/// spells both).
pub(crate) fn is_default(name: &str, value: &str) -> bool {
    SETTINGS.iter().any(|(n, _, d)| *n == name && *d == value)
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
