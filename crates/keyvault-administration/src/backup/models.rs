//! How the HSM authenticates to blob storage, backup results, folder URLs.

use keyvault_core::SecretValue;
use url::Url;
use zeroize::Zeroize;

use crate::{Result, endpoint::invalid, generated::backuprestore as wire};

/// How the Managed HSM authenticates to the blob storage container it
/// writes a backup to or reads one from.
///
/// The SAS token is a secret: `Debug` prints `<redacted>`, and it never
/// appears in logs or errors.
///
/// ```
/// use keyvault_administration::BackupAuth;
///
/// let auth = BackupAuth::sas_token("sv=2024-08-04&ss=b&sig=...");
/// assert_eq!(format!("{auth:?}"), "SasToken(<redacted>)");
/// let auth = BackupAuth::ManagedIdentity;
/// # let _ = auth;
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum BackupAuth {
    /// A shared access signature for the container (without the leading
    /// `?`), allowing the HSM to read, write and list blobs.
    SasToken(SecretValue),
    /// The HSM's user-assigned managed identity, which must have access to
    /// the storage account.
    ManagedIdentity,
}

impl BackupAuth {
    /// A SAS token.
    pub fn sas_token(token: impl Into<String>) -> Self {
        Self::SasToken(SecretValue::new(token))
    }

    /// The container URL and this authentication, as the service wants
    /// them. The token is copied into the body only here.
    pub(crate) fn parameter(&self, storage_resource_uri: String) -> wire::SASTokenParameter {
        let (token, use_managed_identity) = self.parts();
        wire::SASTokenParameter {
            storage_resource_uri,
            token,
            use_managed_identity: Some(use_managed_identity),
        }
    }

    pub(crate) fn parts(&self) -> (Option<String>, bool) {
        match self {
            Self::SasToken(t) => (Some(t.expose_secret().to_owned()), false),
            Self::ManagedIdentity => (None, true),
        }
    }
}

/// Wipes the copy of a SAS token a request body was built from.
pub(crate) fn wipe(token: &mut Option<String>) {
    if let Some(t) = token.as_mut() {
        t.zeroize();
    }
}

impl std::fmt::Debug for BackupAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SasToken(_) => f.write_str("SasToken(<redacted>)"),
            Self::ManagedIdentity => f.write_str("ManagedIdentity"),
        }
    }
}

/// The outcome of a full backup.
///
/// ```no_run
/// use keyvault_administration::BackupAuth;
/// # async fn demo(client: keyvault_administration::KeyVaultBackupClient) -> keyvault_administration::Result<()> {
/// let backup = client
///     .begin_backup("https://account.blob.core.windows.net/backup", BackupAuth::ManagedIdentity, None)
///     .await?
///     .await?;
/// client.begin_restore(&backup.folder_url, BackupAuth::ManagedIdentity, None).await?.await?;
/// # Ok(()) }
/// ```
///
/// Built by users, for example to fake an answer of the client:
///
/// ```
/// use keyvault_administration::KeyVaultBackupResult;
///
/// let result = KeyVaultBackupResult::new("https://account.blob.core.windows.net/backup/mhsm-1");
/// assert_eq!(result.folder_url, "https://account.blob.core.windows.net/backup/mhsm-1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct KeyVaultBackupResult {
    /// The URL of the folder holding the backup, to give to
    /// [`begin_restore`](crate::KeyVaultBackupClient::begin_restore).
    pub folder_url: String,
}

impl KeyVaultBackupResult {
    /// The result of a backup written to the folder at `folder_url`.
    pub fn new(folder_url: impl Into<String>) -> Self {
        Self {
            folder_url: folder_url.into(),
        }
    }
}

/// `scheme://host[:port]/path` of `url`, never its query (which may hold a
/// SAS token).
pub(crate) fn without_query(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// Whether the host is an IP address or `localhost`: then blob URLs are
/// path-style (`http://127.0.0.1:10000/<account>/<container>`), as with
/// Azurite and other storage emulators.
fn path_style(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(_) => true,
        None => false,
    }
}

fn parse(what: &str, text: &str) -> Result<Url> {
    let url = Url::parse(text.trim())
        .map_err(|e| invalid(format!("the {what} is not a valid URL ({e})")))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid(format!("the {what} has no host")));
    }
    Ok(url)
}

/// Checks a blob container URL and drops its query (a SAS token belongs
/// in [`BackupAuth`]) and any trailing slash.
pub(crate) fn container_url(text: &str) -> Result<String> {
    let url = parse("blob container URL", text)?;
    let segments = url
        .path_segments()
        .map_or(0, |s| s.filter(|s| !s.is_empty()).count());
    let needed = if path_style(&url) { 2 } else { 1 };
    if segments < needed {
        return Err(invalid(format!(
            "the blob container URL `{}` names no container",
            without_query(&url)
        )));
    }
    Ok(without_query(&url).trim_end_matches('/').to_owned())
}

