//! Secret values and tokens never reach the logs, even at trace level.

use keyvault_secrets::{GetSecretOptions, SetSecretOptions};

use crate::common::{capture_logs, fast, start};

// One thread, so that the subscriber set for this thread sees everything.
#[tokio::test(flavor = "current_thread")]
async fn values_and_tokens_are_not_logged() {
    let (buffer, _guard) = capture_logs();

    let env = start().await;
    let c = &env.client;
    // Other tests, on other threads, may have registered the pipeline's
    // callsites while this subscriber was being set: warm them up, then
    // have their interest computed again, with this subscriber known.
    c.set_secret("warm-up", "warm-up", None).await.unwrap();
    tracing::callsite::rebuild_interest_cache();
    let secret = "VALUE-THAT-MUST-NOT-BE-LOGGED";
    let options = SetSecretOptions {
        content_type: Some("text/plain".into()),
        ..Default::default()
    };
    let set = c.set_secret("logged", secret, Some(options)).await.unwrap();
    let version = set.properties.version().unwrap().to_owned();
    c.get_secret("logged", Some(GetSecretOptions::version(version)))
        .await
        .unwrap();
    let backup = c.backup_secret("logged", None).await.unwrap();
    c.begin_delete_secret("logged", fast())
        .await
        .unwrap()
        .await
        .unwrap();
    c.begin_recover_deleted_secret("logged", fast())
        .await
        .unwrap()
        .await
        .unwrap();
    let err = c.set_secret("bad_name", secret, None).await.unwrap_err();
    env.emu.shutdown().await;

    let logs = buffer.text();
    assert!(
        logs.contains("KeyVault.SetSecret"),
        "operation spans are logged:\n{logs}"
    );
    assert!(
        logs.contains("REDACTED"),
        "the authorization header is redacted"
    );
    assert!(!logs.contains(secret), "a value was logged:\n{logs}");
    assert!(!logs.contains("test-token"), "a token was logged");
    assert!(!err.to_string().contains(secret) && !format!("{err:?}").contains(secret));
    let blob = keyvault_secrets_backup_prefix(&backup);
    assert!(!logs.contains(&blob), "a backup blob was logged");
}

/// The start of the backup blob as it travels (base64url), long enough
/// not to appear by chance.
fn keyvault_secrets_backup_prefix(backup: &[u8]) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(backup);
    encoded.chars().take(40).collect()
}
