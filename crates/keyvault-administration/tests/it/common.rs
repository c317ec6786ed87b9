//! Helpers shared by the tests: credentials, an emulator with clients that
//! trust it, and Azurite with a container and a SAS token.

use std::sync::Arc;

use keyvault_administration::{
    AdministrationClientOptions, ApiVersion, ClientOptions, KeyVaultAccessControlClient,
    KeyVaultBackupClient, KeyVaultSettingsClient,
};
use keyvault_emulator::{AuthMode, Emulator, EmulatorBuilder, EmulatorHandle, RbacMode};

pub use keyvault_testing::StaticToken;
pub use keyvault_testing::sas::account_sas;

use crate::azurite::Azurite;

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
    let emu = keyvault_testing::emulator::start_with(builder).await;
    Env { emu, credential }
}

/// Creates the container `name` in Azurite and returns its URL.
pub async fn create_container(az: &Azurite, name: &str, sas: &str) -> String {
    az.create_container(name, sas).expect("create container")
}
