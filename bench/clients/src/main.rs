//! Our `SecretClient`, the official `azure_security_keyvault_secrets` client
//! (default transport) and plain `reqwest` doing the same work against a
//! canned Key Vault, each driver in a child process of its own so that its
//! CPU time and peak memory are its own.
//!
//! `clients-bench [--quick] [--rounds N]` starts the canned vault (HTTPS on
//! loopback, a 401 challenge, fixed JSON) and a CONNECT proxy in this
//! process, then runs `clients-bench driver NAME SCENARIO COUNT VAULT_URL`
//! once per driver, scenario and round, drivers rotating, and prints the
//! medians as one markdown table. The official client's drivers, its newest
//! stable release and its newest pre-release, are binaries of their own
//! (`bench/official`, given with `--official BIN` and `--official-pre BIN`),
//! run with the same arguments; the drivers' side of all is `driver.rs`.
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
    path::{Path, PathBuf},
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use bytes::Bytes;
use futures::TryStreamExt;
use http_body_util::Full;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod driver;

use driver::{Error, IN_FLIGHT, SECRET_NAME, StaticToken, TOKEN, unix_us};

const HOST: &str = "bench.vault.azure.net";
const LISTED: usize = 10_000;
const PAGE: usize = 25;
const DRIVERS: [&str; 5] = ["reqwest", "ours", "official", "official-pre", "python"];
const SCENARIOS: [&str; 5] = ["seq", "par32", "list", "cold", "hit"];
/// The Python SDK's driver, written next to the CA when it runs.
const PYTHON_DRIVER: &str = include_str!("driver.py");

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.split_first() {
        Some((first, rest)) if first == "driver" => driver_main(rest),
        _ => bench_main(&args),
    };
    driver::exit("clients-bench", result)
}

// ---------------------------------------------------------------------------
// The canned vault and the proxy.

/// The fixed responses of the canned vault.
struct Canned {
    bundle: Bytes,
    pages: Vec<Bytes>,
    /// Requests that came without the token (and got the challenge).
    unauthenticated: Arc<AtomicUsize>,
}

