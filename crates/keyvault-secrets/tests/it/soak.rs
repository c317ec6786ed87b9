//! Soak under faults: mixed secret operations from 32 tasks through one
//! `SecretClient`, against an emulator that gives 10% of the requests a
//! fault (429, 503, a connection dropped before or after processing,
//! latency, a stalled body). Each task keeps its own names, so a plain map
//! per task is an exact model of what was acknowledged; it is checked by
//! every read and, with faults off, at the end.
//!
//! 1,000 operations by default; `KEYVAULT_SOAK_OPS=10000` for the full run.
//! When the outcome of a call cannot be known (a PATCH or a restore whose
//! connection dropped: the client does not send those again), the task
//! reads what happened; the value read must be the old or the new one.
//! When a retried delete, purge or recover meets the effect of its own
//! earlier try (404), the task checks that effect.

use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Instant;

use futures::TryStreamExt;
use keyvault_emulator::Emulator;
use keyvault_secrets::{
    ApiVersion, Result, SecretClient, SecretClientOptions, SecretPoller,
    UpdateSecretPropertiesOptions,
};
use keyvault_testing::soak::{self, Retries, Rng, Tally, met_its_earlier_try, no_answer};
use tracing::instrument::WithSubscriber;

use crate::common::{StaticToken, fast};

const TASKS: usize = 32;
const NAMES_PER_TASK: usize = 4;

/// What a task knows of one of its secrets.
#[derive(Clone, Debug, PartialEq)]
enum State {
    /// Never set, or purged.
    Absent,
    Live {
        value: String,
        content_type: Option<String>,
    },
    Deleted {
        value: String,
        content_type: Option<String>,
    },
}

struct Task {
    client: SecretClient,
    tally: Arc<Tally>,
    names: BTreeMap<String, State>,
    rng: Rng,
    sent: u64,
    calls: usize,
}

impl Task {
    fn call(&mut self) {
        self.calls += 1;
        self.tally.call();
    }

    /// The value and content type of a secret the model says is live.
    fn live(&self, name: &str) -> Option<(String, Option<String>)> {
        match &self.names[name] {
            State::Live {
                value,
                content_type,
            } => Some((value.clone(), content_type.clone())),
            _ => None,
        }
    }

    fn next_value(&mut self, name: &str) -> String {
        self.sent += 1;
        format!("{name}-v{}", self.sent)
    }

    /// Reads the secret and checks it against the model (or, with
    /// `candidates`, against one of them); the model becomes what was read.
    async fn read(&mut self, name: &str, candidates: &[State]) {
        self.call();
        let seen = match self.client.get_secret(name, None).await {
            Ok(s) => State::Live {
                value: s.value.expose_secret().to_owned(),
                content_type: s.properties.content_type.clone(),
            },
            Err(e) if e.is_not_found() => match self.names[name].clone() {
                State::Live {
                    value,
                    content_type,
                }
                | State::Deleted {
                    value,
                    content_type,
                } => {
                    self.call();
                    match self.client.get_deleted_secret(name, None).await {
                        Ok(_) => State::Deleted {
                            value,
                            content_type,
                        },
                        Err(e) if e.is_not_found() => State::Absent,
                        Err(e) => return self.tally.error("get deleted", &e),
                    }
                }
                State::Absent => State::Absent,
            },
            Err(e) => return self.tally.error("get", &e),
        };
        let expected = if candidates.is_empty() {
            std::slice::from_ref(&self.names[name])
        } else {
            candidates
        };
        if !expected.contains(&seen) {
            self.tally.violation(format!(
                "{name}: read {seen:?}, the model allows {expected:?}"
            ));
        }
        self.names.insert(name.to_owned(), seen);
    }

    async fn set(&mut self, name: &str) {
        let value = self.next_value(name);
        self.call();
        match self.client.set_secret(name, value.as_str(), None).await {
            Ok(s) => {
                assert_eq!(s.value.expose_secret(), value);
                let live = State::Live {
                    value,
                    content_type: None,
                };
                self.names.insert(name.to_owned(), live);
            }
            Err(e) => {
                self.tally.error("set", &e);
                let (old, new) = (
                    self.names[name].clone(),
                    State::Live {
                        value,
                        content_type: None,
                    },
                );
                self.read(name, &[old, new]).await;
            }
        }
    }

