//! Request shapes: our requests compared with real recorded ones.
//!
//! A small HTTP server on loopback plays a script of recorded calls: each
//! authenticated request is matched with the first unused recorded call of
//! the same method, path and page token, answered with its recorded status
//! and body (hosts rewritten to the server's), and kept for comparison. A
//! request without a token gets the service's 401 challenge. The driver
//! replays each recording through `SecretClient`: every recorded call that
//! no earlier operation used (as a poll or a page) starts the operation
//! it stands for. Then method, path, query and JSON body are compared.
//!
//! The recordings sit beside the workspace in
//! `../shared/reference/recordings`; without them the replay tests fail
//! under CI and are skipped, visibly, elsewhere. The scripted tests below
//! them need no recordings.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use futures::TryStreamExt;
use keyvault_secrets::{
    ApiVersion, ClientOptions, ContentType, GetSecretOptions, ListOptions, PollStatus,
    PollerOptions, SecretClient, SecretClientOptions, SetSecretOptions,
    UpdateSecretPropertiesOptions,
};
use keyvault_testing::StaticToken;
use keyvault_testing::recordings;
use keyvault_testing::replay::{
    Exchange as Scripted, ReplayServer as Replay, page_token, split_url,
};
use serde_json::Value;

/// A client of a replay server.
pub trait ClientOf {
    /// A client of this server pinned to `api_version`.
    fn client(&self, api_version: ApiVersion) -> SecretClient;
}

impl ClientOf for Replay {
    fn client(&self, api_version: ApiVersion) -> SecretClient {
        let options = SecretClientOptions {
            api_version,
            client_options: ClientOptions::emulator(None),
        };
        SecretClient::new(self.base(), Arc::new(StaticToken::default()), Some(options)).unwrap()
    }
}

fn fast() -> Option<PollerOptions> {
    Some(PollerOptions {
        frequency: Some(Duration::from_millis(5)),
        ..Default::default()
    })
}

fn json(body: Option<&str>) -> Option<Value> {
    body.and_then(|b| serde_json::from_str(b).ok())
}

fn time(v: &Value) -> Option<time::OffsetDateTime> {
    v.as_i64()
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
}

fn tags(v: &Value) -> Option<std::collections::HashMap<String, String>> {
    v.as_object().map(|m| {
        m.iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect()
    })
}

/// Reads pages as long as the recording has the next one (recorded
/// clients did not always read a listing to its end).
async fn recorded_pages<T: Send + 'static>(
    mut pages: keyvault_secrets::PageStream<T>,
    replay: &Replay,
) -> Result<(), keyvault_secrets::Error> {
    while let Some(page) = pages.try_next().await? {
        let Some(link) = page.continuation_token else {
            break;
        };
        let (_, query) = split_url(&link);
        if !replay.has_page(page_token(&query)) {
            break;
        }
    }
    Ok(())
}

