//! `KeyVaultSettingsClient` against the emulator's Managed HSM.

use keyvault_administration::{ErrorKind, KeyVaultSetting, KeyVaultSettingType};

use crate::common::start;

const ARM: &str = "AllowKeyManagementOperationsThroughARM";

#[tokio::test]
async fn list_get_and_update() {
    let env = start().await;
    let client = env.settings();

    let all = client.list_settings(None).await.expect("list");
    let arm = all.iter().find(|s| s.name == ARM).expect("the ARM setting");
    assert_eq!(arm.setting_type, Some(KeyVaultSettingType::Boolean));
    assert!(!arm.as_bool().unwrap(), "off by default");

    let got = client.get_setting(ARM, None).await.expect("get");
    assert_eq!(&got, arm);

    let on = client
        .update_setting(&KeyVaultSetting::boolean(ARM, true), None)
        .await
        .expect("update");
    assert_eq!(on.value, "true");
    assert!(on.as_bool().unwrap());
    assert!(
        client
            .get_setting(ARM, None)
            .await
            .unwrap()
            .as_bool()
            .unwrap()
    );

    let mut back = on.clone();
    back.value = "false".into();
    let off = client
        .update_setting(&back, None)
        .await
        .expect("update back");
    assert!(!off.as_bool().unwrap());
}

#[tokio::test]
async fn unknown_settings_and_bad_values_are_errors() {
    let env = start().await;
    let client = env.settings();
    let e = client.get_setting("NoSuchSetting", None).await.unwrap_err();
    assert!(e.status().is_some_and(|s| s.is_client_error()), "{e}");
    let e = client
        .update_setting(&KeyVaultSetting::new(ARM, "maybe", None), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Http, "{e}");
    assert_eq!(e.status().map(|s| s.as_u16()), Some(400), "{e}");
    let e = client.get_setting("", None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn raw_requests_go_through_every_client() {
    use keyvault_administration::{HeaderMap, Method, SendRequestOptions, StatusCode};
    let env = start().await;

    let r = env
        .settings()
        .send_request(Method::GET, "settings", None)
        .await
        .expect("raw GET");
    assert_eq!(r.status(), StatusCode::OK);
    let body: serde_json::Value = r.json().unwrap();
    assert!(
        body["settings"].as_array().is_some_and(|s| !s.is_empty()),
        "{body}"
    );

    // A pinned api-version is kept.
    let r = env
        .access()
        .send_request(
            Method::GET,
            "providers/Microsoft.Authorization/roleDefinitions?api-version=7.5",
            None,
        )
        .await
        .expect("raw GET with a pinned version");
    assert_eq!(r.status(), StatusCode::OK);

    // A failure status is returned, not an error; a body is sent as given.
    let options = SendRequestOptions {
        headers: HeaderMap::new(),
        body: Some(br#"{"value":"maybe"}"#.to_vec()),
    };
    let r = env
        .backup()
        .send_request(Method::PATCH, &format!("settings/{ARM}"), Some(options))
        .await
        .expect("raw PATCH");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = env
        .backup()
        .send_request(Method::GET, "backup/no-such-job/pending", None)
        .await
        .expect("raw GET");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn raw_requests_keep_a_pinned_api_version_and_add_ours_otherwise() {
    use std::sync::{Arc, Mutex};

    use axum::{Router, extract::RawQuery, http::StatusCode};
    use keyvault_administration::{
        AdministrationClientOptions, ApiVersion, ClientOptions, KeyVaultSettingsClient, Method,
    };

    let queries = Arc::new(Mutex::new(Vec::new()));
    let seen = queries.clone();
    let app = Router::new().fallback(move |RawQuery(q): RawQuery| {
        seen.lock().unwrap().push(q.unwrap_or_default());
        async { StatusCode::OK }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let options = AdministrationClientOptions {
        api_version: ApiVersion::V7_6,
        client_options: ClientOptions {
            allow_loopback_http: true,
            ..Default::default()
        },
    };
    let client = KeyVaultSettingsClient::new(
        &base,
        Arc::new(crate::common::StaticToken::default()),
        Some(options),
    )
    .unwrap();
    for url in ["settings?api-version=7.5", "settings", "settings?x=1"] {
        let r = client.send_request(Method::GET, url, None).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{url}");
    }
    assert_eq!(
        *queries.lock().unwrap(),
        ["api-version=7.5", "api-version=7.6", "x=1&api-version=7.6"]
    );
    server.abort();
}
