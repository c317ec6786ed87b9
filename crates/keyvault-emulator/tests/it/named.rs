//! Named vaults and Managed HSMs: several of each in one emulator, each a
//! store of its own, reached on its own port or by name through the proxy.

use keyvault_emulator::{Emulator, ErrorKind};
use keyvault_testing::tls::client_through_proxy;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{API, client_for, send_to, start_with};

fn secret_url(base: &str, name: &str) -> String {
    format!(
        "{}/secrets/{name}?api-version={API}",
        base.trim_end_matches('/')
    )
}

#[tokio::test]
async fn named_vaults_keep_their_secrets_apart() {
    let env = start_with(
        Emulator::builder()
            .vault("Billing")
            .vault("orders")
            .hsm("keys"),
    )
    .await;
    let emu = &env.emu;
    assert_eq!(emu.vault_names().collect::<Vec<_>>(), ["billing", "orders"]);
    assert_eq!(emu.hsm_names().collect::<Vec<_>>(), ["keys"]);
    let billing = emu.vault_url_named("BILLING").unwrap().to_owned();
    let orders = emu.vault_url_named("orders").unwrap().to_owned();
    assert_eq!(billing, emu.vault_url());
    assert_ne!(billing, orders);
    assert!(emu.vault_url_named("emulator").is_none());

    let c = &env.client;
    let put = async |base: &str, value: &str| {
        let (url, body) = (secret_url(base, "db"), json!({ "value": value }));
        send_to(c, Method::PUT, &url, Some(body), Some("t")).await
    };
    assert_eq!(put(&billing, "b").await.status, 200);
    let r = send_to(c, Method::GET, &secret_url(&orders, "db"), None, Some("t")).await;
    assert_eq!((r.status, r.code()), (404, "SecretNotFound"), "{}", r.text);
    assert_eq!(put(&orders, "o").await.status, 200);
    for (base, want) in [(&billing, "b"), (&orders, "o")] {
        let r = send_to(c, Method::GET, &secret_url(base, "db"), None, Some("t")).await;
        assert_eq!(r.json["value"], want, "{}", r.text);
        let list = format!("{}secrets?api-version={API}", base);
        let r = send_to(c, Method::GET, &list, None, Some("t")).await;
        assert_eq!(
            r.json["value"].as_array().map(Vec::len),
            Some(1),
            "{}",
            r.text
        );
    }

    // The first line names every vault and HSM.
    let line: Value = serde_json::from_str(&emu.startup_json()).unwrap();
    assert_eq!(
        line["vaults"]["billing"],
        "https://billing.vault.azure.net/"
    );
    assert_eq!(line["vaults"]["orders"], "https://orders.vault.azure.net/");
    assert_eq!(line["vault_urls"]["orders"], orders.as_str());
    assert_eq!(line["hsms"]["keys"], "https://keys.managedhsm.azure.net/");
    assert_eq!(line["vault_url"], billing.as_str());

    // Through the proxy, each name reaches its own vault, ids use that
    // name, and a name the emulator does not have is refused.
    let proxied = client_through_proxy(emu.ca_cert_pem(), emu.proxy_url());
    for (name, want) in [("billing", "b"), ("orders", "o")] {
        let url = secret_url(&format!("https://{name}.vault.azure.net"), "db");
        let r = send_to(&proxied, Method::GET, &url, None, Some("t")).await;
        assert_eq!(r.json["value"], want, "{}", r.text);
        let id = r.json["id"].as_str().unwrap_or_default();
        assert!(
            id.starts_with(&format!("https://{name}.vault.azure.net/secrets/db/")),
            "{id}"
        );
    }
    let unknown = secret_url("https://emulator.vault.azure.net", "db");
    let refused = proxied.get(&unknown).bearer_auth("t").send().await;
    assert!(refused.is_err(), "{refused:?}");
    env.emu.shutdown().await;
}

#[tokio::test]
async fn named_hsms_keep_their_roles_and_settings_apart() {
    let env = start_with(Emulator::builder().hsm("one").hsm_on_port("two", 0)).await;
    let (c, emu) = (&env.client, &env.emu);
    let one = emu
        .hsm_url_named("one")
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let two = emu
        .hsm_url_named("two")
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let setting = "/settings/AllowKeyManagementOperationsThroughARM";
    let url = |base: &str| format!("{base}{setting}?api-version={API}");
    let body = json!({"value": "true"});
    let r = send_to(c, Method::PATCH, &url(&one), Some(body), Some("t")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for (base, want) in [(&one, "true"), (&two, "false")] {
        let r = send_to(c, Method::GET, &url(base), None, Some("t")).await;
        assert_eq!(r.json["value"], want, "{}", r.text);
    }
    let role = format!(
        "/providers/Microsoft.Authorization/roleDefinitions/{}",
        "0b0e3c4a-5f53-4b2e-9f1f-2b6d6c0a7e11"
    );
    let body = json!({"properties": {"roleName": "mine", "permissions": [{"dataActions": []}]}});
    let role_url =
        |base: &str| format!("{base}/{}?api-version={API}", role.trim_start_matches('/'));
    let r = send_to(c, Method::PUT, &role_url(&one), Some(body), Some("t")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = send_to(c, Method::GET, &role_url(&two), None, Some("t")).await;
    assert_eq!(r.status, 404, "{}", r.text);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn named_vaults_survive_a_restart_apart() {
    let data = tempfile::tempdir().unwrap();
    let builder = || {
        Emulator::builder()
            .data_dir(data.path())
            .vault("alpha")
            .vault("beta")
    };
    let env = start_with(builder()).await;
    let alpha = env.emu.vault_url_named("alpha").unwrap().to_owned();
    let body = Some(json!({"value": "kept"}));
    let r = send_to(
        &env.client,
        Method::PUT,
        &secret_url(&alpha, "s"),
        body,
        Some("t"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    env.emu.shutdown().await;

    let env = start_with(builder()).await;
    let c = &env.client;
    let alpha = env.emu.vault_url_named("alpha").unwrap();
    let beta = env.emu.vault_url_named("beta").unwrap();
    let r = send_to(c, Method::GET, &secret_url(alpha, "s"), None, Some("t")).await;
    assert_eq!(r.json["value"], "kept", "{}", r.text);
    let r = send_to(c, Method::GET, &secret_url(beta, "s"), None, Some("t")).await;
    assert_eq!(r.status, 404, "{}", r.text);
    env.emu.shutdown().await;

    // The default vault of the same directory is yet another store.
    let env = start_with(Emulator::builder().data_dir(data.path())).await;
    let client = client_for(env.emu.ca_cert_pem());
    let r = send_to(
        &client,
        Method::GET,
        &secret_url(env.emu.vault_url(), "s"),
        None,
        Some("t"),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn bad_names_are_refused_at_start() {
    for (builder, needle) in [
        (Emulator::builder().vault("ab"), "\"ab\" is not valid"),
        (Emulator::builder().vault("has_underscore"), "not valid"),
        (Emulator::builder().vault("9lives"), "not valid"),
        (Emulator::builder().vault("double--hyphen"), "not valid"),
        (Emulator::builder().vault("ends-"), "not valid"),
        (Emulator::builder().hsm("same").hsm("SAME"), "given twice"),
    ] {
        let err = builder.start().await.expect_err(needle);
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(err.to_string().contains(needle), "{err}");
    }
}
