//! The blocking `SecretClient`. The scenarios are written once, over
//! [`Secrets`], and run against the async client and the blocking one,
//! each on a fresh emulator served by a runtime of its own; the test's
//! thread makes the calls.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::Arc,
    time::Duration,
};

use futures::TryStreamExt;
use keyvault_secrets::{
    DeletedSecret, GetSecretOptions, KeyVaultSecret, ListOptions, Page, PollStatus, Result,
    SecretClient, SecretProperties, SetSecretOptions, UpdateSecretPropertiesOptions,
    blocking::{self, IN_ASYNC_CONTEXT},
};
use tokio::runtime::Runtime;

use crate::common::{Env, StaticToken, fast};

/// What the scenarios call, as both clients offer it.
trait Secrets {
    fn set(&self, name: &str, value: &str, o: Option<SetSecretOptions>) -> Result<KeyVaultSecret>;
    fn get(&self, name: &str, o: Option<GetSecretOptions>) -> Result<KeyVaultSecret>;
    fn update(&self, name: &str, o: UpdateSecretPropertiesOptions) -> Result<SecretProperties>;
    fn items(&self, o: Option<ListOptions>) -> Result<Vec<SecretProperties>>;
    fn pages(&self, o: Option<ListOptions>) -> Result<Vec<Page<SecretProperties>>>;
    fn versions(&self, name: &str) -> Result<Vec<SecretProperties>>;
    fn deleted(&self) -> Result<Vec<DeletedSecret>>;
    fn get_deleted(&self, name: &str) -> Result<DeletedSecret>;
    /// Deletes, returning the poller's resume token and its final value.
    fn delete(&self, name: &str) -> Result<(String, DeletedSecret)>;
    fn resume_delete(&self, token: &str) -> Result<DeletedSecret>;
    fn recover(&self, name: &str) -> Result<SecretProperties>;
    fn purge(&self, name: &str) -> Result<()>;
    fn backup(&self, name: &str) -> Result<Vec<u8>>;
    fn restore(&self, backup: &[u8]) -> Result<SecretProperties>;
}

/// The async client, each call run to completion on the emulator's runtime.
struct Async<'a>(&'a Runtime, SecretClient);

impl Secrets for Async<'_> {
    fn set(&self, name: &str, value: &str, o: Option<SetSecretOptions>) -> Result<KeyVaultSecret> {
        self.0.block_on(self.1.set_secret(name, value, o))
    }
    fn get(&self, name: &str, o: Option<GetSecretOptions>) -> Result<KeyVaultSecret> {
        self.0.block_on(self.1.get_secret(name, o))
    }
    fn update(&self, name: &str, o: UpdateSecretPropertiesOptions) -> Result<SecretProperties> {
        self.0
            .block_on(self.1.update_secret_properties(name, Some(o)))
    }
    fn items(&self, o: Option<ListOptions>) -> Result<Vec<SecretProperties>> {
        self.0
            .block_on(self.1.list_properties_of_secrets(o).try_collect())
    }
    fn pages(&self, o: Option<ListOptions>) -> Result<Vec<Page<SecretProperties>>> {
        let pages = self.1.list_properties_of_secrets(o).into_pages();
        self.0.block_on(pages.try_collect())
    }
    fn versions(&self, name: &str) -> Result<Vec<SecretProperties>> {
        let items = self.1.list_properties_of_secret_versions(name, None);
        self.0.block_on(items.try_collect())
    }
    fn deleted(&self) -> Result<Vec<DeletedSecret>> {
        self.0
            .block_on(self.1.list_deleted_secrets(None).try_collect())
    }
    fn get_deleted(&self, name: &str) -> Result<DeletedSecret> {
        self.0.block_on(self.1.get_deleted_secret(name, None))
    }
    fn delete(&self, name: &str) -> Result<(String, DeletedSecret)> {
        self.0.block_on(async {
            let poller = self.1.begin_delete_secret(name, fast()).await?;
            Ok((poller.resume_token(), poller.await?))
        })
    }
    fn resume_delete(&self, token: &str) -> Result<DeletedSecret> {
        self.0
            .block_on(self.1.resume_delete_secret(token, fast())?.wait())
    }
    fn recover(&self, name: &str) -> Result<SecretProperties> {
        self.0.block_on(async {
            let poller = self.1.begin_recover_deleted_secret(name, fast()).await?;
            poller.wait_for(Duration::from_secs(30)).await
        })
    }
    fn purge(&self, name: &str) -> Result<()> {
        self.0.block_on(self.1.purge_deleted_secret(name, None))
    }
    fn backup(&self, name: &str) -> Result<Vec<u8>> {
        self.0.block_on(self.1.backup_secret(name, None))
    }
    fn restore(&self, backup: &[u8]) -> Result<SecretProperties> {
        self.0.block_on(self.1.restore_secret_backup(backup, None))
    }
}

