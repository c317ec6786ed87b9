//! What a `SecretCache` costs and saves, against the in-process emulator.
//!
//! Run with `cargo bench -p keyvault-secrets --bench cache` (`-- --quick`
//! for small sizes). Two measurements:
//!
//! - a hit: the time per `get` of a warm entry on a current-thread runtime
//!   (the median of rounds);
//! - a crowd: 10,000 `get`s spread over 50 secrets from 64 tasks on a
//!   multi-thread runtime, and the requests that reached the vault (at most
//!   one per secret, plus refreshes).

#![allow(clippy::print_stdout)]

use std::{hint::black_box, sync::Arc, time::Instant};

use keyvault_emulator::Emulator;
use keyvault_secrets::{ClientOptions, SecretCache, SecretClient, SecretClientOptions};
use keyvault_testing::StaticToken;

fn client(emu: &keyvault_emulator::EmulatorHandle) -> SecretClient {
    let options = SecretClientOptions {
        client_options: ClientOptions::emulator(Some(emu.ca_cert_pem().as_bytes())),
        ..Default::default()
    };
    let credential = Arc::new(StaticToken::default());
    SecretClient::new(emu.vault_url(), credential, Some(options)).expect("a client")
}

/// Runs `body` with a client of an emulator, on a runtime from `builder`.
fn on_emulator<F: Future<Output = ()>>(
    mut builder: tokio::runtime::Builder,
    body: impl FnOnce(SecretClient) -> F,
) {
    let runtime = builder.enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let emu = keyvault_testing::emulator::start_with(Emulator::builder()).await;
        body(client(&emu)).await;
        emu.shutdown().await;
    });
}

fn hits(quick: bool) {
    on_emulator(
        tokio::runtime::Builder::new_current_thread(),
        |client| async move {
            client.set_secret("hot", "value", None).await.expect("set");
            let cache = SecretCache::new(client, None);
            cache.get("hot").await.expect("warm-up");
            let per_round = if quick { 10_000 } else { 1_000_000 };
            let mut rounds = Vec::new();
            for _ in 0..5 {
                let started = Instant::now();
                for _ in 0..per_round {
                    black_box(cache.get(black_box("hot")).await.expect("a hit"));
                }
                rounds.push(started.elapsed() / per_round);
            }
            rounds.sort();
            let stats = cache.statistics();
            println!(
                "| hit: time per get (median of 5 rounds of {per_round}) | {:?} |",
                rounds[2]
            );
            println!(
                "| hit: requests that reached the vault | {} |",
                stats.requests
            );
        },
    );
}

fn crowd() {
    on_emulator(
        tokio::runtime::Builder::new_multi_thread(),
        |client| async move {
            for i in 0..50 {
                let name = format!("crowd-{i}");
                client.set_secret(&name, "value", None).await.expect("set");
            }
            let cache = SecretCache::new(client, None);
            let started = Instant::now();
            let tasks: Vec<_> = (0..64)
                .map(|t| {
                    let cache = cache.clone();
                    tokio::spawn(async move {
                        for i in 0..10_000 / 64 + 1 {
                            let name = format!("crowd-{}", (t * 7 + i) % 50);
                            cache.get(&name).await.expect("a get");
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.expect("a task");
            }
            let elapsed = started.elapsed();
            let stats = cache.statistics();
            println!(
                "| crowd: {} gets over 50 secrets from 64 tasks | {elapsed:?} |",
                stats.hits + stats.misses
            );
            println!(
                "| crowd: requests that reached the vault (refreshes) | {} ({}) |",
                stats.requests, stats.refreshes
            );
            assert!(
                stats.requests <= 50 + stats.refreshes,
                "more than one request per secret: {stats:?}"
            );
        },
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    println!("| measurement | value |");
    println!("| --- | --- |");
    hits(quick);
    crowd();
}
