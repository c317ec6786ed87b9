//! One loopback HTTP server that answers with recorded traffic, for the
//! request-shape tests of the client crates.
//!
//! The server plays a script of [`Exchange`]s. A request without an
//! `Authorization` header gets the service's 401 challenge. Any other request
//! is paired with a recorded exchange (how, [`Order`] says), answered with its
//! status and body (the service's hosts in the body rewritten to the
//! server's), and kept as [`Seen`] for the test to compare with the
//! recording.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::recordings::Call;

/// The challenge resource of Key Vault.
pub const VAULT: &str = "https://vault.azure.net";
/// The challenge resource of Managed HSM.
pub const MANAGED_HSM: &str = "https://managedhsm.azure.net";

/// One recorded (or scripted) exchange: what is expected, and what to answer.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// Where it comes from (`file#3`, or a word for scripted ones).
    pub source: String,
    /// The HTTP method.
    pub method: String,
    /// The path, as recorded (a leading run of slashes counts as one).
    pub path: String,
    /// The query pairs, as recorded.
    pub query: Vec<(String, String)>,
    /// The request body, when one was recorded.
    pub request_body: Option<String>,
    /// The status to answer with.
    pub status: u16,
    /// The body to answer with.
    pub response_body: Option<String>,
}

impl Exchange {
    /// A scripted exchange: a request `method url` (a path with a query is
    /// enough) answered with `status` and `body` (none when empty).
    pub fn scripted(method: &str, url: &str, status: u16, body: &str) -> Self {
        let (path, query) = split_url(url);
        Self {
            source: "scripted".into(),
            method: method.into(),
            path,
            query,
            request_body: None,
            status,
            response_body: (!body.is_empty()).then(|| body.to_owned()),
        }
    }
}

impl From<Call> for Exchange {
    fn from(call: Call) -> Self {
        let (path, query) = split_url(&call.url);
        Self {
            source: call.source,
            method: call.method,
            path,
            query,
            request_body: call.request_body,
            status: call.status,
            response_body: call.response_body,
        }
    }
}

/// The path and the query pairs of `url`, which may be a full URL or a path
/// with a query. A leading run of slashes counts as one (Java's recorder
/// wrote the global scope as `///providers/...`).
///
/// # Panics
/// When `url` is not a URL.
pub fn split_url(url: &str) -> (String, Vec<(String, String)>) {
    let parsed = url::Url::parse(url)
        .or_else(|_| url::Url::parse(&format!("http://x{url}")))
        .expect("a recorded URL");
    let query = parsed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    (format!("/{}", parsed.path().trim_start_matches('/')), query)
}

/// The page token of a query (`$skiptoken`), which tells pages of one
/// listing apart.
pub fn page_token(query: &[(String, String)]) -> Option<&str> {
    query
        .iter()
        .find(|(k, _)| k == "$skiptoken")
        .map(|(_, v)| v.as_str())
}

/// How a request is paired with a recorded exchange.
#[derive(Clone, Copy, Debug)]
pub enum Order {
    /// The first unused exchange of the same method, path (a trailing slash
    /// aside) and page token; no such exchange is a 400 `NoRecordedCall`.
    Matching,
    /// The next exchange in recorded order, whatever it is (the test compares
    /// them), passing over polls (`is_poll(method, path)`) that the request
    /// is not. A `202 Accepted` answer names the next recorded poll, on this
    /// server, in `Azure-AsyncOperation`. A request after the last exchange
    /// is a 418 and is listed in [`ReplayServer::unexpected`].
    Recorded {
        /// Whether an exchange of this method and path is a status poll.
        is_poll: fn(&str, &str) -> bool,
    },
}

/// A request the server received.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The HTTP method.
    pub method: String,
    /// The path, as sent.
    pub path: String,
    /// The query pairs, as sent.
    pub query: Vec<(String, String)>,
    /// The body, as sent.
    pub body: Vec<u8>,
    /// Whether it carried an `Authorization` header.
    pub authorized: bool,
    /// The index of the exchange it was answered with.
    pub matched: Option<usize>,
}

impl Seen {
    /// The body as JSON: `None` when empty, the string `<not JSON>` when it
    /// is not JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        (!self.body.is_empty()).then(|| {
            serde_json::from_slice(&self.body)
                .unwrap_or(serde_json::Value::String("<not JSON>".into()))
        })
    }
}

struct Shared {
    script: Vec<Exchange>,
    used: Vec<bool>,
    /// The next exchange, in [`Order::Recorded`].
    cursor: usize,
    seen: Vec<Seen>,
    unexpected: Vec<String>,
    base: String,
    order: Order,
    challenge: String,
}

