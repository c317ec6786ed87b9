//! The generated secrets bindings against real service traffic.
//!
//! Every recorded response of an operation we generate is decoded with the
//! generated decoder (a list page into its page model, as the pager does;
//! error bodies as Key Vault's error body), every recorded request body is
//! decoded into its generated model and re-encoded field by field, and every
//! recorded URL is rebuilt with the generated request builder, whose success
//! statuses must include each recorded 2xx. The recordings sit beside the workspace in
//! `../shared/reference/recordings`; without them the test fails under CI
//! and is skipped, visibly, elsewhere.

use keyvault_testing::bindings::{self, ErrorBody, Route, Service, ok, parse, round_trip};

use crate::generated::secrets::*;

/// The generated operation a recorded call to `path` belongs to, if any.
fn route(method: &str, path: &str) -> Option<Route> {
    let s: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let owned = |v: &str| v.to_string();
    let e = |e: keyvault_core::Error| e.to_string();
    Some(match (method, s.as_slice()) {
        ("PUT", ["secrets", name]) => {
            let name = owned(name);
            Route {
                id: SET_SECRET,
                success: SET_SECRET_SUCCESS,
                build: Box::new(move |u, b| {
                    set_secret_request(u, &name, &parse::<SecretSetParameters>(b)?).map_err(e)
                }),
                decode: |r| ok(set_secret_response(r)),
                request: Some(round_trip::<SecretSetParameters>),
            }
        }
        ("DELETE", ["secrets", name]) => {
            let name = owned(name);
            Route {
                id: DELETE_SECRET,
                success: DELETE_SECRET_SUCCESS,
                build: Box::new(move |u, _| delete_secret_request(u, &name).map_err(e)),
                decode: |r| ok(delete_secret_response(r)),
                request: None,
            }
        }
        ("GET", ["secrets"]) => Route {
            id: GET_SECRETS,
            success: GET_SECRETS_SUCCESS,
            build: Box::new(move |u, _| get_secrets_request(u, None).map_err(e)),
            decode: |r| ok(r.json::<SecretListResult>()),
            request: None,
        },
        ("GET", ["secrets", name, "versions"]) => {
            let name = owned(name);
            Route {
                id: GET_SECRET_VERSIONS,
                success: GET_SECRET_VERSIONS_SUCCESS,
                build: Box::new(move |u, _| get_secret_versions_request(u, &name, None).map_err(e)),
                decode: |r| ok(r.json::<SecretListResult>()),
                request: None,
            }
        }
        // Some clients leave the version segment out for the latest version.
        ("GET", ["secrets", name] | ["secrets", name, ""]) => {
            let name = owned(name);
            Route {
                id: GET_SECRET,
                success: GET_SECRET_SUCCESS,
                build: Box::new(move |u, _| get_secret_request(u, &name, "", None).map_err(e)),
                decode: |r| ok(get_secret_response(r)),
                request: None,
            }
        }
        ("GET", ["secrets", name, version]) => {
            let (name, version) = (owned(name), owned(version));
            Route {
                id: GET_SECRET,
                success: GET_SECRET_SUCCESS,
                build: Box::new(move |u, _| {
                    get_secret_request(u, &name, &version, None).map_err(e)
                }),
                decode: |r| ok(get_secret_response(r)),
                request: None,
            }
        }
        ("PATCH", ["secrets", name, version]) => {
            let (name, version) = (owned(name), owned(version));
            Route {
                id: UPDATE_SECRET,
                success: UPDATE_SECRET_SUCCESS,
                build: Box::new(move |u, b| {
                    update_secret_request(u, &name, &version, &parse::<SecretUpdateParameters>(b)?)
                        .map_err(e)
                }),
                decode: |r| ok(update_secret_response(r)),
                request: Some(round_trip::<SecretUpdateParameters>),
            }
        }
        ("POST", ["secrets", "restore"]) => Route {
            id: RESTORE_SECRET,
            success: RESTORE_SECRET_SUCCESS,
            build: Box::new(move |u, b| {
                restore_secret_request(u, &parse::<SecretRestoreParameters>(b)?).map_err(e)
            }),
            decode: |r| ok(restore_secret_response(r)),
            request: Some(round_trip::<SecretRestoreParameters>),
        },
        ("POST", ["secrets", name, "backup"]) => {
            let name = owned(name);
            Route {
                id: BACKUP_SECRET,
                success: BACKUP_SECRET_SUCCESS,
                build: Box::new(move |u, _| backup_secret_request(u, &name).map_err(e)),
                decode: |r| ok(backup_secret_response(r)),
                request: None,
            }
        }
        ("GET", ["deletedsecrets"]) => Route {
            id: GET_DELETED_SECRETS,
            success: GET_DELETED_SECRETS_SUCCESS,
            build: Box::new(move |u, _| get_deleted_secrets_request(u, None).map_err(e)),
            decode: |r| ok(r.json::<DeletedSecretListResult>()),
            request: None,
        },
        ("GET", ["deletedsecrets", name]) => {
            let name = owned(name);
            Route {
                id: GET_DELETED_SECRET,
                success: GET_DELETED_SECRET_SUCCESS,
                build: Box::new(move |u, _| get_deleted_secret_request(u, &name).map_err(e)),
                decode: |r| ok(get_deleted_secret_response(r)),
                request: None,
            }
        }
        ("DELETE", ["deletedsecrets", name]) => {
            let name = owned(name);
            Route {
                id: PURGE_DELETED_SECRET,
                success: PURGE_DELETED_SECRET_SUCCESS,
                build: Box::new(move |u, _| purge_deleted_secret_request(u, &name).map_err(e)),
                decode: |_| Ok(()),
                request: None,
            }
        }
        ("POST", ["deletedsecrets", name, "recover"]) => {
            let name = owned(name);
            Route {
                id: RECOVER_DELETED_SECRET,
                success: RECOVER_DELETED_SECRET_SUCCESS,
                build: Box::new(move |u, _| recover_deleted_secret_request(u, &name).map_err(e)),
                decode: |r| ok(recover_deleted_secret_response(r)),
                request: None,
            }
        }
        _ => return None,
    })
}

