//! Our `SecretClient`, the official `azure_security_keyvault_secrets` client
//! (default transport) and plain `reqwest` doing the same work against a
//! canned Key Vault, each driver in a child process of its own so that its
//! CPU time and peak memory are its own.
//!
//! `clients-bench [--quick] [--rounds N]` starts the canned vault (HTTPS on
//! loopback, a 401 challenge, fixed JSON) and a CONNECT proxy in this
//! process, then runs `clients-bench driver NAME SCENARIO COUNT VAULT_URL`
//! once per driver, scenario and round, drivers rotating, and prints the
//! medians as one markdown table.
//!
//! The vault is served as `bench.vault.azure.net` (a subdomain of the
//! challenge's resource, which the official client requires). The official
//! client builds its own `reqwest` client, so no resolver can be given to
//! it; every driver therefore reaches the vault through the CONNECT proxy
//! named by `HTTPS_PROXY`, and trusts the vault's CA through `SSL_CERT_FILE`
//! (the official client's platform verifier reads it) or, for ours and the
//! plain client, through its own options. The proxy and the vault run in
//! the parent, so their cost is not in the drivers' figures.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::{
    convert::Infallible,
    net::SocketAddr,
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use http_body_util::Full;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HOST: &str = "bench.vault.azure.net";
const TOKEN: &str = "bench-static-token";
const SECRET_NAME: &str = "bench";
const LISTED: usize = 10_000;
const PAGE: usize = 25;
const IN_FLIGHT: usize = 32;
const DRIVERS: [&str; 3] = ["reqwest", "ours", "official"];
const SCENARIOS: [&str; 3] = ["seq", "par32", "list"];

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("driver") {
        driver_main(&args[1..])
    } else {
        bench_main(&args)
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clients-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------
// The canned vault and the proxy.

/// The fixed responses of the canned vault.
struct Canned {
    bundle: Bytes,
    pages: Vec<Bytes>,
}

impl Canned {
    fn new(base: &str) -> Self {
        let attributes = r#"{"enabled":true,"created":1700000000,"updated":1700000000,"recoveryLevel":"Recoverable+Purgeable","recoverableDays":90}"#;
        let bundle = format!(
            r#"{{"value":"canned-value-of-the-bench-secret","id":"{base}/secrets/{SECRET_NAME}/0123456789abcdef0123456789abcdef","attributes":{attributes},"tags":{{}}}}"#
        );
        let pages = (0..LISTED.div_ceil(PAGE))
            .map(|page| {
                let items: Vec<String> = (page * PAGE..((page + 1) * PAGE).min(LISTED))
                    .map(|i| {
                        format!(
                            r#"{{"id":"{base}/secrets/listed-{i:05}","attributes":{attributes}}}"#
                        )
                    })
                    .collect();
                let next = if (page + 1) * PAGE < LISTED {
                    format!(
                        r#""{base}/secrets?api-version=7.6&$skiptoken={}&maxresults={PAGE}""#,
                        page + 1
                    )
                } else {
                    "null".to_owned()
                };
                Bytes::from(format!(
                    r#"{{"value":[{}],"nextLink":{next}}}"#,
                    items.join(",")
                ))
            })
            .collect();
        Self {
            bundle: Bytes::from(bundle),
            pages,
        }
    }

    fn respond(&self, req: &http::Request<hyper::body::Incoming>) -> http::Response<Full<Bytes>> {
        let authorized = (req.headers().get(http::header::AUTHORIZATION))
            .is_some_and(|v| v.as_bytes().strip_prefix(b"Bearer ") == Some(TOKEN.as_bytes()));
        if !authorized {
            let challenge = r#"Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", resource="https://vault.azure.net""#;
            return reply(401, Bytes::new(), Some(challenge));
        }
        let path = req.uri().path();
        if path == "/secrets" {
            let page = (req.uri().query().unwrap_or(""))
                .split('&')
                .find_map(|kv| {
                    // The official client sends the `$` percent-encoded.
                    (kv.strip_prefix("$skiptoken=")).or_else(|| kv.strip_prefix("%24skiptoken="))
                })
                .map_or(Some(0), |t| t.parse::<usize>().ok());
            if let Some(body) = page.and_then(|p| self.pages.get(p)) {
                return reply(200, body.clone(), None);
            }
        } else if (path.strip_prefix("/secrets/")).map(|p| p.strip_suffix('/').unwrap_or(p))
            == Some(SECRET_NAME)
        {
            // Ours asks for `/secrets/NAME/` (the newest version), the
            // others for `/secrets/NAME`.
            return reply(200, self.bundle.clone(), None);
        }
        let body =
            r#"{"error":{"code":"NotFound","message":"The canned vault has no such resource."}}"#;
        reply(404, Bytes::from_static(body.as_bytes()), None)
    }
}

fn reply(status: u16, body: Bytes, challenge: Option<&str>) -> http::Response<Full<Bytes>> {
    let mut b = http::Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .header("x-ms-request-id", "00000000-0000-0000-0000-000000000001");
    if let Some(c) = challenge {
        b = b.header("www-authenticate", c);
    }
    b.body(Full::new(body)).unwrap_or_default()
}

/// A fresh CA (PEM) and a server configuration for [`HOST`] issued by it.
fn make_tls() -> Result<(String, rustls::ServerConfig), Error> {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
    let key = KeyPair::generate()?;
    let leaf = CertificateParams::new(vec![HOST.to_owned()])?.signed_by(&key, &ca)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((ca.pem(), config))
}

async fn serve_vault(
    listener: tokio::net::TcpListener,
    tls: rustls::ServerConfig,
    canned: Arc<Canned>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let (acceptor, canned) = (acceptor.clone(), canned.clone());
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(move |req| {
                let response = canned.respond(&req);
                async move { Ok::<_, Infallible>(response) }
            });
            let builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            let _ = builder
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A CONNECT proxy that tunnels every connection to the vault, whatever
/// host it names (the drivers name [`HOST`]).
async fn serve_proxy(listener: tokio::net::TcpListener, vault: SocketAddr) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let _ = tunnel(tcp, vault).await;
        });
    }
}

