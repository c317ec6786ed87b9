//! The plumbing both endpoints (vault and Managed HSM) share: running a
//! request on the blocking pool, authentication, path segments, answers for
//! unknown routes and methods, name checks, and loading and committing
//! records in the [`Store`].

use std::collections::BTreeMap;
use std::sync::Arc;

use http::{HeaderValue, header};

use crate::auth::Authenticator;
use crate::error::ServiceError;
use crate::server::{Caller, Handler, HttpResponse, Request, percent_decode};
use crate::store::{Op, Store, Table};
use crate::vault::model::valid_name;

type Result<T> = std::result::Result<T, ServiceError>;

/// An endpoint handler that runs `serve` on the blocking pool (durable
/// commits and key generation block).
pub(crate) fn blocking_handler<S: Send + Sync + 'static>(
    service: &Arc<S>,
    serve: fn(&Arc<S>, Request) -> HttpResponse,
) -> Handler {
    let service = service.clone();
    Arc::new(move |req: Request| {
        let service = service.clone();
        Box::pin(async move {
            match tokio::task::spawn_blocking(move || serve(&service, req)).await {
                Ok(resp) => resp,
                Err(_) => ServiceError::internal("The request failed.").into_response(),
            }
        })
    })
}

/// Checks a request's credentials: the caller (see [`Authenticator::check`]),
/// or the `401` answer with its challenge.
pub(crate) fn authenticate(
    auth: &Authenticator,
    req: &Request,
) -> std::result::Result<Option<String>, Box<HttpResponse>> {
    auth.check(&req.headers).map_err(|challenge| {
        let mut resp = challenge.error.into_response();
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge.www_authenticate);
        Box::new(resp)
    })
}

/// Marks `resp` with the caller, for the access log.
pub(crate) fn with_caller(mut resp: HttpResponse, caller: Option<String>) -> HttpResponse {
    if let Some(oid) = caller {
        resp.extensions_mut().insert(Caller(oid));
    }
    resp
}

/// The request path's segments, percent-decoded.
pub(crate) fn segments(path: &str) -> Vec<String> {
    path.trim_start_matches('/')
        .split('/')
        .map(|s| percent_decode(s, false))
        .collect()
}

/// `404` for a path no route serves.
pub(crate) fn no_route(req: &Request) -> ServiceError {
    ServiceError::not_found(format!(
        "The requested resource '{}' was not found.",
        req.path
    ))
}

/// `405` with the `Allow` header.
pub(crate) fn method_not_allowed(allow: &'static str) -> HttpResponse {
    let mut resp = ServiceError::new(
        405,
        "MethodNotAllowed",
        format!("The requested method is not allowed on this resource. Allowed: {allow}."),
    )
    .into_response();
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    resp
}

/// Checks an object name (`kind` is `secret` or `key`).
pub(crate) fn check_name(kind: &str, name: &str) -> Result<()> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(ServiceError::bad_parameter(format!(
            "The {kind} name '{name}' is invalid: names are 1 to 127 characters of 0-9, a-z, A-Z and '-'."
        )))
    }
}

/// Every readable record of `table`; unreadable ones are logged and skipped.
pub(crate) fn load<T: serde::de::DeserializeOwned>(
    store: &Store,
    table: Table,
) -> std::result::Result<BTreeMap<String, T>, crate::Error> {
    let mut out = BTreeMap::new();
    for (key, raw) in store.load(table)? {
        match serde_json::from_slice::<T>(&raw) {
            Ok(v) => {
                out.insert(key, v);
            }
            Err(e) => tracing::error!(key, error = %e, "skipping an unreadable stored record"),
        }
    }
    Ok(out)
}

/// A record as stored.
pub(crate) fn encode<T: serde::Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|_| ServiceError::internal("Cannot encode."))
}

/// Commits `ops` durably; a failure is a `500` that says nothing was stored.
pub(crate) fn commit(store: &Store, ops: Vec<Op>) -> Result<()> {
    store.commit(ops).map_err(|e| {
        tracing::error!(error = %e, "durable commit failed");
        ServiceError::internal("The change could not be stored.")
    })
}
