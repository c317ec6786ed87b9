//! Request shapes against real service traffic.
//!
//! Each recorded Managed HSM scenario (Python and Java SDK test recordings
//! in `../shared/reference/recordings`) is replayed by a small HTTP server
//! on loopback: it challenges the first request like the service, then
//! answers each request with the next recorded response. Our clients are
//! driven through the same scenario (the arguments come from the recorded
//! requests) and every request they send is compared with the recorded
//! one: method, path, query and JSON body. Without the recordings the test
//! fails under CI and is skipped, visibly, elsewhere.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use futures::TryStreamExt;
use keyvault_administration::{
    AdministrationClientOptions, ApiVersion, BackupAuth, ClientOptions,
    CreateRoleAssignmentOptions, KeyVaultAccessControlClient, KeyVaultBackupClient,
    KeyVaultPermission, KeyVaultRoleScope, KeyVaultSetting, KeyVaultSettingsClient, ListOptions,
    PollerOptions, RestoreOptions, RetryOptions, SetRoleDefinitionOptions,
};
use keyvault_testing::recordings::{self, Call};
use keyvault_testing::replay::{Exchange, MANAGED_HSM, Order, ReplayServer, Seen};
use serde_json::Value;

use crate::common::StaticToken;

fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    let path = path.split('?').next().unwrap_or("");
    // Java's recorder wrote the global scope as `///providers/...`.
    format!("/{}", path.trim_start_matches('/'))
}

