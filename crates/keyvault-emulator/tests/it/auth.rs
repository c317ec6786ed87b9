//! The challenge and the auth modes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyvault_emulator::{AuthMode, Emulator};
use reqwest::Method;
use serde_json::json;

use crate::common::{send_to, start_with};

#[tokio::test]
async fn missing_token_gets_the_challenge() {
    let env =
        start_with(Emulator::builder().tenant_id("00000000-0000-0000-0000-000000000001")).await;
    let url = env.url("/secrets/x");
    let r = send_to(&env.client, Method::PUT, &url, None, None).await;
    assert_eq!((r.status, r.code()), (401, "Unauthorized"));
    assert_eq!(
        r.headers["www-authenticate"].to_str().unwrap(),
        "Bearer authorization=\"https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001\", resource=\"https://vault.azure.net\""
    );
    // Even without an api-version, the challenge comes first.
    let r = send_to(
        &env.client,
        Method::GET,
        &format!("{}/secrets", env.base),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, 401);
    let r = env
        .client
        .get(&url)
        .header("Authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn challenge_resource_is_configurable() {
    let env = start_with(Emulator::builder().challenge_resource("https://vault.example")).await;
    let r = send_to(&env.client, Method::GET, &env.url("/secrets"), None, None).await;
    assert!(
        r.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .ends_with("resource=\"https://vault.example\"")
    );
    env.emu.shutdown().await;
}

#[tokio::test]
async fn jwt_mode_needs_a_jwt() {
    let env = start_with(Emulator::builder().auth(AuthMode::Jwt)).await;
    let url = env.url("/secrets/j");
    let body = Some(json!({"value": "v"}));
    let r = send_to(&env.client, Method::PUT, &url, body.clone(), Some("fake")).await;
    assert_eq!(r.status, 401);
    let jwt = format!(
        "{}.{}.sig",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(
            br#"{"oid":"11111111-2222-3333-4444-555555555555","aud":"https://vault.azure.net"}"#
        )
    );
    let r = send_to(&env.client, Method::PUT, &url, body, Some(&jwt)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn off_mode_serves_without_a_token() {
    let env = start_with(Emulator::builder().auth(AuthMode::Off)).await;
    let r = send_to(
        &env.client,
        Method::PUT,
        &env.url("/secrets/o"),
        Some(json!({"value": "v"})),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    env.emu.shutdown().await;
}
