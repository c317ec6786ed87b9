//! The virtual clock: the admin route and the library call.

use std::time::Duration;

use keyvault_emulator::Emulator;
use reqwest::Method;
use serde_json::json;

use crate::common::{send_to, start, start_with};

#[tokio::test]
async fn advancing_past_the_purge_date_purges() {
    let env = start_with(Emulator::builder().soft_delete_retention_days(7)).await;
    env.set("short", json!({"value": "v"})).await;
    env.set("kept", json!({"value": "v"})).await;
    env.delete("/secrets/short").await;
    let before = env.emu.clock().now();

    // Six days later it is still recoverable.
    let now = env.emu.advance_clock(Duration::from_secs(6 * 86_400)).await;
    assert!(now >= before + 6 * 86_400);
    assert_eq!(env.get("/deletedsecrets/short").await.status, 200);
    // Past the scheduled purge date it is gone, and the name is free.
    env.emu.advance_clock(Duration::from_secs(2 * 86_400)).await;
    assert_eq!(env.get("/deletedsecrets/short").await.status, 404);
    assert!(env.list_all("/deletedsecrets").await.is_empty());
    env.set("short", json!({"value": "again"})).await;
    // Timestamps follow the virtual clock.
    let s = env.set("kept", json!({"value": "v2"})).await;
    assert!(s["attributes"]["created"].as_i64().unwrap() >= before + 8 * 86_400);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn admin_route_moves_the_clock() {
    let env = start().await;
    env.set("a", json!({"value": "v"})).await;
    env.delete("/secrets/a").await;
    let url = format!("{}/_emulator/clock", env.base);
    let r = send_to(&env.client, Method::GET, &url, None, None).await;
    assert_eq!(r.status, 200);
    let start_now = r.json["now"].as_i64().unwrap();
    assert_eq!(r.json["offsetSeconds"], 0);

    let adv = format!("{url}/advance");
    let r = send_to(
        &env.client,
        Method::POST,
        &adv,
        Some(json!({"seconds": 91 * 86_400})),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["offsetSeconds"], 91 * 86_400);
    assert!(r.json["now"].as_i64().unwrap() >= start_now + 91 * 86_400);
    assert_eq!(env.get("/deletedsecrets/a").await.status, 404);
    let r = send_to(
        &env.client,
        Method::POST,
        &adv,
        Some(json!({"seconds": -5})),
        None,
    )
    .await;
    assert_eq!(r.status, 400);
    let r = send_to(&env.client, Method::POST, &adv, Some(json!("soon")), None).await;
    assert_eq!(r.status, 400);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn admin_routes_can_be_turned_off() {
    let env = start_with(Emulator::builder().admin_routes(false)).await;
    let r = send_to(
        &env.client,
        Method::GET,
        &format!("{}/_emulator/clock", env.base),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, 401);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn deleting_at_the_end_of_time_keeps_the_object() {
    // Near the largest time a clock can show, the purge date used to
    // overflow (a 500, or a date in the past that purged the object at once);
    // it now stops at the largest time.
    let env = start().await;
    let now = env.emu.clock().now();
    let by = u64::try_from(i64::MAX - now - 1000).unwrap();
    env.emu.advance_clock(Duration::from_secs(by)).await;
    env.set("late", json!({"value": "v"})).await;
    let r = env.delete("/secrets/late").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["scheduledPurgeDate"], i64::MAX);
    let r = env.get("/deletedsecrets/late").await;
    assert_eq!(r.status, 200, "{}", r.text);

    let r = env.create_key("late", "EC").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = env.hsm_delete("/keys/late").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["scheduledPurgeDate"], i64::MAX);
    let r = env.hsm_get("/deletedkeys/late").await;
    assert_eq!(r.status, 200, "{}", r.text);
    env.emu.shutdown().await;
}
