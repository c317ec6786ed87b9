//! The models the [`SecretClient`](crate::SecretClient) returns, built from
//! the generated wire models, and by users with `new` and the `with_*`
//! methods (to fake a client's answers in their own tests).
//!
//! A field the service may leave out is an `Option` (or an empty
//! collection, for tags); the secret's identifier and a secret's value are
//! always there: an answer without them is an [`ErrorKind::Deserialize`]
//! error.
//!
//! With the `serde` feature the models implement `Serialize` and
//! `Deserialize` (field names as in Rust, dates in RFC 3339). Serializing a
//! [`KeyVaultSecret`] fails unless it is wrapped in
//! `ExposeSecrets`, so that its value is written out only when asked for.

use std::collections::HashMap;

use keyvault_core::{Error, ErrorKind, Result};
use time::OffsetDateTime;
use zeroize::Zeroize;

use crate::{
    DeletionRecoveryLevel, KeyVaultSecretIdentifier,
    generated::secrets::{
        DeletedSecretBundle, DeletedSecretItem, SecretAttributes, SecretBundle, SecretItem,
    },
};

// Defined in keyvault-core: the administration client holds its SAS tokens
// in it too.
use keyvault_core::SecretValue;

/// The identifier of a secret in a service's answer.
fn identifier(id: Option<String>) -> Result<KeyVaultSecretIdentifier> {
    let id = id.ok_or_else(|| {
        Error::new(
            ErrorKind::Deserialize,
            "the service's answer names no secret (it has no id)",
        )
    })?;
    KeyVaultSecretIdentifier::parse_owned(id).map_err(|e| {
        Error::new(
            ErrorKind::Deserialize,
            format!("the service's answer has an invalid secret id: {e}"),
        )
    })
}

/// The properties of a secret or of one of its versions: everything but
/// the value.
///
/// ```
/// # fn show(props: &keyvault_secrets::SecretProperties) {
/// println!("{} version {:?}, enabled {:?}", props.name(), props.version(), props.enabled);
/// # }
/// ```
///
/// Built by users, for example to fake an answer of the client:
///
/// ```
/// use keyvault_secrets::SecretProperties;
///
/// let props = SecretProperties::new("https://myvault.vault.azure.net/secrets/db-password/1".parse()?)
///     .with_enabled(true)
///     .with_content_type("password");
/// assert_eq!(props.name(), "db-password");
/// assert_eq!(props.version(), Some("1"));
/// assert_eq!(props.content_type.as_deref(), Some("password"));
/// assert_eq!(props.created_on, None);
/// # Ok::<(), keyvault_secrets::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct SecretProperties {
    id: KeyVaultSecretIdentifier,
    /// Whether the version can be read.
    pub enabled: Option<bool>,
    /// Not usable before this time.
    #[cfg_attr(
        feature = "serde",
        serde(default, with = "time::serde::rfc3339::option")
    )]
    pub not_before: Option<OffsetDateTime>,
    /// Not usable after this time.
    #[cfg_attr(
        feature = "serde",
        serde(default, with = "time::serde::rfc3339::option")
    )]
    pub expires_on: Option<OffsetDateTime>,
    /// When the version was created.
    #[cfg_attr(
        feature = "serde",
        serde(default, with = "time::serde::rfc3339::option")
    )]
    pub created_on: Option<OffsetDateTime>,
    /// When the version last changed.
    #[cfg_attr(
        feature = "serde",
        serde(default, with = "time::serde::rfc3339::option")
    )]
    pub updated_on: Option<OffsetDateTime>,
    /// A hint about what the value is.
    pub content_type: Option<String>,
    /// User-defined name/value pairs (empty when the secret has none).
    #[cfg_attr(feature = "serde", serde(default))]
    pub tags: HashMap<String, String>,
    /// For a secret that backs a certificate: the certificate's key id.
    pub key_id: Option<String>,
    /// Whether Key Vault manages the secret's life cycle (a secret that
    /// backs a certificate; the service says so only when it does).
    #[cfg_attr(feature = "serde", serde(default))]
    pub managed: bool,
    /// What protection against deletion the vault gives the secret.
    pub recovery_level: Option<DeletionRecoveryLevel>,
    /// How many days a deleted secret stays recoverable.
    pub recoverable_days: Option<i32>,
    /// For a certificate's secret: the previous version (API 2025-07-01 on).
    pub previous_version: Option<String>,
}