/// Starts, through `client`, the operation recorded as `call`.
async fn replay_one(
    client: &SecretClient,
    replay: &Replay,
    call: &Scripted,
    last_backup: &mut Option<Vec<u8>>,
) -> Result<(), String> {
    let segments: Vec<&str> = call.path.split('/').filter(|s| !s.is_empty()).collect();
    let request = json(call.request_body.as_deref());
    let response = json(call.response_body.as_deref());
    let err = |e: keyvault_secrets::Error| e.to_string();
    // A failure status was recorded: the operation must fail with it.
    let expect = |r: Result<(), keyvault_secrets::Error>| match r {
        Ok(()) if call.status < 300 => Ok(()),
        Err(e) if e.status().map(|s| s.as_u16()) == Some(call.status) => Ok(()),
        Ok(()) => Err(format!("recorded {} but we succeeded", call.status)),
        Err(e) => Err(err(e)),
    };
    match (call.method.as_str(), segments.as_slice()) {
        ("PUT", ["secrets", name]) => {
            // Bodies are recorded by the Python recorder; the C++ one keeps
            // only the response, whose value is what was sent.
            let sent = request
                .as_ref()
                .or(response.as_ref())
                .cloned()
                .unwrap_or_default();
            let a = &sent["attributes"];
            let options = SetSecretOptions {
                enabled: request.as_ref().and_then(|_| a["enabled"].as_bool()),
                not_before: request.as_ref().and_then(|_| time(&a["nbf"])),
                expires_on: request.as_ref().and_then(|_| time(&a["exp"])),
                tags: request.as_ref().and_then(|r| tags(&r["tags"])),
                content_type: request
                    .as_ref()
                    .and_then(|r| r["contentType"].as_str().map(str::to_owned)),
                ..Default::default()
            };
            let value = sent["value"].as_str().unwrap_or_default();
            expect(
                client
                    .set_secret(name, value, Some(options))
                    .await
                    .map(drop),
            )
        }
        ("GET", ["secrets"]) => expect(
            recorded_pages(client.list_properties_of_secrets(None).into_pages(), replay).await,
        ),
        ("GET", ["secrets", name, "versions"]) => expect(
            recorded_pages(
                client
                    .list_properties_of_secret_versions(name, None)
                    .into_pages(),
                replay,
            )
            .await,
        ),
        ("GET", ["deletedsecrets"]) => {
            expect(recorded_pages(client.list_deleted_secrets(None).into_pages(), replay).await)
        }
        ("GET", ["secrets", name, rest @ ..]) => {
            let options = rest.first().map(|v| GetSecretOptions::version(*v));
            expect(client.get_secret(name, options).await.map(drop))
        }
        ("PATCH", ["secrets", name, rest @ ..]) => {
            let sent = request
                .as_ref()
                .or(response.as_ref())
                .cloned()
                .unwrap_or_default();
            let a = &sent["attributes"];
            let recorded = request.is_some();
            let options = UpdateSecretPropertiesOptions {
                version: rest.first().map(|v| (*v).to_owned()),
                content_type: sent["contentType"].as_str().map(str::to_owned),
                tags: if recorded { tags(&sent["tags"]) } else { None },
                enabled: if recorded {
                    a["enabled"].as_bool()
                } else {
                    None
                },
                not_before: if recorded { time(&a["nbf"]) } else { None },
                expires_on: if recorded { time(&a["exp"]) } else { None },
                ..Default::default()
            };
            expect(
                client
                    .update_secret_properties(name, Some(options))
                    .await
                    .map(drop),
            )
        }
        ("DELETE", ["secrets", name]) => {
            let poller = client
                .begin_delete_secret(name, fast())
                .await
                .map_err(err)?;
            expect(poller.await.map(drop))
        }
        ("GET", ["deletedsecrets", name]) => {
            expect(client.get_deleted_secret(name, None).await.map(drop))
        }
        ("POST", ["deletedsecrets", name, "recover"]) => {
            let poller = client
                .begin_recover_deleted_secret(name, fast())
                .await
                .map_err(err)?;
            expect(poller.await.map(drop))
        }
        ("DELETE", ["deletedsecrets", name]) => {
            expect(client.purge_deleted_secret(name, None).await)
        }
        ("POST", ["secrets", name, "backup"]) => {
            let backup = client.backup_secret(name, None).await.map_err(err)?;
            *last_backup = Some(backup);
            Ok(())
        }
        ("POST", ["secrets", "restore"]) => {
            let backup = last_backup.clone().ok_or("a restore before any backup")?;
            expect(client.restore_secret_backup(&backup, None).await.map(drop))
        }
        _ => Err(format!("no operation for {} {}", call.method, call.path)),
    }
}

/// Replays `script` and lists every difference between our requests and
/// the recorded ones. `exact_paths`: whether a trailing slash counts.
async fn replay(script: Vec<Scripted>, api_version: ApiVersion, exact_paths: bool) -> Vec<String> {
    let replay = Replay::start(script.clone()).await;
    let client = replay.client(api_version);
    let mut problems = Vec::new();
    let mut last_backup = None;
    for (i, call) in script.iter().enumerate() {
        if replay.used(i) {
            continue;
        }
        if let Err(e) = replay_one(&client, &replay, call, &mut last_backup).await {
            problems.push(format!(
                "{}: {} {}: {e}",
                call.source, call.method, call.path
            ));
        }
        if !replay.used(i) {
            problems.push(format!(
                "{}: our client never sent {} {}",
                call.source, call.method, call.path
            ));
        }
    }
    let seen = replay.seen();
    // The first request to the vault carries neither a token nor a body.
    if let Some(first) = seen.first()
        && (first.authorized || !first.body.is_empty())
    {
        problems.push("the first request carried a token or a body".into());
    }
    for s in seen.iter().filter(|s| s.authorized) {
        let Some(j) = s.matched else {
            problems.push(format!(
                "unrecorded request {} {} {:?}",
                s.method, s.path, s.query
            ));
            continue;
        };
        let call = &script[j];
        let where_ = format!("{} ({} {})", call.source, call.method, call.path);
        if exact_paths && s.path != call.path {
            problems.push(format!(
                "{where_}: path {} (recorded {})",
                s.path, call.path
            ));
        }
        let ours: BTreeMap<_, _> = s.query.iter().cloned().collect();
        let recorded: BTreeMap<_, _> = call.query.iter().cloned().collect();
        if ours != recorded {
            problems.push(format!("{where_}: query {ours:?} (recorded {recorded:?})"));
        }
        let ours_body: Option<Value> = (!s.body.is_empty())
            .then(|| serde_json::from_slice(&s.body).ok())
            .flatten();
        match (json(call.request_body.as_deref()), ours_body) {
            (Some(r), Some(o)) => {
                let mut diffs = Vec::new();
                recordings::compare("$", &r, &o, &mut diffs);
                problems.extend(diffs.into_iter().map(|d| format!("{where_}: body {d}")));
            }
            (Some(_), None) => problems.push(format!("{where_}: we sent no body")),
            // Without a recorded body only bodiless verbs are checked.
            (None, Some(_)) if call.source.starts_with("test_samples") => {
                problems.push(format!("{where_}: we sent a body, none was recorded"))
            }
            _ => {}
        }
    }
    problems
}

