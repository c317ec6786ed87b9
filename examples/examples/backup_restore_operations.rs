//! Back up a secret, delete and purge it, then restore it from the backup.
//!
//! `cargo run --example backup_restore_operations`

#![allow(clippy::print_stdout)]

use std::time::Duration;

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
    let name = unique_name("backup");
    client.set_secret(&name, "backup-value", None).await?;
    println!("Created secret {name}");

    // The backup is an opaque, protected blob holding every version.
    let backup = client.backup_secret(&name, None).await?;
    println!("Backed up {name}: {} bytes", backup.len());

    // Delete it and purge it, so that the name is free again.
    client.begin_delete_secret(&name, None).await?.await?;
    client.purge_deleted_secret(&name, None).await?;
    println!("Deleted and purged {name}");

    // A purge takes a moment to complete in Azure: retry while the name is
    // still taken.
    let mut tries = 0;
    let restored = loop {
        match client.restore_secret_backup(&backup, None).await {
            Err(e) if e.is_conflict() && tries < 30 => {
                tries += 1;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            other => break other?,
        }
    };
    println!(
        "Restored {} (version {})",
        restored.name(),
        restored.version().unwrap_or("?")
    );
    Ok(())
}
