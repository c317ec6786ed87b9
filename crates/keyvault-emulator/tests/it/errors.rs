//! Bad input gets the service's error shapes and codes; never a 500.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::start;

#[tokio::test]
async fn api_version_is_required_and_checked() {
    let env = start().await;
    let url = format!("{}/secrets", env.base);
    let r = crate::common::send_to(&env.client, Method::GET, &url, None, Some("t")).await;
    assert_eq!((r.status, r.code()), (400, "BadParameter"));
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2025-07-01")
    );
    let r = crate::common::send_to(
        &env.client,
        Method::GET,
        &format!("{url}?api-version=9.9"),
        None,
        Some("t"),
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "BadParameter"));
    assert!(r.json["error"]["message"].as_str().unwrap().contains("9.9"));
    env.emu.shutdown().await;
}

#[tokio::test]
async fn bad_bodies_are_400() {
    let env = start().await;
    let put = |body: &'static str| {
        let client = env.client.clone();
        let url = env.url("/secrets/bad");
        async move {
            let r = client
                .put(url)
                .header("Authorization", "Bearer t")
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
            (status, v["error"]["code"].as_str().unwrap_or("").to_owned())
        }
    };
    for body in [
        "",
        "{not json",
        "[]",
        "{}",
        r#"{"value": 5}"#,
        r#"{"value": "v", "tags": "x"}"#,
        r#"{"value": "v", "tags": {"a": 1}}"#,
        r#"{"value": "v", "attributes": {"enabled": "yes"}}"#,
        r#"{"value": "v", "attributes": {"exp": "tomorrow"}}"#,
        r#"{"value": "v", "attributes": []}"#,
        r#"{"value": "v", "contentType": 3}"#,
    ] {
        assert_eq!(put(body).await, (400, "BadParameter".to_owned()), "{body}");
    }
    // Limits: value size and tags.
    let big = "x".repeat(25 * 1024 + 1);
    let r = env
        .call(Method::PUT, "/secrets/big", Some(json!({"value": big})))
        .await;
    assert_eq!((r.status, r.code()), (400, "BadParameter"));
    env.set("max", json!({"value": "x".repeat(25 * 1024)}))
        .await;
    let tags: serde_json::Map<String, Value> =
        (0..16).map(|i| (format!("t{i}"), json!("v"))).collect();
    let r = env
        .call(
            Method::PUT,
            "/secrets/tags",
            Some(json!({"value": "v", "tags": tags})),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "BadParameter"));
    let tags: serde_json::Map<String, Value> =
        (0..15).map(|i| (format!("t{i}"), json!("v"))).collect();
    env.set("tags", json!({"value": "v", "tags": tags})).await;
    let r = env
        .call(
            Method::PUT,
            "/secrets/tags",
            Some(json!({"value": "v", "tags": {"k": "v".repeat(257)}})),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = env
        .call(Method::PATCH, "/secrets/tags/", Some(json!({"tags": []})))
        .await;
    assert_eq!(r.status, 400);
    let r = env
        .call(Method::POST, "/secrets/restore", Some(json!({})))
        .await;
    assert_eq!(r.status, 400);
    let r = env
        .call(
            Method::POST,
            "/secrets/restore",
            Some(json!({"value": "AAAA"})),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "BadParameter"));
    env.emu.shutdown().await;
}