#[test]
fn recorded_traffic_goes_through_the_generated_bindings() {
    let service = Service {
        // Only vaults: Managed HSM traffic belongs to the administration crate.
        other_host: |host| host.contains("managedhsm"),
        route,
        // The latest version may be asked for with or without a trailing
        // slash.
        same_path: |built, recorded| built.trim_end_matches('/') == recorded.trim_end_matches('/'),
    };
    let Some(seen) = bindings::replay::<ErrorBody>(&service) else {
        return;
    };
    assert!(
        seen.responses > 50 && seen.requests > 5 && seen.errors > 5,
        "too little traffic matched"
    );
}

#[test]
fn read_only_fields_stay_out_of_request_bodies() {
    let attributes: SecretAttributes = serde_json::from_str(
        r#"{"enabled":true,"exp":2527401600,"created":1648004321,"updated":1648004321,"recoveryLevel":"Recoverable","recoverableDays":90}"#,
    )
    .unwrap();
    assert_eq!(attributes.recoverable_days, Some(90));
    assert_eq!(
        attributes.recovery_level,
        Some(DeletionRecoveryLevel::Recoverable)
    );
    let body = SecretSetParameters {
        value: "v".into(),
        secret_attributes: Some(attributes),
        ..Default::default()
    };
    let json = serde_json::to_value(&body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"value": "v", "attributes": {"enabled": true, "exp": 2527401600_i64}})
    );
}

#[test]
fn unknown_enum_values_are_kept() {
    let level: DeletionRecoveryLevel = serde_json::from_str("\"SomethingNew\"").unwrap();
    assert_eq!(level, DeletionRecoveryLevel::Unknown("SomethingNew".into()));
    assert_eq!(serde_json::to_string(&level).unwrap(), "\"SomethingNew\"");
    let known: DeletionRecoveryLevel = serde_json::from_str("\"Recoverable+Purgeable\"").unwrap();
    assert_eq!(known, DeletionRecoveryLevel::RecoverablePurgeable);
}

#[test]
fn secret_values_are_not_in_debug_output() {
    let bundle: SecretBundle =
        serde_json::from_str(r#"{"value":"hunter2","id":"https://v/secrets/n/1"}"#).unwrap();
    let set = SecretSetParameters {
        value: "hunter2".into(),
        ..Default::default()
    };
    let restore = SecretRestoreParameters {
        secret_bundle_backup: b"hunter2".to_vec(),
    };
    for text in [
        format!("{bundle:?}"),
        format!("{set:?}"),
        format!("{restore:?}"),
    ] {
        assert!(!text.contains("hunter2") && !text.contains("104"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }
}

#[test]
fn backup_blobs_are_base64url_without_padding() {
    let restore = SecretRestoreParameters {
        secret_bundle_backup: vec![0xfb, 0xff],
    };
    assert_eq!(
        serde_json::to_string(&restore).unwrap(),
        r#"{"value":"-_8"}"#
    );
    let back: SecretRestoreParameters = serde_json::from_str(r#"{"value":"-_8="}"#).unwrap();
    assert_eq!(back.secret_bundle_backup, vec![0xfb, 0xff]);
}

#[test]
fn lists_are_paged_by_next_link() {
    use keyvault_core::paging::Paged;
    let page: SecretListResult = serde_json::from_str(
        r#"{"value":[{"id":"a"}],"nextLink":"https://v/secrets?$skiptoken=x"}"#,
    )
    .unwrap();
    let (items, next) = page.into_page();
    assert_eq!(items.len(), 1);
    assert_eq!(next.as_deref(), Some("https://v/secrets?$skiptoken=x"));
    let last: DeletedSecretListResult =
        serde_json::from_str(r#"{"value":[],"nextLink":null}"#).unwrap();
    assert_eq!(last.into_page(), (vec![], None));
}
