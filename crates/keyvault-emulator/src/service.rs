//! The front door of both endpoints (vault and Managed HSM) and their route
//! tables. [`endpoint`] runs each request on the blocking pool and does,
//! once and in this order, what no service repeats: the managed-identity
//! routes, the `/_emulator/` admin routes, authentication, the `api-version` check and the purge sweep.
//! Then the service's [`Route`] table picks the handler, and the caller is
//! tagged on the answer for the access log.

use std::sync::Arc;

use http::{HeaderValue, header};
use serde_json::Value;

use crate::admin::{self, Admin};
use crate::api_version::ApiVersion;
use crate::auth::Authenticator;
use crate::error::{ServiceError, json_response};
use crate::identity::Identities;
use crate::objects::request::check_name;
use crate::server::{Caller, Handler, HttpResponse, Request, percent_decode};

pub(crate) type Result<T> = std::result::Result<T, ServiceError>;

/// A request as a handler sees it.
pub(crate) struct Ctx<'r> {
    pub(crate) req: &'r Request,
    pub(crate) api: ApiVersion,
    /// The caller's object id (JWT authentication only).
    pub(crate) caller: Option<&'r str>,
    /// The path's `{...}` segments, percent-decoded, in order.
    pub(crate) params: Vec<String>,
}

impl Ctx<'_> {
    /// The first path parameter (the object name of most routes).
    pub(crate) fn name(&self) -> &str {
        self.params.first().map_or("", String::as_str)
    }

    /// The second path parameter (a version).
    pub(crate) fn version(&self) -> &str {
        self.params.get(1).map_or("", String::as_str)
    }
}

/// One route: method, path pattern (`{x}` is one segment, non-empty for
/// `{name}`; a pattern ending in `/` also matches without it), the data
/// action a caller needs (`""`: none, or checked by the handler), and the
/// handler.
pub(crate) type Route<S> = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Arc<S>, &Ctx<'_>) -> Result<HttpResponse>,
);

/// A service behind the front door.
pub(crate) trait Service: Send + Sync + Sized + 'static {
    /// What `{name}` in a route names (`secret` or `key`), for name checks.
    const NOUN: &'static str;
    /// The routes, tried in order.
    const ROUTES: &'static [Route<Self>];

    /// Purges what is due.
    fn sweep(&self);

    /// Whether this request may come without an `api-version`.
    fn version_optional(&self, _req: &Request) -> bool {
        false
    }

    /// Checks that the caller may perform `action` on the route's scope.
    fn check_access(&self, _ctx: &Ctx<'_>, _pattern: &str, _action: &'static str) -> Result<()> {
        Ok(())
    }

    /// Serves a request that passed the front door (by default, from the
    /// route table).
    fn serve(self: &Arc<Self>, ctx: Ctx<'_>) -> Result<HttpResponse> {
        route(self, ctx)
    }
}

/// The endpoint handler of `service`.
pub(crate) fn endpoint<S: Service>(
    service: Arc<S>,
    admin: Option<Arc<Admin>>,
    identities: Arc<Identities>,
    auth: Authenticator,
) -> Handler {
    let front = Arc::new((service, admin, identities, auth));
    Arc::new(move |req: Request| {
        let front = front.clone();
        Box::pin(async move {
            let answer = tokio::task::spawn_blocking(move || {
                let (service, admin, identities, auth) = &*front;
                (identities.handle(&req))
                    .unwrap_or_else(|| front_door(service, admin.as_deref(), auth, &req))
            });
            answer
                .await
                .unwrap_or_else(|_| ServiceError::internal("The request failed.").into_response())
        })
    })
}

