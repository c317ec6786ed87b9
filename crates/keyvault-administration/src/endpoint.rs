//! What the three clients share: the pipeline, the checked Managed HSM URL
//! and the API version.

use std::sync::Arc;

use keyvault_core::{
    ClientInfo, Context, Error, ErrorKind, Pipeline, Result, TokenCredential,
    http::{Method, Request, Response},
};
use url::Url;

use crate::{AdministrationClientOptions, ApiVersion, SendRequestOptions};

/// Host suffixes of Key Vault vaults (not Managed HSMs) in the Azure clouds.
const VAULT_SUFFIXES: &[&str] = &[
    ".vault.azure.net",
    ".vault.azure.cn",
    ".vault.usgovcloudapi.net",
    ".vault.microsoftazure.de",
];

pub(crate) fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

/// A connection to one Managed HSM.
pub(crate) struct Endpoint {
    pub(crate) pipeline: Pipeline,
    pub(crate) url: Url,
    pub(crate) hsm_url: String,
    pub(crate) api_version: ApiVersion,
}

fn client_info() -> ClientInfo {
    ClientInfo {
        name: "administration",
        version: env!("CARGO_PKG_VERSION"),
        default_api_version: crate::version::DEFAULT,
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("hsm_url", &self.hsm_url)
            .field("api_version", &self.api_version)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// [`Endpoint::new`], shared by a client and its clones.
    pub(crate) fn shared(
        hsm_url: &str,
        credential: Arc<dyn TokenCredential>,
        options: Option<AdministrationClientOptions>,
    ) -> Result<Arc<Self>> {
        Self::new(hsm_url, credential, options).map(Arc::new)
    }

    /// Checks `hsm_url` and builds the pipeline.
    pub(crate) fn new(
        hsm_url: &str,
        credential: Arc<dyn TokenCredential>,
        options: Option<AdministrationClientOptions>,
    ) -> Result<Self> {
        let hsm_url = hsm_url.trim_matches(|c| c == ' ' || c == '/');
        if hsm_url.is_empty() {
            return Err(invalid(
                "vault_url must be the URL of an Azure Managed HSM, for example https://myhsm.managedhsm.azure.net",
            ));
        }
        let options = options.unwrap_or_default();
        let mut client_options = options.client_options;
        client_options.api_version = Some(options.api_version.as_str().to_owned());
        let pipeline = Pipeline::new(client_info(), credential, client_options)?;
        let url = pipeline.parse_endpoint(hsm_url)?;
        check_not_a_vault(&url)?;
        Ok(Self {
            pipeline,
            url,
            hsm_url: hsm_url.to_owned(),
            api_version: options.api_version,
        })
    }

    /// A raw request through the pipeline; see the clients' `send_request`.
    pub(crate) async fn send_request(
        &self,
        method: Method,
        url: &str,
        options: Option<SendRequestOptions>,
    ) -> Result<Response> {
        self.pipeline
            .send_request(&self.url, method, url, options)
            .await
    }

    /// Sends `request` for the operation `operation`; a failure status is
    /// an error.
    pub(crate) async fn send(&self, operation: &'static str, request: Request) -> Result<Response> {
        self.pipeline.send(&Context::new(operation), request).await
    }
}

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
    use super::*;

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
