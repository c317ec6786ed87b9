//! The emulator at scale: what a request costs as the store grows.
//!
//! Run with `cargo bench -p keyvault-emulator --bench scale` (or through
//! `cargo xtask bench`). Each size runs in a fresh emulator process (the
//! release binary, in memory, its own CA) driven over loopback HTTPS by a
//! plain `reqwest` client, so the figures are the server's. For each size it
//! fills the store, then measures, in this order:
//!
//! - sequential `GET` and `PUT` latency of random secrets (median, p99);
//! - a full listing in pages of 25: items per second, and the median page;
//! - the p99 of sequential `PUT`s while another task lists everything (how
//!   long a listing can block a writer);
//! - the emulator's resident memory (`VmRSS`) before and after the fill;
//! - for keys and role assignments, listing rates.
//! - start-up with many secrets on disk: imported into a data directory
//!   (`--import`, one commit), then a restart timed to its first line.
//!
//! Then it prints each row with the ratio of the large size to the small one.
//! `--quick` uses small sizes (1,000 and 10,000 secrets; 1,000 and 3,000 keys
//! and assignments; 20,000 on disk); the default is 1,000 and 100,000
//! secrets, 1,000 and 10,000 keys and assignments, 1,000,000 on disk.
//!
//! First it prints the emulator's rates (`--rates` prints only those): gets
//! and sets per second with 1 and 32 requests in flight, in memory and (sets)
//! durable with a data directory, each for a fixed time; start-up to the
//! first line in memory (the median of five) and with 100,000 secrets on
//! disk, and the resident memory holding them. `KEYVAULT_EMULATOR_BIN` runs
//! another build of the binary (to compare two versions on one machine).
//!
//! `--load KIND COUNT` (KIND is `gets`, `sets` or `durable-sets`) only sends
//! COUNT such requests with 32 in flight to a fresh emulator, prints the rate,
//! and stops the emulator with SIGTERM, so that a profiler wrapping the
//! binary (`KEYVAULT_EMULATOR_BIN` naming a script that runs it under
//! `valgrind --tool=callgrind`) writes its counts: the difference of two
//! counts is the cost of the requests between them.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const API: &str = "api-version=7.6";
/// Requests in flight while filling a store.
const FILL_CONCURRENCY: usize = 32;
/// Secrets per import file (about 38 MB; a file is at most 64 MiB).
const IMPORT_CHUNK: usize = 250_000;
/// Full listings per measurement (the best one counts).
const LISTINGS: usize = 3;
/// Sequential requests per latency measurement.
const PROBES: usize = 2_000;
/// A secret's value: 100 bytes.
const VALUE: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyzAB";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An emulator process.
struct Emulator {
    child: Child,
    vault: String,
    hsm: String,
    client: reqwest::Client,
}

impl Emulator {
    fn start() -> Result<Self, BoxError> {
        Self::start_with(&[])
    }

