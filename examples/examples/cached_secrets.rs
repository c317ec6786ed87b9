//! Read a secret 100,000 times through a `SecretCache`, from 8 tasks, and
//! count the requests that reached the vault.
//!
//! `cargo run --example cached_secrets` (against the embedded emulator unless
//! `AZURE_KEYVAULT_URL` names a vault).

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use examples::{BoxError, Target, unique_name};
use keyvault_secrets::{SecretCache, SecretCacheOptions, SecretClient};

/// How many times the secret is read.
pub const READS: usize = 100_000;
const TASKS: usize = 8;

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
    let name = unique_name("cached-password");
    client.set_secret(&name, "s3cr3t-password", None).await?;

    // Five minutes in memory, refreshed a minute ahead while in use.
    let options = SecretCacheOptions {
        ttl: Duration::from_secs(300),
        ..Default::default()
    };
    let cache = SecretCache::new(client.clone(), Some(options));

    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let (cache, name) = (cache.clone(), name.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..READS / TASKS {
                let secret = cache.get(&name).await?;
                assert!(!secret.value.is_empty()); // compared, never printed
            }
            Ok::<_, keyvault_secrets::Error>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed();

    let stats = cache.statistics();
    println!("{READS} reads of {name} in {elapsed:?} from {TASKS} tasks");
    println!(
        "requests that reached the vault: {} ({} hits from memory, {} misses)",
        stats.requests, stats.hits, stats.misses
    );
    // Every read after the first was served from memory; the only other
    // requests are refreshes ahead of expiry.
    if stats.requests - stats.refreshes != 1 {
        return Err(format!("expected one request for the first read: {stats:?}").into());
    }

    // A write through the cache invalidates its entry: the next read sees it.
    cache.set_secret(&name, "rotated-password", None).await?;
    let rotated = cache.get(&name).await?;
    println!(
        "after a rotation, version {} (requests so far: {})",
        rotated.properties.version().unwrap_or("?"),
        cache.statistics().requests
    );

    cache.begin_delete_secret(&name, None).await?.await?;
    Ok(())
}
