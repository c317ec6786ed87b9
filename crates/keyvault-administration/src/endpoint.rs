//! What the three clients share: a [`ClientCore`] for a Managed HSM URL.

use std::sync::Arc;

use keyvault_core::{ClientInfo, Result, TokenCredential, client::ClientCore};
use url::Url;

use crate::{AdministrationClientOptions, ApiVersion};

/// Host suffixes of Key Vault vaults (not Managed HSMs) in the Azure clouds.
const VAULT_SUFFIXES: &[&str] = &[
    ".vault.azure.net",
    ".vault.azure.cn",
    ".vault.usgovcloudapi.net",
    ".vault.microsoftazure.de",
];

pub(crate) use keyvault_core::client::{check_name, invalid};

/// A connection to the Managed HSM at `hsm_url`, as the three clients'
/// constructors make it: the URL checked (and refused when it is a vault's),
/// the pipeline built.
pub(crate) fn connect(
    hsm_url: &str,
    credential: Arc<dyn TokenCredential>,
    options: Option<AdministrationClientOptions>,
) -> Result<ClientCore<ApiVersion>> {
    let info = ClientInfo {
        name: "administration",
        version: env!("CARGO_PKG_VERSION"),
    };
    let service = "an Azure Managed HSM, for example https://myhsm.managedhsm.azure.net";
    let core = ClientCore::new(info, hsm_url, service, credential, options)?;
    check_not_a_vault(core.endpoint())?;
    Ok(core)
}

/// Declares, inside the `impl` block of one of the three clients (a struct
/// with a `core: ClientCore<ApiVersion>` field), its constructor and the
/// methods every client shares; `$example` is a URL relative to the HSM for
/// the `send_request` example.
macro_rules! hsm_client {
    ($client:ident, $example:literal) => {
        /// Creates a client for the Managed HSM at `hsm_url` (for example
        /// `https://myhsm.managedhsm.azure.net`), authenticating with
        /// `credential` (the token is for the resource the HSM's challenge
        /// names, `https://managedhsm.azure.net`). Spaces and slashes around
        /// the URL are ignored; nothing is sent until the first operation.
        ///
        /// # Errors
        /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when
        /// `hsm_url` is empty, not `https` (plain `http` only to loopback with
        /// `allow_loopback_http`), or a Key Vault vault rather than a Managed
        /// HSM (`*.vault.azure.net` ...).
        ///
        /// # Examples
        /// ```no_run
        /// use std::sync::Arc;
        #[doc = concat!("use keyvault_administration::{", stringify!($client), ", TokenCredential};")]
        /// # fn demo(credential: Arc<dyn TokenCredential>) -> keyvault_administration::Result<()> {
        #[doc = concat!("let client = ", stringify!($client), "::new(\"https://myhsm.managedhsm.azure.net\", credential, None)?;")]
        /// assert_eq!(client.vault_url(), "https://myhsm.managedhsm.azure.net");
        /// # Ok(()) }
        /// ```
        pub fn new(
            hsm_url: &str,
            credential: std::sync::Arc<dyn keyvault_core::TokenCredential>,
            options: Option<crate::AdministrationClientOptions>,
        ) -> keyvault_core::Result<Self> {
            crate::endpoint::connect(hsm_url, credential, options).map(|core| Self { core })
        }

        keyvault_core::client_methods!(keyvault_administration::$client, crate::ApiVersion, $example);
    };
}
pub(crate) use hsm_client;

/// Refuses a Key Vault vault URL: the administration operations exist only
/// on Managed HSMs, and a vault would answer them with a confusing 404.
fn check_not_a_vault(url: &Url) -> Result<()> {
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    if let Some(suffix) = VAULT_SUFFIXES.iter().find(|s| host.ends_with(*s)) {
        return Err(invalid(format!(
            "`{host}` is a Key Vault vault (a host ending with `{suffix}`), not a Managed HSM: \
             the administration clients need a Managed HSM URL such as https://myhsm.managedhsm.azure.net"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use keyvault_core::ErrorKind;

    use super::*;

    #[test]
    fn clients_are_send_sync_clone() {
        fn assert<T: Send + Sync + Clone + 'static>() {}
        assert::<crate::KeyVaultAccessControlClient>();
        assert::<crate::KeyVaultBackupClient>();
        assert::<crate::KeyVaultSettingsClient>();
    }

    #[test]
    fn vault_hosts_are_refused_and_hsm_hosts_accepted() {
        for vault in [
            "https://myvault.vault.azure.net",
            "https://MyVault.Vault.Azure.Net/",
            "https://v.vault.azure.cn",
            "https://v.vault.usgovcloudapi.net",
        ] {
            let e = check_not_a_vault(&Url::parse(vault).unwrap()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
            assert!(e.to_string().contains("not a Managed HSM"), "{e}");
        }
        for hsm in [
            "https://myhsm.managedhsm.azure.net",
            "https://127.0.0.1:8443",
            "http://localhost:1234",
        ] {
            assert!(
                check_not_a_vault(&Url::parse(hsm).unwrap()).is_ok(),
                "{hsm}"
            );
        }
    }
}