impl SecretProperties {
    /// The properties of the secret (or version) `id`, with every other
    /// field empty: set them with the `with_*` methods or directly.
    pub fn new(id: KeyVaultSecretIdentifier) -> Self {
        Self {
            id,
            enabled: None,
            not_before: None,
            expires_on: None,
            created_on: None,
            updated_on: None,
            content_type: None,
            tags: HashMap::new(),
            key_id: None,
            managed: false,
            recovery_level: None,
            recoverable_days: None,
            previous_version: None,
        }
    }

    keyvault_core::with_setters! {
        with_enabled: enabled = Some(bool);
        with_not_before: not_before = Some(OffsetDateTime);
        with_expires_on: expires_on = Some(OffsetDateTime);
        with_created_on: created_on = Some(OffsetDateTime);
        with_updated_on: updated_on = Some(OffsetDateTime);
        with_content_type: content_type = Some(String);
        with_tags: tags = HashMap<String, String>;
        with_key_id: key_id = Some(String);
        with_managed: managed = bool;
        with_recovery_level: recovery_level = Some(DeletionRecoveryLevel);
        with_recoverable_days: recoverable_days = Some(i32);
        with_previous_version: previous_version = Some(String);
    }

    /// The secret's identifier, `{vault}/secrets/{name}[/{version}]`, as
    /// the service wrote it.
    pub fn id(&self) -> &str {
        self.id.source_id()
    }

    /// The parsed identifier.
    pub fn identifier(&self) -> &KeyVaultSecretIdentifier {
        &self.id
    }

    /// The secret's name.
    pub fn name(&self) -> &str {
        self.id.name()
    }

    /// The version, when the identifier names one (list items of
    /// [`list_properties_of_secrets`](crate::SecretClient::list_properties_of_secrets)
    /// do not).
    pub fn version(&self) -> Option<&str> {
        self.id.version()
    }

    /// The URL of the vault that holds the secret.
    pub fn vault_url(&self) -> &str {
        self.id.vault_url()
    }

    fn build(
        id: Option<String>,
        attributes: Option<SecretAttributes>,
        content_type: Option<String>,
        tags: Option<HashMap<String, String>>,
        managed: Option<bool>,
    ) -> Result<Self> {
        let a = attributes.unwrap_or_default();
        Ok(Self {
            enabled: a.enabled,
            not_before: a.not_before,
            expires_on: a.expires,
            created_on: a.created,
            updated_on: a.updated,
            content_type,
            tags: tags.unwrap_or_default(),
            managed: managed.unwrap_or(false),
            recovery_level: a.recovery_level,
            recoverable_days: a.recoverable_days,
            ..Self::new(identifier(id)?)
        })
    }
}

/// A secret: its value and its properties.
///
/// `Debug` never shows the value; `==` compares values in constant time.
///
/// ```
/// # fn show(secret: &keyvault_secrets::KeyVaultSecret) {
/// println!("{} is {} bytes long", secret.name(), secret.value.len());
/// let clear: &str = secret.value.expose_secret();
/// # let _ = clear; }
/// ```
///
/// Built by users:
///
/// ```
/// use keyvault_secrets::{KeyVaultSecret, SecretProperties};
///
/// let id = "https://myvault.vault.azure.net/secrets/db-password/1".parse()?;
/// let secret = KeyVaultSecret::new(SecretProperties::new(id), "hunter2");
/// assert_eq!(secret.value.expose_secret(), "hunter2");
/// assert_eq!(format!("{secret:?}").contains("hunter2"), false);
/// # Ok::<(), keyvault_secrets::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct KeyVaultSecret {
    /// The properties of this version.
    pub properties: SecretProperties,
    /// The value.
    pub value: SecretValue,
}

impl KeyVaultSecret {
    /// A secret with these properties and this value.
    pub fn new(properties: SecretProperties, value: impl Into<SecretValue>) -> Self {
        Self {
            properties,
            value: value.into(),
        }
    }

    /// The secret's name.
    pub fn name(&self) -> &str {
        self.properties.name()
    }

    /// The identifier of this version.
    pub fn id(&self) -> &str {
        self.properties.id()
    }
}