/// Splits a backup folder URL into the container URL and the folder name,
/// as the Python client's `parse_folder_url`: the first path segment is the
/// container (after the account, for path-style emulator URLs), the rest
/// the folder; any query is dropped.
///
/// `https://account.blob.core.windows.net/backup/mhsm-x-2020` gives
/// (`https://account.blob.core.windows.net/backup`, `mhsm-x-2020`).
pub(crate) fn parse_folder_url(text: &str) -> Result<(String, String)> {
    let url = parse("backup folder URL", text)?;
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let container_segments = if path_style(&url) { 2 } else { 1 };
    if segments.len() <= container_segments {
        return Err(invalid(format!(
            "the backup folder URL `{}` must name a container and a folder in it",
            without_query(&url)
        )));
    }
    let (container, folder) = segments.split_at(container_segments);
    let mut base = url.clone();
    base.set_query(None);
    base.set_fragment(None);
    base.set_path(&container.join("/"));
    Ok((base.to_string(), folder.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_urls_split_as_python_does() {
        assert_eq!(
            parse_folder_url("https://acct.blob.core.windows.net/backup/mhsm-x-2020").unwrap(),
            (
                "https://acct.blob.core.windows.net/backup".to_owned(),
                "mhsm-x-2020".to_owned()
            )
        );
        assert_eq!(
            parse_folder_url("https://acct.blob.core.windows.net/backup/a/b?sv=1&sig=secret")
                .unwrap(),
            (
                "https://acct.blob.core.windows.net/backup".to_owned(),
                "a/b".to_owned()
            )
        );
        assert_eq!(
            parse_folder_url("http://127.0.0.1:10000/devstoreaccount1/backup/mhsm-x").unwrap(),
            (
                "http://127.0.0.1:10000/devstoreaccount1/backup".to_owned(),
                "mhsm-x".to_owned()
            )
        );
        for bad in [
            "https://acct.blob.core.windows.net/backup",
            "https://acct.blob.core.windows.net/",
            "not a url",
            "http://127.0.0.1:10000/devstoreaccount1/backup?sig=secret",
        ] {
            let e = parse_folder_url(bad).unwrap_err();
            assert!(!e.to_string().contains("secret"), "{e}");
        }
    }

    #[test]
    fn container_urls_lose_their_query() {
        assert_eq!(
            container_url("https://acct.blob.core.windows.net/backup/?sv=1&sig=secret").unwrap(),
            "https://acct.blob.core.windows.net/backup"
        );
        assert!(container_url("https://acct.blob.core.windows.net").is_err());
        assert!(container_url("http://127.0.0.1:10000/devstoreaccount1").is_err());
    }

    #[test]
    fn sas_tokens_are_never_printed() {
        let auth = BackupAuth::sas_token("sig=very-secret");
        assert!(!format!("{auth:?}").contains("very-secret"));
        let p = auth.parameter("https://a.blob.core.windows.net/c".into());
        assert!(!format!("{p:?}").contains("very-secret"));
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::json!({
                "storageResourceUri": "https://a.blob.core.windows.net/c",
                "token": "sig=very-secret",
                "useManagedIdentity": false
            })
        );
        let mi = BackupAuth::ManagedIdentity.parameter("u".into());
        assert_eq!(
            serde_json::to_value(&mi).unwrap(),
            serde_json::json!({"storageResourceUri": "u", "useManagedIdentity": true})
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_parses_without_panicking(text in any::<String>()) {
            if let Ok((container, folder)) = parse_folder_url(&text) {
                prop_assert!(!folder.is_empty());
                prop_assert!(container_url(&container).is_ok(), "{container}");
            }
            let _ = container_url(&text);
        }

        #[test]
        fn a_folder_url_reads_back(
            account in "[a-z][a-z0-9]{2,23}",
            container in "[a-z0-9][a-z0-9-]{2,30}",
            folder in "[a-zA-Z0-9_-]{1,20}(/[a-zA-Z0-9_-]{1,20}){0,2}",
            sas in "(\\?sv=[a-z0-9&=%]{0,40})?",
        ) {
            let base = format!("https://{account}.blob.core.windows.net/{container}");
            let (c, f) = parse_folder_url(&format!("{base}/{folder}{sas}")).unwrap();
            prop_assert_eq!(c, base.clone());
            prop_assert_eq!(f, folder);
            prop_assert_eq!(container_url(&format!("{base}/{sas}")).unwrap(), base);
        }
    }
}