async fn tunnel(mut client: tokio::net::TcpStream, vault: SocketAddr) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = client.read(&mut buf).await?;
        if n == 0 || head.len() > 8192 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    if !head.starts_with(b"CONNECT ") {
        let refusal = b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n";
        return client.write_all(refusal).await;
    }
    let mut upstream = tokio::net::TcpStream::connect(vault).await?;
    upstream.set_nodelay(true)?;
    client.set_nodelay(true)?;
    client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// The orchestrating parent.

/// One driver's figures for one scenario in one round.
#[derive(Clone, Copy)]
struct Sample {
    cpu_us_per_op: f64,
    ops_per_s: f64,
    peak_rss_mb: f64,
}

fn bench_main(args: &[String]) -> Result<(), Error> {
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = match args.iter().position(|a| a == "--rounds") {
        Some(i) => args.get(i + 1).ok_or("--rounds needs a number")?.parse()?,
        None if quick => 1,
        None => 3,
    };
    let (seq_n, par_n) = if quick { (200, 1_000) } else { (3_000, 10_000) };

    let (ca_pem, tls) = make_tls()?;
    let ca_file = std::env::temp_dir().join(format!("clients-bench-ca-{}.pem", std::process::id()));
    std::fs::write(&ca_file, &ca_pem)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (vault_url, proxy_url) = runtime.block_on(async {
        let vault = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let (vault_addr, proxy_addr) = (vault.local_addr()?, proxy.local_addr()?);
        let base = format!("https://{HOST}:{}", vault_addr.port());
        tokio::spawn(serve_vault(vault, tls, Arc::new(Canned::new(&base))));
        tokio::spawn(serve_proxy(proxy, vault_addr));
        Ok::<_, Error>((base, format!("http://{proxy_addr}")))
    })?;

    let exe = std::env::current_exe()?;
    let mut samples: Vec<Vec<Vec<Sample>>> = vec![vec![Vec::new(); DRIVERS.len()]; SCENARIOS.len()];
    for round in 0..rounds {
        for (s, scenario) in SCENARIOS.iter().enumerate() {
            let count = match *scenario {
                "seq" => seq_n,
                "par32" => par_n,
                _ => LISTED,
            };
            for k in 0..DRIVERS.len() {
                let d = (k + round + s) % DRIVERS.len();
                let output = Command::new(&exe)
                    .args([
                        "driver",
                        DRIVERS[d],
                        scenario,
                        &count.to_string(),
                        &vault_url,
                    ])
                    .env("SSL_CERT_FILE", &ca_file)
                    .env("HTTPS_PROXY", &proxy_url)
                    .env_remove("NO_PROXY")
                    .env_remove("no_proxy")
                    .env_remove("https_proxy")
                    .env_remove("ALL_PROXY")
                    .env_remove("all_proxy")
                    .output()?;
                let stdout = String::from_utf8_lossy(&output.stdout);
                if !output.status.success() {
                    let _ = std::fs::remove_file(&ca_file);
                    return Err(format!(
                        "driver {} {scenario} failed: {}",
                        DRIVERS[d],
                        String::from_utf8_lossy(&output.stderr).trim()
                    )
                    .into());
                }
                let fields: Vec<f64> = (stdout.split_whitespace())
                    .filter_map(|f| f.parse().ok())
                    .collect();
                let [cpu_us, wall_us, hwm_kb] = fields[..] else {
                    return Err(format!("driver {} printed {stdout:?}", DRIVERS[d]).into());
                };
                eprintln!(
                    "round {} {scenario:>5} {:>8}: {:>8.1} µs CPU/op {:>9.0} ops/s {:>6.1} MB",
                    round + 1,
                    DRIVERS[d],
                    cpu_us / count as f64,
                    count as f64 / (wall_us / 1e6),
                    hwm_kb / 1024.0
                );
                samples[s][d].push(Sample {
                    cpu_us_per_op: cpu_us / count as f64,
                    ops_per_s: count as f64 / (wall_us / 1e6),
                    peak_rss_mb: hwm_kb / 1024.0,
                });
            }
        }
    }
    let _ = std::fs::remove_file(&ca_file);
    print_table(&samples, rounds, seq_n, par_n);
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A figure of the table: its label, how it is read from a sample, its
/// decimal places.
type Metric = (&'static str, fn(&Sample) -> f64, usize);

fn print_table(samples: &[Vec<Vec<Sample>>], rounds: usize, seq_n: usize, par_n: usize) {
    println!(
        "Medians of {rounds} round(s); seq: {seq_n} sequential gets, par32: {par_n} gets with \
         {IN_FLIGHT} in flight, list: {LISTED} secrets in pages of {PAGE} (per op = per item).\n"
    );
    println!(
        "| scenario | figure | plain reqwest | ours | official | ours / reqwest | ours / official |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let metrics: [Metric; 3] = [
        ("CPU µs per op", |s| s.cpu_us_per_op, 1),
        ("ops/s (wall)", |s| s.ops_per_s, 0),
        ("peak RSS MB", |s| s.peak_rss_mb, 1),
    ];
    for (s, scenario) in SCENARIOS.iter().enumerate() {
        for (label, get, digits) in &metrics {
            let m: Vec<f64> = (0..DRIVERS.len())
                .map(|d| median(samples[s][d].iter().map(get).collect()))
                .collect();
            println!(
                "| {scenario} | {label} | {:.*} | {:.*} | {:.*} | {:.2}× | {:.2}× |",
                digits,
                m[0],
                digits,
                m[1],
                digits,
                m[2],
                m[1] / m[0],
                m[1] / m[2]
            );
        }
    }
}

// ---------------------------------------------------------------------------
// The drivers, each in a child process.

/// A token credential that always returns the same token.
#[derive(Debug)]
struct StaticToken;

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

/// The secret bundle the plain driver decodes.
#[derive(serde::Deserialize)]
struct Bundle {
    value: Option<String>,
    #[allow(dead_code)]
    id: Option<String>,
}

/// A page of the listing the plain driver decodes.
#[derive(serde::Deserialize)]
struct Page {
    value: Vec<serde_json::Value>,
    #[serde(rename = "nextLink")]
    next_link: Option<String>,
}

enum Driver {
    Plain {
        http: reqwest::Client,
        vault: String,
    },
    Ours(keyvault_secrets::SecretClient),
    Official(azure_security_keyvault_secrets::SecretClient),
}

impl Driver {
    fn new(name: &str, vault: &str) -> Result<Self, Error> {
        let ca = std::fs::read(std::env::var("SSL_CERT_FILE")?)?;
        let credential = Arc::new(StaticToken);
        Ok(match name {
            "reqwest" => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&ca) {
                    roots.add(cert?)?;
                }
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let mut tls = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                // HTTP/2 as the two clients negotiate it: a preconfigured
                // TLS configuration keeps its own (empty) ALPN list, which
                // would leave this driver on HTTP/1.1.
                tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
                let http = reqwest::Client::builder()
                    .tls_backend_preconfigured(tls)
                    .build()?;
                Self::Plain {
                    http,
                    vault: vault.to_owned(),
                }
            }
            "ours" => {
                let mut options = keyvault_secrets::SecretClientOptions::default();
                options.client_options.root_certificates_pem = vec![ca];
                Self::Ours(keyvault_secrets::SecretClient::new(
                    vault,
                    credential,
                    Some(options),
                )?)
            }
            "official" => Self::Official(azure_security_keyvault_secrets::SecretClient::new(
                vault, credential, None,
            )?),
            other => return Err(format!("unknown driver `{other}`").into()),
        })
    }

    async fn get(&self) -> Result<(), Error> {
        let has_value = match self {
            Self::Plain { http, vault } => {
                let url = format!("{vault}/secrets/{SECRET_NAME}?api-version=7.6");
                let response = (http.get(url))
                    .header("authorization", bearer())
                    .send()
                    .await?
                    .error_for_status()?;
                response.json::<Bundle>().await?.value.is_some()
            }
            Self::Ours(c) => {
                let secret = c.get_secret(SECRET_NAME, None).await?;
                !secret.value.expose_secret().is_empty()
            }
            Self::Official(c) => {
                let secret = c.get_secret(SECRET_NAME, None).await?.into_model()?;
                secret.value.is_some()
            }
        };
        if !has_value {
            return Err("the secret had no value".into());
        }
        Ok(())
    }

    async fn list(&self) -> Result<usize, Error> {
        let mut n = 0;
        match self {
            Self::Plain { http, vault } => {
                let mut next = Some(format!("{vault}/secrets?api-version=7.6&maxresults={PAGE}"));
                while let Some(url) = next {
                    let page: Page = (http.get(url))
                        .header("authorization", bearer())
                        .send()
                        .await?
                        .error_for_status()?
                        .json()
                        .await?;
                    n += page.value.len();
                    next = page.next_link;
                }
            }
            Self::Ours(c) => {
                let mut items = c.list_properties_of_secrets(None);
                while let Some(item) = items.try_next().await? {
                    n += usize::from(!item.name().is_empty());
                }
            }
            Self::Official(c) => {
                let mut items = c.list_secret_properties(None)?;
                while let Some(item) = items.try_next().await? {
                    n += usize::from(item.id.is_some());
                }
            }
        }
        Ok(n)
    }
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
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

fn driver_main(args: &[String]) -> Result<(), Error> {
    let [name, scenario, count, vault] = args else {
        return Err("usage: clients-bench driver NAME SCENARIO COUNT VAULT_URL".into());
    };
    let count: usize = count.parse()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let driver = Arc::new(Driver::new(name, vault)?);
        // The first request pays for the connection, TLS and the challenge.
        driver.get().await?;
        let (cpu0, wall0) = (cpu_time(), Instant::now());
        match scenario.as_str() {
            "seq" => {
                for _ in 0..count {
                    driver.get().await?;
                }
            }
            "par32" => {
                let next = Arc::new(AtomicUsize::new(0));
                let workers = (0..IN_FLIGHT).map(|_| {
                    let (driver, next) = (driver.clone(), next.clone());
                    tokio::spawn(async move {
                        while next.fetch_add(1, Ordering::Relaxed) < count {
                            driver.get().await?;
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
                let listed = driver.list().await?;
                if listed != count {
                    return Err(format!("listed {listed} secrets, expected {count}").into());
                }
            }
            other => return Err(format!("unknown scenario `{other}`").into()),
        }
        let (cpu, wall) = (cpu_time() - cpu0, wall0.elapsed());
        println!("{} {} {}", cpu.as_micros(), wall.as_micros(), peak_rss_kb());
        Ok(())
    })
}
