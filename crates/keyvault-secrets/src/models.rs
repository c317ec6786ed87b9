//! The models the [`SecretClient`](crate::SecretClient) returns, built from
//! the generated wire models.

use std::collections::HashMap;

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

/// Moves a value out of a decoded wire model; no copy is left behind, and
/// the buffer is zeroized when the value is dropped.
pub(crate) fn take_value(value: &mut Option<String>) -> SecretValue {
    value.take().map(SecretValue::from).unwrap_or_default()
}

/// The properties of a secret or of one of its versions: everything but
/// the value.
///
/// ```
/// # fn show(props: &keyvault_secrets::SecretProperties) {
/// println!("{} version {:?}, enabled {:?}", props.name(), props.version(), props.enabled);
/// # }
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct SecretProperties {
    id: Option<KeyVaultSecretIdentifier>,
    /// Whether the version can be read.
    pub enabled: Option<bool>,
    /// Not usable before this time.
    pub not_before: Option<OffsetDateTime>,
    /// Not usable after this time.
    pub expires_on: Option<OffsetDateTime>,
    /// When the version was created.
    pub created_on: Option<OffsetDateTime>,
    /// When the version last changed.
    pub updated_on: Option<OffsetDateTime>,
    /// A hint about what the value is.
    pub content_type: Option<String>,
    /// User-defined name/value pairs.
    pub tags: HashMap<String, String>,
    /// For a secret that backs a certificate: the certificate's key id.
    pub key_id: Option<String>,
    /// Whether Key Vault manages the secret's life cycle (a secret that
    /// backs a certificate).
    pub managed: bool,
    /// What protection against deletion the vault gives the secret.
    pub recovery_level: Option<DeletionRecoveryLevel>,
    /// How many days a deleted secret stays recoverable.
    pub recoverable_days: Option<i32>,
    /// For a certificate's secret: the previous version (API 2025-07-01 on).
    pub previous_version: Option<String>,
}

impl SecretProperties {
    /// The secret's identifier, `{vault}/secrets/{name}[/{version}]`
    /// (empty if the service sent none).
    pub fn id(&self) -> &str {
        self.id.as_ref().map_or("", |i| i.source_id())
    }

    /// The parsed identifier, if the service sent one.
    pub fn identifier(&self) -> Option<&KeyVaultSecretIdentifier> {
        self.id.as_ref()
    }

    /// The secret's name.
    pub fn name(&self) -> &str {
        self.id.as_ref().map_or("", |i| i.name())
    }

    /// The version, when the identifier names one (list items of
    /// [`list_properties_of_secrets`](crate::SecretClient::list_properties_of_secrets)
    /// do not).
    pub fn version(&self) -> Option<&str> {
        self.id.as_ref().and_then(|i| i.version())
    }

    /// The URL of the vault that holds the secret.
    pub fn vault_url(&self) -> &str {
        self.id.as_ref().map_or("", |i| i.vault_url())
    }

    fn build(
        id: Option<String>,
        attributes: Option<SecretAttributes>,
        content_type: Option<String>,
        tags: Option<HashMap<String, String>>,
        managed: Option<bool>,
    ) -> Self {
        let a = attributes.unwrap_or_default();
        Self {
            id: id.and_then(|i| KeyVaultSecretIdentifier::parse(&i).ok()),
            enabled: a.enabled,
            not_before: a.not_before,
            expires_on: a.expires,
            created_on: a.created,
            updated_on: a.updated,
            content_type,
            tags: tags.unwrap_or_default(),
            key_id: None,
            managed: managed.unwrap_or(false),
            recovery_level: a.recovery_level,
            recoverable_days: a.recoverable_days,
            previous_version: None,
        }
    }
}

/// A secret: its value and its properties.
///
/// `Debug` never shows the value.
///
/// ```
/// # fn show(secret: &keyvault_secrets::KeyVaultSecret) {
/// println!("{} is {} bytes long", secret.name(), secret.value.len());
/// let clear: &str = secret.value.expose_secret();
/// # let _ = clear; }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct KeyVaultSecret {
    /// The properties of this version.
    pub properties: SecretProperties,
    /// The value.
    pub value: SecretValue,
}

impl KeyVaultSecret {
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
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct DeletedSecret {
    /// The properties the secret had when it was deleted.
    pub properties: SecretProperties,
    /// The URL to recover or purge it with
    /// (`{vault}/deletedsecrets/{name}`); `None` when the vault has no
    /// soft-delete.
    pub recovery_id: Option<String>,
    /// When it was deleted.
    pub deleted_on: Option<OffsetDateTime>,
    /// When the service will purge it for good.
    pub scheduled_purge_date: Option<OffsetDateTime>,
}

impl DeletedSecret {
    /// The secret's name.
    pub fn name(&self) -> &str {
        self.properties.name()
    }

    /// The secret's identifier.
    pub fn id(&self) -> &str {
        self.properties.id()
    }
}

impl From<SecretBundle> for KeyVaultSecret {
    fn from(mut b: SecretBundle) -> Self {
        let value = take_value(&mut b.value);
        Self {
            properties: SecretProperties::from(b),
            value,
        }
    }
}

impl From<SecretBundle> for SecretProperties {
    fn from(mut b: SecretBundle) -> Self {
        if let Some(v) = b.value.as_mut() {
            v.zeroize();
        }
        let mut p = Self::build(b.id, b.attributes, b.content_type, b.tags, b.managed);
        p.key_id = b.kid;
        p.previous_version = b.previous_version;
        p
    }
}

impl From<SecretItem> for SecretProperties {
    fn from(i: SecretItem) -> Self {
        Self::build(i.id, i.attributes, i.content_type, i.tags, i.managed)
    }
}

impl From<DeletedSecretBundle> for DeletedSecret {
    fn from(mut b: DeletedSecretBundle) -> Self {
        if let Some(v) = b.value.as_mut() {
            v.zeroize();
        }
        let mut properties =
            SecretProperties::build(b.id, b.attributes, b.content_type, b.tags, b.managed);
        properties.key_id = b.kid;
        properties.previous_version = b.previous_version;
        Self {
            properties,
            recovery_id: b.recovery_id,
            deleted_on: b.deleted_date,
            scheduled_purge_date: b.scheduled_purge_date,
        }
    }
}

impl From<DeletedSecretItem> for DeletedSecret {
    fn from(i: DeletedSecretItem) -> Self {
        Self {
            properties: SecretProperties::build(
                i.id,
                i.attributes,
                i.content_type,
                i.tags,
                i.managed,
            ),
            recovery_id: i.recovery_id,
            deleted_on: i.deleted_date,
            scheduled_purge_date: i.scheduled_purge_date,
        }
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
        let s = KeyVaultSecret::from(b);
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
        let d = DeletedSecret::from(b);
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
}
