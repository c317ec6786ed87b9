//! Crash durability: the emulator binary with a data directory, killed with
//! SIGKILL at seeded random moments while 32 tasks set, update, delete and
//! purge secrets; and killed during a running HSM full backup and a full
//! restore (Azurite as the blob store).
//!
//! After each restart the store must open cleanly (no error logged), every
//! acknowledged write must be there with its acknowledged value (every
//! version an acknowledged set created, the latest value, tags and
//! deletion state), and a write whose answer never came may have happened
//! or not, but nothing else may be found. An interrupted job must read as
//! failed with `JobInterrupted`, and an interrupted restore must have
//! changed nothing.
//!
//! `KEYVAULT_CRASH_KILLS` sets the number of kills (4 by default, 20 for
//! the figures in RELIABILITY.md), `KEYVAULT_CRASH_SEED` the seed (printed
//! by every run).

// The figures of a run go to standard error (shown with `--nocapture`).
#![allow(clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{Value, json};

use crate::azurite::Azurite;
use crate::common::{Spawned, client_for, spawn_binary, with_api};
use crate::storage::{account_sas, create_container};

const TASKS: usize = 32;
/// Secret names per task: each name is written by one task only, so each
/// has at most one write in flight when the emulator is killed.
const NAMES_PER_TASK: usize = 4;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The seed of this run: `KEYVAULT_CRASH_SEED`, or the clock's.
fn seed() -> u64 {
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    env_u64("KEYVAULT_CRASH_SEED", clock)
}

/// What a secret name holds, as far as a test can see it.
#[derive(Debug, Clone, PartialEq)]
enum State {
    Absent,
    Deleted,
    Live { value: String, tag: String },
}

/// What one name is known to hold: the state its acknowledged writes made,
/// the state an unanswered write would make, and the versions acknowledged
/// sets created (version id, value) since it was last purged.
#[derive(Debug, Clone)]
struct Model {
    acked: State,
    unanswered: Option<State>,
    versions: Vec<(String, String)>,
}

/// A persistent emulator binary, restarted over the same directories.
struct Node {
    data: tempfile::TempDir,
    tls: tempfile::TempDir,
    log: std::path::PathBuf,
    running: Spawned,
    client: reqwest::Client,
}

impl Node {
    fn start() -> Node {
        let (data, tls) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let log = data.path().join("stderr.log");
        let running = spawn_logged(data.path(), tls.path(), &log);
        let ca = std::fs::read_to_string(running.info["ca_cert"].as_str().unwrap()).unwrap();
        Node {
            client: client_for(&ca),
            data,
            tls,
            log,
            running,
        }
    }

    /// A start over the same data after a kill; asserts the store opened
    /// cleanly.
    fn restart(&mut self) {
        std::fs::write(&self.log, "").unwrap();
        self.running = spawn_logged(self.data.path(), self.tls.path(), &self.log);
        let log = std::fs::read_to_string(&self.log).unwrap();
        assert!(
            !log.contains("ERROR"),
            "the store opens cleanly after a kill:\n{log}"
        );
    }

    async fn call(&self, method: Method, url: &str, body: Option<Value>) -> Option<(u16, Value)> {
        call(&self.client, method, url, body).await
    }
}

