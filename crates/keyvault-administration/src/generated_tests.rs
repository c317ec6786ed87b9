//! The generated administration bindings against real service traffic.
//!
//! Every recorded Managed HSM response of an operation we generate is decoded
//! with the generated decoder (error bodies through `KeyVaultError`), every
//! recorded request body is decoded into its generated model and re-encoded
//! field by field, and every recorded URL is rebuilt with the generated
//! request builder. The recordings sit beside the workspace in
//! `../shared/reference/recordings`; without them the test says so and passes.

#![allow(clippy::print_stdout)]

#[path = "../../../xtask/tests/support/recordings.rs"]
mod recordings;

use keyvault_core::http::{HeaderMap, Request, Response, StatusCode};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::generated::backuprestore::*;
use crate::generated::common::KeyVaultError;
use crate::generated::rbac::*;
use crate::generated::settings::*;

/// Rebuilds a request from the base URL and the recorded body.
type Build = Box<dyn Fn(&url::Url, Option<&str>) -> Result<Request, String>>;
/// Decodes and re-encodes a request body, listing the differences.
type RoundTrip = fn(&str) -> Result<Vec<String>, String>;

/// What the test does with one recorded call of a generated operation.
struct Route {
    /// The operation id.
    id: &'static str,
    /// Status codes meaning success.
    success: &'static [StatusCode],
    /// Rebuilds the request from the recorded path and body.
    build: Build,
    /// Decodes a successful response body.
    decode: fn(&Response) -> keyvault_core::Result<()>,
    /// Decodes and re-encodes a request body.
    request: Option<RoundTrip>,
}

fn ok<T>(r: keyvault_core::Result<T>) -> keyvault_core::Result<()> {
    r.map(drop)
}

/// Decodes `body` into `T`, re-encodes it and lists the differences.
fn round_trip<T: DeserializeOwned + Serialize>(body: &str) -> Result<Vec<String>, String> {
    let recorded: Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    let model: T = serde_json::from_value(recorded.clone()).map_err(|e| e.to_string())?;
    let ours = serde_json::to_value(&model).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    recordings::compare("$", &recorded, &ours, &mut out);
    Ok(out)
}

fn parse<T: DeserializeOwned + Default>(body: Option<&str>) -> Result<T, String> {
    body.map(|b| serde_json::from_str(b).map_err(|e| e.to_string()))
        .unwrap_or_else(|| Ok(T::default()))
}

fn e(e: keyvault_core::Error) -> String {
    e.to_string()
}