/// The recorded secrets scenarios, by file name, without the recorded 401
/// challenge rounds (our server makes its own).
fn recorded_scenarios() -> Option<BTreeMap<String, Vec<Scripted>>> {
    let calls = recordings::load_all()?;
    let mut out: BTreeMap<String, Vec<Scripted>> = BTreeMap::new();
    for c in calls {
        let file = c.file().to_owned();
        let secrets = file.starts_with("test_samples_secrets")
            || file.starts_with("KeyVaultSecretClientTest");
        if !secrets || c.status == 401 {
            continue;
        }
        out.entry(file).or_default().push(Scripted::from(c));
    }
    Some(out)
}

#[tokio::test]
async fn python_recordings_match_our_requests() {
    let Some(scenarios) = recorded_scenarios() else {
        return;
    };
    let mut checked = 0;
    for (file, script) in scenarios
        .into_iter()
        .filter(|(f, _)| f.starts_with("test_samples"))
    {
        let problems = replay(script.clone(), ApiVersion::V7_3, true).await;
        assert!(problems.is_empty(), "{file}:\n{}", problems.join("\n"));
        checked += script.len();
    }
    println!("{checked} recorded Python calls matched");
    assert!(checked > 10, "only {checked} calls");
}

#[tokio::test]
async fn cpp_recordings_match_our_requests() {
    let Some(scenarios) = recorded_scenarios() else {
        return;
    };
    let mut checked = 0;
    for (file, script) in scenarios
        .into_iter()
        .filter(|(f, _)| f.starts_with("KeyVault"))
    {
        // The C++ client reads the latest version without the trailing
        // slash; the service treats both the same.
        let problems = replay(script.clone(), ApiVersion::V7_3, false).await;
        assert!(problems.is_empty(), "{file}:\n{}", problems.join("\n"));
        checked += script.len();
    }
    println!("{checked} recorded C++ calls matched");
    assert!(checked > 50, "only {checked} calls");
}

fn call(method: &str, path: &str, status: u16, body: &str) -> Scripted {
    Scripted::scripted(method, path, status, body)
}

const BUNDLE: &str =
    r#"{"id":"https://v.vault.azure.net/secrets/s/v1","value":"v","attributes":{"enabled":true}}"#;
const DELETED: &str = r#"{"id":"https://v.vault.azure.net/secrets/s/v1","recoveryId":"https://v.vault.azure.net/deletedsecrets/s","deletedDate":1700000000,"scheduledPurgeDate":1707776000}"#;

#[tokio::test]
async fn delete_without_recovery_id_is_done_at_once() {
    let replay = Replay::start(vec![call("DELETE", "/secrets/s", 200, BUNDLE)]).await;
    let client = replay.client(ApiVersion::default());
    let poller = client.begin_delete_secret("s", fast()).await.unwrap();
    assert!(poller.is_done());
    assert_eq!(poller.status(), PollStatus::Succeeded);
    let deleted = poller.await.unwrap();
    assert_eq!(deleted.name(), "s");
    assert_eq!(deleted.recovery_id, None);
    let authorized: Vec<_> = replay.seen().into_iter().filter(|s| s.authorized).collect();
    assert_eq!(authorized.len(), 1, "no poll: {authorized:?}");
}

