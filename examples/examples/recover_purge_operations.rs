//! Recover a deleted secret, and purge another for good.
//!
//! `cargo run --example recover_purge_operations`

#![allow(clippy::print_stdout)]

use examples::{BoxError, Target, unique_name};
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
    let bank = unique_name("recover-bank");
    let storage = unique_name("purge-storage");
    client.set_secret(&bank, "bank-value", None).await?;
    client.set_secret(&storage, "storage-value", None).await?;
    println!("Created secrets {bank} and {storage}");

    // Delete both; each poller finishes when its deleted secret is readable.
    for name in [&bank, &storage] {
        let deleted = client.begin_delete_secret(name, None).await?.await?;
        println!(
            "Deleted {} (recovery id {:?})",
            deleted.name(),
            deleted.recovery_id
        );
    }

    // Recover one: the poller finishes when the secret is readable again.
    let recovered = client
        .begin_recover_deleted_secret(&bank, None)
        .await?
        .await?;
    println!("Recovered {}", recovered.name());
    let back = client.get_secret(&bank, None).await?;
    println!(
        "{} is readable again (version {})",
        back.name(),
        back.properties.version().unwrap_or("?")
    );

    // Purge the other: it cannot be recovered any more.
    client.purge_deleted_secret(&storage, None).await?;
    println!("Purged {storage}");
    match client.get_deleted_secret(&storage, None).await {
        Err(e) if e.is_not_found() => println!("{storage} is gone for good"),
        other => println!("unexpected: {:?}", other.map(|d| d.name().to_owned())),
    }
    Ok(())
}
