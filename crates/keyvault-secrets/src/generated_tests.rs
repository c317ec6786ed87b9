//! The generated secrets bindings against real service traffic.
//!
//! Every recorded response of an operation we generate is decoded with the
//! generated decoder (error bodies through `KeyVaultError`), every recorded
//! request body is decoded into its generated model and re-encoded field by
//! field, and every recorded URL is rebuilt with the generated request
//! builder. The recordings sit beside the workspace in
//! `../shared/reference/recordings`; without them the test says so and passes.

#![allow(clippy::print_stdout)]

#[path = "../../../xtask/tests/support/recordings.rs"]
mod recordings;

use keyvault_core::http::{HeaderMap, Request, Response, StatusCode};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::generated::common::KeyVaultError;
use crate::generated::secrets::*;

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

/// The generated operation a recorded call belongs to, if any.
fn route(method: &str, segments: &[String]) -> Option<Route> {
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
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
            decode: |r| ok(get_secrets_response(r)),
            request: None,
        },
        ("GET", ["secrets", name, "versions"]) => {
            let name = owned(name);
            Route {
                id: GET_SECRET_VERSIONS,
                success: GET_SECRET_VERSIONS_SUCCESS,
                build: Box::new(move |u, _| get_secret_versions_request(u, &name, None).map_err(e)),
                decode: |r| ok(get_secret_versions_response(r)),
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
            decode: |r| ok(get_deleted_secrets_response(r)),
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
        // Only vaults: Managed HSM traffic belongs to the administration crate.
        if url.host_str().is_some_and(|h| h.contains("managedhsm")) {
            continue;
        }
        let segments: Vec<String> = url
            .path()
            .trim_start_matches('/')
            .split('/')
            .map(str::to_string)
            .collect();
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

        // The URL the generated builder makes is the recorded one (the
        // latest version may be asked for with or without a trailing slash).
        match (route.build)(&base, call.request_body.as_deref()) {
            Ok(request) => {
                urls += 1;
                if request.url().path().trim_end_matches('/') != url.path().trim_end_matches('/') {
                    fail(
                        &mut failures,
                        format!("built {}, recorded {}", request.url().path(), url.path()),
                    );
                }
                let query: Vec<_> = request.url().query_pairs().collect();
                assert!(
                    query.iter().all(|(k, _)| k != "api-version"),
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
    assert!(
        responses > 50 && requests > 5 && errors > 5,
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