fn front_door<S: Service>(
    service: &Arc<S>,
    admin: Option<&Admin>,
    auth: &Authenticator,
    req: &Request,
) -> HttpResponse {
    let admin = admin.filter(|_| req.path.starts_with(admin::PREFIX));
    // The clock routes are open; the export holds every secret value and
    // key, so it takes the same token as the service.
    if let Some(admin) = admin.filter(|_| !admin::EXPORT.eq_ignore_ascii_case(&req.path)) {
        return admin.handle(req);
    }
    let caller = match auth.check(&req.headers) {
        Ok(caller) => caller,
        Err(challenge) => {
            let mut resp = challenge.error.into_response();
            (resp.headers_mut()).insert(header::WWW_AUTHENTICATE, challenge.www_authenticate);
            return resp;
        }
    };
    if let Some(admin) = admin {
        return match admin.may_export(caller.as_deref()) {
            Ok(()) => admin.handle(req),
            Err(e) => e.into_response(),
        };
    }
    let raw = req.query("api-version");
    let api = match raw {
        None if service.version_optional(req) => Ok(ApiVersion::LATEST),
        _ => ApiVersion::parse(raw),
    };
    let mut resp = match api {
        Ok(api) => {
            service.sweep();
            let ctx = Ctx {
                req,
                api,
                caller: caller.as_deref(),
                params: Vec::new(),
            };
            service
                .serve(ctx)
                .unwrap_or_else(ServiceError::into_response)
        }
        Err(e) => e.into_response(),
    };
    if let Some(oid) = caller {
        resp.extensions_mut().insert(Caller(oid));
    }
    resp
}

/// The `{...}` segments of `path` when it matches `pattern`.
fn matches(pattern: &str, path: &[String]) -> Option<Vec<String>> {
    let (pattern, slash) = match pattern.strip_suffix('/') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let pattern: Vec<&str> = pattern.trim_start_matches('/').split('/').collect();
    let path = match path {
        [rest @ .., last] if slash && last.is_empty() && rest.len() == pattern.len() => rest,
        _ => path,
    };
    if path.len() != pattern.len() {
        return None;
    }
    let mut params = Vec::new();
    for (p, s) in pattern.iter().zip(path) {
        if p.starts_with('{') && (*p != "{name}" || !s.is_empty()) {
            params.push(s.clone());
        } else if p != s {
            return None;
        }
    }
    Some(params)
}

/// Serves `ctx` from the service's route table: the first route whose method
/// and pattern match (a `{name}` checked as an object name, then the action
/// authorized); a path that matches only with other methods is a `405`
/// naming those of the last route group it matches; anything else a `404`.
pub(crate) fn route<S: Service>(service: &Arc<S>, mut ctx: Ctx<'_>) -> Result<HttpResponse> {
    let path: Vec<String> = (ctx.req.path.trim_start_matches('/').split('/'))
        .map(|s| percent_decode(s, false))
        .collect();
    let mut allow: Option<&str> = None;
    for (method, pattern, action, handler) in S::ROUTES {
        let Some(params) = matches(pattern, &path) else {
            continue;
        };
        if *method != ctx.req.method.as_str() {
            allow = Some(pattern);
            continue;
        }
        ctx.params = params;
        if pattern.contains("{name}") {
            check_name(S::NOUN, ctx.name())?;
        }
        service.check_access(&ctx, pattern, action)?;
        return handler(service, &ctx);
    }
    match allow {
        Some(pattern) => {
            let methods: Vec<&str> = (S::ROUTES.iter())
                .filter(|r| r.1 == pattern)
                .map(|r| r.0)
                .collect();
            Ok(method_not_allowed(&methods.join(", ")))
        }
        None => Err(no_route(ctx.req)),
    }
}

/// `404` for a path no route serves.
pub(crate) fn no_route(req: &Request) -> ServiceError {
    ServiceError::not_found(format!(
        "The requested resource '{}' was not found.",
        req.path
    ))
}

/// `405` with the `Allow` header.
pub(crate) fn method_not_allowed(allow: &str) -> HttpResponse {
    let mut resp = ServiceError::new(
        405,
        "MethodNotAllowed",
        format!("The requested method is not allowed on this resource. Allowed: {allow}."),
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(allow) {
        resp.headers_mut().insert(header::ALLOW, v);
    }
    resp
}

/// A `200` with `v` as its JSON body.
pub(crate) fn ok(v: impl Into<Value>) -> Result<HttpResponse> {
    Ok(json_response(200, &v.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let p = |s: &str| -> Vec<String> { s.split('/').map(str::to_owned).collect() };
        assert_eq!(matches("/secrets/", &p("secrets")), Some(vec![]));
        assert_eq!(matches("/secrets/", &p("secrets/")), Some(vec![]));
        assert_eq!(matches("/secrets/{name}", &p("secrets/")), None);
        assert_eq!(
            matches("/secrets/{name}/{v}", &p("secrets/a/b")),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            matches("/secrets/{name}/versions", &p("secrets/a/versions/")),
            None
        );
    }
}
