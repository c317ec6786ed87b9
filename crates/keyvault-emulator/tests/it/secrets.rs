//! Every secrets route, with the shapes real clients rely on.

use reqwest::Method;
use serde_json::json;

use crate::common::{API, id_name, start};

#[tokio::test]
async fn set_get_update_and_versions() {
    let env = start().await;
    let v1 = env
        .set(
            "my-secret",
            json!({"value": "one", "contentType": "text/plain", "tags": {"a": "b"},
                   "attributes": {"exp": 2_527_401_600_i64, "nbf": 1_000}}),
        )
        .await;
    assert_eq!(v1["value"], "one");
    assert_eq!(v1["contentType"], "text/plain");
    assert_eq!(v1["tags"], json!({"a": "b"}));
    assert_eq!(v1["attributes"]["enabled"], true);
    assert_eq!(v1["attributes"]["exp"], 2_527_401_600_i64);
    assert_eq!(v1["attributes"]["nbf"], 1_000);
    assert_eq!(v1["attributes"]["recoveryLevel"], "Recoverable+Purgeable");
    assert_eq!(v1["attributes"]["recoverableDays"], 90);
    assert!(v1["attributes"]["created"].as_i64().unwrap() > 1_600_000_000);
    let id1 = v1["id"].as_str().unwrap().to_owned();
    let version1 = id1.rsplit('/').next().unwrap().to_owned();
    assert_eq!(version1.len(), 32);
    assert!(version1.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(id1, format!("{}/secrets/my-secret/{version1}", env.base));

    assert!(v1.get("previousVersion").is_none());
    let v2 = env.set("my-secret", json!({"value": "two"})).await;
    // previousVersion exists from 2025-07-01 on; 7.6 (the tests' default) has none.
    assert!(v2.get("previousVersion").is_none());
    for api in ["2025-07-01", "2026-04-01"] {
        let r = env
            .get(&format!("/secrets/my-secret?api-version={api}"))
            .await;
        assert_eq!(r.json["previousVersion"], version1.as_str(), "{api}");
    }
    let version2 = v2["id"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(version1, version2);
    assert!(
        v2.get("tags").is_none(),
        "a new version starts without tags"
    );

    // Latest: without a version, with a trailing slash, and case-insensitively.
    for path in [
        "/secrets/my-secret",
        "/secrets/my-secret/",
        "/secrets/MY-SECRET/",
    ] {
        let r = env.get(path).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.json["value"], "two", "{path}");
    }
    let r = env.get(&format!("/secrets/my-secret/{version1}")).await;
    assert_eq!(r.json["value"], "one");

    // Update a specific version: the response has no value.
    let r = env
        .call(
            Method::PATCH,
            &format!("/secrets/my-secret/{version1}"),
            Some(json!({"contentType": "x", "tags": {}, "attributes": {"enabled": false}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json.get("value").is_none());
    assert_eq!(r.json["contentType"], "x");
    assert_eq!(r.json["tags"], json!({}));
    assert_eq!(r.json["attributes"]["enabled"], false);
    assert_eq!(
        r.json["attributes"]["exp"], 2_527_401_600_i64,
        "unchanged fields stay"
    );

    // Update the latest with the trailing-slash form the SDKs send.
    let r = env
        .call(
            Method::PATCH,
            "/secrets/my-secret/",
            Some(json!({"tags": {"t": "1"}})),
        )
        .await;
    assert_eq!(r.json["id"], v2["id"]);
    assert_eq!(r.json["tags"], json!({"t": "1"}));

    let versions = env.list_all("/secrets/my-secret/versions").await;
    assert_eq!(versions.len(), 2);
    let ids: Vec<&str> = versions.iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&id1.as_str()));
    assert!(versions.iter().all(|v| v.get("value").is_none()));

    let all = env.list_all("/secrets").await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["id"], format!("{}/secrets/my-secret", env.base));
    assert_eq!(all[0]["tags"], json!({"t": "1"}));

    // Versions of a secret that does not exist: an empty page, like the service.
    let r = env.get("/secrets/nothing/versions").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json, json!({"value": [], "nextLink": null}));
    env.emu.shutdown().await;
}

#[tokio::test]
async fn delete_get_deleted_recover_and_purge() {
    let env = start().await;
    let created = env
        .set("gone", json!({"value": "v", "tags": {"x": "y"}}))
        .await;
    let r = env.delete("/secrets/gone").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let d = r.json;
    assert_eq!(d["recoveryId"], format!("{}/deletedsecrets/gone", env.base));
    assert_eq!(d["id"], created["id"]);
    assert!(d.get("value").is_none());
    assert_eq!(d["tags"], json!({"x": "y"}));
    let deleted_date = d["deletedDate"].as_i64().unwrap();
    assert_eq!(
        d["scheduledPurgeDate"].as_i64().unwrap(),
        deleted_date + 90 * 86_400
    );

    assert_eq!(env.get("/secrets/gone").await.status, 404);
    let listed = env.list_all("/secrets").await;
    assert!(listed.is_empty());

    let r = env.get("/deletedsecrets/gone").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["recoveryId"], d["recoveryId"]);
    let deleted = env.list_all("/deletedsecrets").await;
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["id"], format!("{}/secrets/gone", env.base));
    assert_eq!(deleted[0]["deletedDate"], deleted_date);

    // Recover: the latest version's properties, no value.
    let r = env
        .call(Method::POST, "/deletedsecrets/gone/recover", None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["id"], created["id"]);
    assert!(r.json.get("value").is_none());
    let r = env.get("/secrets/gone").await;
    assert_eq!(r.json["value"], "v");
    assert_eq!(env.get("/deletedsecrets/gone").await.status, 404);

    // Delete again and purge: 204 with no body, then nothing is left.
    assert_eq!(env.delete("/secrets/gone").await.status, 200);
    let r = env.delete("/deletedsecrets/gone").await;
    assert_eq!(r.status, 204);
    assert!(r.text.is_empty());
    assert_eq!(env.get("/deletedsecrets/gone").await.status, 404);
    // The name is free again.
    env.set("gone", json!({"value": "new"})).await;
    env.emu.shutdown().await;
}

