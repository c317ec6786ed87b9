//! The generated administration bindings against real service traffic.
//!
//! Every recorded Managed HSM response of an operation we generate is decoded
//! with the generated decoder or into the model the client decodes it as
//! (error bodies as Key Vault's error body), every recorded request body is
//! decoded into its generated model and re-encoded field by field, and every
//! recorded URL is rebuilt with the generated request builder, whose success
//! statuses must include each recorded 2xx. The recordings sit beside the workspace in
//! `../shared/reference/recordings`; without them the test fails under CI
//! and is skipped, visibly, elsewhere.

use keyvault_core::http::{Method, PathParam, Request, expand_path};
use keyvault_testing::bindings::{self, ErrorBody, Route, Service, ok, parse, round_trip};

use crate::generated::backuprestore::*;
use crate::generated::rbac::*;
use crate::generated::settings::*;

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
            decode: |r| ok(r.json::<RoleAssignmentListResult>()),
            request: None,
        },
        ("GET", ["roleDefinitions"]) => Route {
            id: ROLE_DEFINITIONS_LIST,
            success: ROLE_DEFINITIONS_LIST_SUCCESS,
            build: Box::new(move |u, _| role_definitions_list_request(u, &scope, None).map_err(e)),
            decode: |r| ok(r.json::<RoleDefinitionListResult>()),
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
                    decode: |r| ok(r.json::<RoleAssignment>()),
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
                    decode: |r| ok(r.json::<RoleDefinition>()),
                    request: None,
                },
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// A job status request. No builder is generated for the status operations:
/// the poller follows the `Azure-AsyncOperation` URL the service gives, and
/// decodes every status body as a `FullBackupOperation`, as the routes do.
fn status_request(base: &url::Url, template: &str, job: &str) -> Result<Request, String> {
    let url = expand_path(base, template, &[PathParam::encoded("jobId", job)]).map_err(e)?;
    Ok(Request::new(Method::GET, url))
}

/// The generated operation a recorded call to `path` belongs to, if any.
fn route(method: &str, path: &str) -> Option<Route> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let segments = segments.as_slice();
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
            decode: |r| ok(r.json::<FullBackupOperation>()),
            request: Some(round_trip::<SASTokenParameter>),
        },
        ("GET", ["backup", job, "pending"]) => {
            let job = owned(job);
            Route {
                id: FULL_BACKUP_STATUS,
                success: &[200],
                build: Box::new(move |u, _| status_request(u, "/backup/{jobId}/pending", &job)),
                decode: |r| ok(r.json::<FullBackupOperation>()),
                request: None,
            }
        }
        ("POST", ["prebackup"]) => Route {
            id: PRE_FULL_BACKUP,
            success: PRE_FULL_BACKUP_SUCCESS,
            build: Box::new(move |u, b| {
                pre_full_backup_request(u, &parse::<PreBackupOperationParameters>(b)?).map_err(e)
            }),
            decode: |r| ok(r.json::<FullBackupOperation>()),
            request: Some(round_trip::<PreBackupOperationParameters>),
        },
        ("PUT", ["restore"]) => Route {
            id: FULL_RESTORE_OPERATION,
            success: FULL_RESTORE_OPERATION_SUCCESS,
            build: Box::new(move |u, b| {
                full_restore_operation_request(u, &parse::<RestoreOperationParameters>(b)?)
                    .map_err(e)
            }),
            decode: |r| ok(r.json::<FullBackupOperation>()),
            request: Some(round_trip::<RestoreOperationParameters>),
        },
        ("PUT", ["prerestore"]) => Route {
            id: PRE_FULL_RESTORE_OPERATION,
            success: PRE_FULL_RESTORE_OPERATION_SUCCESS,
            build: Box::new(move |u, b| {
                pre_full_restore_operation_request(u, &parse::<PreRestoreOperationParameters>(b)?)
                    .map_err(e)
            }),
            decode: |r| ok(r.json::<FullBackupOperation>()),
            request: Some(round_trip::<PreRestoreOperationParameters>),
        },
        // Full and selective restores share the status URL.
        ("GET", ["restore", job, "pending"]) => {
            let job = owned(job);
            Route {
                id: RESTORE_STATUS,
                success: &[200],
                build: Box::new(move |u, _| status_request(u, "/restore/{jobId}/pending", &job)),
                decode: |r| ok(r.json::<FullBackupOperation>()),
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
                decode: |r| ok(r.json::<FullBackupOperation>()),
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
    let service = Service {
        // Only Managed HSMs: vault traffic belongs to the secrets crate.
        other_host: |host| host.contains(".vault."),
        route,
        same_path: |built, recorded| normalize(built) == normalize(recorded),
    };
    let Some(seen) = bindings::replay::<ErrorBody>(&service) else {
        return;
    };
    assert!(
        seen.responses > 30 && seen.requests > 5,
        "too little traffic matched"
    );
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
fn long_running_operations_expect_202() {
    for success in [
        FULL_BACKUP_SUCCESS,
        PRE_FULL_BACKUP_SUCCESS,
        FULL_RESTORE_OPERATION_SUCCESS,
        PRE_FULL_RESTORE_OPERATION_SUCCESS,
        SELECTIVE_KEY_RESTORE_OPERATION_SUCCESS,
    ] {
        assert_eq!(success, &[202]);
    }
}
