//! Reads one secret with our `SecretClient`, signed in with the Azure CLI
//! (through our `DefaultAzureCredential`).

#![allow(clippy::print_stdout)]

use keyvault_secrets::{DefaultAzureCredential, SecretClient};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("AZURE_KEYVAULT_URL")?;
    let credential = DefaultAzureCredential::new(None)?;
    let client = SecretClient::new(&url, credential, None)?;
    let secret = client.get_secret("hello", None).await?;
    println!(
        "{}: {} bytes",
        secret.name(),
        secret.value.expose_secret().len()
    );
    Ok(())
}
