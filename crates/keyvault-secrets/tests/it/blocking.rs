//! The blocking `SecretClient`: the emulator runs on a runtime of its own,
//! and the client is called from the test's plain thread.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::Arc,
    time::Duration,
};

use keyvault_secrets::{
    GetSecretOptions, ListOptions, PollStatus, SetSecretOptions, UpdateSecretPropertiesOptions,
    blocking::{IN_ASYNC_CONTEXT, SecretClient},
};

use crate::common::{Env, StaticToken, fast};

/// The emulator, served by a runtime of its own, and a blocking client of
/// it.
struct Blocking {
    runtime: tokio::runtime::Runtime,
    env: Env,
    client: SecretClient,
}

impl Blocking {
    fn start() -> Self {
        let runtime = keyvault_testing::emulator::background_runtime();
        let env = runtime.block_on(crate::common::start());
        let client = SecretClient::from_async(env.client.clone()).expect("blocking client");
        Self {
            runtime,
            env,
            client,
        }
    }

    /// Drops the client first: its runtime, and with it its idle
    /// connections, which the emulator's shutdown would wait for.
    fn shutdown(self) {
        drop(self.client);
        self.runtime.block_on(self.env.emu.shutdown());
    }
}

#[test]
fn set_get_update_backup_and_restore() {
    let b = Blocking::start();
    let c = &b.client;
    assert_eq!(c.vault_url(), b.env.client.vault_url());
    let options = SetSecretOptions {
        content_type: Some("text/plain".into()),
        ..Default::default()
    };
    let first = c.set_secret("plain", "one", Some(options)).unwrap();
    c.set_secret("plain", "two", None).unwrap();
    assert_eq!(
        c.get_secret("plain", None).unwrap().value.expose_secret(),
        "two"
    );
    let version = first.properties.version().expect("a version").to_owned();
    let old = GetSecretOptions {
        version: Some(version.clone()),
        ..Default::default()
    };
    let got = c.get_secret("plain", Some(old)).unwrap();
    assert_eq!(got.value.expose_secret(), "one");
    assert_eq!(got.properties.content_type.as_deref(), Some("text/plain"));

    let update = UpdateSecretPropertiesOptions {
        enabled: Some(false),
        version: Some(version),
        ..Default::default()
    };
    let updated = c.update_secret_properties("plain", Some(update)).unwrap();
    assert_eq!(updated.enabled, Some(false));
    assert!(c.get_secret("missing", None).unwrap_err().is_not_found());

    // Backup, delete and purge, restore.
    let backup = c.backup_secret("plain", None).unwrap();
    c.begin_delete_secret("plain", fast())
        .unwrap()
        .wait()
        .unwrap();
    c.purge_deleted_secret("plain", None).unwrap();
    let restored = c.restore_secret_backup(&backup, None).unwrap();
    assert_eq!(restored.name(), "plain");
    assert_eq!(
        c.get_secret("plain", None).unwrap().value.expose_secret(),
        "two"
    );

    // A raw request through the same pipeline.
    let response = c
        .send_request(keyvault_secrets::Method::GET, "secrets/plain", None)
        .unwrap();
    assert_eq!(response.status(), keyvault_secrets::StatusCode::OK);
    b.shutdown();
}

