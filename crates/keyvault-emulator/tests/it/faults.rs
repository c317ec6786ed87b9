//! Fault injection: every kind happens as described, only to service
//! requests, and a seed gives the same decisions again.

use std::time::{Duration, Instant};

use keyvault_emulator::{Emulator, FaultKind, FaultPlan};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Env, send_to, start, start_with};

impl Env {
    /// `PUT /_emulator/faults` with `plan`, asserting 200.
    async fn put_faults(&self, plan: Value) -> Value {
        let url = format!("{}/_emulator/faults", self.base);
        let r = send_to(&self.client, Method::PUT, &url, Some(plan), None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json
    }

    /// `method /_emulator/faults` (GET or DELETE), asserting 200.
    async fn faults(&self, method: Method) -> Value {
        let url = format!("{}/_emulator/faults", self.base);
        let r = send_to(&self.client, method, &url, None, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json
    }

    /// Sets a secret with the faults in force: the status, or `None` when
    /// the connection was dropped.
    async fn try_set(&self, name: &str, value: &str) -> Option<u16> {
        let url = self.url(&format!("/secrets/{name}"));
        let r = (self.client.put(url).bearer_auth("test"))
            .header("content-type", "application/json")
            .body(json!({ "value": value }).to_string())
            .send()
            .await
            .ok()?;
        Some(r.status().as_u16())
    }
}

#[tokio::test]
async fn each_kind_of_fault_happens() {
    let env = start().await;
    env.set("kept", json!({"value": "v0"})).await;

    // 429 with the plan's Retry-After, in Key Vault's error shape.
    env.put_faults(json!({"429": 1, "retry-after": 2})).await;
    let r = env.get("/secrets/kept").await;
    assert_eq!((r.status, r.code()), (429, "Throttled"), "{}", r.text);
    assert_eq!(r.headers["retry-after"], "2");

    // 503, and nothing is applied.
    env.put_faults(json!("503=1")).await;
    let r = env
        .call(Method::PUT, "/secrets/kept", Some(json!({"value": "no"})))
        .await;
    assert_eq!((r.status, r.code()), (503, "ServiceUnavailable"));

    // Dropped before processing: no answer, no change.
    env.put_faults(json!({"drop-before": 1})).await;
    assert_eq!(env.try_set("before", "b").await, None);

    // Dropped after processing: no answer, the change is there.
    env.put_faults(json!({"drop-after": 1})).await;
    assert_eq!(env.try_set("after", "a").await, None);

    // Latency: answered, late.
    env.put_faults(json!({"latency": 1, "latency-ms": 300}))
        .await;
    let started = Instant::now();
    assert_eq!(env.get("/secrets/kept").await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // A stalled body: the status and half the body come, then it breaks.
    env.put_faults(json!({"stall": 1, "stall-ms": 300})).await;
    let started = Instant::now();
    let resp = (env.client.get(env.url("/secrets/kept")).bearer_auth("test"))
        .send()
        .await
        .expect("the head arrives");
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.is_err(), "the body must not complete");
    assert!(started.elapsed() >= Duration::from_millis(300));
    let report = env.faults(Method::GET).await;
    assert_eq!(report["injected"]["stall"], 1, "{report}");
    assert_eq!(report["requests"], 1);

    // Off: every change made under faults is as the kinds say.
    let report = env.faults(Method::DELETE).await;
    assert_eq!(report["plan"], Value::Null);
    assert_eq!(env.get("/secrets/kept").await.json["value"], "v0");
    assert_eq!(env.get("/secrets/before").await.status, 404);
    assert_eq!(env.get("/secrets/after").await.json["value"], "a");
    assert_eq!(env.emu.fault_counts().injected(FaultKind::Stall), 1);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn only_service_requests_get_faults() {
    let plan = FaultPlan::new(1).with(FaultKind::Unavailable, 1.0);
    let env = start_with(Emulator::builder().faults(plan)).await;
    // The admin routes and the identity endpoints are spared.
    let clock = format!("{}/_emulator/clock", env.base);
    assert_eq!(
        send_to(&env.client, Method::GET, &clock, None, None)
            .await
            .status,
        200
    );
    let token = format!(
        "{}?resource=https://vault.azure.net&api-version=2019-08-01",
        env.emu.identity_endpoint()
    );
    let r = (env.client.get(&token))
        .header("X-IDENTITY-HEADER", env.emu.identity_header())
        .send()
        .await
        .expect("token answered");
    assert_eq!(r.status(), 200);
    // Both service endpoints are not.
    assert_eq!(env.get("/secrets").await.status, 503);
    assert_eq!(env.hsm_get("/settings").await.status, 503);
    let counts = env.emu.fault_counts();
    assert_eq!((counts.requests, counts.total()), (2, 2));
    assert_eq!(counts.injected(FaultKind::Unavailable), 2);
    let report = env.faults(Method::GET).await;
    assert_eq!(report["plan"]["503"], 1.0);
    assert_eq!(report["plan"]["seed"], 1);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn a_seed_repeats_its_decisions() {
    let env = start().await;
    env.set("s", json!({"value": "v"})).await;
    let statuses = async || {
        let mut seen = Vec::new();
        for _ in 0..60 {
            seen.push(env.get("/secrets/s").await.status);
        }
        seen
    };
    let plan = json!({"seed": 7, "429": 0.3, "503": 0.3, "retry-after": 0});
    env.put_faults(plan.clone()).await;
    let first = statuses().await;
    assert!(first.contains(&429) && first.contains(&503) && first.contains(&200));
    // Setting the plan again starts its sequence again.
    env.put_faults(plan).await;
    assert_eq!(statuses().await, first);
    // Another seed, another sequence.
    env.put_faults(json!({"seed": 8, "429": 0.3, "503": 0.3}))
        .await;
    assert_ne!(statuses().await, first);
    // The builder's plan is the same plan.
    let plan = FaultPlan::new(7)
        .with(FaultKind::Throttle, 0.3)
        .with(FaultKind::Unavailable, 0.3)
        .retry_after(Duration::ZERO);
    env.emu.set_fault_plan(Some(plan)).unwrap();
    assert_eq!(statuses().await, first);
    let report = env.faults(Method::GET).await;
    let throttled = first.iter().filter(|s| **s == 429).count();
    assert_eq!(report["injected"]["429"], throttled);
    assert_eq!(report["total"], first.iter().filter(|s| **s != 200).count());
    env.emu.shutdown().await;
}

#[tokio::test]
async fn bad_plans_are_refused_and_change_nothing() {
    let env = start().await;
    let url = format!("{}/_emulator/faults", env.base);
    for (body, says) in [
        (
            json!({"429": 2}),
            "`429` must be a fraction 0 to 1, not `2`",
        ),
        (json!({"flood": 0.1}), "unknown key `flood`"),
        (json!({"seed": "x"}), "`seed` must be a number"),
        (json!("429=0.6,503=0.6"), "add up to"),
        (json!([1]), "JSON object"),
    ] {
        let r = send_to(&env.client, Method::PUT, &url, Some(body), None).await;
        assert_eq!((r.status, r.code()), (400, "BadParameter"), "{}", r.text);
        assert!(
            r.json["error"]["message"].as_str().unwrap().contains(says),
            "{}",
            r.text
        );
    }
    let r = send_to(&env.client, Method::POST, &url, None, None).await;
    assert_eq!(r.status, 405);
    assert_eq!(env.faults(Method::GET).await["plan"], Value::Null);
    let bad = FaultPlan::new(0).with(FaultKind::Stall, 1.5);
    let err = env.emu.set_fault_plan(Some(bad.clone())).unwrap_err();
    assert!(err.to_string().contains("stall must be 0 to 1"), "{err}");
    let err = Emulator::builder().faults(bad).start().await.unwrap_err();
    assert!(err.to_string().contains("fault plan"), "{err}");
    env.emu.shutdown().await;
}
