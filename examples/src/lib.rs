//! Shared helpers for the keyvault-rs examples: picking what to run against.
//!
//! Every example calls [`Target::from_env`] (secrets) or
//! [`Target::hsm_from_env`] (Managed HSM): with `AZURE_KEYVAULT_URL` /
//! `AZURE_MANAGEDHSM_URL` set it talks to that vault or HSM with the
//! developer tools credential (Azure CLI, then Azure Developer CLI); without
//! it, it starts the embedded emulator in-process, trusts its CA, and
//! authenticates with a static token.
//!
//! Layout: the target (this file's [`Target`]) is shared; the secrets client
//! is made here, the Managed HSM clients and blob storage in [`hsm`].

use std::{
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use keyvault_emulator::{Emulator, EmulatorHandle};
use keyvault_secrets::{ClientOptions, SecretClient, SecretClientOptions};

pub mod hsm;

/// The error type of the examples.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The environment variable that names a real vault.
pub const VAULT_URL_VAR: &str = "AZURE_KEYVAULT_URL";
/// The environment variable that names a real Managed HSM.
pub const HSM_URL_VAR: &str = "AZURE_MANAGEDHSM_URL";

/// Which service an example talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// A Key Vault (secrets).
    Vault,
    /// A Managed HSM (administration).
    ManagedHsm,
}

impl Service {
    /// The environment variable that names a real endpoint of this service.
    pub fn url_var(self) -> &'static str {
        match self {
            Self::Vault => VAULT_URL_VAR,
            Self::ManagedHsm => HSM_URL_VAR,
        }
    }

    fn emulator_name(self) -> &'static str {
        match self {
            Self::Vault => "the embedded emulator",
            Self::ManagedHsm => "the embedded emulator's Managed HSM",
        }
    }
}

/// A credential for the emulator, which accepts any bearer token: it hands
/// out one fixed token that is valid for an hour.
#[derive(Debug, Default)]
pub struct StaticTokenCredential;

#[async_trait::async_trait]
impl TokenCredential for StaticTokenCredential {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        Ok(AccessToken::new(
            "emulator-token",
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
}

/// Where an example runs: a real vault or Managed HSM, or an emulator
/// started for it.
pub struct Target {
    service: Service,
    pub(crate) url: String,
    pub(crate) credential: Arc<dyn TokenCredential>,
    pub(crate) client_options: ClientOptions,
    emulator: Option<EmulatorHandle>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("service", &self.service)
            .field("url", &self.url)
            .field("emulator", &self.emulator.is_some())
            .finish_non_exhaustive()
    }
}

impl Target {
    /// A real vault when `AZURE_KEYVAULT_URL` is set, else the emulator.
    ///
    /// # Errors
    /// The credential cannot be built, or the emulator does not start.
    pub async fn from_env() -> Result<Self, BoxError> {
        Self::service_from_env(Service::Vault).await
    }

    /// A real Managed HSM when `AZURE_MANAGEDHSM_URL` is set, else the
    /// emulator's Managed HSM.
    ///
    /// # Errors
    /// The credential cannot be built, or the emulator does not start.
    pub async fn hsm_from_env() -> Result<Self, BoxError> {
        Self::service_from_env(Service::ManagedHsm).await
    }

    async fn service_from_env(service: Service) -> Result<Self, BoxError> {
        match std::env::var(service.url_var()) {
            Ok(url) if !url.trim().is_empty() => Self::azure(service, url.trim()),
            _ => Self::emulator(service).await,
        }
    }

    /// The vault or Managed HSM at `url`, with the developer tools credential.
    ///
    /// # Errors
    /// The credential cannot be built.
    pub fn azure(service: Service, url: &str) -> Result<Self, BoxError> {
        let credential = azure_identity::DeveloperToolsCredential::new(None)?;
        Ok(Self {
            service,
            url: url.to_owned(),
            credential,
            client_options: ClientOptions::default(),
            emulator: None,
        })
    }

    /// A new in-memory emulator on ephemeral ports, with its CA trusted
    /// and challenge-resource verification off (its challenges name
    /// `vault.azure.net` and `managedhsm.azure.net`, not `localhost`).
    ///
    /// # Errors
    /// The emulator does not start.
    pub async fn emulator(service: Service) -> Result<Self, BoxError> {
        let emulator = Emulator::builder().start().await?;
        let client_options = ClientOptions::emulator(Some(emulator.ca_cert_pem().as_bytes()));
        let url = match service {
            Service::Vault => emulator.vault_url(),
            Service::ManagedHsm => emulator.hsm_url(),
        };
        Ok(Self {
            service,
            url: url.to_owned(),
            credential: Arc::new(StaticTokenCredential),
            client_options,
            emulator: Some(emulator),
        })
    }

    /// Whether this is the embedded emulator.
    pub fn is_emulator(&self) -> bool {
        self.emulator.is_some()
    }

    /// The line each example prints first: what it runs against.
    pub fn describe(&self) -> String {
        let var = self.service.url_var();
        if self.is_emulator() {
            let name = self.service.emulator_name();
            format!("Running against {name} at {} ({var} is not set)", self.url)
        } else {
            format!("Running against {} ({var})", self.url)
        }
    }

    /// A secrets client of the target vault.
    ///
    /// # Errors
    /// The vault URL is not valid.
    pub fn secret_client(&self) -> Result<SecretClient, BoxError> {
        let options = SecretClientOptions {
            client_options: self.client_options.clone(),
            ..Default::default()
        };
        Ok(SecretClient::new(
            &self.url,
            self.credential.clone(),
            Some(options),
        )?)
    }

    /// Stops the emulator, if there is one.
    pub async fn shutdown(self) {
        if let Some(emulator) = self.emulator {
            emulator.shutdown().await;
        }
    }
}

/// A date as RFC 3339 (`2026-01-31T12:00:00Z`), or `-` when there is none.
pub fn date(value: Option<time::OffsetDateTime>) -> String {
    value
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "-".to_owned())
}

/// `prefix` followed by a suffix that differs from run to run, so that an
/// example run twice against a real vault does not meet its own deleted
/// secrets.
pub fn unique_name(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}-{:x}", nanos & 0xff_ffff_ffff)
}

/// The workspace README's code, compiled as doc tests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
