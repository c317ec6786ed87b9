//! Shared helpers for the keyvault-rs examples: picking what to run against.
//!
//! Every example calls [`Target::from_env`] (secrets) or
//! [`Target::hsm_from_env`] (Managed HSM). With `AZURE_KEYVAULT_URL` /
//! `AZURE_MANAGEDHSM_URL` set it talks to that vault or HSM with
//! [`DefaultAzureCredential`] and default client options. Without it, it
//! starts the embedded emulator and runs the example again as a child
//! process ([`run_with_emulator`]) with the environment an app in Azure has:
//! the emulator's managed identity endpoint, its proxy (`HTTPS_PROXY`, so the
//! vault is `https://emulator.vault.azure.net` and the challenge is verified
//! as against Azure) and its CA (`SSL_CERT_FILE`); the emulator checks every
//! token.
//!
//! Layout: the target (this file's [`Target`]) is shared; the secrets client
//! is made here, the Managed HSM clients and blob storage in [`hsm`].

use std::{
    convert::Infallible,
    process::Command,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use keyvault_emulator::{AuthMode, Emulator};
use keyvault_secrets::{
    ClientOptions, DefaultAzureCredential, SecretClient, SecretClientOptions, TokenCredential,
};

pub mod hsm;

/// The error type of the examples.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The environment variable that names a real vault.
pub const VAULT_URL_VAR: &str = "AZURE_KEYVAULT_URL";
/// The environment variable that names a real Managed HSM.
pub const HSM_URL_VAR: &str = "AZURE_MANAGEDHSM_URL";
/// Set in the child process [`run_with_emulator`] starts: the endpoints are
/// the embedded emulator's.
const EMULATOR_VAR: &str = "KEYVAULT_EXAMPLES_EMULATOR";
/// The variables of the credentials that come before the managed identity in
/// the chain (and of a user-assigned identity), which the child must not
/// inherit from the developer's shell.
const CREDENTIAL_VARS: [&str; 7] = [
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "MSI_ENDPOINT",
];

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

/// Where an example runs: a vault or Managed HSM (in Azure, or the embedded
/// emulator's under its Azure host name), with the default credential chain.
pub struct Target {
    service: Service,
    pub(crate) url: String,
    pub(crate) credential: Arc<dyn TokenCredential>,
    pub(crate) client_options: ClientOptions,
    emulator: bool,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("service", &self.service)
            .field("url", &self.url)
            .field("emulator", &self.emulator)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// The vault of `AZURE_KEYVAULT_URL`; when it is unset, runs this program
    /// again against the embedded emulator ([`run_with_emulator`]) and exits
    /// with its status.
    ///
    /// # Errors
    /// The credential cannot be built, or the emulator does not start.
    pub async fn from_env() -> Result<Self, BoxError> {
        Self::service_from_env(Service::Vault).await
    }

    /// The Managed HSM of `AZURE_MANAGEDHSM_URL`; when it is unset, runs
    /// this program again against the embedded emulator's Managed HSM
    /// ([`run_with_emulator`]) and exits with its status.
    ///
    /// # Errors
    /// The credential cannot be built, or the emulator does not start.
    pub async fn hsm_from_env() -> Result<Self, BoxError> {
        Self::service_from_env(Service::ManagedHsm).await
    }

    async fn service_from_env(service: Service) -> Result<Self, BoxError> {
        match std::env::var(service.url_var()) {
            Ok(url) if !url.trim().is_empty() => Self::azure(service, url.trim()),
            _ => match run_with_emulator().await? {},
        }
    }

    /// The vault or Managed HSM at `url`, with [`DefaultAzureCredential`]
    /// and default client options (challenge verified, `SSL_CERT_FILE` and
    /// `HTTPS_PROXY` honoured).
    ///
    /// # Errors
    /// The credential cannot be built.
    pub fn azure(service: Service, url: &str) -> Result<Self, BoxError> {
        let credential = DefaultAzureCredential::new(None)?;
        Ok(Self {
            service,
            url: url.to_owned(),
            credential,
            client_options: ClientOptions::default(),
            emulator: std::env::var_os(EMULATOR_VAR).is_some(),
        })
    }

    /// Whether this is the embedded emulator.
    pub fn is_emulator(&self) -> bool {
        self.emulator
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

    /// The end of an example. (The emulator, if there is one, belongs to
    /// the parent process, which stops it.)
    pub async fn shutdown(self) {}
}

/// Starts the embedded emulator (tokens checked) and runs this program
/// again, with the same arguments, as an app in Azure: `AZURE_KEYVAULT_URL`
/// and `AZURE_MANAGEDHSM_URL` name the emulator's endpoints under their Azure
/// host names, `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` its managed
/// identity, `HTTPS_PROXY` its proxy and `SSL_CERT_FILE` its CA. Then stops
/// the emulator and exits with the child's status: it returns only when the
/// emulator or the child cannot start.
///
/// # Errors
/// The emulator or the child process does not start.
pub async fn run_with_emulator() -> Result<Infallible, BoxError> {
    let tls_dir =
        std::env::temp_dir().join(format!("keyvault-rs-examples-tls-{}", std::process::id()));
    let emulator = Emulator::builder()
        .tls_dir(&tls_dir)
        .auth(AuthMode::Strict)
        .start()
        .await?;
    let ca = emulator
        .ca_cert_path()
        .ok_or("the emulator's CA is not on disk")?;
    let mut child = Command::new(std::env::current_exe()?);
    child
        .args(std::env::args_os().skip(1))
        .env(VAULT_URL_VAR, emulator.vault_host_url())
        .env(HSM_URL_VAR, emulator.hsm_host_url())
        .env("IDENTITY_ENDPOINT", emulator.identity_endpoint())
        .env("IDENTITY_HEADER", emulator.identity_header())
        .env("HTTPS_PROXY", emulator.proxy_url())
        .env("SSL_CERT_FILE", ca)
        .env(EMULATOR_VAR, "1")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy");
    for var in CREDENTIAL_VARS {
        child.env_remove(var);
    }
    let status = tokio::task::spawn_blocking(move || child.status()).await?;
    emulator.shutdown().await;
    let _ = std::fs::remove_dir_all(&tls_dir);
    std::process::exit(status?.code().unwrap_or(1))
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
