//! Reads one secret with our `SecretClient`, signed in with the Azure CLI
//! (through `azure_identity`'s `DeveloperToolsCredential`, as the official
//! app does).

#![allow(clippy::print_stdout)]

use azure_identity::DeveloperToolsCredential;
use keyvault_secrets::SecretClient;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("AZURE_KEYVAULT_URL")?;
    let credential = DeveloperToolsCredential::new(None)?;
    let client = SecretClient::new(&url, credential, None)?;
    let secret = client.get_secret("hello", None).await?;
    println!("hello: {} bytes", secret.value.expose_secret().len());
    Ok(())
}