#[tokio::test]
async fn forbidden_while_polling_counts_as_done() {
    let replay = Replay::start(vec![
        call("DELETE", "/secrets/s", 200, DELETED),
        call(
            "GET",
            "/deletedsecrets/s",
            404,
            r#"{"error":{"code":"SecretNotFound"}}"#,
        ),
        call(
            "GET",
            "/deletedsecrets/s",
            403,
            r#"{"error":{"code":"Forbidden"}}"#,
        ),
    ])
    .await;
    let client = replay.client(ApiVersion::default());
    let mut poller = client.begin_delete_secret("s", fast()).await.unwrap();
    assert_eq!(poller.poll().await.unwrap(), PollStatus::InProgress);
    let deleted = poller.await.unwrap();
    assert_eq!(
        deleted.deleted_on.map(|d| d.unix_timestamp()),
        Some(1_700_000_000)
    );
    assert_eq!(replay.seen().iter().filter(|s| s.authorized).count(), 3);
}

#[tokio::test]
async fn other_poll_failures_are_errors() {
    let replay = Replay::start(vec![
        call("POST", "/deletedsecrets/s/recover", 200, BUNDLE),
        call(
            "GET",
            "/secrets/s/",
            400,
            r#"{"error":{"code":"BadParameter","message":"no"}}"#,
        ),
    ])
    .await;
    let client = replay.client(ApiVersion::default());
    let poller = client
        .begin_recover_deleted_secret("s", fast())
        .await
        .unwrap();
    assert_eq!(poller.result().expect("known at once").name(), "s");
    let err = poller.await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{err}");
    assert_eq!(err.error_code(), Some("BadParameter"));
}

#[tokio::test]
async fn query_parameters_on_the_wire() {
    let replay = Replay::start(vec![
        call("GET", "/secrets/s/", 200, BUNDLE),
        call(
            "GET",
            "/secrets",
            200,
            r#"{"value":[{"id":"https://v.vault.azure.net/secrets/a"}],"nextLink":"https://v.vault.azure.net/secrets?$skiptoken=p2&api-version=2026-04-01"}"#,
        ),
        call("GET", "/secrets?$skiptoken=p2", 200, r#"{"value":[{"id":"https://v.vault.azure.net/secrets/b"}],"nextLink":null}"#),
    ])
    .await;
    let client = replay.client(ApiVersion::default());
    let options = GetSecretOptions {
        out_content_type: Some(ContentType::Pem),
        ..Default::default()
    };
    client.get_secret("s", Some(options)).await.unwrap();
    let names: Vec<String> = client
        .list_properties_of_secrets(Some(ListOptions {
            max_page_size: Some(3),
            ..Default::default()
        }))
        .map_ok(|p| p.name().to_owned())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names, ["a", "b"]);
    let seen: Vec<_> = replay.seen().into_iter().filter(|s| s.authorized).collect();
    let q = |i: usize| -> BTreeMap<String, String> { seen[i].query.iter().cloned().collect() };
    assert_eq!(seen[0].path, "/secrets/s/");
    assert_eq!(
        q(0).get("outContentType").map(String::as_str),
        Some("application/x-pem-file")
    );
    assert_eq!(
        q(0).get("api-version").map(String::as_str),
        Some("2026-04-01")
    );
    assert_eq!(q(1).get("maxresults").map(String::as_str), Some("3"));
    // The next page follows the link and keeps the page size.
    assert_eq!(q(2).get("$skiptoken").map(String::as_str), Some("p2"));
    assert_eq!(q(2).get("maxresults").map(String::as_str), Some("3"));
}

#[tokio::test]
async fn set_and_update_bodies_leave_out_what_is_not_given() {
    let replay = Replay::start(vec![
        call("PUT", "/secrets/s", 200, BUNDLE),
        call("PUT", "/secrets/s", 200, BUNDLE),
        call("PATCH", "/secrets/s/v1", 200, BUNDLE),
    ])
    .await;
    let client = replay.client(ApiVersion::default());
    client.set_secret("s", "plain", None).await.unwrap();
    let options = SetSecretOptions {
        tags: Some([("a".to_owned(), "b".to_owned())].into()),
        content_type: Some("text/plain".into()),
        ..Default::default()
    };
    client
        .set_secret("s", "tagged", Some(options))
        .await
        .unwrap();
    let update = UpdateSecretPropertiesOptions {
        version: Some("v1".into()),
        enabled: Some(false),
        ..Default::default()
    };
    client
        .update_secret_properties("s", Some(update))
        .await
        .unwrap();
    let bodies: Vec<Value> = replay
        .seen()
        .into_iter()
        .filter(|s| s.authorized)
        .map(|s| serde_json::from_slice(&s.body).unwrap())
        .collect();
    assert_eq!(bodies[0], serde_json::json!({"value": "plain"}));
    assert_eq!(
        bodies[1],
        serde_json::json!({"value": "tagged", "tags": {"a": "b"}, "contentType": "text/plain"})
    );
    assert_eq!(
        bodies[2],
        serde_json::json!({"attributes": {"enabled": false}})
    );
}
