//! The errors users meet, as the service (here the emulator) gives them.

use keyvault_emulator::Emulator;
use keyvault_secrets::{
    ApiVersion, ContentType, ErrorKind, GetSecretOptions, UpdateSecretPropertiesOptions,
};

use crate::common::{fast, start, start_with};

#[tokio::test]
async fn not_found() {
    let env = start().await;
    let c = &env.client;
    let err = c.get_secret("nope", None).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.kind(), ErrorKind::Http);
    assert_eq!(err.error_code(), Some("SecretNotFound"));
    assert!(err.to_string().contains("404"), "{err}");
    assert!(
        c.get_deleted_secret("nope", None)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        c.begin_delete_secret("nope", None)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        c.begin_recover_deleted_secret("nope", None)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        c.purge_deleted_secret("nope", None)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        c.backup_secret("nope", None)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        c.update_secret_properties("nope", None)
            .await
            .unwrap_err()
            .is_not_found()
    );
    let err = c
        .get_secret(
            "nope",
            Some(GetSecretOptions::version(
                "0123456789abcdef0123456789abcdef",
            )),
        )
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    // Purging a live secret: there is no deleted secret of that name.
    c.set_secret("alive", "v", None).await.unwrap();
    assert!(
        c.purge_deleted_secret("alive", None)
            .await
            .unwrap_err()
            .is_not_found()
    );
    env.emu.shutdown().await;
}

#[tokio::test]
async fn conflict_on_a_deleted_name() {
    let env = start().await;
    let c = &env.client;
    c.set_secret("gone", "v", None).await.unwrap();
    c.begin_delete_secret("gone", fast())
        .await
        .unwrap()
        .await
        .unwrap();
    let err = c.set_secret("gone", "again", None).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(409));
    assert!(
        !err.to_string().contains("again"),
        "the value is not in the error: {err}"
    );
    env.emu.shutdown().await;
}

#[tokio::test]
async fn forbidden_on_a_disabled_version() {
    let env = start().await;
    let c = &env.client;
    c.set_secret("off", "v", None).await.unwrap();
    let props = c
        .update_secret_properties(
            "off",
            Some(UpdateSecretPropertiesOptions {
                enabled: Some(false),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    assert_eq!(props.enabled, Some(false));
    let err = c.get_secret("off", None).await.unwrap_err();
    assert!(err.is_forbidden(), "{err}");
    // Its properties are still listed.
    let listed: Vec<_> =
        futures::TryStreamExt::try_collect(c.list_properties_of_secret_versions("off", None))
            .await
            .unwrap();
    assert_eq!(listed[0].enabled, Some(false));
    env.emu.shutdown().await;
}

#[tokio::test]
async fn bad_names() {
    let env = start().await;
    let c = &env.client;
    for bad in ["under_score", "dot.ted", "spa ce", &"x".repeat(128)] {
        let err = c.set_secret(bad, "v", None).await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{bad}: {err}");
        assert_eq!(err.error_code(), Some("BadParameter"), "{bad}");
    }
    // Empty names never reach the service.
    let err = c.get_secret("", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.attempts(), 0);
    let err = c.set_secret("", "v", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn out_content_type_is_version_gated() {
    let env = start().await;
    env.client.set_secret("cert-like", "v", None).await.unwrap();
    let options = || {
        Some(GetSecretOptions {
            out_content_type: Some(ContentType::Pem),
            ..Default::default()
        })
    };
    for old in [ApiVersion::V7_4, ApiVersion::V7_6, ApiVersion::V2016_10_01] {
        let err = env
            .client_with(old.clone())
            .get_secret("cert-like", options())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{old}");
        assert!(err.to_string().contains("2025-06-01-preview"), "{err}");
    }
    // Newer versions send it; the emulator ignores it for a plain secret.
    let ok = env.client.get_secret("cert-like", options()).await;
    assert!(ok.is_ok(), "{ok:?}");
    env.emu.shutdown().await;
}

#[tokio::test]
async fn purge_protection_forbids_purge() {
    let env = start_with(Emulator::builder().purge_protection(true)).await;
    let c = &env.client;
    c.set_secret("kept", "v", None).await.unwrap();
    c.begin_delete_secret("kept", fast())
        .await
        .unwrap()
        .await
        .unwrap();
    let err = c.purge_deleted_secret("kept", None).await.unwrap_err();
    assert!(err.is_forbidden(), "{err}");
    env.emu.shutdown().await;
}
