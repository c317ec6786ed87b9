//! Account settings.

use crate::{KeyVaultSettingType, endpoint::invalid, generated::settings as wire};

/// One account setting of a Managed HSM: its name, its value as text, and
/// how to read that text.
///
/// ```
/// use keyvault_administration::{KeyVaultSetting, KeyVaultSettingType};
///
/// let setting = KeyVaultSetting::boolean("AllowKeyManagementOperationsThroughARM", true);
/// assert_eq!(setting.value, "true");
/// assert_eq!(setting.setting_type, Some(KeyVaultSettingType::Boolean));
/// assert_eq!(setting.as_bool().unwrap(), true);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct KeyVaultSetting {
    /// The setting's name, for example `AllowKeyManagementOperationsThroughARM`.
    pub name: String,
    /// The value as text (`true` / `false` for a boolean setting).
    pub value: String,
    /// How to read [`value`](Self::value).
    pub setting_type: Option<KeyVaultSettingType>,
}

/// Normalizes a type as the Python client does: `boolean` in any case is
/// [`KeyVaultSettingType::Boolean`], anything else is lower-cased.
fn normalize(t: KeyVaultSettingType) -> KeyVaultSettingType {
    KeyVaultSettingType::from(t.as_str().to_ascii_lowercase().as_str())
}

impl KeyVaultSetting {
    /// A setting with a text value and the given type (`boolean` values are
    /// lower-cased).
    ///
    /// ```
    /// use keyvault_administration::{KeyVaultSetting, KeyVaultSettingType};
    ///
    /// let s = KeyVaultSetting::new("Flag", "TRUE", Some(KeyVaultSettingType::Boolean));
    /// assert_eq!(s.value, "true");
    /// ```
    pub fn new(
        name: impl Into<String>,
        value: impl Into<String>,
        setting_type: Option<KeyVaultSettingType>,
    ) -> Self {
        let setting_type = setting_type.map(normalize);
        let mut value = value.into();
        if setting_type == Some(KeyVaultSettingType::Boolean) {
            value = value.to_ascii_lowercase();
        }
        Self {
            name: name.into(),
            value,
            setting_type,
        }
    }

    /// A boolean setting.
    pub fn boolean(name: impl Into<String>, value: bool) -> Self {
        Self::new(name, value.to_string(), Some(KeyVaultSettingType::Boolean))
    }

    /// The value of a boolean setting.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the
    /// setting is not of type boolean or its value is not exactly `true` or
    /// `false`.
    ///
    /// ```
    /// use keyvault_administration::KeyVaultSetting;
    ///
    /// assert!(KeyVaultSetting::new("Text", "true", None).as_bool().is_err());
    /// assert_eq!(KeyVaultSetting::boolean("Flag", false).as_bool().unwrap(), false);
    /// ```
    pub fn as_bool(&self) -> crate::Result<bool> {
        if self.setting_type != Some(KeyVaultSettingType::Boolean) {
            return Err(invalid(format!(
                "the setting {} is of type {}, not boolean",
                self.name,
                self.setting_type
                    .as_ref()
                    .map_or("(none)", KeyVaultSettingType::as_str)
            )));
        }
        match self.value.as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(invalid(format!(
                "the boolean setting {} has the value {other:?}, neither true nor false",
                self.name
            ))),
        }
    }
}

impl From<wire::Setting> for KeyVaultSetting {
    fn from(s: wire::Setting) -> Self {
        Self::new(s.name, s.value, s.r#type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_values_are_normalized() {
        let s = KeyVaultSetting::from(wire::Setting {
            name: "A".into(),
            value: "False".into(),
            r#type: Some(KeyVaultSettingType::Unknown("BOOLEAN".into())),
        });
        assert_eq!(s.setting_type, Some(KeyVaultSettingType::Boolean));
        assert!(!s.as_bool().unwrap());
        let t = KeyVaultSetting::new(
            "B",
            "Xyz",
            Some(KeyVaultSettingType::Unknown("Text".into())),
        );
        assert_eq!(
            t.setting_type,
            Some(KeyVaultSettingType::Unknown("text".into()))
        );
        assert_eq!(t.value, "Xyz");
        assert!(t.as_bool().is_err());
        let bad = KeyVaultSetting::new("C", "yes", Some(KeyVaultSettingType::Boolean));
        assert!(bad.as_bool().is_err());
    }
}
