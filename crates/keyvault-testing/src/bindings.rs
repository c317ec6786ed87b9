//! The part of the service crates' generated-binding tests that is the same
//! for every service: what a test does with a recorded call of a generated
//! operation ([`Route`]), and the replay of every recorded call through its
//! route ([`replay`]).
//!
//! Used by `crates/*/src/generated_tests.rs`. Each crate keeps what is its
//! own: the routes of its operations, which hosts are its service's, how its
//! paths compare, and how much traffic must match.

use keyvault_core::{
    ServiceError,
    http::{HeaderMap, Request, Response, StatusCode},
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::recordings;

/// Rebuilds a request from the base URL and the recorded body.
pub type Build = Box<dyn Fn(&url::Url, Option<&str>) -> Result<Request, String>>;
/// Decodes and re-encodes a request body, listing the differences.
pub type RoundTrip = fn(&str) -> Result<Vec<String>, String>;

/// What the test does with one recorded call of a generated operation.
pub struct Route {
    /// The operation id.
    pub id: &'static str,
    /// Status codes meaning success (the generated `*_SUCCESS`).
    pub success: &'static [u16],
    /// Rebuilds the request from the recorded path and body.
    pub build: Build,
    /// Decodes a successful response body.
    pub decode: fn(&Response) -> keyvault_core::Result<()>,
    /// Decodes and re-encodes a request body.
    pub request: Option<RoundTrip>,
}

/// The outcome of a decoder without its value.
///
/// # Errors
/// The decoder's error.
pub fn ok<T>(r: keyvault_core::Result<T>) -> keyvault_core::Result<()> {
    r.map(drop)
}

/// Decodes `body` into `T`, re-encodes it and lists the differences.
///
/// # Errors
/// The body is not JSON, or not a `T`.
pub fn round_trip<T: DeserializeOwned + Serialize>(body: &str) -> Result<Vec<String>, String> {
    let recorded: Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    let model: T = serde_json::from_value(recorded.clone()).map_err(|e| e.to_string())?;
    let ours = serde_json::to_value(&model).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    recordings::compare("$", &recorded, &ours, &mut out);
    Ok(out)
}

/// The recorded body decoded as `T`; no body is `T::default()`.
///
/// # Errors
/// The body is not a `T`.
pub fn parse<T: DeserializeOwned + Default>(body: Option<&str>) -> Result<T, String> {
    body.map(|b| serde_json::from_str(b).map_err(|e| e.to_string()))
        .unwrap_or_else(|| Ok(T::default()))
}

/// Key Vault's error body, `{"error": {...}}`, for [`replay`].
#[derive(serde::Deserialize)]
pub struct ErrorBody {
    /// The service error.
    pub error: Option<ServiceError>,
}

/// The service's side of a replay.
pub struct Service {
    /// Whether a recorded host is another service's (its calls are passed over).
    pub other_host: fn(&str) -> bool,
    /// The route of a recorded call, from its method and URL path.
    pub route: fn(&str, &str) -> Option<Route>,
    /// Whether the path a builder made (first) is the recorded one (second).
    pub same_path: fn(&str, &str) -> bool,
}

/// How much of the recorded traffic went through the bindings.
pub struct Replayed {
    /// Successful responses decoded.
    pub responses: usize,
    /// Error bodies decoded as `E`.
    pub errors: usize,
    /// Request bodies decoded and re-encoded.
    pub requests: usize,
}

/// Replays every recorded call of `service` through its route: the URL is
/// rebuilt (without `api-version`, which the pipeline adds), the request body
/// re-encoded, a success response decoded, and a JSON error body decoded as
/// `E`. `None` when the recordings are missing outside CI (see
/// [`reference`](mod@crate::reference)).
///
/// # Panics
/// On any difference, and when the recordings are missing under CI.
#[allow(clippy::print_stdout)]
pub fn replay<E: DeserializeOwned>(service: &Service) -> Option<Replayed> {
    let calls = recordings::load_all()?;
    let (mut responses, mut errors, mut requests, mut urls) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for call in &calls {
        let Ok(url) = url::Url::parse(&call.url) else {
            continue;
        };
        if url.host_str().is_some_and(service.other_host) {
            continue;
        }
        let Some(route) = (service.route)(&call.method, url.path()) else {
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
                if !(service.same_path)(request.url().path(), url.path()) {
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
        let status = StatusCode::from_u16(call.status).unwrap();
        if status.is_success() && !route.success.contains(&call.status) {
            fail(
                &mut failures,
                format!(
                    "recorded {status}, which the pipeline rejects: the spec lists {:?}",
                    route.success
                ),
            );
        }
        let Some(body) = &call.response_body else {
            continue;
        };
        let response = Response::new(
            status,
            HeaderMap::new(),
            bytes::Bytes::from(body.clone().into_bytes()),
        );
        if route.success.contains(&call.status) {
            responses += 1;
            if let Err(e) = (route.decode)(&response) {
                fail(&mut failures, format!("response does not decode: {e}"));
            }
        } else if body.starts_with('{') {
            errors += 1;
            if let Err(e) = response.json::<E>() {
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
    Some(Replayed {
        responses,
        errors,
        requests,
    })
}