    async fn update(&mut self, name: &str) {
        let Some((value, content_type)) = self.live(name) else {
            return self.set(name).await;
        };
        let ct = format!("ct-{}", self.next_value(name));
        let old = State::Live {
            value: value.clone(),
            content_type,
        };
        let new = State::Live {
            value,
            content_type: Some(ct.clone()),
        };
        // A PATCH is not sent again by the client once its body may have
        // reached the service; the caller reads what happened, then sends
        // the same change again (the same change twice is the change once).
        for _ in 0..5 {
            let options = UpdateSecretPropertiesOptions {
                content_type: Some(ct.clone()),
                ..Default::default()
            };
            self.call();
            match (self.client)
                .update_secret_properties(name, Some(options))
                .await
            {
                Ok(p) => {
                    assert_eq!(p.content_type.as_deref(), Some(ct.as_str()));
                    self.names.insert(name.to_owned(), new);
                    return;
                }
                Err(e) if no_answer(&e) => {
                    self.tally.unknown();
                    self.read(name, &[old.clone(), new.clone()]).await;
                    self.tally.resent();
                }
                Err(e) => {
                    self.tally.error("update", &e);
                    return self.read(name, &[old, new]).await;
                }
            }
        }
    }

    async fn list(&mut self) {
        self.call();
        let listed: Result<Vec<_>, _> = self
            .client
            .list_properties_of_secrets(None)
            .try_collect()
            .await;
        let listed = match listed {
            Ok(l) => l,
            Err(e) => return self.tally.error("list", &e),
        };
        for (name, state) in &self.names {
            let item = listed.iter().find(|p| p.name() == name);
            match state {
                State::Live { content_type, .. } => match item {
                    Some(item) if &item.content_type == content_type => {}
                    _ => self
                        .tally
                        .violation(format!("{name}: listed as {item:?}, not {state:?}")),
                },
                _ if item.is_some() => self
                    .tally
                    .violation(format!("{name} is listed but {state:?}")),
                _ => {}
            }
        }
    }

    /// Waits for a long-running call to end; whether it took effect: done,
    /// or its retried start met the effect of its earlier try (counted).
    /// Any other error is recorded.
    async fn settled<T>(&self, what: &str, started: Result<SecretPoller<T>>) -> bool
    where
        SecretPoller<T>: IntoFuture<Output = Result<T>>,
    {
        match started {
            Ok(poller) => match poller.await {
                Ok(_) => true,
                Err(e) => {
                    self.tally.error(what, &e);
                    false
                }
            },
            Err(e) if met_its_earlier_try(&e) => {
                self.tally.earlier_try();
                true
            }
            Err(e) => {
                self.tally.error(what, &e);
                false
            }
        }
    }

    /// Deletes a live secret (waiting for the deletion); the model says
    /// it is deleted unless an error is recorded.
    async fn delete(&mut self, name: &str) -> bool {
        let Some((value, content_type)) = self.live(name) else {
            return false;
        };
        self.call();
        let started = self.client.begin_delete_secret(name, fast()).await;
        if !self.settled("delete", started).await {
            let deleted = State::Deleted {
                value: value.clone(),
                content_type: content_type.clone(),
            };
            let live = State::Live {
                value,
                content_type,
            };
            self.read(name, &[live, deleted]).await;
            return matches!(self.names[name], State::Deleted { .. });
        }
        let deleted = State::Deleted {
            value,
            content_type,
        };
        self.names.insert(name.to_owned(), deleted.clone());
        self.read(name, &[deleted]).await;
        true
    }

    async fn delete_and_recover(&mut self, name: &str) {
        if !self.delete(name).await {
            return self.set(name).await;
        }
        let State::Deleted {
            value,
            content_type,
        } = self.names[name].clone()
        else {
            unreachable!()
        };
        let live = State::Live {
            value,
            content_type,
        };
        self.call();
        let started = self.client.begin_recover_deleted_secret(name, fast()).await;
        self.settled("recover", started).await;
        self.names.insert(name.to_owned(), live.clone());
        self.read(name, &[live]).await;
    }

    async fn backup_and_restore(&mut self, name: &str) {
        let Some((value, content_type)) = self.live(name) else {
            return self.set(name).await;
        };
        self.call();
        let blob = match self.client.backup_secret(name, None).await {
            Ok(b) => b,
            Err(e) => return self.tally.error("backup", &e),
        };
        if !self.delete(name).await {
            return;
        }
        self.call();
        match self.client.purge_deleted_secret(name, None).await {
            Ok(()) => {}
            Err(e) if met_its_earlier_try(&e) => self.tally.earlier_try(),
            Err(e) => return self.tally.error("purge", &e),
        }
        self.names.insert(name.to_owned(), State::Absent);
        let live = State::Live {
            value,
            content_type,
        };
        // A restore is not sent again by the client either: the caller
        // reads whether it was applied and, if not, sends it again. A
        // restore that was still being served when the client gave up may
        // be applied after that read: the one sent again then meets it (409).
        let mut resending = false;
        for _ in 0..5 {
            self.call();
            match self.client.restore_secret_backup(&blob, None).await {
                Ok(_) => break,
                Err(e) if no_answer(&e) => {
                    self.tally.unknown();
                    self.read(name, &[State::Absent, live.clone()]).await;
                    if self.names[name] == live {
                        return;
                    }
                    self.tally.resent();
                    resending = true;
                }
                Err(e) if e.is_conflict() && resending => {
                    self.tally.earlier_try();
                    break;
                }
                Err(e) => return self.tally.error("restore", &e),
            }
        }
        self.names.insert(name.to_owned(), live.clone());
        self.read(name, &[live]).await;
    }

