//! The managed-identity endpoints and the strict auth mode.

use keyvault_emulator::{AuthMode, DEFAULT_TENANT_ID, Emulator, SYSTEM_OBJECT_ID};
use reqwest::Method;
use serde_json::Value;

use crate::common::{Env, send_to, start_with};

const USER_CLIENT: &str = "0c1e0000-0000-4000-8000-00000000000a";
const USER_OBJECT: &str = "0b1e0000-0000-4000-8000-00000000000b";

/// The status and JSON body of `request`'s answer.
async fn json(request: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = request.send().await.expect("an answer");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("a body");
    (status, serde_json::from_str(&text).expect("a JSON body"))
}

/// A token from the App Service endpoint, as `IDENTITY_ENDPOINT` +
/// `IDENTITY_HEADER` make every Azure SDK ask for one.
pub(crate) async fn app_service_token(env: &Env, query: &str) -> (u16, Value) {
    let url = format!(
        "{}?api-version=2019-08-01&{query}",
        env.emu.identity_endpoint()
    );
    json(
        env.client
            .get(url)
            .header("X-IDENTITY-HEADER", env.emu.identity_header()),
    )
    .await
}

#[tokio::test]
async fn apps_get_tokens_that_strict_mode_accepts_for_their_resource_only() {
    let builder = (Emulator::builder().auth(AuthMode::Strict))
        .user_assigned_identity(USER_CLIENT, USER_OBJECT);
    let env = start_with(builder).await;

    let startup: Value = serde_json::from_str(&env.emu.startup_json()).unwrap();
    assert_eq!(startup["identity_endpoint"], env.emu.identity_endpoint());
    assert_eq!(startup["identity_header"], env.emu.identity_header());

    let (status, vault) = app_service_token(&env, "resource=https://vault.azure.net").await;
    assert_eq!(status, 200, "{vault}");
    assert_eq!(vault["resource"], "https://vault.azure.net");
    let expires_on: i64 = vault["expires_on"].as_str().unwrap().parse().unwrap();
    assert!(expires_on > time::OffsetDateTime::now_utc().unix_timestamp() + 3600);
    let token = vault["access_token"].as_str().unwrap();

    let url = env.url("/secrets");
    let r = send_to(&env.client, Method::GET, &url, None, Some(token)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // A token the emulator did not sign is refused, with the challenge.
    let r = send_to(&env.client, Method::GET, &url, None, Some("a.b.c")).await;
    assert_eq!(r.status, 401);
    assert!(
        r.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains(DEFAULT_TENANT_ID)
    );
    // A vault token is not an HSM token.
    let hsm_url = env.hsm_url("/settings");
    let r = send_to(&env.client, Method::GET, &hsm_url, None, Some(token)).await;
    assert_eq!(r.status, 401, "{}", r.text);
    let (_, hsm) = app_service_token(&env, "resource=https://managedhsm.azure.net").await;
    let hsm_token = hsm["access_token"].as_str().unwrap();
    let r = send_to(&env.client, Method::GET, &hsm_url, None, Some(hsm_token)).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // A user-assigned identity, selected by client id; an unknown one gets
    // no token.
    let query = format!("resource=https://vault.azure.net&client_id={USER_CLIENT}");
    let (status, user) = app_service_token(&env, &query).await;
    assert_eq!(
        (status, user["client_id"].as_str()),
        (200, Some(USER_CLIENT))
    );
    let (status, unknown) =
        app_service_token(&env, "resource=https://vault.azure.net&object_id=nobody").await;
    assert_eq!(status, 400);
    assert!(unknown.get("access_token").is_none());
    env.emu.shutdown().await;
}

#[tokio::test]
async fn imds_and_the_signing_keys_are_served_without_a_token() {
    let env = start_with(Emulator::builder()).await;
    let url = format!(
        "{}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net",
        env.emu.imds_endpoint()
    );
    let (status, _) = json(env.client.get(&url)).await;
    assert_eq!(status, 400, "IMDS needs the Metadata header");
    let (status, body) = json(env.client.get(&url).header("Metadata", "true")).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    let claims = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims).unwrap(),
    )
    .unwrap();
    assert_eq!(claims["oid"], SYSTEM_OBJECT_ID);
    assert_eq!(claims["tid"], DEFAULT_TENANT_ID);
    assert_eq!(claims["aud"], "https://vault.azure.net");

    let config = format!(
        "{}/{DEFAULT_TENANT_ID}/.well-known/openid-configuration",
        env.base
    );
    let (_, config) = json(env.client.get(config)).await;
    assert_eq!(config["issuer"], claims["iss"]);
    let (_, keys) = json(env.client.get(config["jwks_uri"].as_str().unwrap())).await;
    assert_eq!(keys["keys"][0]["kty"], "RSA");
    env.emu.shutdown().await;
}

#[tokio::test]
async fn strict_mode_makes_rbac_real() {
    let builder = (Emulator::builder().auth(AuthMode::Strict))
        .rbac(keyvault_emulator::RbacMode::Enforce)
        .hsm_admin(SYSTEM_OBJECT_ID)
        .user_assigned_identity(USER_CLIENT, USER_OBJECT);
    let env = start_with(builder).await;
    let resource = "resource=https://managedhsm.azure.net";
    let (_, admin) = app_service_token(&env, resource).await;
    let (_, user) = app_service_token(&env, &format!("{resource}&client_id={USER_CLIENT}")).await;
    let url = env.hsm_url("/settings");
    let r = send_to(
        &env.client,
        Method::GET,
        &url,
        None,
        admin["access_token"].as_str(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = send_to(
        &env.client,
        Method::GET,
        &url,
        None,
        user["access_token"].as_str(),
    )
    .await;
    assert_eq!((r.status, r.code()), (403, "ForbiddenByRbac"), "{}", r.text);
    // An unsigned token that names the administrator is refused.
    let encode =
        |v: &str| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, v);
    let forged = format!(
        "{}.{}.",
        encode(r#"{"alg":"none"}"#),
        encode(&format!(
            r#"{{"oid":"{SYSTEM_OBJECT_ID}","aud":"https://managedhsm.azure.net"}}"#
        ))
    );
    let r = send_to(&env.client, Method::GET, &url, None, Some(&forged)).await;
    assert_eq!(r.status, 401, "{}", r.text);
    env.emu.shutdown().await;
}