impl Canned {
    fn new(base: &str, unauthenticated: Arc<AtomicUsize>) -> Self {
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
            unauthenticated,
        }
    }

    fn respond(&self, req: &http::Request<hyper::body::Incoming>) -> http::Response<Full<Bytes>> {
        let authorized = (req.headers().get(http::header::AUTHORIZATION))
            .is_some_and(|v| v.as_bytes().strip_prefix(b"Bearer ") == Some(TOKEN.as_bytes()));
        if !authorized {
            self.unauthenticated.fetch_add(1, Ordering::SeqCst);
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
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, IsCa,
        KeyPair,
    };
    // Names of their own: with rcgen's one default name for both, OpenSSL
    // (the Python driver's) takes the leaf for a self-signed certificate.
    let named = |cn: &str| {
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, cn);
        dn
    };
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name = named("clients-bench CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
    let key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(vec![HOST.to_owned()])?;
    leaf.distinguished_name = named(HOST);
    let leaf = leaf.signed_by(&key, &ca)?;
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

/// What the command line asked for.
struct Plan {
    rounds: usize,
    seq_n: usize,
    par_n: usize,
    hit_n: usize,
    /// Instruction counts under callgrind, and where to keep its files.
    callgrind: Option<PathBuf>,
    /// The release emulator binary, served as a second vault.
    emulator: Option<PathBuf>,
    /// The Python interpreter (of a venv holding azure-keyvault-secrets).
    python: Option<PathBuf>,
    /// The driver binaries of the official client's stable release and
    /// pre-release (`bench/official`).
    official: Option<PathBuf>,
    official_pre: Option<PathBuf>,
    /// The drivers and scenarios to run (all by default).
    drivers: Vec<&'static str>,
    scenarios: Vec<&'static str>,
}

impl Plan {
    fn parse(args: &[String]) -> Result<Self, Error> {
        let quick = args.iter().any(|a| a == "--quick");
        let value = |flag: &str| -> Result<Option<&String>, Error> {
            match args.iter().position(|a| a == flag) {
                Some(i) => Ok(Some(
                    args.get(i + 1)
                        .ok_or_else(|| format!("{flag} needs a value"))?,
                )),
                None => Ok(None),
            }
        };
        let pick = |flag: &str, known: &[&'static str]| -> Result<Vec<&'static str>, Error> {
            let Some(list) = value(flag)? else {
                return Ok(known.to_vec());
            };
            (list.split(','))
                .map(|n| {
                    (known.iter().find(|k| **k == n).copied())
                        .ok_or_else(|| format!("{flag}: unknown `{n}` (known: {known:?})").into())
                })
                .collect()
        };
        let callgrind = if args.iter().any(|a| a == "--callgrind") {
            let dir = match value("--callgrind-out")? {
                Some(d) => PathBuf::from(d),
                None => std::env::temp_dir().join(format!("clients-bench-{}", std::process::id())),
            };
            Some(dir)
        } else {
            None
        };
        let (seq_n, par_n, hit_n) = if quick {
            (200, 1_000, 100_000)
        } else {
            (3_000, 10_000, 1_000_000)
        };
        Ok(Self {
            rounds: match value("--rounds")? {
                Some(n) => n.parse()?,
                None if quick => 1,
                None => 3,
            },
            seq_n,
            par_n,
            hit_n,
            callgrind,
            emulator: value("--emulator")?.map(PathBuf::from),
            python: value("--python")?.map(PathBuf::from),
            official: value("--official")?.map(PathBuf::from),
            official_pre: value("--official-pre")?.map(PathBuf::from),
            drivers: pick("--drivers", &DRIVERS)?,
            scenarios: pick("--scenarios", &SCENARIOS)?,
        })
    }

    /// How many operations a run of `scenario` by `driver` does (the Python
    /// SDK's gets are some thirty times slower: a tenth as many).
    fn count(&self, driver: &str, scenario: &str) -> usize {
        match scenario {
            "seq" | "par32" if driver == "python" => self.count("ours", scenario) / 10,
            "seq" => self.seq_n,
            "par32" => self.par_n,
            "hit" => self.hit_n,
            "cold" => 1,
            _ => LISTED,
        }
    }

    /// Whether `driver` runs `scenario` at all.
    fn runs(&self, driver: &str, scenario: &str) -> bool {
        self.drivers.contains(&driver)
            && self.scenarios.contains(&scenario)
            && match driver {
                // The cache is ours alone.
                _ if scenario == "hit" => driver == "ours",
                "python" => self.python.is_some(),
                "official" => self.official.is_some(),
                "official-pre" => self.official_pre.is_some(),
                _ => true,
            }
    }
}

/// A server the drivers talk to: its URL, its CONNECT proxy, its CA.
struct Server {
    name: &'static str,
    vault_url: String,
    proxy_url: String,
    ca_file: PathBuf,
}

/// One driver's figures for one scenario in one round.
#[derive(Clone, Copy, Default)]
struct Sample {
    /// CPU time per operation (cold: of the whole process up to the first
    /// secret).
    cpu_us: f64,
    /// Wall time per operation (cold: from the spawn to the first secret).
    wall_us: f64,
    peak_rss_mb: f64,
    /// Requests without a token the vault saw from the process.
    unauthenticated: f64,
}

/// What a sample is of: (server, scenario, driver).
type Key = (&'static str, &'static str, &'static str);

/// The figures of a run, by what they are of.
#[derive(Default)]
struct Samples(Vec<(Key, Vec<Sample>)>);

impl Samples {
    fn push(&mut self, key: Key, sample: Sample) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(sample),
            None => self.0.push((key, vec![sample])),
        }
    }

    /// The median of one figure of one (server, scenario, driver).
    fn median(&self, key: (&str, &str, &str), get: fn(&Sample) -> f64) -> Option<f64> {
        let (_, v) = self.0.iter().find(|(k, _)| *k == key)?;
        let mut v: Vec<f64> = v.iter().map(get).collect();
        v.sort_by(f64::total_cmp);
        Some(v[v.len() / 2])
    }
}

fn bench_main(args: &[String]) -> Result<(), Error> {
    let plan = Plan::parse(args)?;
    let tmp = std::env::temp_dir().join(format!("clients-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let result = run_plan(&plan, &tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn run_plan(plan: &Plan, tmp: &Path) -> Result<(), Error> {
    let (ca_pem, tls) = make_tls()?;
    let ca_file = tmp.join("canned-ca.pem");
    std::fs::write(&ca_file, &ca_pem)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let unauthenticated = Arc::new(AtomicUsize::new(0));
    let (vault_url, proxy_url) = runtime.block_on(async {
        let vault = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let (vault_addr, proxy_addr) = (vault.local_addr()?, proxy.local_addr()?);
        let base = format!("https://{HOST}:{}", vault_addr.port());
        let canned = Canned::new(&base, unauthenticated.clone());
        tokio::spawn(serve_vault(vault, tls, Arc::new(canned)));
        tokio::spawn(serve_proxy(proxy, vault_addr));
        Ok::<_, Error>((base, format!("http://{proxy_addr}")))
    })?;
    let canned = Server {
        name: "canned",
        vault_url,
        proxy_url,
        ca_file,
    };
    let script = tmp.join("driver.py");
    std::fs::write(&script, PYTHON_DRIVER)?;
    let runner = Runner {
        exe: std::env::current_exe()?,
        official: plan.official.clone(),
        official_pre: plan.official_pre.clone(),
        python: plan.python.clone().map(|p| (p, script)),
        unauthenticated,
    };

    let mut samples = Samples::default();
    for round in 0..plan.rounds {
        for (s, scenario) in plan.scenarios.iter().enumerate() {
            let drivers: Vec<&str> = (plan.drivers.iter().copied())
                .filter(|d| plan.runs(d, scenario))
                .collect();
            for k in 0..drivers.len() {
                let driver = drivers[(k + round + s) % drivers.len()];
                let count = plan.count(driver, scenario);
                let sample = runner.sample(&canned, driver, scenario, count)?;
                report(round, canned.name, driver, scenario, &sample);
                samples.push((canned.name, scenario, driver), sample);
            }
        }
    }
    let mut emulated = Samples::default();
    if let Some(binary) = &plan.emulator {
        let (mut child, server) = start_emulator(binary, tmp, &runtime)?;
        let outcome = (|| {
            for round in 0..plan.rounds {
                for scenario in ["seq", "par32"] {
                    for driver in ["reqwest", "ours"] {
                        if !plan.runs(driver, scenario) {
                            continue;
                        }
                        let sample = runner.sample(
                            &server,
                            driver,
                            scenario,
                            plan.count(driver, scenario),
                        )?;
                        report(round, server.name, driver, scenario, &sample);
                        emulated.push((server.name, scenario, driver), sample);
                    }
                }
            }
            Ok::<_, Error>(())
        })();
        let _ = child.kill();
        let _ = child.wait();
        outcome?;
    }
    let instructions = match &plan.callgrind {
        Some(dir) => Some(runner.instructions(plan, &canned, dir)?),
        None => None,
    };
    print_table(plan, &samples, instructions.as_ref());
    if plan.emulator.is_some() {
        print_emulator(&samples, &emulated);
    }
    Ok(())
}

/// Prints one sample as it comes, to show progress.
fn report(round: usize, server: &str, driver: &str, scenario: &str, s: &Sample) {
    eprintln!(
        "round {} {server} {scenario:>5} {driver:>8}: {:>10.2} µs CPU/op {:>10.2} µs wall/op {:>6.1} MB, {} unauthenticated",
        round + 1,
        s.cpu_us,
        s.wall_us,
        s.peak_rss_mb,
        s.unauthenticated
    );
}

/// Starts the child processes of the drivers.
struct Runner {
    exe: PathBuf,
    /// The driver binaries of the official client's stable release and
    /// pre-release.
    official: Option<PathBuf>,
    official_pre: Option<PathBuf>,
    /// The interpreter and the Python driver's script.
    python: Option<(PathBuf, PathBuf)>,
    /// The canned vault's count of requests without a token.
    unauthenticated: Arc<AtomicUsize>,
}

impl Runner {
    /// The command that runs `driver`, with the environment of `server`.
    fn command(&self, server: &Server, driver: &str, scenario: &str, count: usize) -> Command {
        let mut cmd = match (driver, &self.python) {
            ("python", Some((python, script))) => {
                let mut c = Command::new(python);
                c.arg(script);
                c
            }
            _ => {
                let exe = match (driver, &self.official, &self.official_pre) {
                    ("official", Some(stable), _) => stable,
                    ("official-pre", _, Some(pre)) => pre,
                    _ => &self.exe,
                };
                let mut c = Command::new(exe);
                c.args(["driver", driver]);
                c
            }
        };
        cmd.args([scenario, &count.to_string(), &server.vault_url])
            .env("SSL_CERT_FILE", &server.ca_file)
            // Python's `requests` trusts its own bundle unless told.
            .env("REQUESTS_CA_BUNDLE", &server.ca_file)
            .env("HTTPS_PROXY", &server.proxy_url)
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .env_remove("https_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy");
        cmd
    }

    /// Runs `driver` once, natively, and reads its figures.
    fn sample(
        &self,
        server: &Server,
        driver: &str,
        scenario: &str,
        count: usize,
    ) -> Result<Sample, Error> {
        self.unauthenticated.store(0, Ordering::SeqCst);
        let spawned = unix_us();
        let output = self.command(server, driver, scenario, count).output()?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!(
                "driver {driver} {scenario} on the {} vault failed: {}",
                server.name,
                String::from_utf8_lossy(&output.stderr).trim()
            )
            .into());
        }
        let fields: Vec<f64> = (stdout.split_whitespace())
            .filter_map(|f| f.parse().ok())
            .collect();
        let [cpu_us, wall_us, hwm_kb] = fields[..] else {
            return Err(format!("driver {driver} printed {stdout:?}").into());
        };
        let n = count as f64;
        Ok(Sample {
            cpu_us: cpu_us / n,
            // A cold run prints the time of its first secret.
            wall_us: if scenario == "cold" {
                wall_us - spawned
            } else {
                wall_us / n
            },
            peak_rss_mb: hwm_kb / 1024.0,
            unauthenticated: self.unauthenticated.load(Ordering::SeqCst) as f64,
        })
    }

    /// Instructions per operation of each driver and scenario, from
    /// callgrind: a run of N operations less a run of none (start-up, the
    /// first `get_secret` and exit), over N. `cold` is the run of none.
    fn instructions(
        &self,
        plan: &Plan,
        server: &Server,
        dir: &Path,
    ) -> Result<Vec<(&'static str, &'static str, f64)>, Error> {
        let found = Command::new("valgrind").arg("--version").output();
        if !found.is_ok_and(|o| o.status.success()) {
            eprintln!(
                "clients-bench: valgrind is not installed (Debian: apt-get install valgrind); \
                 no instruction counts"
            );
            return Ok(Vec::new());
        }
        std::fs::create_dir_all(dir)?;
        let mut out = Vec::new();
        for &driver in &plan.drivers {
            // The interpreter's instructions say little about the SDK's.
            if driver == "python" || !plan.scenarios.iter().any(|s| plan.runs(driver, s)) {
                continue;
            }
            let base = self.callgrind(server, driver, "seq", 0, dir)?;
            if plan.runs(driver, "cold") {
                out.push(("cold", driver, base));
            }
            for &scenario in &plan.scenarios {
                if scenario == "cold" || !plan.runs(driver, scenario) {
                    continue;
                }
                // Fewer operations than the timed runs: callgrind is some
                // fifty times slower, and counts do not vary with length.
                let n = match scenario {
                    "list" => LISTED,
                    "hit" => plan.hit_n / 10,
                    _ => plan.count(driver, scenario).min(1_000),
                };
                let total = self.callgrind(server, driver, scenario, n, dir)?;
                let per_op = (total - base) / n as f64;
                eprintln!("callgrind {scenario:>5} {driver:>8}: {per_op:>10.0} instructions/op");
                out.push((scenario, driver, per_op));
            }
        }
        Ok(out)
    }

    /// The instructions callgrind counted in one run of `driver`, whose
    /// profile it leaves in `dir`.
    fn callgrind(
        &self,
        server: &Server,
        driver: &str,
        scenario: &str,
        count: usize,
        dir: &Path,
    ) -> Result<f64, Error> {
        let cmd = self.command(server, driver, scenario, count);
        let profile = dir.join(format!("callgrind.{driver}.{scenario}.{count}"));
        let mut valgrind = Command::new("valgrind");
        valgrind
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", profile.display()))
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => valgrind.env(k, v),
                None => valgrind.env_remove(k),
            };
        }
        let output = valgrind.output()?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            return Err(
                format!("driver {driver} {scenario} under callgrind failed: {stderr}").into(),
            );
        }
        (stderr.lines())
            .find_map(|l| {
                l.split_once("Collected :")
                    .map(|(_, n)| n.trim().parse().ok())
            })
            .flatten()
            .ok_or_else(|| format!("callgrind printed no count: {stderr}").into())
    }
}