    /// Starts the binary with `args` added; returns once its first line
    /// (which it prints when it serves) is read.
    fn start_with(args: &[&std::ffi::OsStr]) -> Result<Self, BoxError> {
        let tls = tempfile::tempdir()?;
        let bin = std::env::var_os("KEYVAULT_EMULATOR_BIN")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_keyvault-emulator").into());
        let mut child = Command::new(bin)
            .args(["--vault-port", "0", "--hsm-port", "0", "--proxy-port", "0"])
            .arg("--tls-dir")
            .arg(tls.path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let first: Value = serde_json::from_str(&line)?;
        let ca = std::fs::read_to_string(first["ca_cert"].as_str().ok_or("no ca_cert")?)?;
        let client = keyvault_testing::tls::client_trusting(&ca);
        let url = |k: &str| {
            first[k]
                .as_str()
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_owned()
        };
        let (vault, hsm) = (url("vault_url"), url("hsm_url"));
        drop(tls);
        Ok(Self {
            child,
            vault,
            hsm,
            client,
        })
    }

    /// The emulator's CPU time so far (user, system), in seconds, from
    /// `/proc/<pid>/stat` (all its threads; clock ticks of 1/100 s).
    fn cpu_seconds(&self) -> (f64, f64) {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()));
        // The fields after the command name (which may hold spaces).
        let fields: Vec<f64> = stat
            .ok()
            .and_then(|s| Some(s.get(s.rfind(')')? + 2..)?.to_owned()))
            .map(|rest| rest.split(' ').map(|f| f.parse().unwrap_or(0.0)).collect())
            .unwrap_or_default();
        // utime and stime are fields 14 and 15 of the whole line.
        let tick = |i: usize| fields.get(i).copied().unwrap_or(f64::NAN) / 100.0;
        (tick(11), tick(12))
    }

    /// The emulator's resident memory, in MB.
    fn rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()));
        let kb = status
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            })
            .unwrap_or(f64::NAN);
        kb / 1024.0
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, BoxError> {
        let mut req = self.client.request(method, url).bearer_auth("bench");
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = req.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            return Err(format!("{status} from {url}: {text}").into());
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Runs `count` requests made by `make`, `FILL_CONCURRENCY` at a time
    /// (a `null` body is none).
    async fn fill(
        self: &Arc<Self>,
        count: usize,
        make: impl Fn(usize) -> (reqwest::Method, String, Value) + Send + Sync + 'static,
    ) -> Result<(), BoxError> {
        let make = Arc::new(make);
        let mut tasks = Vec::new();
        for worker in 0..FILL_CONCURRENCY {
            let (emu, make) = (self.clone(), make.clone());
            tasks.push(tokio::spawn(async move {
                let mut i = worker;
                while i < count {
                    let (method, url, body) = make(i);
                    let body = Some(&body).filter(|b| !b.is_null());
                    emu.send(method, &url, body).await?;
                    i += FILL_CONCURRENCY;
                }
                Ok::<_, BoxError>(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        Ok(())
    }

    /// Lists `first` to the end `LISTINGS` times; returns the items seen, the
    /// best rate (items per second: the least disturbed run on a busy
    /// machine) and each page's time.
    async fn list_best(&self, first: &str) -> Result<(usize, f64, Vec<Duration>), BoxError> {
        let (mut best, mut items, mut all_pages) = (0.0_f64, 0, Vec::new());
        for _ in 0..LISTINGS {
            let started = Instant::now();
            let (n, pages) = self.list_all(first).await?;
            best = best.max(n as f64 / started.elapsed().as_secs_f64());
            items = n;
            all_pages.extend(pages);
        }
        Ok((items, best, all_pages))
    }

    /// Lists `first` to the end; returns the items seen and each page's time.
    async fn list_all(&self, first: &str) -> Result<(usize, Vec<Duration>), BoxError> {
        let (mut items, mut pages) = (0, Vec::new());
        let mut url = first.to_owned();
        loop {
            let started = Instant::now();
            let page = self.send(reqwest::Method::GET, &url, None).await?;
            pages.push(started.elapsed());
            items += page["value"].as_array().map_or(0, Vec::len);
            match page["nextLink"].as_str() {
                Some(next) => url = next.to_owned(),
                None => return Ok((items, pages)),
            }
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn secret_name(i: usize) -> String {
    format!("secret-{i:07}")
}

/// A pseudo-random index below `n` (xorshift; deterministic per run).
fn pick(state: &mut u64, n: usize) -> usize {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state % n as u64) as usize
}

fn quantile(mut v: Vec<Duration>, q: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    v[i]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The figures of one size.
#[derive(Debug, Default, Clone)]
struct Figures {
    get_p50: f64,
    get_p99: f64,
    set_p50: f64,
    set_p99: f64,
    list_rate: f64,
    page_p50: f64,
    set_p99_while_listing: f64,
    rss_per_secret_bytes: f64,
    rss_mb: f64,
    keys_list_rate: f64,
    assignments_list_rate: f64,
}

async fn measure_secrets(n: usize) -> Result<Figures, BoxError> {
    let emu = Arc::new(Emulator::start()?);
    let before = emu.rss_mb();
    let vault = emu.vault.clone();
    emu.fill(n, move |i| {
        let url = format!("{vault}/secrets/{}?{API}", secret_name(i));
        (reqwest::Method::PUT, url, json!({ "value": VALUE }))
    })
    .await?;
    let mut f = Figures {
        rss_mb: emu.rss_mb(),
        ..Figures::default()
    };
    f.rss_per_secret_bytes = (f.rss_mb - before) * 1024.0 * 1024.0 / n as f64;

    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let (mut gets, mut sets) = (Vec::new(), Vec::new());
    for _ in 0..PROBES {
        let url = format!(
            "{}/secrets/{}?{API}",
            emu.vault,
            secret_name(pick(&mut rng, n))
        );
        let started = Instant::now();
        emu.send(reqwest::Method::GET, &url, None).await?;
        gets.push(started.elapsed());
        let started = Instant::now();
        let body = json!({ "value": VALUE });
        emu.send(reqwest::Method::PUT, &url, Some(&body)).await?;
        sets.push(started.elapsed());
    }
    f.get_p50 = us(quantile(gets.clone(), 0.5));
    f.get_p99 = us(quantile(gets, 0.99));
    f.set_p50 = us(quantile(sets.clone(), 0.5));
    f.set_p99 = us(quantile(sets, 0.99));

    let first = format!("{}/secrets?{API}&maxresults=25", emu.vault);
    let (items, rate, pages) = emu.list_best(&first).await?;
    f.list_rate = rate;
    f.page_p50 = us(quantile(pages, 0.5));
    if items != n {
        return Err(format!("listed {items} secrets of {n}").into());
    }

    // Writers while a listing runs.
    let lister = {
        let emu = emu.clone();
        tokio::spawn(async move { emu.list_all(&first).await })
    };
    let mut sets = Vec::new();
    while !lister.is_finished() {
        let url = format!(
            "{}/secrets/{}?{API}",
            emu.vault,
            secret_name(pick(&mut rng, n))
        );
        let started = Instant::now();
        let body = json!({ "value": VALUE });
        emu.send(reqwest::Method::PUT, &url, Some(&body)).await?;
        sets.push(started.elapsed());
    }
    lister.await??;
    f.set_p99_while_listing = us(quantile(sets, 0.99));
    Ok(f)
}

async fn measure_hsm(n: usize, f: &mut Figures) -> Result<(), BoxError> {
    let emu = Arc::new(Emulator::start()?);
    let hsm = emu.hsm.clone();
    emu.fill(n, move |i| {
        let url = format!("{hsm}/keys/key-{i:07}/create?{API}");
        (reqwest::Method::POST, url, json!({ "kty": "oct-HSM" }))
    })
    .await?;
    let first = format!("{}/keys?{API}&maxresults=25", emu.hsm);
    let (items, rate, _) = emu.list_best(&first).await?;
    f.keys_list_rate = rate;
    if items != n {
        return Err(format!("listed {items} keys of {n}").into());
    }

    let hsm = emu.hsm.clone();
    emu.fill(n, move |i| {
        let url = format!(
            "{hsm}/providers/Microsoft.Authorization/roleAssignments/{:08x}-0000-4000-8000-{i:012}?{API}",
            i
        );
        let role = "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/21dbd100-6940-42c2-9190-5d6cb909625b";
        let body = json!({"properties": {"roleDefinitionId": role, "principalId": format!("p{i}")}});
        (reqwest::Method::PUT, url, body)
    })
    .await?;
    let first = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments?{API}&maxresults=25",
        emu.hsm
    );
    let (items, rate, _) = emu.list_best(&first).await?;
    f.assignments_list_rate = rate;
    if items < n {
        return Err(format!("listed {items} assignments of {n}").into());
    }
    Ok(())
}

/// Start-up with `n` secrets on disk: imports them into a data directory
/// (one commit), then times a restart from that directory to the first
/// line, its memory, and the first get. Returns (import seconds, start-up
/// seconds, RSS MB, get µs).
async fn measure_startup(n: usize) -> Result<(f64, f64, f64, f64), BoxError> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    // An import file is at most 64 MiB: the secrets go in chunks, one start
    // (and one commit) each; later starts keep what earlier ones stored.
    let mut import = 0.0;
    for (chunk, from) in (0..n).step_by(IMPORT_CHUNK).enumerate() {
        let file = dir.path().join(format!("seed-{chunk}.json"));
        {
            use std::io::Write;
            let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
            write!(w, r#"{{"vaults":{{"emulator":{{"secrets":["#)?;
            for i in from..(from + IMPORT_CHUNK).min(n) {
                let comma = if i == from { "" } else { "," };
                let name = secret_name(i);
                write!(
                    w,
                    r#"{comma}{{"name":"{name}","versions":[{{"value":"{VALUE}"}}]}}"#
                )?;
            }
            write!(w, "]}}}}}}")?;
        }
        let started = Instant::now();
        let args = [
            "--data-dir".as_ref(),
            data.as_os_str(),
            "--import".as_ref(),
            file.as_os_str(),
        ];
        let emu = Emulator::start_with(&args)?;
        import += started.elapsed().as_secs_f64();
        drop(emu);
        std::fs::remove_file(&file)?;
    }
    let data_arg = data.as_os_str();
    let started = Instant::now();
    let emu = Emulator::start_with(&["--data-dir".as_ref(), data_arg])?;
    let startup = started.elapsed().as_secs_f64();
    let rss = emu.rss_mb();
    let middle = secret_name(n / 2);
    let started = Instant::now();
    let url = format!("{}/secrets/{middle}?{API}", emu.vault);
    emu.send(reqwest::Method::GET, &url, None).await?;
    let get = us(started.elapsed());
    Ok((import, startup, rss, get))
}

/// How long each rate is measured.
const RATE_TIME: Duration = Duration::from_secs(3);
/// Secrets that rate gets read.
const RATE_SECRETS: usize = 1_000;
/// Secrets on disk for the start-up row.
const STARTUP_SECRETS: usize = 100_000;

/// Requests per second with `in_flight` tasks sending what `make` gives
/// (from the task's number and its count) for [`RATE_TIME`].
async fn rate(
    emu: &Arc<Emulator>,
    in_flight: usize,
    make: impl Fn(usize, usize) -> (reqwest::Method, String, Option<Value>) + Send + Sync + 'static,
) -> Result<f64, BoxError> {
    let make = Arc::new(make);
    let started = Instant::now();
    let deadline = started + RATE_TIME;
    let mut tasks = Vec::new();
    for task in 0..in_flight {
        let (emu, make) = (emu.clone(), make.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            while Instant::now() < deadline {
                let (method, url, body) = make(task, done);
                emu.send(method, &url, body.as_ref()).await?;
                done += 1;
            }
            Ok::<_, BoxError>(done)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Gets per second, then sets per second, with 1 and 32 requests in flight.
async fn rates(emu: &Arc<Emulator>, gets: bool) -> Result<Vec<f64>, BoxError> {
    let mut out = Vec::new();
    if gets {
        let vault = emu.vault.clone();
        emu.fill(RATE_SECRETS, move |i| {
            let url = format!("{vault}/secrets/{}?{API}", secret_name(i));
            (reqwest::Method::PUT, url, json!({ "value": VALUE }))
        })
        .await?;
        for in_flight in [1, 32] {
            let vault = emu.vault.clone();
            let get = move |task: usize, i: usize| {
                let name = secret_name((task * 7919 + i * 31) % RATE_SECRETS);
                let url = format!("{vault}/secrets/{name}?{API}");
                (reqwest::Method::GET, url, None)
            };
            out.push(rate(emu, in_flight, get).await?);
        }
    }
    for in_flight in [1, 32] {
        let vault = emu.vault.clone();
        // Each task writes names of its own: writers of one name take turns.
        let set = move |task: usize, i: usize| {
            let url = format!("{vault}/secrets/rate-{task}-{}?{API}", i % 100);
            (reqwest::Method::PUT, url, Some(json!({ "value": VALUE })))
        };
        out.push(rate(emu, in_flight, set).await?);
    }
    Ok(out)
}

/// Sends `count` requests of `kind` (see the module's documentation) with
/// 32 in flight, prints their rate, and stops the emulator with SIGTERM.
async fn fixed_load(kind: &str, count: usize) -> Result<(), BoxError> {
    let dir = tempfile::tempdir()?;
    let emu = Arc::new(match kind {
        "durable-sets" => Emulator::start_with(&["--data-dir".as_ref(), dir.path().as_os_str()])?,
        "gets" | "sets" => Emulator::start()?,
        _ => return Err(format!("--load: unknown kind {kind:?}").into()),
    });
    let vault = emu.vault.clone();
    if kind == "gets" {
        let vault = vault.clone();
        emu.fill(RATE_SECRETS, move |i| {
            let url = format!("{vault}/secrets/{}?{API}", secret_name(i));
            (reqwest::Method::PUT, url, json!({ "value": VALUE }))
        })
        .await?;
    }
    let started = Instant::now();
    let cpu_before = emu.cpu_seconds();
    let gets = kind == "gets";
    emu.fill(count, move |i| {
        if gets {
            let name = secret_name((i * 31) % RATE_SECRETS);
            let url = format!("{vault}/secrets/{name}?{API}");
            return (reqwest::Method::GET, url, Value::Null);
        }
        // The names of the rates: 100 per task.
        let (task, n) = (i % FILL_CONCURRENCY, i / FILL_CONCURRENCY);
        let url = format!("{vault}/secrets/rate-{task}-{}?{API}", n % 100);
        (reqwest::Method::PUT, url, json!({ "value": VALUE }))
    })
    .await?;
    let per_s = count as f64 / started.elapsed().as_secs_f64();
    let cpu = emu.cpu_seconds();
    let per_op = |after: f64, before: f64| (after - before) * 1e6 / count as f64;
    println!(
        "{count} {kind}: {per_s:.0}/s, emulator CPU per request {:.0} µs user + {:.0} µs system",
        per_op(cpu.0, cpu_before.0),
        per_op(cpu.1, cpu_before.1)
    );
    let pid = emu.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status()?;
    let mut emu = Arc::into_inner(emu).ok_or("the emulator is still shared")?;
    emu.child.wait()?;
    Ok(())
}

/// The emulator's rates, start-up times and memory (see the module's
/// documentation), printed as one table.
async fn emulator_rates() -> Result<(), BoxError> {
    eprintln!("rates in memory");
    let memory = rates(&Arc::new(Emulator::start()?), true).await?;
    eprintln!("rates with a data directory");
    let dir = tempfile::tempdir()?;
    let args = ["--data-dir".as_ref(), dir.path().as_os_str()];
    let durable = rates(&Arc::new(Emulator::start_with(&args)?), false).await?;
    let mut startups = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        drop(Emulator::start()?);
        startups.push(started.elapsed());
    }
    let in_memory = quantile(startups, 0.5).as_secs_f64() * 1e3;
    eprintln!("start-up with {STARTUP_SECRETS} secrets on disk");
    let (_, on_disk, rss, _) = measure_startup(STARTUP_SECRETS).await?;
    println!();
    println!("| emulator | 1 in flight | 32 in flight | target |");
    println!("| --- | --- | --- | --- |");
    let per_s = |v: f64| format!("{v:.0}/s");
    let (g1, g32, s1, s32) = (memory[0], memory[1], memory[2], memory[3]);
    println!("| gets, in memory | {} | {} | |", per_s(g1), per_s(g32));
    println!("| sets, in memory | {} | {} | |", per_s(s1), per_s(s32));
    let (d1, d32) = (durable[0], durable[1]);
    println!(
        "| durable sets (`--data-dir`) | {} | {} | |",
        per_s(d1),
        per_s(d32)
    );
    println!(
        "| durable / in memory | {:.2}× | {:.2}× | ≥ 0.5× at 32 |",
        d1 / s1,
        d32 / s32
    );
    println!();
    println!("| emulator | figure | target |");
    println!("| --- | --- | --- |");
    println!(
        "| start-up to the first line, in memory (median of 5) | {in_memory:.0} ms | < 50 ms |"
    );
    println!(
        "| start-up to the first line, {STARTUP_SECRETS} secrets on disk | {:.0} ms | < 1 s |",
        on_disk * 1e3
    );
    println!("| resident memory holding them | {rss:.0} MB | < 200 MB |");
    Ok(())
}

fn row(name: &str, small: f64, large: f64, unit: &str, target: &str) {
    let ratio = large / small;
    println!("| {name} | {small:.1} {unit} | {large:.1} {unit} | {ratio:.2}× | {target} |");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--load") {
        let kind = args.get(i + 1).ok_or("--load needs a kind")?;
        let count = args.get(i + 2).and_then(|c| c.parse().ok());
        return fixed_load(kind, count.ok_or("--load needs a count")?).await;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    emulator_rates().await?;
    if std::env::args().any(|a| a == "--rates") {
        return Ok(());
    }
    let on_disk = if quick { 20_000 } else { 1_000_000 };
    eprintln!("importing {on_disk} secrets into a data directory");
    let (import, startup, rss, get) = measure_startup(on_disk).await?;
    let (small, large, hsm_small, hsm_large) = if quick {
        (1_000, 10_000, 1_000, 3_000)
    } else {
        (1_000, 100_000, 1_000, 10_000)
    };
    eprintln!(
        "filling {small} and {large} secrets, {hsm_small} and {hsm_large} keys and assignments"
    );
    let mut a = measure_secrets(small).await?;
    let mut b = measure_secrets(large).await?;
    measure_hsm(hsm_small, &mut a).await?;
    measure_hsm(hsm_large, &mut b).await?;
    println!();
    println!("| row | {small} | {large} | large / small | target |");
    println!("| --- | --- | --- | --- | --- |");
    row(
        "secret list rate",
        a.list_rate,
        b.list_rate,
        "items/s",
        "≥ 0.8×",
    );
    row("page latency p50", a.page_p50, b.page_p50, "µs", "≤ 1.2×");
    row("get latency p50", a.get_p50, b.get_p50, "µs", "≤ 1.2×");
    row("get latency p99", a.get_p99, b.get_p99, "µs", "");
    row("set latency p50", a.set_p50, b.set_p50, "µs", "≤ 1.2×");
    row("set latency p99", a.set_p99, b.set_p99, "µs", "");
    row(
        "set p99 while listing",
        a.set_p99_while_listing,
        b.set_p99_while_listing,
        "µs",
        "one page's work",
    );
    row(
        "resident memory",
        a.rss_mb,
        b.rss_mb,
        "MB",
        "< 200 MB at 100,000",
    );
    row(
        "memory per secret",
        a.rss_per_secret_bytes,
        b.rss_per_secret_bytes,
        "B",
        "",
    );
    println!();
    println!("| row | {hsm_small} | {hsm_large} | large / small | target |");
    println!("| --- | --- | --- | --- | --- |");
    row(
        "key list rate",
        a.keys_list_rate,
        b.keys_list_rate,
        "items/s",
        "≥ 0.8×",
    );
    row(
        "assignment list rate",
        a.assignments_list_rate,
        b.assignments_list_rate,
        "items/s",
        "≥ 0.8×",
    );
    println!();
    println!("| {on_disk} secrets on disk | figure | target |");
    println!("| --- | --- | --- |");
    println!("| import (one commit per 250,000) | {import:.1} s | |");
    println!("| start-up to the first line | {startup:.2} s | < 5 s at 1,000,000 |");
    println!("| resident memory after start-up | {rss:.0} MB | < 1.5 GB at 1,000,000 |");
    println!("| first get after start-up | {get:.0} µs | |");
    Ok(())
}
