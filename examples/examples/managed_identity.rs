//! An app as it runs in Azure: it takes its token from the managed identity
//! of its host and finds everything else in its environment.
//!
//! `cargo run --example managed_identity`: with `AZURE_KEYVAULT_URL` set, the
//! app runs against that vault with `ManagedIdentityCredential` (on an Azure
//! host, or wherever `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` point). Without
//! it, the example starts the embedded emulator and runs the same app as a
//! child process whose environment is all it is told
//! ([`examples::run_with_emulator`], as every example does): the emulator's
//! identity endpoint, its proxy (`HTTPS_PROXY`, so the vault is reached as
//! `https://emulator.vault.azure.net` and the challenge is verified as
//! against Azure) and its CA (`SSL_CERT_FILE`).

#![allow(clippy::print_stdout)]

use azure_identity::{ManagedIdentityCredential, ManagedIdentityCredentialOptions};
use examples::{BoxError, unique_name};
use keyvault_secrets::{ClientOptions, SecretClient, credential_transport};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    match std::env::var("AZURE_KEYVAULT_URL") {
        Ok(url) => app(&url).await,
        Err(_) => match examples::run_with_emulator().await? {},
    }
}

/// The app: nothing but the vault URL and the environment.
async fn app(url: &str) -> Result<(), BoxError> {
    println!("Running against {url} as a managed identity");
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
