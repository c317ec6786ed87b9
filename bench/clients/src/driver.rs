//! The driver side of the clients benchmark: what a driver process does
//! with its client, whichever client it is.
//!
//! `bench/clients` (our client, plain `reqwest`) and `bench/official` (the
//! official client, stable release and pre-release, each a workspace of its
//! own) compile this file, so every Rust driver runs the same
//! scenario loops, measures itself the same way and prints the same line.
//! A driver gives a [`Client`]; [`run`] does the rest.
//!
//! The protocol: `driver NAME SCENARIO COUNT VAULT_URL` runs SCENARIO
//! (`seq`, `par32`, `list`, `cold`, `hit`) COUNT times against the vault and
//! prints `cpu_us wall_us peak_rss_kb`; for `cold`, `cpu_us
//! first_secret_unix_us peak_rss_kb`.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use futures::StreamExt;

/// The token every credential returns and the canned vault expects.
pub(crate) const TOKEN: &str = "bench-static-token";
/// The secret the drivers get.
pub(crate) const SECRET_NAME: &str = "bench";
/// The gets in flight in `par32`.
pub(crate) const IN_FLIGHT: usize = 32;

/// Any error of a driver, printed by the process before it fails.
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

/// A client of the vault, as a driver uses it.
pub(crate) trait Client: Sized + Send + Sync + 'static {
    /// What `hit` reads from: a warm cache of the secret.
    type Cache: Cache;

    /// A new client of `vault`, trusting the CA in `SSL_CERT_FILE`.
    fn new(vault: &str) -> Result<Self, Error>;

    /// Gets the secret; an error if it has no value.
    fn get(&self) -> impl Future<Output = Result<(), Error>> + Send;

    /// Lists the vault's secrets through the client's paging; how many.
    fn list(&self) -> impl Future<Output = Result<usize, Error>> + Send;

    /// A warm cache of the secret, for `hit` (an error where there is none).
    fn cache(&self) -> impl Future<Output = Result<Self::Cache, Error>> + Send {
        async { Err("only our client has a cache".into()) }
    }
}

/// A cache of the secret that `hit` reads.
pub(crate) trait Cache {
    /// Reads the secret from the cache once.
    fn hit(&self) -> impl Future<Output = Result<(), Error>>;
}

/// No cache: the drivers of clients without one.
impl Cache for std::convert::Infallible {
    async fn hit(&self) -> Result<(), Error> {
        match *self {}
    }
}

/// A token credential that always returns the same token.
#[derive(Debug)]
pub(crate) struct StaticToken;

#[async_trait::async_trait]
impl azure_core::credentials::TokenCredential for StaticToken {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<azure_core::credentials::TokenRequestOptions<'_>>,
    ) -> azure_core::Result<azure_core::credentials::AccessToken> {
        let expires = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
        Ok(azure_core::credentials::AccessToken::new(TOKEN, expires))
    }
}

/// User plus system CPU time of this process.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The peak resident set (`VmHWM`) of this process, in KiB.
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    (status.lines())
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Microseconds since the Unix epoch: a clock a parent and its child share.
pub(crate) fn unix_us() -> f64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(0.0, |d| d.as_secs_f64() * 1e6)
}

/// Runs `driver NAME SCENARIO COUNT VAULT_URL` (the arguments after
/// `driver`) with the client `C` and prints its figures.
pub(crate) fn run<C: Client>(args: &[String]) -> Result<(), Error> {
    let [_name, scenario, count, vault] = args else {
        return Err("usage: driver NAME SCENARIO COUNT VAULT_URL".into());
    };
    let count: usize = count.parse()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = Arc::new(C::new(vault)?);
        // The first request pays for the connection, TLS and the challenge.
        client.get().await?;
        if scenario == "cold" {
            // From the process's start to here is the cold start; a second
            // client of the same vault shows whether the challenge is
            // learnt again.
            let (cpu, at) = (cpu_time(), unix_us());
            C::new(vault)?.get().await?;
            println!("{} {at:.0} {}", cpu.as_micros(), peak_rss_kb());
            return Ok(());
        }
        let cache = match scenario.as_str() {
            "hit" => Some(client.cache().await?),
            _ => None,
        };
        let (cpu0, wall0) = (cpu_time(), Instant::now());
        match scenario.as_str() {
            "seq" => {
                for _ in 0..count {
                    client.get().await?;
                }
            }
            "par32" => {
                let next = Arc::new(AtomicUsize::new(0));
                let workers = (0..IN_FLIGHT).map(|_| {
                    let (client, next) = (client.clone(), next.clone());
                    tokio::spawn(async move {
                        while next.fetch_add(1, Ordering::Relaxed) < count {
                            client.get().await?;
                        }
                        Ok::<_, Error>(())
                    })
                });
                let mut joined = futures::stream::iter(workers).buffer_unordered(IN_FLIGHT);
                while let Some(worker) = joined.next().await {
                    worker??;
                }
            }
            "list" => {
                let listed = client.list().await?;
                if listed != count {
                    return Err(format!("listed {listed} secrets, expected {count}").into());
                }
            }
            "hit" => {
                if let Some(cache) = &cache {
                    for _ in 0..count {
                        cache.hit().await?;
                    }
                }
            }
            other => return Err(format!("unknown scenario `{other}`").into()),
        }
        let (cpu, wall) = (cpu_time() - cpu0, wall0.elapsed());
        println!("{} {} {}", cpu.as_micros(), wall.as_micros(), peak_rss_kb());
        Ok(())
    })
}

/// The exit code of a process that ran to `result`, whose error `program`
/// prints.
pub(crate) fn exit(program: &str, result: Result<(), Error>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