/// A soft-deleted secret: its last properties, and when it was deleted and
/// will be purged.
///
/// ```
/// # fn show(deleted: &keyvault_secrets::DeletedSecret) -> keyvault_secrets::Result<()> {
/// use keyvault_secrets::KeyVaultSecretIdentifier;
///
/// if let Some(recovery_id) = &deleted.recovery_id {
///     let id: KeyVaultSecretIdentifier = recovery_id.parse()?;
///     assert!(id.is_deleted());
///     println!("{} can be recovered until {:?}", id.name(), deleted.scheduled_purge_date);
/// }
/// # Ok(()) }
/// ```
///
/// Built by users:
///
/// ```
/// use keyvault_secrets::{DeletedSecret, SecretProperties};
///
/// let id = "https://myvault.vault.azure.net/secrets/db-password".parse()?;
/// let deleted = DeletedSecret::new(SecretProperties::new(id))
///     .with_recovery_id("https://myvault.vault.azure.net/deletedsecrets/db-password")
///     .with_deleted_on(time::OffsetDateTime::UNIX_EPOCH);
/// assert_eq!(deleted.name(), "db-password");
/// assert_eq!(deleted.scheduled_purge_date, None);
/// # Ok::<(), keyvault_secrets::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct DeletedSecret {
    /// The properties the secret had when it was deleted.
    pub properties: SecretProperties,
    /// The URL to recover or purge it with
    /// (`{vault}/deletedsecrets/{name}`); `None` when the vault has no
    /// soft-delete.
    pub recovery_id: Option<String>,
    /// When it was deleted.
    #[cfg_attr(
        feature = "serde",
        serde(default, with = "time::serde::rfc3339::option")
    )]
    pub deleted_on: Option<OffsetDateTime>,
    /// When the service will purge it for good.
    #[cfg_attr(
        feature = "serde",
        serde(default, with = "time::serde::rfc3339::option")
    )]
    pub scheduled_purge_date: Option<OffsetDateTime>,
}

impl DeletedSecret {
    /// A deleted secret with these properties and no recovery id or dates.
    pub fn new(properties: SecretProperties) -> Self {
        Self {
            properties,
            recovery_id: None,
            deleted_on: None,
            scheduled_purge_date: None,
        }
    }

    keyvault_core::with_setters! {
        with_recovery_id: recovery_id = Some(String);
        with_deleted_on: deleted_on = Some(OffsetDateTime);
        with_scheduled_purge_date: scheduled_purge_date = Some(OffsetDateTime);
    }

    /// The secret's name.
    pub fn name(&self) -> &str {
        self.properties.name()
    }

    /// The secret's identifier.
    pub fn id(&self) -> &str {
        self.properties.id()
    }
}

impl TryFrom<SecretBundle> for KeyVaultSecret {
    type Error = Error;

    fn try_from(mut b: SecretBundle) -> Result<Self> {
        // Moved out of the wire model, so no copy is left behind; the
        // buffer is zeroized when the value is dropped.
        let value = b.value.take().map(SecretValue::from);
        let properties = SecretProperties::try_from(b)?;
        let value = value.ok_or_else(|| {
            Error::new(
                ErrorKind::Deserialize,
                format!(
                    "the service's answer for {} holds no value",
                    properties.id()
                ),
            )
        })?;
        Ok(Self { properties, value })
    }
}

impl TryFrom<SecretBundle> for SecretProperties {
    type Error = Error;

    fn try_from(mut b: SecretBundle) -> Result<Self> {
        if let Some(v) = b.value.as_mut() {
            v.zeroize();
        }
        let mut p = Self::build(b.id, b.attributes, b.content_type, b.tags, b.managed)?;
        p.key_id = b.kid;
        p.previous_version = b.previous_version;
        Ok(p)
    }
}

impl TryFrom<SecretItem> for SecretProperties {
    type Error = Error;

    fn try_from(i: SecretItem) -> Result<Self> {
        Self::build(i.id, i.attributes, i.content_type, i.tags, i.managed)
    }
}

impl TryFrom<DeletedSecretBundle> for DeletedSecret {
    type Error = Error;

    fn try_from(mut b: DeletedSecretBundle) -> Result<Self> {
        if let Some(v) = b.value.as_mut() {
            v.zeroize();
        }
        let mut properties =
            SecretProperties::build(b.id, b.attributes, b.content_type, b.tags, b.managed)?;
        properties.key_id = b.kid;
        properties.previous_version = b.previous_version;
        Ok(Self {
            properties,
            recovery_id: b.recovery_id,
            deleted_on: b.deleted_date,
            scheduled_purge_date: b.scheduled_purge_date,
        })
    }
}

