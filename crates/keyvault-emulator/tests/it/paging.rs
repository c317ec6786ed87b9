//! Paging: maxresults, nextLink, and stability under concurrent writes.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::json;

use crate::common::{id_name, send_to, start};

#[tokio::test]
async fn pages_follow_next_link() {
    let env = start().await;
    for i in 0..30 {
        env.set(&format!("s{i:02}"), json!({"value": "v"})).await;
    }
    for i in 0..3 {
        env.set("versioned", json!({"value": format!("v{i}")}))
            .await;
    }
    let r = env.get("/secrets").await;
    assert_eq!(
        r.json["value"].as_array().unwrap().len(),
        25,
        "default page is 25"
    );
    let next = r.json["nextLink"].as_str().unwrap();
    assert!(next.starts_with(&format!("{}/secrets?", env.base)));
    assert!(next.contains("api-version=7.6"));
    assert!(next.contains("$skiptoken="));

    let r = env.get("/secrets?maxresults=7").await;
    assert_eq!(r.json["value"].as_array().unwrap().len(), 7);
    assert!(
        r.json["nextLink"]
            .as_str()
            .unwrap()
            .contains("maxresults=7")
    );

    let all = env.list_all("/secrets?maxresults=4").await;
    let names: Vec<String> = all.iter().map(|v| id_name(&v["id"])).collect();
    assert_eq!(names.len(), 31);
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "listing is in name order");

    let versions = env
        .list_all("/secrets/versioned/versions?maxresults=1")
        .await;
    assert_eq!(versions.len(), 3);

    for i in 0..5 {
        env.delete(&format!("/secrets/s{i:02}")).await;
    }
    let deleted = env.list_all("/deletedsecrets?maxresults=2").await;
    assert_eq!(deleted.len(), 5);

    for bad in ["0", "26", "-1", "x"] {
        let r = env.get(&format!("/secrets?maxresults={bad}")).await;
        assert_eq!(r.status, 400, "maxresults={bad}");
    }
    let r = env.get("/secrets?$skiptoken=garbage").await;
    assert_eq!(r.status, 400);
    env.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_is_stable_under_concurrent_writes() {
    let env = start().await;
    let stable: Vec<String> = (0..60).map(|i| format!("stable-{i:03}")).collect();
    for name in &stable {
        env.set(name, json!({"value": "v"})).await;
    }
    // A writer adds and deletes other secrets while we page.
    let client = env.client.clone();
    let base = env.base.clone();
    let writer = tokio::spawn(async move {
        for i in 0..80 {
            let name = format!("churn-{i:03}");
            let url = format!("{base}/secrets/{name}?api-version=7.6");
            let r = send_to(
                &client,
                Method::PUT,
                &url,
                Some(json!({"value": "v"})),
                Some("t"),
            )
            .await;
            assert_eq!(r.status, 200);
            if i % 2 == 0 {
                let r = send_to(&client, Method::DELETE, &url, None, Some("t")).await;
                assert_eq!(r.status, 200);
            }
        }
    });
    let mut seen = Vec::new();
    let mut url = env.url("/secrets?maxresults=3");
    loop {
        let r = send_to(&env.client, Method::GET, &url, None, Some("t")).await;
        assert_eq!(r.status, 200);
        seen.extend(
            r.json["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| id_name(&v["id"])),
        );
        match r.json["nextLink"].as_str() {
            Some(n) => url = n.to_owned(),
            None => break,
        }
        tokio::task::yield_now().await;
    }
    writer.await.unwrap();
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no duplicates");
    for name in &stable {
        assert!(unique.contains(name), "{name} missed");
    }
    env.emu.shutdown().await;
}