impl Secrets for blocking::SecretClient {
    fn set(&self, name: &str, value: &str, o: Option<SetSecretOptions>) -> Result<KeyVaultSecret> {
        self.set_secret(name, value, o)
    }
    fn get(&self, name: &str, o: Option<GetSecretOptions>) -> Result<KeyVaultSecret> {
        self.get_secret(name, o)
    }
    fn update(&self, name: &str, o: UpdateSecretPropertiesOptions) -> Result<SecretProperties> {
        self.update_secret_properties(name, Some(o))
    }
    fn items(&self, o: Option<ListOptions>) -> Result<Vec<SecretProperties>> {
        self.list_properties_of_secrets(o).collect()
    }
    fn pages(&self, o: Option<ListOptions>) -> Result<Vec<Page<SecretProperties>>> {
        self.list_properties_of_secrets(o).into_pages().collect()
    }
    fn versions(&self, name: &str) -> Result<Vec<SecretProperties>> {
        self.list_properties_of_secret_versions(name, None)
            .collect()
    }
    fn deleted(&self) -> Result<Vec<DeletedSecret>> {
        self.list_deleted_secrets(None).collect()
    }
    fn get_deleted(&self, name: &str) -> Result<DeletedSecret> {
        self.get_deleted_secret(name, None)
    }
    fn delete(&self, name: &str) -> Result<(String, DeletedSecret)> {
        let poller = self.begin_delete_secret(name, fast())?;
        Ok((poller.resume_token(), poller.wait()?))
    }
    fn resume_delete(&self, token: &str) -> Result<DeletedSecret> {
        self.resume_delete_secret(token, fast())?.wait()
    }
    fn recover(&self, name: &str) -> Result<SecretProperties> {
        let poller = self.begin_recover_deleted_secret(name, fast())?;
        poller.wait_for(Duration::from_secs(30))
    }
    fn purge(&self, name: &str) -> Result<()> {
        self.purge_deleted_secret(name, None)
    }
    fn backup(&self, name: &str) -> Result<Vec<u8>> {
        self.backup_secret(name, None)
    }
    fn restore(&self, backup: &[u8]) -> Result<SecretProperties> {
        self.restore_secret_backup(backup, None)
    }
}

fn blocking(env: &Env) -> blocking::SecretClient {
    blocking::SecretClient::from_async(env.client.clone()).expect("blocking client")
}

/// Runs `scenario` on a fresh emulator served by a runtime of its own.
fn served(scenario: impl FnOnce(&Runtime, &Env)) {
    let stop = |env: Env| async move { env.emu.shutdown().await };
    keyvault_testing::emulator::served(crate::common::start, scenario, stop);
}

/// Runs `scenario` with the async client, then with the blocking one, each
/// on a fresh emulator.
fn with_both(scenario: fn(&dyn Secrets)) {
    served(|runtime, env| scenario(&Async(runtime, env.client.clone())));
    served(|_, env| scenario(&blocking(env)));
}

#[test]
fn set_get_update_backup_and_restore() {
    with_both(|c| {
        let options = SetSecretOptions {
            content_type: Some("text/plain".into()),
            ..Default::default()
        };
        let first = c.set("plain", "one", Some(options)).unwrap();
        c.set("plain", "two", None).unwrap();
        assert_eq!(c.get("plain", None).unwrap().value.expose_secret(), "two");
        let version = first.properties.version().expect("a version").to_owned();
        let old = GetSecretOptions {
            version: Some(version.clone()),
            ..Default::default()
        };
        let got = c.get("plain", Some(old)).unwrap();
        assert_eq!(got.value.expose_secret(), "one");
        assert_eq!(got.properties.content_type.as_deref(), Some("text/plain"));
        let update = UpdateSecretPropertiesOptions {
            enabled: Some(false),
            version: Some(version),
            ..Default::default()
        };
        assert_eq!(c.update("plain", update).unwrap().enabled, Some(false));
        assert!(c.get("missing", None).unwrap_err().is_not_found());

        // Backup, delete and purge, restore.
        let backup = c.backup("plain").unwrap();
        c.delete("plain").unwrap();
        c.purge("plain").unwrap();
        assert_eq!(c.restore(&backup).unwrap().name(), "plain");
        assert_eq!(c.get("plain", None).unwrap().value.expose_secret(), "two");
    });
}