/// Starts the release emulator in memory, with one vault named `bench`
/// behind its own CONNECT proxy (so that it is `bench.vault.azure.net`,
/// whose challenge the official client accepts), and puts the secret the
/// drivers read in it.
fn start_emulator(
    binary: &Path,
    tmp: &Path,
    runtime: &tokio::runtime::Runtime,
) -> Result<(std::process::Child, Server), Error> {
    use std::io::BufRead;
    let mut child = Command::new(binary)
        .args(["--vault", "bench", "--vault-port", "0", "--hsm-port", "0"])
        .args(["--proxy-port", "0", "--tls-dir"])
        .arg(tmp.join("emulator-tls"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        std::io::BufReader::new(stdout).read_line(&mut line)?;
    }
    let started: serde_json::Value = match serde_json::from_str(&line) {
        Ok(v) => v,
        Err(e) => {
            let _ = child.kill();
            return Err(format!("the emulator printed {line:?}: {e}").into());
        }
    };
    let text = |k: &str| started[k].as_str().map(str::to_owned);
    let (Some(proxy_url), Some(ca)) = (text("proxy_url"), text("ca_cert")) else {
        let _ = child.kill();
        return Err(format!("the emulator printed no proxy or CA: {line}").into());
    };
    let server = Server {
        name: "emulator",
        vault_url: format!("https://{SECRET_NAME}.vault.azure.net"),
        proxy_url,
        ca_file: PathBuf::from(ca),
    };
    let seeded = runtime.block_on(async {
        let mut options = keyvault_secrets::SecretClientOptions::default();
        options.client_options.root_certificates_pem = vec![std::fs::read(&server.ca_file)?];
        options.client_options.proxy = Some(keyvault_secrets::ProxyOptions::new(&server.proxy_url));
        let client = keyvault_secrets::SecretClient::new(
            &server.vault_url,
            Arc::new(StaticToken),
            Some(options),
        )?;
        client
            .set_secret(SECRET_NAME, "emulated-value-of-the-bench-secret", None)
            .await?;
        Ok::<_, Error>(())
    });
    if let Err(e) = seeded {
        let _ = child.kill();
        return Err(format!("could not put the secret in the emulator: {e}").into());
    }
    Ok((child, server))
}

/// A figure of the table: its label, how it is read from a sample, a scale
/// and its decimal places.
type Metric = (&'static str, fn(&Sample) -> f64, f64, usize);

/// The figures shown for a scenario.
fn metrics(scenario: &str) -> Vec<Metric> {
    match scenario {
        "cold" => vec![
            ("ms to first secret (wall)", |s| s.wall_us, 1e-3, 1),
            ("CPU ms to first secret", |s| s.cpu_us, 1e-3, 1),
            (
                "unauthenticated requests (two clients)",
                |s| s.unauthenticated,
                1.0,
                0,
            ),
            ("peak RSS MB", |s| s.peak_rss_mb, 1.0, 1),
        ],
        "hit" => vec![
            ("CPU ns per hit", |s| s.cpu_us, 1e3, 0),
            ("wall ns per hit", |s| s.wall_us, 1e3, 0),
        ],
        _ => vec![
            ("CPU µs per op", |s| s.cpu_us, 1.0, 1),
            ("ops/s (wall)", |s| 1e6 / s.wall_us, 1.0, 0),
            ("peak RSS MB", |s| s.peak_rss_mb, 1.0, 1),
        ],
    }
}

/// A cell of the table: `–` for a figure not measured.
fn cell(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".to_owned(), |v| format!("{v:.digits$}"))
}

/// A ratio cell: ours over another driver.
fn ratio(ours: Option<f64>, other: Option<f64>) -> String {
    match (ours, other) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "–".to_owned(),
    }
}

fn print_table(
    plan: &Plan,
    samples: &Samples,
    instructions: Option<&Vec<(&'static str, &'static str, f64)>>,
) {
    let Plan {
        rounds,
        seq_n,
        par_n,
        hit_n,
        ..
    } = plan;
    println!(
        "Medians of {rounds} round(s); seq: {seq_n} sequential gets, par32: {par_n} gets with \
         {IN_FLIGHT} in flight, list: {LISTED} secrets in pages of {PAGE} (per op = per item), \
         cold: process start to the first secret (then a second client gets it too), hit: \
         {hit_n} SecretCache hits; the Python SDK does a tenth of the gets.\n"
    );
    let drivers: Vec<&str> = (plan.drivers.iter().copied())
        .filter(|d| plan.scenarios.iter().any(|s| plan.runs(d, s)))
        .collect();
    let others: Vec<&str> = drivers.iter().copied().filter(|d| *d != "ours").collect();
    let mut head = "| scenario | figure |".to_owned();
    for d in &drivers {
        head.push_str(&format!(" {} |", driver_title(d)));
    }
    for o in &others {
        head.push_str(&format!(" ours / {} |", driver_title(o)));
    }
    println!("{head}");
    println!("|{}", " --- |".repeat(2 + drivers.len() + others.len()));
    for &scenario in &plan.scenarios {
        let mut rows: Vec<(String, Vec<Option<f64>>, usize)> = Vec::new();
        for (label, get, scale, digits) in metrics(scenario) {
            let values = (drivers.iter())
                .map(|d| (samples.median(("canned", scenario, d), get)).map(|v| v * scale))
                .collect();
            rows.push((label.to_owned(), values, digits));
        }
        if let Some(counted) = instructions {
            let label = if scenario == "cold" {
                "instructions, start to exit with one get"
            } else {
                "instructions per op (callgrind)"
            };
            let values = (drivers.iter())
                .map(|d| {
                    (counted.iter())
                        .find(|(s, dr, _)| *s == scenario && dr == d)
                        .map(|(_, _, v)| *v)
                })
                .collect();
            rows.insert(1, (label.to_owned(), values, 0));
        }
        for (label, values, digits) in rows {
            if values.iter().all(Option::is_none) {
                continue;
            }
            let ours = drivers
                .iter()
                .position(|d| *d == "ours")
                .and_then(|i| values[i]);
            let mut line = format!("| {scenario} | {label} |");
            for v in &values {
                line.push_str(&format!(" {} |", cell(*v, digits)));
            }
            for o in &others {
                let i = drivers.iter().position(|d| d == o).unwrap_or(0);
                line.push_str(&format!(" {} |", ratio(ours, values[i])));
            }
            println!("{line}");
        }
    }
}

/// The gets per second of the emulator as a server, beside the canned
/// vault's, per driver.
fn print_emulator(canned: &Samples, emulated: &Samples) {
    println!(
        "\n| gets per second | driver | canned vault | emulator | emulator / canned |\n\
         | --- | --- | --- | --- | --- |"
    );
    for scenario in ["seq", "par32"] {
        for driver in ["reqwest", "ours"] {
            let rate = |s: &Sample| 1e6 / s.wall_us;
            let a = canned.median(("canned", scenario, driver), rate);
            let b = emulated.median(("emulator", scenario, driver), rate);
            if a.is_none() && b.is_none() {
                continue;
            }
            println!(
                "| {scenario} | {} | {} | {} | {} |",
                driver_title(driver),
                cell(a, 0),
                cell(b, 0),
                ratio(b, a)
            );
        }
    }
}

/// The column title of a driver.
fn driver_title(driver: &str) -> &'static str {
    match driver {
        "reqwest" => "plain reqwest",
        "ours" => "ours",
        "official" => "official 1.0.1",
        "official-pre" => "official 1.1.0-beta.1",
        "python" => "Python SDK",
        _ => "?",
    }
}