fn query_of(url: &str) -> BTreeMap<String, String> {
    url::Url::parse(url)
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

/// Whether a request is a poll of a job's status.
fn is_status_poll(method: &str, path: &str) -> bool {
    method == "GET" && path.ends_with("/pending")
}

fn is_poll(call: &Call) -> bool {
    is_status_poll(&call.method, &path_of(&call.url))
}

/// Whether a recorded call is one of the administration operations (the
/// recordings also create and delete keys, which is not our client's work).
fn is_admin(call: &Call) -> bool {
    let p = path_of(&call.url);
    let segs: Vec<&str> = p.trim_matches('/').split('/').collect();
    p.contains("/providers/Microsoft.Authorization/")
        || matches!(
            segs.first().copied(),
            Some("backup" | "restore" | "prebackup" | "prerestore" | "settings")
        )
        || (segs.len() == 3 && segs[0] == "keys" && segs[2] == "restore")
}

/// The JSON of a recorded body, if it has one.
fn json(body: Option<&str>) -> Option<Value> {
    body.and_then(|b| serde_json::from_str(b).ok())
}

fn s(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

struct Clients {
    access: KeyVaultAccessControlClient,
    backup: KeyVaultBackupClient,
    settings: KeyVaultSettingsClient,
    /// The folder of the last backup, for restores recorded without bodies.
    last_folder: Option<String>,
}

fn auth(body: &Value) -> BackupAuth {
    let params = body.get("sasTokenParameters").unwrap_or(body);
    match s(params, "/token") {
        Some(t) => BackupAuth::sas_token(t),
        None if params.get("useManagedIdentity") == Some(&Value::Bool(true)) => {
            BackupAuth::ManagedIdentity
        }
        None => BackupAuth::sas_token("fake-sas"),
    }
}

fn fast() -> Option<PollerOptions> {
    Some(PollerOptions {
        frequency: Some(Duration::from_millis(5)),
        ..Default::default()
    })
}

fn permissions(v: Option<&Value>) -> Vec<KeyVaultPermission> {
    let list = v.and_then(Value::as_array).cloned().unwrap_or_default();
    list.iter()
        .map(|p| {
            let strings = |k: &str| {
                p.get(k).and_then(Value::as_array).map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
            };
            KeyVaultPermission {
                actions: strings("actions"),
                not_actions: strings("notActions"),
                data_actions: strings("dataActions")
                    .map(|a| a.iter().map(|s| s.as_str().into()).collect()),
                not_data_actions: strings("notDataActions")
                    .map(|a| a.iter().map(|s| s.as_str().into()).collect()),
            }
        })
        .collect()
}

/// Calls the client method that sends `call`'s request, with the arguments
/// the recording shows. Returns the status the client saw as an outcome:
/// `Ok(())`, or the error's status.
async fn drive(c: &mut Clients, call: &Call) -> Result<(), Option<u16>> {
    let path = path_of(&call.url);
    let query = query_of(&call.url);
    let request = json(call.request_body.as_deref()).unwrap_or(Value::Null);
    let response = json(call.response_body.as_deref()).unwrap_or(Value::Null);
    let status = |e: keyvault_administration::Error| Err(e.status().map(|s| s.as_u16()));
    if let Some((scope, rest)) = path.split_once("/providers/Microsoft.Authorization/") {
        let scope = KeyVaultRoleScope::from(if scope.is_empty() { "/" } else { scope });
        let list = ListOptions {
            filter: query.get("$filter").cloned(),
            ..Default::default()
        };
        let r = match (call.method.as_str(), rest.split_once('/')) {
            ("GET", None) if rest == "roleDefinitions" => c
                .access
                .list_role_definitions(scope, Some(list))
                .try_collect::<Vec<_>>()
                .await
                .map(drop),
            ("GET", None) => c
                .access
                .list_role_assignments(scope, Some(list))
                .try_collect::<Vec<_>>()
                .await
                .map(drop),
            ("GET", Some(("roleDefinitions", n))) => {
                c.access.get_role_definition(scope, n, None).await.map(drop)
            }
            ("GET", Some((_, n))) => c.access.get_role_assignment(scope, n, None).await.map(drop),
            ("DELETE", Some(("roleDefinitions", n))) => {
                c.access.delete_role_definition(scope, n, None).await
            }
            ("DELETE", Some((_, n))) => c.access.delete_role_assignment(scope, n, None).await,
            ("PUT", Some(("roleDefinitions", n))) => {
                let p = request.get("properties").cloned().unwrap_or(Value::Null);
                let options = SetRoleDefinitionOptions {
                    name: Some(n.to_owned()),
                    role_name: s(&p, "/roleName"),
                    description: s(&p, "/description"),
                    permissions: permissions(p.get("permissions")),
                    assignable_scopes: p
                        .get("assignableScopes")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(Value::as_str).map(Into::into).collect()),
                    ..Default::default()
                };
                c.access
                    .set_role_definition(scope, Some(options))
                    .await
                    .map(drop)
            }
            ("PUT", Some((_, n))) => {
                // Classic Java recordings have no request bodies: the
                // response names the same role and principal.
                let from = if request.is_null() {
                    &response
                } else {
                    &request
                };
                let role = s(from, "/properties/roleDefinitionId").unwrap_or_default();
                let principal = s(from, "/properties/principalId").unwrap_or_default();
                let options = CreateRoleAssignmentOptions {
                    name: Some(n.to_owned()),
                    ..Default::default()
                };
                c.access
                    .create_role_assignment(scope, role, &principal, Some(options))
                    .await
                    .map(drop)
            }
            _ => panic!(
                "{}: no client method sends {} {path}",
                call.source, call.method
            ),
        };
        return r.or_else(status);
    }
    let container = || {
        let params = request.get("sasTokenParameters").unwrap_or(&request);
        s(params, "/storageResourceUri")
            .unwrap_or_else(|| "https://storagename.blob.core.windows.net/backup".into())
    };
    let folder_url = |c: &Clients, field: &str| match s(&request, &format!("/{field}")) {
        Some(f) => format!("{}/{f}", container()),
        None => c
            .last_folder
            .clone()
            .unwrap_or_else(|| format!("{}/folder", container())),
    };
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let r = match (call.method.as_str(), segs.as_slice()) {
        ("POST", ["backup"]) => {
            match c
                .backup
                .begin_backup(&container(), auth(&request), fast())
                .await
            {
                Ok(p) => p.await.map(|b| c.last_folder = Some(b.folder_url)),
                Err(e) => Err(e),
            }
        }
        ("POST", ["prebackup"]) => match c
            .backup
            .begin_pre_backup(&container(), auth(&request), fast())
            .await
        {
            Ok(p) => p.await,
            Err(e) => Err(e),
        },
        ("PUT", ["restore"]) => {
            let f = folder_url(c, "folderToRestore");
            let o = RestoreOptions {
                frequency: Some(Duration::from_millis(5)),
                ..Default::default()
            };
            match c.backup.begin_restore(&f, auth(&request), Some(o)).await {
                Ok(p) => p.await,
                Err(e) => Err(e),
            }
        }
        ("PUT", ["prerestore"]) => {
            let f = folder_url(c, "folderToRestore");
            match c.backup.begin_pre_restore(&f, auth(&request), fast()).await {
                Ok(p) => p.await,
                Err(e) => Err(e),
            }
        }
        ("PUT", ["keys", key, "restore"]) => {
            let f = folder_url(c, "folder");
            let o = RestoreOptions {
                key_name: Some((*key).to_owned()),
                frequency: Some(Duration::from_millis(5)),
                ..Default::default()
            };
            match c.backup.begin_restore(&f, auth(&request), Some(o)).await {
                Ok(p) => p.await,
                Err(e) => Err(e),
            }
        }
        ("GET", ["settings"]) => c.settings.list_settings(None).await.map(drop),
        ("GET", ["settings", n]) => c.settings.get_setting(n, None).await.map(drop),
        ("PATCH", ["settings", n]) => {
            let value = s(&request, "/value").unwrap_or_default();
            c.settings
                .update_setting(&KeyVaultSetting::new(*n, value, None), None)
                .await
                .map(drop)
        }
        _ => panic!(
            "{}: no client method sends {} {path}",
            call.source, call.method
        ),
    };
    r.or_else(status)
}

/// Differences between what was recorded and what our client sent.
fn compare(call: &Call, seen: &Seen, out: &mut Vec<String>) {
    let at = &call.source;
    if seen.method != call.method {
        out.push(format!(
            "{at}: method {} instead of {}",
            seen.method, call.method
        ));
    }
    let recorded_path = path_of(&call.url);
    if seen.path != recorded_path {
        out.push(format!(
            "{at}: path {} instead of {recorded_path}",
            seen.path
        ));
    }
    let mut recorded = query_of(&call.url);
    let mut ours: BTreeMap<_, _> = seen.query.iter().cloned().collect();
    let recorded_version = recorded.remove("api-version");
    let our_version = ours.remove("api-version");
    // Python polls the status URL without api-version; we always send it.
    if recorded_version.is_some() && recorded_version != our_version {
        out.push(format!(
            "{at}: api-version {our_version:?} instead of {recorded_version:?}"
        ));
    }
    if our_version.is_none() {
        out.push(format!("{at}: no api-version"));
    }
    if recorded != ours {
        out.push(format!("{at}: query {ours:?} instead of {recorded:?}"));
    }
    if let Some(recorded) = json(call.request_body.as_deref()) {
        match &seen.json() {
            None => out.push(format!("{at}: no body, recorded {recorded}")),
            Some(ours) => {
                let mut diffs = Vec::new();
                recordings::compare("$", &recorded, ours, &mut diffs);
                // The 4.x Python client always sends useManagedIdentity;
                // these recordings predate it.
                diffs
                    .retain(|d| !d.contains("useManagedIdentity: recorded null, re-encoded false"));
                out.extend(diffs.into_iter().map(|d| format!("{at}: body {d}")));
            }
        }
    }
}

async fn replay(name: &str, calls: Vec<Call>) -> Vec<String> {
    let calls = Arc::new(calls);
    let version = calls
        .iter()
        .find_map(|c| query_of(&c.url).get("api-version").cloned())
        .unwrap_or_else(|| "7.3".into());
    let script = calls.iter().cloned().map(Exchange::from).collect();
    let order = Order::Recorded {
        is_poll: is_status_poll,
    };
    let server = ReplayServer::start_with(script, order, MANAGED_HSM).await;
    let base = server.base().to_owned();
    let options = AdministrationClientOptions {
        api_version: ApiVersion::from(version.as_str()),
        client_options: ClientOptions {
            allow_loopback_http: true,
            verify_challenge_resource: false,
            retry: RetryOptions {
                max_retries: 0,
                ..Default::default()
            },
            ..Default::default()
        },
    };
    let credential = Arc::new(StaticToken::default());
    let mut clients = Clients {
        access: KeyVaultAccessControlClient::new(&base, credential.clone(), Some(options.clone()))
            .unwrap(),
        backup: KeyVaultBackupClient::new(&base, credential.clone(), Some(options.clone()))
            .unwrap(),
        settings: KeyVaultSettingsClient::new(&base, credential, Some(options)).unwrap(),
        last_folder: None,
    };
    let mut problems = Vec::new();
    let mut i = 0;
    while i < calls.len() {
        if server.used(i) || is_poll(&calls[i]) {
            i += 1;
            continue;
        }
        let call = &calls[i];
        let outcome = drive(&mut clients, call).await;
        let expected_ok =
            (200..300).contains(&call.status) || (call.method == "DELETE" && call.status == 404);
        match outcome {
            Ok(()) if expected_ok => {}
            Err(Some(s)) if !expected_ok && s == call.status => {}
            other => problems.push(format!(
                "{}: {} {} ended {other:?}, recorded {}",
                call.source, call.method, call.url, call.status
            )),
        }
        if !server.used(i) {
            problems.push(format!(
                "{}: the client did not send {} {}",
                call.source, call.method, call.url
            ));
        }
        i += 1;
    }
    let unexpected = server.unexpected();
    problems.extend(unexpected.iter().map(|u| format!("{name}: {u}")));
    let served: Vec<(usize, Seen)> = server
        .seen()
        .into_iter()
        .filter_map(|seen| Some((seen.matched?, seen)))
        .collect();
    for (index, seen) in &served {
        compare(&calls[*index], seen, &mut problems);
    }
    assert!(!served.is_empty(), "{name}: the replay served nothing");
    println!("{name}: {} requests compared", served.len());
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_scenarios_send_the_recorded_requests() {
    let Some(calls) = recordings::load_all() else {
        return;
    };
    let mut by_file: BTreeMap<String, Vec<Call>> = BTreeMap::new();
    for call in calls {
        let file = call.file().to_owned();
        let ours = file.starts_with("test_access_control")
            || file.starts_with("test_backup_client")
            || file.starts_with("KeyVaultAccessControlClientTest")
            || file.starts_with("KeyVaultBackupClientTest")
            || file.starts_with("KeyVaultSettingsClientTest");
        if ours && call.status != 401 && is_admin(&call) {
            by_file.entry(file).or_default().push(call);
        }
    }
    assert!(
        by_file.len() >= 8,
        "administration recordings: {:?}",
        by_file.keys()
    );
    let mut problems = Vec::new();
    let mut compared = 0;
    for (name, calls) in by_file {
        compared += calls.iter().filter(|c| !is_poll(c)).count();
        problems.extend(replay(&name, calls).await);
    }
    assert!(compared >= 25, "only {compared} recorded operations");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