#[test]
fn lists_iterate_items_and_pages_and_resume_from_a_token() {
    let b = Blocking::start();
    let c = &b.client;
    for i in 0..7 {
        c.set_secret(&format!("listed-{i}"), "v", None).unwrap();
    }
    let all: Vec<_> = c
        .list_properties_of_secrets(None)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(all.len(), 7);

    let options = ListOptions {
        max_page_size: Some(3),
        ..Default::default()
    };
    let pages: Vec<_> = c
        .list_properties_of_secrets(Some(options.clone()))
        .into_pages()
        .collect::<Result<_, _>>()
        .unwrap();
    let sizes: Vec<usize> = pages.iter().map(|p| p.items.len()).collect();
    assert_eq!(sizes, [3, 3, 1]);
    assert!(pages[2].continuation_token.is_none());

    // Resume after the first page: the other four, exactly.
    let token = pages[0].continuation_token.clone().expect("a token");
    let resumed = ListOptions {
        continuation_token: Some(token),
        ..options
    };
    let rest: Vec<_> = c
        .list_properties_of_secrets(Some(resumed))
        .map(|p| p.map(|p| p.name().to_owned()))
        .collect::<Result<_, _>>()
        .unwrap();
    let first: Vec<_> = pages[0].items.iter().map(|p| p.name().to_owned()).collect();
    assert_eq!(rest.len(), 4);
    assert!(rest.iter().all(|name| !first.contains(name)), "{rest:?}");

    // A token for another host is refused by the first `next`, then ends.
    let bad = ListOptions {
        continuation_token: Some("https://elsewhere.example/secrets".into()),
        ..Default::default()
    };
    let mut refused = c.list_properties_of_secrets(Some(bad));
    assert!(refused.next().expect("an error").is_err());
    assert!(refused.next().is_none());

    c.set_secret("listed-0", "v2", None).unwrap();
    let versions = c
        .list_properties_of_secret_versions("listed-0", None)
        .count();
    assert_eq!(versions, 2);
    b.shutdown();
}

#[test]
fn delete_and_recover_pollers_wait_and_resume() {
    let b = Blocking::start();
    let c = &b.client;
    c.set_secret("polled", "kept", None).unwrap();

    let mut poller = c.begin_delete_secret("polled", fast()).unwrap();
    assert_eq!(poller.status(), PollStatus::InProgress);
    assert_eq!(poller.result().expect("known at once").name(), "polled");
    let token = poller.resume_token();
    assert!(!token.is_empty());
    let statuses: Vec<_> = poller.statuses().collect::<Result<_, _>>().unwrap();
    assert_eq!(statuses.last(), Some(&PollStatus::Succeeded));
    assert!(poller.is_done());
    let deleted = poller.wait().unwrap();
    assert!(deleted.recovery_id.is_some());
    assert_eq!(
        c.get_deleted_secret("polled", None).unwrap().name(),
        "polled"
    );
    let listed: Vec<_> = c
        .list_deleted_secrets(None)
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    assert_eq!(listed.len(), 1);

    // Resumed from its token by another clone: finished already.
    let resumed = c.clone().resume_delete_secret(&token, fast()).unwrap();
    assert_eq!(resumed.wait().unwrap().name(), "polled");

    let recovered = c
        .begin_recover_deleted_secret("polled", fast())
        .unwrap()
        .wait_for(Duration::from_secs(30))
        .unwrap();
    assert_eq!(recovered.name(), "polled");
    assert_eq!(
        c.get_secret("polled", None).unwrap().value.expose_secret(),
        "kept"
    );
    assert!(
        c.get_deleted_secret("polled", None)
            .unwrap_err()
            .is_not_found()
    );
    b.shutdown();
}

#[test]
fn clones_work_from_several_threads_at_once() {
    let b = Blocking::start();
    std::thread::scope(|s| {
        for t in 0..4 {
            let c = b.client.clone();
            s.spawn(move || {
                for i in 0..3 {
                    let name = format!("thread-{t}-{i}");
                    c.set_secret(&name, "v", None).unwrap();
                    assert_eq!(c.get_secret(&name, None).unwrap().name(), name);
                }
            });
        }
    });
    assert_eq!(b.client.list_properties_of_secrets(None).count(), 12);
    b.shutdown();
}

#[tokio::test]
async fn a_call_from_async_code_panics_and_spawn_blocking_is_the_way() {
    let env = crate::common::start().await;
    let client = SecretClient::from_async(env.client.clone()).unwrap();
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
    let e = SecretClient::new("", credential.clone(), None).unwrap_err();
    assert_eq!(e.kind(), keyvault_secrets::ErrorKind::InvalidInput);
    let client = SecretClient::new("https://myvault.vault.azure.net/", credential, None).unwrap();
    assert_eq!(client.vault_url(), "https://myvault.vault.azure.net");
    assert!(format!("{client:?}").contains("myvault"));
}
