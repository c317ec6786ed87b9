//! The models as users build, compare and (with the `serde` feature, which
//! these tests enable) serialize them.

use std::collections::HashMap;

use futures::TryStreamExt;
use keyvault_secrets::{
    ApiVersion, DeletedSecret, ErrorKind, ExposeSecrets, KeyVaultSecret, SecretProperties,
    SecretValue, SetSecretOptions,
};
use keyvault_testing::replay::{Exchange, ReplayServer};
use time::OffsetDateTime;

use crate::common::start;
use crate::requests::ClientOf;

fn props(id: &str) -> SecretProperties {
    SecretProperties::new(id.parse().unwrap())
}

#[test]
fn built_models_compare_by_every_field() {
    let created = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let p = props("https://v.vault.azure.net/secrets/db/1")
        .with_enabled(true)
        .with_created_on(created)
        .with_tags(HashMap::from([("env".to_owned(), "test".to_owned())]))
        .with_recoverable_days(90);
    assert_eq!((p.name(), p.version()), ("db", Some("1")));
    assert_eq!(p.vault_url(), "https://v.vault.azure.net");
    assert_eq!(p.created_on, Some(created));
    assert_eq!(p.tags["env"], "test");
    assert_eq!(p.updated_on, None);
    assert_eq!(p.clone(), p);
    assert_ne!(p.clone().with_enabled(false), p);
    assert_ne!(
        props("https://v.vault.azure.net/secrets/db/2"),
        props("https://v.vault.azure.net/secrets/db/1")
    );

    let secret = KeyVaultSecret::new(p.clone(), "hunter2");
    assert_eq!(
        secret,
        KeyVaultSecret::new(p.clone(), String::from("hunter2"))
    );
    assert_ne!(secret, KeyVaultSecret::new(p.clone(), "hunter3"));
    assert!(!format!("{secret:?}").contains("hunter2"));

    let deleted = DeletedSecret::new(p.clone())
        .with_recovery_id("https://v.vault.azure.net/deletedsecrets/db")
        .with_scheduled_purge_date(created);
    assert_eq!(deleted.name(), "db");
    assert_ne!(deleted, DeletedSecret::new(p));
}

#[tokio::test]
async fn an_emulator_secret_survives_a_serde_round_trip_only_when_exposed() {
    let env = start().await;
    let options = SetSecretOptions {
        content_type: Some("text/plain".into()),
        tags: Some(HashMap::from([("a".to_owned(), "b".to_owned())])),
        expires_on: Some(OffsetDateTime::from_unix_timestamp(4_000_000_000).unwrap()),
        ..Default::default()
    };
    env.client
        .set_secret("serde", "s3cr3t-value", Some(options))
        .await
        .unwrap();
    let secret = env.client.get_secret("serde", None).await.unwrap();

    // By default a value is never written out.
    let err = serde_json::to_string(&secret).unwrap_err();
    assert!(err.to_string().contains("ExposeSecrets"), "{err}");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");

    // Asked for explicitly, it is, and it reads back equal.
    let json = serde_json::to_value(ExposeSecrets(&secret)).unwrap();
    assert_eq!(json["value"], "s3cr3t-value");
    assert_eq!(json["properties"]["id"], secret.id());
    assert_eq!(json["properties"]["expires_on"], "2096-10-02T07:06:40Z");
    let back: KeyVaultSecret = serde_json::from_value(json).unwrap();
    assert_eq!(back, secret);

    // Models without a value serialize as they are.
    let updated = env
        .client
        .update_secret_properties("serde", None)
        .await
        .unwrap();
    let back: SecretProperties =
        serde_json::from_str(&serde_json::to_string(&updated).unwrap()).unwrap();
    assert_eq!(back, updated);
    let deleted = env
        .client
        .begin_delete_secret("serde", crate::common::fast())
        .await
        .unwrap()
        .await
        .unwrap();
    let json = serde_json::to_string(&deleted).unwrap();
    assert_eq!(
        serde_json::from_str::<DeletedSecret>(&json).unwrap(),
        deleted
    );

    // Bad input is an error, not a panic.
    assert!(serde_json::from_str::<SecretProperties>(r#"{"id":"not a url"}"#).is_err());
    let minimal: SecretProperties =
        serde_json::from_str(r#"{"id":"https://v.vault.azure.net/secrets/n"}"#).unwrap();
    assert_eq!(minimal, props("https://v.vault.azure.net/secrets/n"));
}

#[test]
fn a_user_field_opts_in_with_the_serde_module() {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Login {
        #[serde(with = "keyvault_secrets::serde_secret_value")]
        password: SecretValue,
    }
    let json = serde_json::to_string(&Login {
        password: "pw".into(),
    })
    .unwrap();
    assert_eq!(json, r#"{"password":"pw"}"#);
    let back: Login = serde_json::from_str(&json).unwrap();
    assert_eq!(back.password, SecretValue::from("pw"));
}

#[tokio::test]
async fn an_answer_without_an_id_or_a_value_is_an_error_not_an_empty_string() {
    let replay = ReplayServer::start(vec![
        Exchange::scripted(
            "GET",
            "/secrets",
            200,
            r#"{"value":[{"id":"https://v.vault.azure.net/secrets/a"},{"attributes":{"enabled":true}}],"nextLink":null}"#,
        ),
        Exchange::scripted("GET", "/secrets/b/", 200, r#"{"id":"https://v.vault.azure.net/secrets/b/1"}"#),
    ])
    .await;
    let client = replay.client(ApiVersion::default());
    let err = client
        .list_properties_of_secrets(None)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Deserialize);
    assert!(err.to_string().contains("no id"), "{err}");
    let err = client.get_secret("b", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Deserialize);
    assert!(err.to_string().contains("holds no value"), "{err}");
}

#[test]
fn the_crate_names_its_version() {
    assert_eq!(keyvault_secrets::VERSION, env!("CARGO_PKG_VERSION"));
}