#[tokio::test]
async fn backup_and_restore() {
    let env = start().await;
    let v1 = env.set("bk", json!({"value": "first-value"})).await;
    env.set("bk", json!({"value": "second-value"})).await;
    let r = env.call(Method::POST, "/secrets/bk/backup", None).await;
    assert_eq!(r.status, 200);
    let blob = r.json["value"].as_str().unwrap().to_owned();
    assert!(!blob.contains('='), "base64url without padding");
    assert!(!r.text.contains("second-value"));
    assert!(serde_json::from_str::<serde_json::Value>(&blob).is_err());

    // Restoring over an existing (or deleted but unpurged) secret conflicts.
    let r = env.restore_secret(&blob).await;
    assert_eq!((r.status, r.code()), (409, "Conflict"));
    env.delete("/secrets/bk").await;
    let r = env.restore_secret(&blob).await;
    assert_eq!(r.status, 409);
    assert_eq!(env.delete("/deletedsecrets/bk").await.status, 204);

    let r = env.restore_secret(&blob).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json.get("value").is_none());
    assert_eq!(env.get("/secrets/bk").await.json["value"], "second-value");
    let version1 = v1["id"].as_str().unwrap().rsplit('/').next().unwrap();
    let r = env.get(&format!("/secrets/bk/{version1}")).await;
    assert_eq!(r.json["value"], "first-value", "all versions are restored");

    // A blob from another emulator (another key) is refused as corrupt.
    let other = start().await;
    let r = other.restore_secret(&blob).await;
    assert_eq!((r.status, r.code()), (400, "BadParameter"));
    other.emu.shutdown().await;
    env.emu.shutdown().await;
}

#[tokio::test]
async fn every_api_version_is_accepted_in_its_shape() {
    let env = start().await;
    env.set("av", json!({"value": "v"})).await;
    for v in keyvault_emulator::supported_versions() {
        let r = env.get(&format!("/secrets/av?api-version={v}")).await;
        assert_eq!(r.status, 200, "{v}: {}", r.text);
        let has_days = r.json["attributes"].get("recoverableDays").is_some();
        assert_eq!(has_days, !matches!(*v, "2016-10-01" | "7.0"), "{v}");
    }
    for v in [
        "2026-04-01",
        "2026-03-01-preview",
        "2025-07-01",
        "7.0",
        "2016-10-01",
    ] {
        assert!(keyvault_emulator::supported_versions().contains(&v), "{v}");
    }
    let r = env
        .get("/secrets/av?api-version=7.3&outContentType=bogus")
        .await;
    assert_eq!(r.status, 400);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn ids_use_the_host_the_client_called() {
    let env = start().await;
    let port = env.emu.vault_addr().port();
    let via_ip = format!("https://127.0.0.1:{port}");
    let r = crate::common::send_to(
        &env.client,
        Method::PUT,
        &format!("{via_ip}/secrets/host-test?api-version={API}"),
        Some(json!({"value": "v"})),
        Some("t"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.json["id"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{via_ip}/secrets/host-test/"))
    );
    let r = env.get("/secrets/host-test").await;
    assert!(
        r.json["id"]
            .as_str()
            .unwrap()
            .starts_with(&format!("https://localhost:{port}/secrets/"))
    );
    assert_eq!(id_name(&r.json["id"]), "host-test");

    // Over HTTP/1.1 the ids come from the Host header.
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut env.emu.ca_cert_pem().as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let h1 = reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .http1_only()
        .build()
        .unwrap();
    let r = h1
        .get(format!("{via_ip}/secrets/host-test?api-version={API}"))
        .header("Authorization", "Bearer t")
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_11);
    let body: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert!(
        body["id"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{via_ip}/secrets/host-test/"))
    );
    env.emu.shutdown().await;
}

#[tokio::test]
async fn request_ids_are_sent_and_client_ids_echoed() {
    let env = start().await;
    let r = env
        .client
        .get(env.url("/secrets"))
        .header("Authorization", "Bearer t")
        .header("x-ms-client-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-ms-client-request-id"], "abc-123");
    assert_eq!(r.headers()["x-ms-request-id"].len(), 36);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    env.emu.shutdown().await;
}
