//! Reads one secret with the official `SecretClient`, signed in with the
//! Azure CLI (through `DeveloperToolsCredential`).

#![allow(clippy::print_stdout)]

use azure_identity::DeveloperToolsCredential;
use azure_security_keyvault_secrets::SecretClient;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("AZURE_KEYVAULT_URL")?;
    let credential = DeveloperToolsCredential::new(None)?;
    let client = SecretClient::new(&url, credential, None)?;
    let secret = client.get_secret("hello", None).await?.into_model()?;
    println!("hello: {} bytes", secret.value.map_or(0, |v| v.len()));
    Ok(())
}