/// Role-based access control routes: `{scope}/providers/Microsoft.Authorization/...`.
fn rbac_route(method: &str, scope: String, rest: &[&str]) -> Option<Route> {
    Some(match (method, rest) {
        ("GET", ["roleAssignments"]) => Route {
            id: ROLE_ASSIGNMENTS_LIST_FOR_SCOPE,
            success: ROLE_ASSIGNMENTS_LIST_FOR_SCOPE_SUCCESS,
            build: Box::new(move |u, _| {
                role_assignments_list_for_scope_request(u, &scope, None).map_err(e)
            }),
            decode: |r| ok(role_assignments_list_for_scope_response(r)),
            request: None,
        },
        ("GET", ["roleDefinitions"]) => Route {
            id: ROLE_DEFINITIONS_LIST,
            success: ROLE_DEFINITIONS_LIST_SUCCESS,
            build: Box::new(move |u, _| role_definitions_list_request(u, &scope, None).map_err(e)),
            decode: |r| ok(role_definitions_list_response(r)),
            request: None,
        },
        (_, [kind, name]) => {
            let name = name.to_string();
            match (method, *kind) {
                ("GET", "roleAssignments") => Route {
                    id: ROLE_ASSIGNMENTS_GET,
                    success: ROLE_ASSIGNMENTS_GET_SUCCESS,
                    build: Box::new(move |u, _| {
                        role_assignments_get_request(u, &scope, &name).map_err(e)
                    }),
                    decode: |r| ok(role_assignments_get_response(r)),
                    request: None,
                },
                ("PUT", "roleAssignments") => Route {
                    id: ROLE_ASSIGNMENTS_CREATE,
                    success: ROLE_ASSIGNMENTS_CREATE_SUCCESS,
                    build: Box::new(move |u, b| {
                        role_assignments_create_request(
                            u,
                            &scope,
                            &name,
                            &parse::<RoleAssignmentCreateParameters>(b)?,
                        )
                        .map_err(e)
                    }),
                    decode: |r| ok(role_assignments_create_response(r)),
                    request: Some(round_trip::<RoleAssignmentCreateParameters>),
                },
                ("DELETE", "roleAssignments") => Route {
                    id: ROLE_ASSIGNMENTS_DELETE,
                    success: ROLE_ASSIGNMENTS_DELETE_SUCCESS,
                    build: Box::new(move |u, _| {
                        role_assignments_delete_request(u, &scope, &name).map_err(e)
                    }),
                    decode: |r| ok(role_assignments_delete_response(r)),
                    request: None,
                },
                ("GET", "roleDefinitions") => Route {
                    id: ROLE_DEFINITIONS_GET,
                    success: ROLE_DEFINITIONS_GET_SUCCESS,
                    build: Box::new(move |u, _| {
                        role_definitions_get_request(u, &scope, &name).map_err(e)
                    }),
                    decode: |r| ok(role_definitions_get_response(r)),
                    request: None,
                },
                ("PUT", "roleDefinitions") => Route {
                    id: ROLE_DEFINITIONS_CREATE_OR_UPDATE,
                    success: ROLE_DEFINITIONS_CREATE_OR_UPDATE_SUCCESS,
                    build: Box::new(move |u, b| {
                        role_definitions_create_or_update_request(
                            u,
                            &scope,
                            &name,
                            &parse::<RoleDefinitionCreateParameters>(b)?,
                        )
                        .map_err(e)
                    }),
                    decode: |r| ok(role_definitions_create_or_update_response(r)),
                    request: Some(round_trip::<RoleDefinitionCreateParameters>),
                },
                ("DELETE", "roleDefinitions") => Route {
                    id: ROLE_DEFINITIONS_DELETE,
                    success: ROLE_DEFINITIONS_DELETE_SUCCESS,
                    build: Box::new(move |u, _| {
                        role_definitions_delete_request(u, &scope, &name).map_err(e)
                    }),
                    decode: |r| ok(role_definitions_delete_response(r)),
                    request: None,
                },
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// The generated operation a recorded call belongs to, if any.
fn route(method: &str, segments: &[&str]) -> Option<Route> {
    if let Some(i) = segments
        .windows(2)
        .position(|w| w == ["providers", "Microsoft.Authorization"])
    {
        let scope = format!("/{}", segments[..i].join("/"));
        return rbac_route(method, scope, &segments[i + 2..]);
    }
    let owned = |v: &str| v.to_string();
    Some(match (method, segments) {
        ("POST", ["backup"]) => Route {
            id: FULL_BACKUP,
            success: FULL_BACKUP_SUCCESS,
            build: Box::new(move |u, b| {
                full_backup_request(u, &parse::<SASTokenParameter>(b)?).map_err(e)
            }),
            decode: |r| ok(full_backup_response(r)),
            request: Some(round_trip::<SASTokenParameter>),
        },
        ("GET", ["backup", job, "pending"]) => {
            let job = owned(job);
            Route {
                id: FULL_BACKUP_STATUS,
                success: FULL_BACKUP_STATUS_SUCCESS,
                build: Box::new(move |u, _| full_backup_status_request(u, &job).map_err(e)),
                decode: |r| ok(full_backup_status_response(r)),
                request: None,
            }
        }
        ("POST", ["prebackup"]) => Route {
            id: PRE_FULL_BACKUP,
            success: PRE_FULL_BACKUP_SUCCESS,
            build: Box::new(move |u, b| {
                pre_full_backup_request(u, &parse::<PreBackupOperationParameters>(b)?).map_err(e)
            }),
            decode: |r| ok(pre_full_backup_response(r)),
            request: Some(round_trip::<PreBackupOperationParameters>),
        },
        ("PUT", ["restore"]) => Route {
            id: FULL_RESTORE_OPERATION,
            success: FULL_RESTORE_OPERATION_SUCCESS,
            build: Box::new(move |u, b| {
                full_restore_operation_request(u, &parse::<RestoreOperationParameters>(b)?)
                    .map_err(e)
            }),
            decode: |r| ok(full_restore_operation_response(r)),
            request: Some(round_trip::<RestoreOperationParameters>),
        },
        ("PUT", ["prerestore"]) => Route {
            id: PRE_FULL_RESTORE_OPERATION,
            success: PRE_FULL_RESTORE_OPERATION_SUCCESS,
            build: Box::new(move |u, b| {
                pre_full_restore_operation_request(u, &parse::<PreRestoreOperationParameters>(b)?)
                    .map_err(e)
            }),
            decode: |r| ok(pre_full_restore_operation_response(r)),
            request: Some(round_trip::<PreRestoreOperationParameters>),
        },
        // Full and selective restores share the status URL: decode both ways.
        ("GET", ["restore", job, "pending"]) => {
            let job = owned(job);
            Route {
                id: RESTORE_STATUS,
                success: RESTORE_STATUS_SUCCESS,
                build: Box::new(move |u, _| restore_status_request(u, &job).map_err(e)),
                decode: |r| {
                    ok(restore_status_response(r)).and(ok(selective_key_restore_status_response(r)))
                },
                request: None,
            }
        }
        ("PUT", ["keys", name, "restore"]) => {
            let name = owned(name);
            Route {
                id: SELECTIVE_KEY_RESTORE_OPERATION,
                success: SELECTIVE_KEY_RESTORE_OPERATION_SUCCESS,
                build: Box::new(move |u, b| {
                    selective_key_restore_operation_request(
                        u,
                        &name,
                        &parse::<SelectiveKeyRestoreOperationParameters>(b)?,
                    )
                    .map_err(e)
                }),
                decode: |r| ok(selective_key_restore_operation_response(r)),
                request: Some(round_trip::<SelectiveKeyRestoreOperationParameters>),
            }
        }
        ("GET", ["settings"]) => Route {
            id: GET_SETTINGS,
            success: GET_SETTINGS_SUCCESS,
            build: Box::new(move |u, _| get_settings_request(u).map_err(e)),
            decode: |r| ok(get_settings_response(r)),
            request: None,
        },
        ("GET", ["settings", name]) => {
            let name = owned(name);
            Route {
                id: GET_SETTING,
                success: GET_SETTING_SUCCESS,
                build: Box::new(move |u, _| get_setting_request(u, &name).map_err(e)),
                decode: |r| ok(get_setting_response(r)),
                request: None,
            }
        }
        ("PATCH", ["settings", name]) => {
            let name = owned(name);
            Route {
                id: UPDATE_SETTING,
                success: UPDATE_SETTING_SUCCESS,
                build: Box::new(move |u, b| {
                    update_setting_request(u, &name, &parse::<UpdateSettingRequest>(b)?).map_err(e)
                }),
                decode: |r| ok(update_setting_response(r)),
                request: Some(round_trip::<UpdateSettingRequest>),
            }
        }
        _ => return None,
    })
}

/// A path with runs of slashes collapsed and no trailing slash.
fn normalize(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    format!("/{}", segments.join("/"))
}

#[test]
fn recorded_traffic_goes_through_the_generated_bindings() {
    let Some(dir) = recordings::recordings_dir(env!("CARGO_MANIFEST_DIR")) else {
        println!("note: ../shared/reference/recordings is absent; skipping");
        return;
    };
    let calls = recordings::load(&dir).unwrap();
    let (mut responses, mut errors, mut requests, mut urls) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for call in &calls {
        let Ok(url) = url::Url::parse(&call.url) else {
            continue;
        };
        // Only Managed HSMs: vault traffic belongs to the secrets crate.
        if url.host_str().is_some_and(|h| h.contains(".vault.")) {
            continue;
        }
        let segments: Vec<&str> = url.path().split('/').filter(|s| !s.is_empty()).collect();
        let Some(route) = route(&call.method, &segments) else {
            continue;
        };
        let base = url::Url::parse(&format!(
            "{}://{}",
            url.scheme(),
            url.host_str().unwrap_or("")
        ))
        .unwrap();
        let fail = |failures: &mut Vec<String>, what: String| {
            failures.push(format!("{} ({}): {what}", call.source, route.id))
        };

        match (route.build)(&base, call.request_body.as_deref()) {
            Ok(request) => {
                urls += 1;
                if normalize(request.url().path()) != normalize(url.path()) {
                    fail(
                        &mut failures,
                        format!("built {}, recorded {}", request.url().path(), url.path()),
                    );
                }
                assert!(
                    request.url().query_pairs().all(|(k, _)| k != "api-version"),
                    "the pipeline adds api-version"
                );
            }
            Err(e) => fail(&mut failures, format!("cannot build the request: {e}")),
        }
        if let (Some(check), Some(body)) = (route.request, &call.request_body) {
            requests += 1;
            match check(body) {
                Ok(diffs) if diffs.is_empty() => {}
                Ok(diffs) => fail(
                    &mut failures,
                    format!("request body re-encodes differently: {diffs:?}"),
                ),
                Err(e) => fail(&mut failures, format!("request body does not decode: {e}")),
            }
        }
        let Some(body) = &call.response_body else {
            continue;
        };
        let status = StatusCode::from_u16(call.status).unwrap();
        let response = Response::new(
            status,
            HeaderMap::new(),
            bytes::Bytes::from(body.clone().into_bytes()),
        );
        if route.success.contains(&status) {
            responses += 1;
            if let Err(e) = (route.decode)(&response) {
                fail(&mut failures, format!("response does not decode: {e}"));
            }
        } else if body.starts_with('{') {
            errors += 1;
            if let Err(e) = response.json::<KeyVaultError>() {
                fail(&mut failures, format!("error body does not decode: {e}"));
            }
        }
    }
    println!(
        "decoded {responses} responses and {errors} error bodies, re-encoded {requests} request bodies, rebuilt {urls} URLs"
    );
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(responses > 30 && requests > 5, "too little traffic matched");
}

#[test]
fn role_scope_is_inserted_unencoded() {
    let base = url::Url::parse("https://myhsm.managedhsm.azure.net").unwrap();
    let keys = role_assignments_list_for_scope_request(&base, "/keys", Some("atScope()")).unwrap();
    assert_eq!(
        keys.url().as_str(),
        "https://myhsm.managedhsm.azure.net/keys/providers/Microsoft.Authorization/roleAssignments?%24filter=atScope%28%29"
    );
    let global = role_definitions_get_request(&base, RoleScope::Global.as_str(), "a-b").unwrap();
    assert_eq!(
        global.url().path(),
        "/providers/Microsoft.Authorization/roleDefinitions/a-b"
    );
}

#[test]
fn sas_tokens_are_not_in_debug_output() {
    let body = SASTokenParameter {
        storage_resource_uri: "https://s/c".into(),
        token: Some("sv=secret".into()),
        use_managed_identity: None,
    };
    let text = format!("{body:?}");
    assert!(
        !text.contains("sv=secret") && text.contains("<redacted>"),
        "{text}"
    );
}

#[test]
fn long_running_operations_are_marked() {
    for via in [
        FULL_BACKUP_FINAL_STATE_VIA,
        PRE_FULL_BACKUP_FINAL_STATE_VIA,
        FULL_RESTORE_OPERATION_FINAL_STATE_VIA,
        PRE_FULL_RESTORE_OPERATION_FINAL_STATE_VIA,
        SELECTIVE_KEY_RESTORE_OPERATION_FINAL_STATE_VIA,
    ] {
        assert_eq!(via, "azure-async-operation");
    }
    assert_eq!(FULL_BACKUP_SUCCESS, &[StatusCode::ACCEPTED]);
}
