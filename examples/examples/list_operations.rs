//! List secrets, the versions of a secret, and deleted secrets.
//!
//! `cargo run --example list_operations`

#![allow(clippy::print_stdout)]

use examples::{BoxError, Target, date, unique_name};
use futures::TryStreamExt;
use keyvault_secrets::SecretClient;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let target = Target::from_env().await?;
    println!("{}", target.describe());
    run(&target.secret_client()?).await?;
    target.shutdown().await;
    Ok(())
}

/// The example itself.
pub async fn run(client: &SecretClient) -> Result<(), BoxError> {
    let bank = unique_name("list-bank");
    let storage = unique_name("list-storage");
    client.set_secret(&bank, "bank-value", None).await?;
    client.set_secret(&storage, "storage-value", None).await?;
    println!("Created secrets {bank} and {storage}");

    // Lists are lazy streams: pages are fetched as they are consumed.
    println!("Secrets in the vault (values are not listed):");
    let mut secrets = client.list_properties_of_secrets(None);
    while let Some(props) = secrets.try_next().await? {
        println!("  {} (updated {})", props.name(), date(props.updated_on));
    }

    // A new value for the bank secret makes a second version.
    client.set_secret(&bank, "bank-value-2", None).await?;
    println!("Versions of {bank}:");
    let mut versions = client.list_properties_of_secret_versions(&bank, None);
    while let Some(v) = versions.try_next().await? {
        println!(
            "  {} created {}",
            v.version().unwrap_or("?"),
            date(v.created_on)
        );
    }

    // Delete both, then list the deleted secrets.
    for name in [&bank, &storage] {
        client.begin_delete_secret(name, None).await?.await?;
        println!("Deleted {name}");
    }
    println!("Deleted secrets:");
    let mut deleted = client.list_deleted_secrets(None);
    while let Some(d) = deleted.try_next().await? {
        println!("  {} (deleted {})", d.name(), date(d.deleted_on));
    }
    Ok(())
}