/// A request with a bearer token; `None` when no answer came.
async fn call(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    body: Option<Value>,
) -> Option<(u16, Value)> {
    let mut req = client.request(method, url).bearer_auth("t");
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.ok()?;
    let status = resp.status().as_u16();
    let text = resp.text().await.ok()?;
    Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// The binary with these directories; its warnings and errors go to `log`.
fn spawn_logged(data: &Path, tls: &Path, log: &Path) -> Spawned {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    spawn_binary(|c| {
        c.arg("--data-dir").arg(data).arg("--tls-dir").arg(tls);
        c.env("RUST_LOG", "warn").stderr(log);
    })
}

fn secret_name(task: usize, i: usize) -> String {
    format!("t{task}-n{i}")
}

/// One writer: random writes to its own names until a request goes
/// unanswered (the kill), counting each acknowledged one in `progress`.
/// Returns the writes acknowledged.
async fn writer(
    client: reqwest::Client,
    base: String,
    models: Arc<Mutex<BTreeMap<String, Model>>>,
    progress: Arc<AtomicU64>,
    task: usize,
    mut rng: StdRng,
    round: usize,
) -> u64 {
    let mut acked = 0;
    for seq in 0.. {
        let name = secret_name(task, rng.random_range(0..NAMES_PER_TASK));
        let current = models.lock().unwrap()[&name].acked.clone();
        let value = format!("v{round}-{task}-{seq}");
        let secret = with_api(&base, &format!("/secrets/{name}"));
        let (method, url, body, next, expected) = match &current {
            State::Absent => (
                Method::PUT,
                secret,
                Some(json!({"value": value})),
                live(&value, ""),
                200,
            ),
            State::Deleted => {
                let url = with_api(&base, &format!("/deletedsecrets/{name}"));
                (Method::DELETE, url, None, State::Absent, 204)
            }
            State::Live { value: old, .. } => match rng.random_range(0..4) {
                0 | 1 => (
                    Method::PUT,
                    secret,
                    Some(json!({"value": value})),
                    live(&value, ""),
                    200,
                ),
                2 => (
                    Method::PATCH,
                    secret,
                    Some(json!({"tags": {"u": value}})),
                    live(old, &value),
                    200,
                ),
                _ => (Method::DELETE, secret, None, State::Deleted, 200),
            },
        };
        models.lock().unwrap().get_mut(&name).unwrap().unanswered = Some(next.clone());
        let Some((status, body)) = call(&client, method.clone(), &url, body).await else {
            return acked;
        };
        assert_eq!(status, expected, "{method} {name}: {body}");
        let mut models = models.lock().unwrap();
        let model = models.get_mut(&name).unwrap();
        model.unanswered = None;
        match &next {
            State::Absent => model.versions.clear(),
            State::Live { value: v, tag } if tag.is_empty() => {
                let version = body["id"].as_str().unwrap().rsplit('/').next().unwrap();
                model.versions.push((version.to_owned(), v.clone()));
            }
            _ => {}
        }
        model.acked = next;
        acked += 1;
        progress.fetch_add(1, Ordering::SeqCst);
    }
    acked
}

fn live(value: &str, tag: &str) -> State {
    State::Live {
        value: value.to_owned(),
        tag: tag.to_owned(),
    }
}

/// What `name` holds in the running emulator.
async fn observe(node: &Node, base: &str, name: &str) -> State {
    let url = with_api(base, &format!("/secrets/{name}"));
    let (status, body) = node.call(Method::GET, &url, None).await.expect("answered");
    if status == 200 {
        let tag = body["tags"]["u"].as_str().unwrap_or_default();
        return live(body["value"].as_str().expect("a value"), tag);
    }
    assert_eq!(status, 404, "{body}");
    let url = with_api(base, &format!("/deletedsecrets/{name}"));
    match node.call(Method::GET, &url, None).await.expect("answered") {
        (200, _) => State::Deleted,
        (404, _) => State::Absent,
        (s, body) => panic!("deleted secret {name}: {s} {body}"),
    }
}

/// Checks every name against its model after a restart; returns (writes
/// checked, what was lost) and resolves the unanswered writes.
async fn check(node: &Node, models: &Mutex<BTreeMap<String, Model>>) -> (u64, Vec<String>) {
    let base = node.running.vault();
    let snapshot = models.lock().unwrap().clone();
    let (mut checked, mut lost) = (0, Vec::new());
    for (name, model) in snapshot {
        let seen = observe(node, &base, &name).await;
        checked += 1;
        if seen != model.acked && Some(&seen) != model.unanswered.as_ref() {
            lost.push(format!(
                "{name}: found {seen:?}, acknowledged {:?}, unanswered {:?}",
                model.acked, model.unanswered
            ));
        }
        if matches!(seen, State::Live { .. }) {
            for (version, value) in &model.versions {
                let url = with_api(&base, &format!("/secrets/{name}/{version}"));
                let r = node.call(Method::GET, &url, None).await.expect("answered");
                checked += 1;
                if r.0 != 200 || r.1["value"] != value.as_str() {
                    lost.push(format!("{name}/{version}: {} {}", r.0, r.1));
                }
            }
        }
        let mut models = models.lock().unwrap();
        let m = models.get_mut(&name).unwrap();
        if seen == State::Absent {
            m.versions.clear();
        }
        m.acked = seen;
        m.unanswered = None;
    }
    (checked, lost)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_repeated_kills() {
    let kills = env_u64("KEYVAULT_CRASH_KILLS", 4) as usize;
    let seed = seed();
    eprintln!("crash durability: seed {seed} (KEYVAULT_CRASH_SEED), {kills} kills");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut node = Node::start();
    let models: Arc<Mutex<BTreeMap<String, Model>>> = Arc::new(Mutex::new(
        (0..TASKS)
            .flat_map(|t| (0..NAMES_PER_TASK).map(move |i| secret_name(t, i)))
            .map(|n| {
                let m = Model {
                    acked: State::Absent,
                    unanswered: None,
                    versions: Vec::new(),
                };
                (n, m)
            })
            .collect(),
    ));
    let (mut acked, mut checked, mut lost, mut in_flight) = (0, 0, Vec::new(), 0);
    let started = Instant::now();
    for round in 0..kills {
        let base = node.running.vault();
        let progress = Arc::new(AtomicU64::new(0));
        let writers: Vec<_> = (0..TASKS)
            .map(|task| {
                let task_rng = StdRng::seed_from_u64(rng.random());
                let (client, base, models) = (node.client.clone(), base.clone(), models.clone());
                let progress = progress.clone();
                tokio::spawn(writer(
                    client, base, models, progress, task, task_rng, round,
                ))
            })
            .collect();
        // The kill comes at a random moment once the writers are writing
        // (past their connections' TLS handshakes).
        let warm = Instant::now() + Duration::from_secs(20);
        while progress.load(Ordering::SeqCst) < TASKS as u64 && Instant::now() < warm {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(50..600))).await;
        node.running.kill();
        for w in writers {
            acked += w.await.expect("a writer ends at the kill, without failing");
        }
        node.restart();
        in_flight += (models.lock().unwrap().values())
            .filter(|m| m.unanswered.is_some())
            .count();
        let (c, l) = check(&node, &models).await;
        checked += c;
        lost.extend(l);
    }
    eprintln!(
        "crash durability: {kills} kills in {:.1} s, {acked} writes acknowledged, {in_flight} \
         unanswered at a kill, {checked} acknowledged states and versions checked, {} lost",
        started.elapsed().as_secs_f64(),
        lost.len()
    );
    assert!(
        acked >= kills as u64,
        "writers were acknowledged between kills: {acked}"
    );
    assert!(
        lost.is_empty(),
        "acknowledged writes lost:\n{}",
        lost.join("\n")
    );
}

/// Keys in the HSM, so that a backup or restore runs long enough to be
/// killed in the middle.
const JOB_KEYS: usize = 120;

/// The state of job `id` after a restart: `Failed` with `JobInterrupted`
/// (returned as `true`) or, when it ended before the kill, `Succeeded`.
async fn job_after_restart(node: &Node, area: &str, id: &str) -> bool {
    let url = with_api(&node.running.hsm(), &format!("/{area}/{id}/pending"));
    let (status, job) = node.call(Method::GET, &url, None).await.expect("answered");
    assert_eq!(status, 200, "the job is known after a restart: {job}");
    match job["status"].as_str() {
        Some("Succeeded") => false,
        Some("Failed") => {
            assert_eq!(job["error"]["code"], "JobInterrupted", "{job}");
            let message = job["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains("interrupted"), "{job}");
            assert!(job["endTime"].is_i64(), "{job}");
            true
        }
        _ => panic!("a job neither failed nor succeeded after a restart: {job}"),
    }
}

/// Starts a job with `method` on `path` and kills the emulator a seeded
/// moment later, while the job still runs; returns its id.
async fn start_and_kill(
    node: &mut Node,
    rng: &mut StdRng,
    method: Method,
    path: &str,
    body: Value,
) -> String {
    let url = with_api(&node.running.hsm(), path);
    let (status, job) = node.call(method, &url, Some(body)).await.expect("answered");
    assert_eq!(status, 202, "{job}");
    tokio::time::sleep(Duration::from_millis(rng.random_range(5..60))).await;
    node.running.kill();
    node.restart();
    job["jobId"].as_str().expect("a job id").to_owned()
}

/// Waits for job `id` to end, asserting it succeeded; returns its status.
async fn wait_job(node: &Node, area: &str, id: &str) -> Value {
    let url = with_api(&node.running.hsm(), &format!("/{area}/{id}/pending"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, job) = node.call(Method::GET, &url, None).await.expect("answered");
        if job["status"] != "InProgress" {
            assert_eq!(job["status"], "Succeeded", "{job}");
            return job;
        }
        assert!(Instant::now() < deadline, "the job ends: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether key `name` is in the HSM.
async fn has_key(node: &Node, name: &str) -> bool {
    let url = with_api(&node.running.hsm(), &format!("/keys/{name}"));
    match node.call(Method::GET, &url, None).await.expect("answered") {
        (200, _) => true,
        (404, _) => false,
        (s, body) => panic!("key {name}: {s} {body}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_killed_midway_read_as_interrupted_and_a_restore_changes_nothing() {
    let seed = seed();
    eprintln!("crash durability of HSM jobs: seed {seed} (KEYVAULT_CRASH_SEED)");
    let mut rng = StdRng::seed_from_u64(seed);
    let az = Azurite::start();
    let mut node = Node::start();
    let sas = account_sas("rwdlac");
    create_container(&node.client, &az, "crash", &sas).await;
    let params = json!({"storageResourceUri": az.container_url("crash"), "token": sas});
    let hsm = node.running.hsm();
    let created: Vec<_> = (0..JOB_KEYS)
        .map(|i| {
            let (client, url) = (
                node.client.clone(),
                with_api(&hsm, &format!("/keys/k{i}/create")),
            );
            tokio::spawn(async move {
                let r = call(&client, Method::POST, &url, Some(json!({"kty": "oct-HSM"}))).await;
                assert_eq!(r.map(|r| r.0), Some(200));
            })
        })
        .collect();
    for c in created {
        c.await.unwrap();
    }

    // A backup killed while it writes its blobs.
    let mut interrupted = 0;
    for _ in 0..5 {
        let id = start_and_kill(&mut node, &mut rng, Method::POST, "/backup", params.clone()).await;
        interrupted += usize::from(job_after_restart(&node, "backup", &id).await);
        if interrupted > 0 {
            break;
        }
    }
    assert!(interrupted > 0, "a backup was killed while it ran");

    // A complete backup, then a key it does not hold, then a restore killed
    // while it reads the backup: it changed nothing, or it all happened.
    let url = with_api(&node.running.hsm(), "/backup");
    let (_, job) = node
        .call(Method::POST, &url, Some(params.clone()))
        .await
        .unwrap();
    let done = wait_job(&node, "backup", job["jobId"].as_str().unwrap()).await;
    let folder = done["azureStorageBlobContainerUri"].as_str().unwrap();
    let folder = folder.rsplit('/').next().unwrap().to_owned();
    let body = json!({"sasTokenParameters": params, "folderToRestore": folder});
    let mut interrupted = 0;
    for _ in 0..5 {
        let url = with_api(&node.running.hsm(), "/keys/after-backup/create");
        let (status, _) = node
            .call(Method::POST, &url, Some(json!({"kty": "oct-HSM"})))
            .await
            .unwrap();
        assert_eq!(status, 200);
        let id = start_and_kill(&mut node, &mut rng, Method::PUT, "/restore", body.clone()).await;
        let failed = job_after_restart(&node, "restore", &id).await;
        assert_eq!(
            has_key(&node, "after-backup").await,
            failed,
            "an interrupted restore changes nothing; a succeeded one replaces the keys"
        );
        assert!(has_key(&node, &format!("k{}", JOB_KEYS - 1)).await);
        interrupted += usize::from(failed);
        if interrupted > 0 {
            break;
        }
    }
    assert!(interrupted > 0, "a restore was killed while it ran");
}
