//! The blocking `SecretClient`, for programs without async: set and read a
//! secret, list its versions page by page and resume from a continuation token, delete
//! and recover with pollers that block.
//!
//! `cargo run --example blocking_secrets` (against the embedded emulator
//! unless `AZURE_KEYVAULT_URL` names a vault).

#![allow(clippy::print_stdout)]

use std::time::Duration;

use examples::{BoxError, Target};
use keyvault_secrets::{ListOptions, blocking::SecretClient};

fn main() -> Result<(), BoxError> {
    // The target's emulator (when no vault URL is set) runs on this runtime;
    // the blocking client brings a runtime of its own.
    let runtime = tokio::runtime::Runtime::new()?;
    let target = runtime.block_on(Target::from_env())?;
    println!("{}", target.describe());
    let client = SecretClient::from_async(target.secret_client()?)?;
    run(&client)?;
    drop(client);
    runtime.block_on(target.shutdown());
    Ok(())
}

/// The example itself.
pub fn run(client: &SecretClient) -> Result<(), BoxError> {
    let name = examples::unique_name("blocking");
    let secret = client.set_secret(&name, "s3cr3t-value", None)?;
    println!("Set {} ({:?})", secret.name(), secret.properties.version());
    let read = client.get_secret(&name, None)?;
    println!(
        "Read it back: {} characters",
        read.value.expose_secret().len()
    );

    // Two more versions, listed two to a page: the first page, then the
    // rest from its continuation token.
    client.set_secret(&name, "second-value", None)?;
    client.set_secret(&name, "third-value", None)?;
    let options = ListOptions {
        max_page_size: Some(2),
        ..Default::default()
    };
    let mut pages = client
        .list_properties_of_secret_versions(&name, Some(options.clone()))
        .into_pages();
    if let Some(page) = pages.next().transpose()? {
        println!("First page: {} versions", page.items.len());
        if let Some(token) = page.continuation_token {
            let rest = ListOptions {
                continuation_token: Some(token),
                ..options
            };
            let more = client
                .list_properties_of_secret_versions(&name, Some(rest))
                .count();
            println!("{more} more after it");
        }
    }

    // Delete, waiting at most a minute, then recover.
    let deleted = client
        .begin_delete_secret(&name, None)?
        .wait_for(Duration::from_secs(60))?;
    let purge = examples::date(deleted.scheduled_purge_date);
    println!(
        "Deleted {}; purged on {purge} unless recovered",
        deleted.name()
    );
    let recovered = client.begin_recover_deleted_secret(&name, None)?.wait()?;
    println!("Recovered {}", recovered.name());

    // Clean up.
    client.begin_delete_secret(&name, None)?.wait()?;
    client.purge_deleted_secret(&name, None)?;
    println!("Deleted and purged {name}");
    Ok(())
}