    /// Runs at least `ops` calls; returns the model.
    async fn run(mut self, ops: usize) -> BTreeMap<String, State> {
        let names: Vec<String> = self.names.keys().cloned().collect();
        while self.calls < ops {
            let name = &names[self.rng.below(names.len() as u64) as usize];
            match self.rng.below(100) {
                0..30 => self.set(name).await,
                30..60 => self.read(name, &[]).await,
                60..75 => self.update(name).await,
                75..78 => self.list().await,
                78..90 => self.delete_and_recover(name).await,
                _ => self.backup_and_restore(name).await,
            }
        }
        self.names
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn secrets_under_faults_lose_no_acknowledged_write() {
    let ops = soak::ops(1_000);
    let emu = Emulator::builder()
        .faults(soak::plan(42))
        .start()
        .await
        .expect("emulator starts");
    let options = SecretClientOptions {
        api_version: ApiVersion::default(),
        client_options: soak::client_options(emu.ca_cert_pem()),
    };
    let credential = Arc::new(StaticToken::default());
    let client = SecretClient::new(emu.vault_url(), credential, Some(options)).expect("client");
    let tally = Arc::new(Tally::default());
    let retries = Retries::default();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..TASKS {
        let names = (0..NAMES_PER_TASK)
            .map(|i| (format!("soak-{t}-{i}"), State::Absent))
            .collect();
        let task = Task {
            client: client.clone(),
            tally: tally.clone(),
            names,
            rng: Rng::new(t as u64 + 1),
            sent: 0,
            calls: 0,
        };
        // Each task's share of the operations (one call or a few each).
        let share = ops / TASKS + usize::from(t < ops % TASKS);
        tasks.spawn(task.run(share).with_subscriber(retries.dispatch()));
    }
    let mut model = BTreeMap::new();
    while let Some(names) = tasks.join_next().await {
        model.extend(names.expect("a task panicked"));
    }
    let elapsed = started.elapsed();
    let faults = emu.fault_counts();

    // With faults off, the store holds exactly what the model says.
    emu.set_fault_plan(None).unwrap();
    let listed: Vec<_> = client
        .list_properties_of_secrets(None)
        .try_collect()
        .await
        .unwrap();
    let (mut live, mut deleted, mut absent) = (0, 0, 0);
    for (name, state) in &model {
        match state {
            State::Live {
                value,
                content_type,
            } => {
                live += 1;
                let s = client.get_secret(name, None).await.unwrap();
                assert_eq!(
                    s.value.expose_secret(),
                    value,
                    "{name}: an acknowledged write was lost"
                );
                assert_eq!(&s.properties.content_type, content_type, "{name}");
                assert!(listed.iter().any(|p| p.name() == name), "{name} not listed");
            }
            State::Deleted { .. } => {
                deleted += 1;
                client.get_deleted_secret(name, None).await.unwrap();
            }
            State::Absent => {
                absent += 1;
                assert!(
                    client
                        .get_secret(name, None)
                        .await
                        .unwrap_err()
                        .is_not_found()
                );
                assert!(
                    client
                        .get_deleted_secret(name, None)
                        .await
                        .unwrap_err()
                        .is_not_found()
                );
            }
        }
    }
    assert_eq!(
        listed
            .iter()
            .filter(|p| p.name().starts_with("soak-"))
            .count(),
        live
    );

    let errors = tally.errors();
    let calls = tally.calls();
    println!(
        "{}; final model: {live} live, {deleted} deleted, {absent} absent, all as read back",
        tally.report(
            &format!("secrets, {TASKS} tasks"),
            elapsed,
            &faults,
            retries.count()
        )
    );
    assert!(calls as usize >= ops, "{calls} calls for {ops} operations");
    assert!(faults.total() > 0 && retries.count() > 0);
    assert!(
        errors.is_empty(),
        "errors surfaced to the caller: {errors:#?}"
    );
    emu.shutdown().await;
}
