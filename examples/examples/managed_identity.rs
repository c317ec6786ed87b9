//! An app as it runs in Azure: it takes its token from the managed identity
//! of its host and finds everything else in its environment.
//!
//! `cargo run --example managed_identity`: with `AZURE_KEYVAULT_URL` set, the
//! app runs against that vault with `ManagedIdentityCredential` (on an Azure
//! host, or wherever `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` point). Without
//! it, the example starts the embedded emulator and runs the same app as a
//! child process whose environment is all it is told: the emulator's identity
//! endpoint, its proxy (`HTTPS_PROXY`, so the vault is reached as
//! `https://emulator.vault.azure.net` and the challenge is verified as
//! against Azure) and its CA (`SSL_CERT_FILE`).

#![allow(clippy::print_stdout)]

use std::process::Command;

use azure_identity::{ManagedIdentityCredential, ManagedIdentityCredentialOptions};
use examples::{BoxError, unique_name};
use keyvault_emulator::Emulator;
use keyvault_secrets::{ClientOptions, SecretClient, credential_transport};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    match std::env::var("AZURE_KEYVAULT_URL") {
        Ok(url) => app(&url).await,
        Err(_) => with_embedded_emulator().await,
    }
}

/// The app: nothing but the vault URL and the environment.
async fn app(url: &str) -> Result<(), BoxError> {
    // azure_identity's HTTP requests go through this SDK's transport (its
    // roots, SSL_CERT_FILE and HTTPS_PROXY).
    let client_options = azure_core::http::ClientOptions {
        transport: Some(credential_transport(&ClientOptions::default())?),
        ..Default::default()
    };
    let options = ManagedIdentityCredentialOptions {
        client_options,
        ..Default::default()
    };
    let credential = ManagedIdentityCredential::new(Some(options))?;
    let client = SecretClient::new(url, credential, None)?;
    let name = unique_name("managed-identity");
    let secret = client
        .set_secret(&name, "from a managed identity", None)
        .await?;
    println!("Set {}", secret.properties.id());
    let read = client.get_secret(&name, None).await?;
    println!(
        "Read it back: {} characters",
        read.value.expose_secret().len()
    );
    Ok(())
}

/// Starts the emulator and runs this program again as the app, with the
/// environment the emulator's first line describes.
async fn with_embedded_emulator() -> Result<(), BoxError> {
    let tls_dir = std::env::temp_dir().join("keyvault-rs-examples-tls");
    let emulator = Emulator::builder()
        .tls_dir(&tls_dir)
        .auth(keyvault_emulator::AuthMode::Strict)
        .start()
        .await?;
    println!("Running against the embedded emulator, as a managed identity");
    let ca = emulator
        .ca_cert_path()
        .ok_or("the emulator's CA is not on disk")?;
    let status = Command::new(std::env::current_exe()?)
        .env("AZURE_KEYVAULT_URL", emulator.vault_host_url())
        .env("IDENTITY_ENDPOINT", emulator.identity_endpoint())
        .env("IDENTITY_HEADER", emulator.identity_header())
        .env("HTTPS_PROXY", emulator.proxy_url())
        .env("SSL_CERT_FILE", ca)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .status()?;
    emulator.shutdown().await;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the app failed: {status}").into())
    }
}
