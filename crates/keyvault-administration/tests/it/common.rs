//! Helpers shared by the tests: credentials, an emulator with clients that
//! trust it, and Azurite with a container and a SAS token.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyvault_administration::{
    AdministrationClientOptions, ApiVersion, ClientOptions, KeyVaultAccessControlClient,
    KeyVaultBackupClient, KeyVaultSettingsClient,
};
use keyvault_emulator::{AuthMode, Emulator, EmulatorBuilder, EmulatorHandle, RbacMode};

use crate::azurite::Azurite;

/// A credential that returns a fixed token (a JWT naming `oid` when given)
/// and counts its calls.
#[derive(Debug, Default)]
pub struct StaticToken {
    pub oid: Option<String>,
    pub calls: AtomicUsize,
}

impl StaticToken {
    /// A credential whose token is a (unsigned) JWT with this `oid`.
    pub fn jwt(oid: &str) -> Arc<Self> {
        Arc::new(Self {
            oid: Some(oid.to_owned()),
            calls: AtomicUsize::new(0),
        })
    }
}

#[async_trait::async_trait]
impl TokenCredential for StaticToken {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let token = match &self.oid {
            Some(oid) => format!(
                "{}.{}.sig",
                URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
                URL_SAFE_NO_PAD.encode(format!(r#"{{"oid":"{oid}"}}"#))
            ),
            None => "test-token".to_owned(),
        };
        Ok(AccessToken::new(
            token,
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
}

/// A running emulator.
pub struct Env {
    pub emu: EmulatorHandle,
    pub credential: Arc<StaticToken>,
}

/// Options that trust the emulator's CA and send `api_version`.
pub fn options(emu: &EmulatorHandle, api_version: ApiVersion) -> AdministrationClientOptions {
    AdministrationClientOptions {
        api_version,
        client_options: ClientOptions::emulator(Some(emu.ca_cert_pem().as_bytes())),
    }
}

impl Env {
    pub fn access(&self) -> KeyVaultAccessControlClient {
        self.access_as(self.credential.clone())
    }

    pub fn access_as(&self, credential: Arc<StaticToken>) -> KeyVaultAccessControlClient {
        KeyVaultAccessControlClient::new(
            self.emu.hsm_url(),
            credential,
            Some(options(&self.emu, ApiVersion::default())),
        )
        .expect("client")
    }

    pub fn settings(&self) -> KeyVaultSettingsClient {
        KeyVaultSettingsClient::new(
            self.emu.hsm_url(),
            self.credential.clone(),
            Some(options(&self.emu, ApiVersion::default())),
        )
        .expect("client")
    }

    pub fn backup(&self) -> KeyVaultBackupClient {
        self.backup_with(ApiVersion::default())
    }

    pub fn backup_with(&self, api_version: ApiVersion) -> KeyVaultBackupClient {
        KeyVaultBackupClient::new(
            self.emu.hsm_url(),
            self.credential.clone(),
            Some(options(&self.emu, api_version)),
        )
        .expect("client")
    }
}

/// Starts an emulator with the library defaults.
pub async fn start() -> Env {
    start_with(Emulator::builder(), Arc::new(StaticToken::default())).await
}

/// Starts an emulator whose HSM enforces RBAC, with `admin-oid` as its
/// administrator; the default credential is the administrator's.
pub async fn start_enforcing() -> Env {
    start_with(
        Emulator::builder()
            .auth(AuthMode::Jwt)
            .rbac(RbacMode::Enforce)
            .hsm_admin("admin-oid"),
        StaticToken::jwt("admin-oid"),
    )
    .await
}

pub async fn start_with(builder: EmulatorBuilder, credential: Arc<StaticToken>) -> Env {
    let emu = builder.start().await.expect("emulator starts");
    Env { emu, credential }
}

pub use crate::sas::account_sas;

/// Creates the container `name` in Azurite and returns its URL.
pub async fn create_container(az: &Azurite, name: &str, sas: &str) -> String {
    let url = az.container_url(name);
    crate::sas::create_container(&url, sas).expect("create container");
    url
}