#[test]
fn lists_give_items_and_pages_and_resume_from_a_token() {
    with_both(|c| {
        for i in 0..7 {
            c.set(&format!("listed-{i}"), "v", None).unwrap();
        }
        assert_eq!(c.items(None).unwrap().len(), 7);
        let options = ListOptions {
            max_page_size: Some(3),
            ..Default::default()
        };
        let pages = c.pages(Some(options.clone())).unwrap();
        let sizes: Vec<usize> = pages.iter().map(|p| p.items.len()).collect();
        assert_eq!(sizes, [3, 3, 1]);
        assert!(pages[2].continuation_token.is_none());

        // Resume after the first page: the other four, exactly.
        let token = pages[0].continuation_token.clone().expect("a token");
        let resumed = ListOptions {
            continuation_token: Some(token),
            ..options
        };
        let rest = c.items(Some(resumed)).unwrap();
        assert_eq!(rest.len(), 4);
        let first: Vec<&str> = pages[0].items.iter().map(|p| p.name()).collect();
        assert!(rest.iter().all(|p| !first.contains(&p.name())));

        // A token for another host is refused.
        let bad = ListOptions {
            continuation_token: Some("https://elsewhere.example/secrets".into()),
            ..Default::default()
        };
        assert!(c.items(Some(bad)).is_err());

        c.set("listed-0", "v2", None).unwrap();
        assert_eq!(c.versions("listed-0").unwrap().len(), 2);
    });
}

#[test]
fn delete_and_recover_pollers() {
    with_both(|c| {
        c.set("polled", "kept", None).unwrap();
        let (token, deleted) = c.delete("polled").unwrap();
        assert!(!token.is_empty());
        assert!(deleted.recovery_id.is_some());
        assert_eq!(c.get_deleted("polled").unwrap().name(), "polled");
        assert_eq!(c.deleted().unwrap().len(), 1);
        // Resumed from its token: finished already.
        assert_eq!(c.resume_delete(&token).unwrap().name(), "polled");

        assert_eq!(c.recover("polled").unwrap().name(), "polled");
        assert_eq!(c.get("polled", None).unwrap().value.expose_secret(), "kept");
        assert!(c.get_deleted("polled").unwrap_err().is_not_found());
    });
}

#[test]
fn the_blocking_poller_reports_its_status_as_it_goes() {
    served(|_, env| {
        let c = blocking(env);
        c.set_secret("watched", "v", None).unwrap();
        let mut poller = c.begin_delete_secret("watched", fast()).unwrap();
        assert_eq!(poller.status(), PollStatus::InProgress);
        assert_eq!(poller.result().expect("known at once").name(), "watched");
        let statuses: Vec<_> = poller.statuses().collect::<Result<_>>().unwrap();
        assert_eq!(statuses.last(), Some(&PollStatus::Succeeded));
        assert!(poller.is_done());
        assert_eq!(poller.wait().unwrap().name(), "watched");

        // A raw request through the same pipeline.
        let response = c
            .send_request(
                keyvault_secrets::Method::GET,
                "deletedsecrets/watched",
                None,
            )
            .unwrap();
        assert_eq!(response.status(), keyvault_secrets::StatusCode::OK);
    });
}

#[test]
fn clones_work_from_several_threads_at_once() {
    served(|_, env| {
        let client = blocking(env);
        std::thread::scope(|s| {
            for t in 0..4 {
                let c = client.clone();
                s.spawn(move || {
                    for i in 0..3 {
                        let name = format!("thread-{t}-{i}");
                        c.set_secret(&name, "v", None).unwrap();
                        assert_eq!(c.get_secret(&name, None).unwrap().name(), name);
                    }
                });
            }
        });
        assert_eq!(client.list_properties_of_secrets(None).count(), 12);
    });
}

#[tokio::test]
async fn a_call_from_async_code_panics_and_spawn_blocking_is_the_way() {
    let env = crate::common::start().await;
    let client = blocking::SecretClient::from_async(env.client.clone()).unwrap();
    let panic = catch_unwind(AssertUnwindSafe(|| client.get_secret("any", None))).unwrap_err();
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or_default();
    assert!(message.starts_with(IN_ASYNC_CONTEXT), "{message}");
    assert!(message.contains("spawn_blocking"), "{message}");

    // The same client from a thread that may block: fine.
    let value = tokio::task::spawn_blocking(move || {
        client.set_secret("from-pool", "v", None).unwrap();
        let value = client.get_secret("from-pool", None).unwrap();
        value.value.expose_secret().to_owned()
    })
    .await
    .unwrap();
    assert_eq!(value, "v");
    env.emu.shutdown().await;
}

#[test]
fn a_client_built_from_a_url_refuses_what_the_async_one_refuses() {
    let credential = Arc::new(StaticToken::default());
    let e = blocking::SecretClient::new("", credential.clone(), None).unwrap_err();
    assert_eq!(e.kind(), keyvault_secrets::ErrorKind::InvalidInput);
    let client =
        blocking::SecretClient::new("https://myvault.vault.azure.net/", credential, None).unwrap();
    assert_eq!(client.vault_url(), "https://myvault.vault.azure.net");
    assert!(format!("{client:?}").contains("myvault"));
}