// ---------------------------------------------------------------------------
// The drivers, each in a child process (the official client's are
// `bench/official`).

/// Runs the driver NAME of `driver NAME SCENARIO COUNT VAULT_URL`.
fn driver_main(args: &[String]) -> Result<(), Error> {
    match args.first().map(String::as_str) {
        Some("reqwest") => driver::run::<Plain>(args),
        Some("ours") => driver::run::<Ours>(args),
        Some(other) => Err(format!("unknown driver `{other}`").into()),
        None => Err("usage: clients-bench driver NAME SCENARIO COUNT VAULT_URL".into()),
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

/// The floor: plain `reqwest`, a fixed bearer header, serde into a small
/// struct.
struct Plain {
    http: reqwest::Client,
    vault: String,
}

impl driver::Client for Plain {
    type Cache = std::convert::Infallible;

    fn new(vault: &str) -> Result<Self, Error> {
        let ca = std::fs::read(std::env::var("SSL_CERT_FILE")?)?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&ca) {
            roots.add(cert?)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        // HTTP/2 as the two clients negotiate it: a preconfigured TLS
        // configuration keeps its own (empty) ALPN list, which would leave
        // this driver on HTTP/1.1.
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .build()?;
        Ok(Self {
            http,
            vault: vault.to_owned(),
        })
    }

    async fn get(&self) -> Result<(), Error> {
        let url = format!("{}/secrets/{SECRET_NAME}?api-version=7.6", self.vault);
        let response = (self.http.get(url))
            .header("authorization", bearer())
            .send()
            .await?
            .error_for_status()?;
        if response.json::<Bundle>().await?.value.is_none() {
            return Err("the secret had no value".into());
        }
        Ok(())
    }

    async fn list(&self) -> Result<usize, Error> {
        let mut n = 0;
        let mut next = Some(format!(
            "{}/secrets?api-version=7.6&maxresults={PAGE}",
            self.vault
        ));
        while let Some(url) = next {
            let page: Page = (self.http.get(url))
                .header("authorization", bearer())
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            n += page.value.len();
            next = page.next_link;
        }
        Ok(n)
    }
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

/// Ours: `SecretClient` with its own transport, the CA in its options.
struct Ours(keyvault_secrets::SecretClient);

impl driver::Client for Ours {
    type Cache = keyvault_secrets::SecretCache;

    fn new(vault: &str) -> Result<Self, Error> {
        let ca = std::fs::read(std::env::var("SSL_CERT_FILE")?)?;
        let mut options = keyvault_secrets::SecretClientOptions::default();
        options.client_options.root_certificates_pem = vec![ca];
        let credential = Arc::new(StaticToken);
        Ok(Self(keyvault_secrets::SecretClient::new(
            vault,
            credential,
            Some(options),
        )?))
    }

    async fn get(&self) -> Result<(), Error> {
        let secret = self.0.get_secret(SECRET_NAME, None).await?;
        if secret.value.expose_secret().is_empty() {
            return Err("the secret had no value".into());
        }
        Ok(())
    }

    async fn list(&self) -> Result<usize, Error> {
        let mut n = 0;
        let mut items = self.0.list_properties_of_secrets(None);
        while let Some(item) = items.try_next().await? {
            n += usize::from(!item.name().is_empty());
        }
        Ok(n)
    }

    async fn cache(&self) -> Result<Self::Cache, Error> {
        let cache = keyvault_secrets::SecretCache::new(self.0.clone(), None);
        cache.get(SECRET_NAME).await?;
        Ok(cache)
    }
}

impl driver::Cache for keyvault_secrets::SecretCache {
    async fn hit(&self) -> Result<(), Error> {
        std::hint::black_box(self.get(std::hint::black_box(SECRET_NAME)).await?);
        Ok(())
    }
}