/// A running replay server; stopped on drop.
pub struct ReplayServer {
    state: Arc<Mutex<Shared>>,
    base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ReplayServer {
    /// Starts a server that plays `script` in [`Order::Matching`] and
    /// challenges like Key Vault.
    pub async fn start(script: Vec<Exchange>) -> Self {
        Self::start_with(script, Order::Matching, VAULT).await
    }

    /// Starts a server that plays `script` in `order` and challenges for
    /// `resource` ([`VAULT`], [`MANAGED_HSM`]).
    ///
    /// # Panics
    /// When no loopback port is free.
    pub async fn start_with(script: Vec<Exchange>, order: Order, resource: &str) -> Self {
        let listener = fresh_listener().await;
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        let state = Arc::new(Mutex::new(Shared {
            used: vec![false; script.len()],
            script,
            cursor: 0,
            seen: Vec::new(),
            unexpected: Vec::new(),
            base: base.clone(),
            order,
            challenge: format!(
                "Bearer authorization=\"https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000\", resource=\"{resource}\""
            ),
        }));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Self { state, base, task }
    }

    fn state(&self) -> MutexGuard<'_, Shared> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `http://127.0.0.1:PORT`, the server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Every request received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.state().seen.clone()
    }

    /// Whether the exchange at `index` was answered (or, in
    /// [`Order::Recorded`], passed over).
    pub fn used(&self, index: usize) -> bool {
        self.state().used[index]
    }

    /// Whether an unused recorded GET asks for the page `token`.
    pub fn has_page(&self, token: Option<&str>) -> bool {
        let s = self.state();
        s.script
            .iter()
            .zip(&s.used)
            .any(|(c, used)| !used && c.method == "GET" && page_token(&c.query) == token)
    }

    /// Requests that came after the end of a recording ([`Order::Recorded`]).
    pub fn unexpected(&self) -> Vec<String> {
        self.state().unexpected.clone()
    }
}

fn same_path(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// Replaces every Key Vault and Managed HSM host in `body` with `base`.
fn rehost(body: &str, base: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(i) = rest.find("https://") {
        out.push_str(&rest[..i]);
        let after = &rest[i + "https://".len()..];
        let host_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == ':'))
            .unwrap_or(after.len());
        let host = &after[..host_len];
        if host.contains(".vault.azure.net") || host.contains(".managedhsm.azure.net") {
            out.push_str(base);
        } else {
            out.push_str("https://");
            out.push_str(host);
        }
        rest = &after[host_len..];
    }
    out.push_str(rest);
    out
}

/// The exchange that answers `seen`, if any, marking what it uses.
fn pair(s: &mut Shared, seen: &Seen) -> Option<usize> {
    match s.order {
        Order::Matching => {
            let j = (0..s.script.len()).find(|&j| {
                let c = &s.script[j];
                !s.used[j]
                    && c.method == seen.method
                    && same_path(&c.path, &seen.path)
                    && page_token(&c.query) == page_token(&seen.query)
            })?;
            s.used[j] = true;
            Some(j)
        }
        Order::Recorded { is_poll } => {
            // Polls the client did not need (recorders sometimes poll once
            // more after the end) are passed over.
            while let Some(c) = s.script.get(s.cursor)
                && is_poll(&c.method, &c.path)
                && !(seen.method == "GET" && c.path == seen.path)
            {
                s.used[s.cursor] = true;
                s.cursor += 1;
            }
            let j = s.cursor;
            (j < s.script.len()).then(|| {
                s.used[j] = true;
                s.cursor += 1;
                j
            })
        }
    }
}

async fn handle(
    State(state): State<Arc<Mutex<Shared>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed = url::Url::parse(&format!("http://x{uri}")).expect("a request URI");
    let mut seen = Seen {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: parsed.query_pairs().into_owned().collect(),
        body: body.to_vec(),
        authorized: headers.contains_key(header::AUTHORIZATION),
        matched: None,
    };
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    if !seen.authorized {
        let challenge = HeaderValue::from_str(&s.challenge).expect("a challenge header");
        s.seen.push(seen);
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, challenge)],
            r#"{"error":{"code":"Unauthorized","message":"missing token"}}"#,
        )
            .into_response();
    }
    let Some(j) = pair(&mut s, &seen) else {
        let text = match s.order {
            Order::Matching => {
                s.seen.push(seen);
                return (
                    StatusCode::BAD_REQUEST,
                    r#"{"error":{"code":"NoRecordedCall","message":"no recorded call matches"}}"#,
                )
                    .into_response();
            }
            Order::Recorded { .. } => format!("{method} {uri} after the end of the recording"),
        };
        s.unexpected.push(text);
        s.seen.push(seen);
        return (StatusCode::IM_A_TEAPOT, "unexpected").into_response();
    };
    seen.matched = Some(j);
    s.seen.push(seen);
    let call = &s.script[j];
    let status = StatusCode::from_u16(call.status).unwrap_or(StatusCode::OK);
    let text = call
        .response_body
        .as_deref()
        .map(|b| rehost(b, &s.base))
        .unwrap_or_default();
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        text,
    )
        .into_response();
    if let (Order::Recorded { is_poll }, StatusCode::ACCEPTED) = (s.order, status) {
        // The status URL: the next recorded poll, on this server.
        if let Some(poll) = s.script[j + 1..]
            .iter()
            .find(|c| is_poll(&c.method, &c.path))
            && let Ok(link) = HeaderValue::from_str(&format!("{}{}", s.base, poll.path))
        {
            response.headers_mut().insert("azure-asyncoperation", link);
        }
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from_static("0"));
    }
    response
}

