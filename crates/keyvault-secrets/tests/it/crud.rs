//! Set, get, update, backup, restore, purge, raw requests and the client
//! itself, against the emulator.

use std::{collections::HashMap, sync::Arc};

use keyvault_secrets::{
    ApiVersion, DeletionRecoveryLevel, ErrorKind, GetSecretOptions, KeyVaultSecretIdentifier,
    Method, SecretClient, SendRequestOptions, SetSecretOptions, UpdateSecretPropertiesOptions,
};
use time::{Duration, OffsetDateTime};

use crate::common::{StaticToken, fast, start};

#[tokio::test]
async fn set_get_update_round_trip() {
    let env = start().await;
    let c = &env.client;
    let nbf = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let exp = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() + Duration::days(30);
    let tags = HashMap::from([("env".to_owned(), "test".to_owned())]);
    let set = c
        .set_secret(
            "round-trip",
            "v1-value",
            Some(SetSecretOptions {
                enabled: Some(true),
                tags: Some(tags.clone()),
                content_type: Some("text/plain".into()),
                not_before: Some(nbf),
                expires_on: Some(exp),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    assert_eq!(set.name(), "round-trip");
    assert_eq!(set.value.expose_secret(), "v1-value");
    let p = &set.properties;
    let v1 = p.version().expect("a version").to_owned();
    assert_eq!(p.vault_url(), env.client.vault_url());
    assert_eq!(p.enabled, Some(true));
    assert_eq!(p.not_before, Some(nbf));
    assert_eq!(p.expires_on, Some(exp));
    assert_eq!(p.content_type.as_deref(), Some("text/plain"));
    assert_eq!(p.tags, tags);
    assert!(p.created_on.is_some() && p.updated_on.is_some());
    assert_eq!(
        p.recovery_level,
        Some(DeletionRecoveryLevel::RecoverablePurgeable)
    );
    assert_eq!(p.recoverable_days, Some(90));
    assert!(!p.managed);
    let id: KeyVaultSecretIdentifier = p.id().parse().unwrap();
    assert_eq!(id.name(), "round-trip");
    assert_eq!(id.version(), Some(v1.as_str()));

    // A second version; the latest is it, the first is still readable.
    let set2 = c.set_secret("round-trip", "v2-value", None).await.unwrap();
    let v2 = set2.properties.version().unwrap().to_owned();
    assert_ne!(v1, v2);
    assert_eq!(
        set2.properties.previous_version.as_deref(),
        Some(v1.as_str())
    );
    let latest = c.get_secret("round-trip", None).await.unwrap();
    assert_eq!(latest.value.expose_secret(), "v2-value");
    assert_eq!(latest.properties.version(), Some(v2.as_str()));
    let first = c
        .get_secret("round-trip", Some(GetSecretOptions::version(&v1)))
        .await
        .unwrap();
    assert_eq!(first.value.expose_secret(), "v1-value");
    assert_eq!(first.properties.content_type.as_deref(), Some("text/plain"));

    // Update the first version; only the given fields change.
    let updated = c
        .update_secret_properties(
            "round-trip",
            Some(UpdateSecretPropertiesOptions {
                version: Some(v1.clone()),
                content_type: Some("application/json".into()),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    assert_eq!(updated.version(), Some(v1.as_str()));
    assert_eq!(updated.content_type.as_deref(), Some("application/json"));
    assert_eq!(updated.tags, tags, "tags were kept");
    assert_eq!(updated.expires_on, Some(exp), "expiry was kept");
    // The latest version by default.
    let latest = c
        .update_secret_properties(
            "round-trip",
            Some(UpdateSecretPropertiesOptions {
                tags: Some(HashMap::from([("k".into(), "v".into())])),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    assert_eq!(latest.version(), Some(v2.as_str()));
    assert_eq!(latest.tags.len(), 1);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn debug_never_shows_the_value() {
    let env = start().await;
    let secret = env
        .client
        .set_secret("redacted", "do-not-print-me", None)
        .await
        .unwrap();
    let shown = format!("{secret:?} {secret:#?} {:?}", secret.value);
    assert!(!shown.contains("do-not-print-me"), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
    assert_eq!(secret.value.expose_secret(), "do-not-print-me");
    let client = format!("{:?}", env.client);
    assert!(!client.contains("test-token"), "{client}");
    env.emu.shutdown().await;
}

#[tokio::test]
async fn backup_restore_and_purge() {
    let env = start().await;
    let c = &env.client;
    c.set_secret("backed-up", "one", None).await.unwrap();
    c.set_secret("backed-up", "two", None).await.unwrap();
    let backup = c.backup_secret("backed-up", None).await.unwrap();
    assert!(!backup.is_empty());
    // Restoring over a live secret is a conflict.
    let err = c.restore_secret_backup(&backup, None).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");

    let deleted = c
        .begin_delete_secret("backed-up", fast())
        .await
        .unwrap()
        .await
        .unwrap();
    c.purge_deleted_secret(deleted.name(), None).await.unwrap();
    let err = c.get_deleted_secret("backed-up", None).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    let restored = c.restore_secret_backup(&backup, None).await.unwrap();
    assert_eq!(restored.name(), "backed-up");
    assert_eq!(
        c.get_secret("backed-up", None)
            .await
            .unwrap()
            .value
            .expose_secret(),
        "two"
    );
    let versions = futures::TryStreamExt::try_collect::<Vec<_>>(
        c.list_properties_of_secret_versions("backed-up", None),
    )
    .await
    .unwrap();
    assert_eq!(versions.len(), 2);

    let err = c
        .restore_secret_backup(b"not a backup", None)
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{err}");
    env.emu.shutdown().await;
}

#[tokio::test]
async fn send_request_goes_through_the_pipeline() {
    let env = start().await;
    let c = &env.client;
    c.set_secret("raw", "raw-value", None).await.unwrap();
    // Relative URL, api-version added, error statuses are not errors.
    let ok = c
        .send_request(Method::GET, "secrets/raw/", None)
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let body: serde_json::Value = ok.json().unwrap();
    assert_eq!(body["value"], "raw-value");
    let missing = c
        .send_request(Method::GET, "/secrets/missing/", None)
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    // An explicit api-version is kept: 7.0 has no recoverableDays.
    let pinned = c
        .send_request(Method::GET, "secrets/raw/?api-version=7.0", None)
        .await
        .unwrap();
    assert_eq!(pinned.status().as_u16(), 200);
    let body: serde_json::Value = pinned.json().unwrap();
    assert!(
        body["attributes"].get("recoverableDays").is_none(),
        "{}",
        body["attributes"]
    );
    let latest: serde_json::Value = ok.json().unwrap();
    assert!(latest["attributes"].get("recoverableDays").is_some());
    // A body, on an absolute URL.
    let url = format!("{}/secrets/raw-put", c.vault_url());
    let put = c
        .send_request(
            Method::PUT,
            &url,
            Some(SendRequestOptions {
                body: Some(br#"{"value":"from-raw"}"#.to_vec()),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 200);
    assert_eq!(
        c.get_secret("raw-put", None)
            .await
            .unwrap()
            .value
            .expose_secret(),
        "from-raw"
    );
    env.emu.shutdown().await;
}

#[tokio::test]
async fn constructor_checks_the_url() {
    let cred = Arc::new(StaticToken::default());
    for empty in ["", "  ", "/", " // "] {
        let err = SecretClient::new(empty, cred.clone(), None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("vault_url"), "{err}");
    }
    let c = SecretClient::new(" https://myvault.vault.azure.net/ ", cred.clone(), None).unwrap();
    assert_eq!(c.vault_url(), "https://myvault.vault.azure.net");
    assert_eq!(c.api_version(), &ApiVersion::V2026_04_01);
    for bad in ["http://myvault.vault.azure.net", "not a url", "ftp://x"] {
        let err = SecretClient::new(bad, cred.clone(), None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}");
    }
}

#[tokio::test]
async fn every_api_version_works() {
    let env = start().await;
    env.client.set_secret("versions", "v", None).await.unwrap();
    for v in ApiVersion::ALL {
        let c = env.client_with(v.clone());
        let s = c.get_secret("versions", None).await.unwrap();
        assert_eq!(s.value.expose_secret(), "v", "{v}");
        let has_days = s.properties.recoverable_days.is_some();
        assert_eq!(
            has_days,
            !matches!(v, ApiVersion::V2016_10_01 | ApiVersion::V7_0),
            "{v}"
        );
    }
    let preview = env.client_with(ApiVersion::Other("2026-03-01-preview".into()));
    preview.get_secret("versions", None).await.unwrap();
    env.emu.shutdown().await;
}

#[tokio::test]
async fn one_client_from_64_tasks() {
    let env = start().await;
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let c = env.client.clone();
        tasks.push(tokio::spawn(async move {
            let name = format!("task-{i}");
            let value = format!("value-{i}");
            c.set_secret(&name, value.as_str(), None).await?;
            let got = c.get_secret(&name, None).await?;
            Ok::<_, keyvault_secrets::Error>(got.value.expose_secret() == value)
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap().unwrap());
    }
    println!("64 tasks x (set + get) in {:?}", started.elapsed());
    let n =
        futures::TryStreamExt::try_collect::<Vec<_>>(env.client.list_properties_of_secrets(None))
            .await
            .unwrap()
            .len();
    assert_eq!(n, 64);
    // One token for the whole run: the cache is shared.
    assert_eq!(
        env.credential
            .calls
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    env.emu.shutdown().await;
}