impl TryFrom<DeletedSecretItem> for DeletedSecret {
    type Error = Error;

    fn try_from(i: DeletedSecretItem) -> Result<Self> {
        let properties =
            SecretProperties::build(i.id, i.attributes, i.content_type, i.tags, i.managed)?;
        Ok(Self {
            properties,
            recovery_id: i.recovery_id,
            deleted_on: i.deleted_date,
            scheduled_purge_date: i.scheduled_purge_date,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_becomes_a_secret_with_parsed_id() {
        let b: SecretBundle = serde_json::from_str(
            r#"{"value":"s3cr3t","id":"https://v.vault.azure.net/secrets/n/abc","contentType":"text/plain",
                "attributes":{"enabled":true,"created":1700000000,"updated":1700000001,"nbf":1700000002,
                "exp":1800000000,"recoveryLevel":"Recoverable+Purgeable","recoverableDays":90},
                "tags":{"a":"b"},"kid":"https://v.vault.azure.net/keys/n/abc","managed":true,"previousVersion":"old"}"#,
        )
        .unwrap();
        let s = KeyVaultSecret::try_from(b).unwrap();
        assert_eq!(s.value.expose_secret(), "s3cr3t");
        assert_eq!(s.name(), "n");
        let p = &s.properties;
        assert_eq!(p.version(), Some("abc"));
        assert_eq!(p.vault_url(), "https://v.vault.azure.net");
        assert_eq!(p.enabled, Some(true));
        assert_eq!(
            p.created_on.map(|d| d.unix_timestamp()),
            Some(1_700_000_000)
        );
        assert_eq!(
            p.updated_on.map(|d| d.unix_timestamp()),
            Some(1_700_000_001)
        );
        assert_eq!(
            p.not_before.map(|d| d.unix_timestamp()),
            Some(1_700_000_002)
        );
        assert_eq!(
            p.expires_on.map(|d| d.unix_timestamp()),
            Some(1_800_000_000)
        );
        assert_eq!(
            p.recovery_level,
            Some(DeletionRecoveryLevel::RecoverablePurgeable)
        );
        assert_eq!(p.recoverable_days, Some(90));
        assert_eq!(p.tags.get("a").map(String::as_str), Some("b"));
        assert!(p.managed);
        assert_eq!(
            p.key_id.as_deref(),
            Some("https://v.vault.azure.net/keys/n/abc")
        );
        assert_eq!(p.previous_version.as_deref(), Some("old"));
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn deleted_bundle_keeps_dates_and_drops_value() {
        let b: DeletedSecretBundle = serde_json::from_str(
            r#"{"value":"s3cr3t","id":"https://v.vault.azure.net/secrets/n/abc",
                "recoveryId":"https://v.vault.azure.net/deletedsecrets/n",
                "deletedDate":1700000000,"scheduledPurgeDate":1707776000}"#,
        )
        .unwrap();
        let d = DeletedSecret::try_from(b).unwrap();
        assert_eq!(d.name(), "n");
        assert_eq!(
            d.recovery_id.as_deref(),
            Some("https://v.vault.azure.net/deletedsecrets/n")
        );
        assert_eq!(
            d.deleted_on.map(|t| t.unix_timestamp()),
            Some(1_700_000_000)
        );
        assert_eq!(
            d.scheduled_purge_date.map(|t| t.unix_timestamp()),
            Some(1_707_776_000)
        );
        assert!(!format!("{d:?}").contains("s3cr3t"));
    }

    #[test]
    fn answers_without_an_id_or_a_value_are_errors() {
        let no_id: SecretItem = serde_json::from_str(r#"{"attributes":{"enabled":true}}"#).unwrap();
        let e = SecretProperties::try_from(no_id).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Deserialize);
        assert!(e.to_string().contains("no id"), "{e}");
        let bad_id: SecretItem = serde_json::from_str(r#"{"id":"not a url"}"#).unwrap();
        let e = SecretProperties::try_from(bad_id).unwrap_err();
        assert!(e.to_string().contains("invalid secret id"), "{e}");
        let no_value: SecretBundle =
            serde_json::from_str(r#"{"id":"https://v.vault.azure.net/secrets/n/abc"}"#).unwrap();
        let e = KeyVaultSecret::try_from(no_value).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Deserialize);
        assert!(e.to_string().contains("holds no value"), "{e}");
    }
}