/// A loopback listener on a port no replay server of this process had
/// before, and below the range the system hands out for port 0 (where the
/// tests' other servers live). The clients remember a challenge per
/// `scheme://host:port` for the life of the process, so a replay server on
/// a port an earlier server of the same process answered from would see a
/// first request that already carries a token.
async fn fresh_listener() -> tokio::net::TcpListener {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(97) % SPAN,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    for _ in 0..SPAN {
        let port = FIRST + NEXT.fetch_add(1, Ordering::Relaxed) % SPAN;
        let addr = SocketAddr::from(([127, 0, 0, 1], port as u16));
        if let Ok(listener) = tokio::net::TcpListener::bind(addr).await {
            return listener;
        }
    }
    panic!("no free loopback port between {FIRST} and {}", FIRST + SPAN)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    use Exchange as E;

    /// Sends `method path` over HTTP/1.1 and returns the whole answer.
    async fn send(base: &str, method: &str, path: &str, authorized: bool) -> String {
        let host = base.trim_start_matches("http://").to_owned();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{}Content-Length: 0\r\nConnection: close\r\n\r\n",
            if authorized {
                "Authorization: Bearer t\r\n"
            } else {
                ""
            }
        );
        tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(&host).unwrap();
            stream.write_all(request.as_bytes()).unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            answer
        })
        .await
        .unwrap()
    }

    #[test]
    fn urls_split_into_a_path_and_pairs() {
        let (path, query) =
            split_url("https://h.managedhsm.azure.net///providers/x?a=1&$skiptoken=p2");
        assert_eq!(path, "/providers/x");
        assert_eq!(page_token(&query), Some("p2"));
        assert_eq!(split_url("/secrets?a=b").1, [("a".into(), "b".into())]);
    }

    #[test]
    fn service_hosts_are_rewritten_to_the_server() {
        let body = r#"{"id":"https://v.vault.azure.net/secrets/a","kid":"https://h.managedhsm.azure.net/keys/k","c":"https://s.blob.core.windows.net/c"}"#;
        assert_eq!(
            rehost(body, "http://127.0.0.1:1"),
            r#"{"id":"http://127.0.0.1:1/secrets/a","kid":"http://127.0.0.1:1/keys/k","c":"https://s.blob.core.windows.net/c"}"#
        );
    }

    #[tokio::test]
    async fn matching_order_pairs_by_method_path_and_page() {
        let server = ReplayServer::start(vec![
            E::scripted("GET", "/secrets", 200, r#"{"value":[]}"#),
            E::scripted("GET", "/secrets?$skiptoken=p2", 200, r#"{"value":[1]}"#),
        ])
        .await;
        let challenge = send(server.base(), "GET", "/secrets", false).await;
        assert!(challenge.starts_with("HTTP/1.1 401"), "{challenge}");
        assert!(challenge.contains(r#"resource="https://vault.azure.net""#));
        let second = send(server.base(), "GET", "/secrets/?$skiptoken=p2", true).await;
        assert!(second.ends_with(r#"{"value":[1]}"#), "{second}");
        assert!(server.used(1) && !server.used(0) && server.has_page(None));
        let unmatched = send(server.base(), "PUT", "/secrets/s", true).await;
        assert!(unmatched.starts_with("HTTP/1.1 400"), "{unmatched}");
        let matched: Vec<_> = server.seen().iter().map(|s| s.matched).collect();
        assert_eq!(matched, [None, Some(1), None]);
    }

    #[tokio::test]
    async fn recorded_order_passes_over_polls_and_links_them() {
        let is_poll = |method: &str, path: &str| method == "GET" && path.ends_with("/pending");
        let server = ReplayServer::start_with(
            vec![
                E::scripted("POST", "/backup", 202, r#"{"status":"InProgress"}"#),
                E::scripted("GET", "/backup/j/pending", 200, r#"{"status":"Succeeded"}"#),
                E::scripted("GET", "/settings", 200, r#"{"settings":[]}"#),
            ],
            Order::Recorded { is_poll },
            MANAGED_HSM,
        )
        .await;
        let challenge = send(server.base(), "POST", "/backup", false).await;
        assert!(challenge.contains(r#"resource="https://managedhsm.azure.net""#));
        let started = send(server.base(), "POST", "/backup", true)
            .await
            .to_lowercase();
        let link = format!("azure-asyncoperation: {}/backup/j/pending", server.base());
        assert!(
            started.starts_with("http/1.1 202") && started.contains(&link),
            "{started}"
        );
        assert!(started.contains("retry-after: 0"), "{started}");
        // The poll the client did not make is passed over.
        let settings = send(server.base(), "GET", "/settings", true).await;
        assert!(settings.ends_with(r#"{"settings":[]}"#), "{settings}");
        assert!((0..3).all(|i| server.used(i)));
        let late = send(server.base(), "GET", "/settings", true).await;
        assert!(late.starts_with("HTTP/1.1 418"), "{late}");
        assert_eq!(
            server.unexpected(),
            ["GET /settings after the end of the recording"]
        );
    }
}
