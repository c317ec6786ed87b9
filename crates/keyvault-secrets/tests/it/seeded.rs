//! A secret the emulator imported at start-up reads like any other.

use keyvault_emulator::Emulator;
use keyvault_secrets::GetSecretOptions;

use crate::common::start_with;

#[tokio::test]
async fn an_imported_secret_is_read_with_its_versions_and_properties() {
    let old = "0123456789abcdef0123456789abcdef";
    let seed = serde_json::json!({"vaults": {"emulator": {"secrets": [{"name": "db-password", "versions": [
        {"version": old, "value": "first", "attributes": {"created": 1_700_000_000}},
        {"value": "hunter2", "contentType": "text/plain", "tags": {"env": "dev"},
         "attributes": {"exp": 4_000_000_000u64}},
    ]}]}}});
    let env = start_with(Emulator::builder().import_json(seed.to_string())).await;
    let secret = env.client.get_secret("db-password", None).await.unwrap();
    assert_eq!(secret.value.expose_secret(), "hunter2");
    assert_eq!(
        secret.properties.content_type.as_deref(),
        Some("text/plain")
    );
    assert_eq!(
        secret.properties.tags.get("env").map(String::as_str),
        Some("dev")
    );
    assert_eq!(
        secret.properties.expires_on.map(|t| t.unix_timestamp()),
        Some(4_000_000_000)
    );
    let options = GetSecretOptions {
        version: Some(old.into()),
        ..Default::default()
    };
    let first = (env.client.get_secret("db-password", Some(options)).await).unwrap();
    assert_eq!(first.value.expose_secret(), "first");
    assert_eq!(
        first.properties.created_on.map(|t| t.unix_timestamp()),
        Some(1_700_000_000)
    );
}