#[tokio::test]
async fn names_routes_and_methods() {
    let env = start().await;
    for name in ["a_b", "a.b", "%C3%A9t%C3%A9", &"a".repeat(128)] {
        let r = env
            .call(
                Method::PUT,
                &format!("/secrets/{name}"),
                Some(json!({"value": "v"})),
            )
            .await;
        assert_eq!((r.status, r.code()), (400, "BadParameter"), "{name}");
    }
    env.set(&"a".repeat(127), json!({"value": "v"})).await;
    let r = env.get("/nope").await;
    assert_eq!((r.status, r.code()), (404, "NotFound"));
    let r = env.get("/secrets/a/b/c/d").await;
    assert_eq!(r.status, 404);
    let r = env.call(Method::POST, "/secrets/x", None).await;
    assert_eq!(r.status, 405);
    assert!(r.headers.get("allow").is_some());
    assert!(r.json["error"]["code"].is_string());
    let r = env.call(Method::PUT, "/deletedsecrets/x", None).await;
    assert_eq!(r.status, 405);
    let r = env.get("/secrets?maxresults=abc").await;
    assert_eq!(r.status, 400);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn not_found_conflict_and_forbidden() {
    let env = start().await;
    let r = env.get("/secrets/missing").await;
    assert_eq!((r.status, r.code()), (404, "SecretNotFound"));
    let r = env
        .get("/secrets/missing/0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!((r.status, r.code()), (404, "SecretNotFound"));
    for (m, p) in [
        (Method::DELETE, "/secrets/missing"),
        (Method::POST, "/secrets/missing/backup"),
        (Method::GET, "/deletedsecrets/missing"),
        (Method::POST, "/deletedsecrets/missing/recover"),
        (Method::DELETE, "/deletedsecrets/missing"),
    ] {
        let r = env.call(m.clone(), p, None).await;
        assert_eq!((r.status, r.code()), (404, "SecretNotFound"), "{m} {p}");
    }
    let r = env
        .call(
            Method::PATCH,
            "/secrets/missing/",
            Some(json!({"tags": {}})),
        )
        .await;
    assert_eq!(r.status, 404);

    // Purge of a live secret: 404.
    env.set("live", json!({"value": "v"})).await;
    let r = env.delete("/deletedsecrets/live").await;
    assert_eq!((r.status, r.code()), (404, "SecretNotFound"));

    // A version of a real secret that does not exist.
    let r = env
        .get("/secrets/live/0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(r.status, 404);

    // Disabled: get is refused with 403; listing and updating still work.
    let created = env
        .set(
            "off",
            json!({"value": "v", "attributes": {"enabled": false}}),
        )
        .await;
    assert!(created.get("value").is_some());
    let r = env.get("/secrets/off").await;
    assert_eq!((r.status, r.code()), (403, "Forbidden"));
    let version = created["id"].as_str().unwrap().rsplit('/').next().unwrap();
    let r = env.get(&format!("/secrets/off/{version}")).await;
    assert_eq!(r.status, 403);
    let r = env
        .call(
            Method::PATCH,
            "/secrets/off/",
            Some(json!({"attributes": {"enabled": true}})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(env.get("/secrets/off").await.status, 200);

    // Expired and not-yet-valid secrets are returned normally.
    env.set("old", json!({"value": "v", "attributes": {"exp": 1000}}))
        .await;
    assert_eq!(env.get("/secrets/old").await.status, 200);
    env.set(
        "future",
        json!({"value": "v", "attributes": {"nbf": 4_000_000_000_i64}}),
    )
    .await;
    assert_eq!(env.get("/secrets/future").await.status, 200);

    // Deleted but not purged: setting the name conflicts.
    env.delete("/secrets/live").await;
    let r = env
        .call(Method::PUT, "/secrets/LIVE", Some(json!({"value": "v"})))
        .await;
    assert_eq!((r.status, r.code()), (409, "Conflict"));
    env.emu.shutdown().await;
}

#[tokio::test]
async fn purge_protection_refuses_purge() {
    let env = crate::common::start_with(
        keyvault_emulator::Emulator::builder()
            .purge_protection(true)
            .soft_delete_retention_days(7),
    )
    .await;
    let s = env.set("p", json!({"value": "v"})).await;
    assert_eq!(s["attributes"]["recoveryLevel"], "CustomizedRecoverable");
    assert_eq!(s["attributes"]["recoverableDays"], 7);
    let d = env.delete("/secrets/p").await.json;
    assert_eq!(
        d["scheduledPurgeDate"].as_i64().unwrap() - d["deletedDate"].as_i64().unwrap(),
        7 * 86_400
    );
    let r = env.delete("/deletedsecrets/p").await;
    assert_eq!((r.status, r.code()), (403, "Forbidden"));
    assert_eq!(env.get("/deletedsecrets/p").await.status, 200);
    env.emu.shutdown().await;

    let err = keyvault_emulator::Emulator::builder()
        .soft_delete_retention_days(5)
        .start()
        .await
        .unwrap_err();
    assert!(err.is_config());
}

#[tokio::test]
async fn odd_input_never_gets_a_500() {
    let env = start().await;
    let long = "x".repeat(5000);
    let paths = [
        "/secrets/%00".to_owned(),
        "/secrets/%".to_owned(),
        "/secrets/a%2".to_owned(),
        "/secrets/%ZZ".to_owned(),
        "/secrets/..".to_owned(),
        "//secrets".to_owned(),
        "/secrets//".to_owned(),
        "/secrets/a/versions/".to_owned(),
        "/deletedsecrets/a/b/c".to_owned(),
        "/secrets/%E2%9C%93".to_owned(),
        format!("/secrets/{long}"),
        format!("/secrets/a/{long}"),
        "/secrets?maxresults=99999999999999999999".to_owned(),
        "/secrets?$skiptoken=%FF%FE".to_owned(),
        "/_emulator/nothing".to_owned(),
    ];
    let deep = format!("{}1{}", "[".repeat(1000), "]".repeat(1000));
    let bodies = [
        None,
        Some(json!({"value": "v", "attributes": {"exp": 1e300}})),
        Some(json!({"value": "v", "attributes": {"nbf": -5}})),
        Some(json!({"value": "v", "tags": {"": "empty name"}})),
        Some(json!({"value": "\u{0000}\u{FFFF}"})),
        Some(json!({"value": deep})),
    ];
    for path in &paths {
        for method in [
            Method::GET,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::POST,
        ] {
            for body in &bodies {
                let r = env.call(method.clone(), path, body.clone()).await;
                assert!(r.status < 500, "{method} {path}: {} {}", r.status, r.text);
                assert!(
                    r.status == 204 || r.json.is_object(),
                    "{method} {path}: {}",
                    r.text
                );
            }
        }
    }
    let raw_deep = deep.clone();
    let r = env
        .client
        .put(env.url("/secrets/deep"))
        .header("Authorization", "Bearer t")
        .body(raw_deep.replace("1", "{\"a\":1}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = env
        .client
        .put(env.url("/secrets/huge"))
        .header("Authorization", "Bearer t")
        .body(vec![b' '; 5 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    env.emu.shutdown().await;
}
