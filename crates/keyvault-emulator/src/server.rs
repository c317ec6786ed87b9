//! The HTTPS server shared by the endpoints: accepts TCP connections, does the
//! TLS handshake, serves HTTP/1.1 and HTTP/2, reads each request whole, hands
//! it to the endpoint's handler and writes one access-log line per request.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_rustls::TlsAcceptor;

use crate::error::ServiceError;

/// The largest request body accepted.
const MAX_BODY: usize = 4 * 1024 * 1024;
/// The most header fields a request may have.
const MAX_HEADERS: usize = 100;
/// The most bytes of header names and values a request may have.
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// How many header fields the HTTP layer reads before giving up on its own
/// (with a bare `431`); above [`MAX_HEADERS`], so that a request with too
/// many reaches [`read_request`] and gets the service's error shape.
const PARSED_HEADERS: usize = 4 * MAX_HEADERS;

/// A request, read whole, as endpoints see it. Deliberately not `Debug`:
/// its body and headers carry secret values and tokens.
pub(crate) struct Request {
    pub(crate) method: Method,
    /// The path, still percent-encoded.
    pub(crate) path: String,
    /// Decoded query pairs, in order.
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    /// `https://host[:port]` as the client called it, without a trailing slash.
    pub(crate) base_url: String,
    pub(crate) body: Bytes,
}

impl Request {
    /// The first value of a query parameter.
    pub(crate) fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The authenticated caller (a JWT's `oid`), attached to a response so the
/// access log can name it.
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub(crate) String);

/// The response type of every endpoint.
pub(crate) type HttpResponse = Response<Full<Bytes>>;

/// An endpoint: turns a request into a response.
pub(crate) type Handler =
    Arc<dyn Fn(Request) -> Pin<Box<dyn Future<Output = HttpResponse> + Send>> + Send + Sync>;

/// Percent-decodes `s` (and `+` as a space when `plus` is set). Invalid
/// escapes are kept as they are; invalid UTF-8 is replaced.
pub(crate) fn percent_decode(s: &str, plus: bool) -> String {
    let s = if plus {
        s.replace('+', " ")
    } else {
        s.to_owned()
    };
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}

pub(crate) fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// The host the client called: the URI authority (HTTP/2) or the `Host`
/// header, if it looks like a host; otherwise `fallback`.
fn host_of(req: &http::Request<Incoming>, fallback: &str) -> String {
    let candidate = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            req.headers()
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
        });
    match candidate {
        Some(h)
            if !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b)) =>
        {
            h
        }
        _ => fallback.to_owned(),
    }
}

/// Checks the head's size and reads the body whole: a `431` for too many or
/// too large headers, a `413` for a body over [`MAX_BODY`] (declared or
/// sent), a `408` when the body takes longer than `body_timeout` (counted
/// from the end of the head).
async fn read_request(
    req: http::Request<Incoming>,
    fallback_host: &str,
    body_timeout: Duration,
) -> Result<Request, ServiceError> {
    let base_url = format!("https://{}", host_of(&req, fallback_host));
    let (parts, body) = req.into_parts();
    check_head(&parts.headers)?;
    let declared = (parts.headers.get(http::header::CONTENT_LENGTH))
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(body_too_large());
    }
    let read = tokio::time::timeout(body_timeout, Limited::new(body, MAX_BODY).collect());
    let body = match read.await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return Err(body_too_large()),
        Ok(Err(_)) => {
            return Err(ServiceError::bad_parameter(
                "The request body could not be read.",
            ));
        }
        Err(_) => {
            return Err(ServiceError::new(
                408,
                "RequestTimeout",
                format!(
                    "The request body did not arrive within {} seconds.",
                    body_timeout.as_secs_f64()
                ),
            ));
        }
    };
    Ok(Request {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parse_query(parts.uri.query()),
        headers: parts.headers,
        base_url,
        body,
    })
}

fn body_too_large() -> ServiceError {
    ServiceError::new(
        413,
        "RequestBodyTooLarge",
        format!("The request body is larger than {MAX_BODY} bytes."),
    )
}

/// A `431` when `headers` are too many or too large.
fn check_head(headers: &HeaderMap) -> Result<(), ServiceError> {
    let bytes: usize = (headers.iter())
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return Err(ServiceError::new(
            431,
            "RequestHeaderFieldsTooLarge",
            format!(
                "A request may have at most {MAX_HEADERS} header fields of {MAX_HEADER_BYTES} bytes in all."
            ),
        ));
    }
    Ok(())
}

/// A running server: its bound addresses.
pub(crate) struct Bound {
    pub(crate) listeners: Vec<TcpListener>,
    pub(crate) port: u16,
}

/// Binds `host:port`; for a loopback host also binds the other loopback
/// family on the same port, so `localhost` works whichever address a client
/// resolves first. With port 0, a port whose other-family twin is taken by
/// someone else is given back and another one is picked, so that a client
/// never reaches a stranger through the other family.
pub(crate) async fn bind(host: &str, port: u16) -> std::io::Result<Bound> {
    let (primary_host, other) = match host {
        "127.0.0.1" | "localhost" => ("127.0.0.1", Some("::1")),
        "::1" => ("::1", Some("127.0.0.1")),
        h => (h, None),
    };
    let mut attempts = 0;
    loop {
        attempts += 1;
        let primary = TcpListener::bind((primary_host, port)).await?;
        let bound = primary.local_addr()?.port();
        let mut listeners = vec![primary];
        if let Some(other) = other {
            match TcpListener::bind((other, bound)).await {
                Ok(l) => listeners.push(l),
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    if port == 0 && attempts < 20 {
                        continue;
                    }
                    tracing::warn!(
                        port = bound,
                        other,
                        "the port is taken on the other loopback address"
                    );
                }
                // No such address family here (e.g. IPv6 disabled): one is enough.
                Err(_) => {}
            }
        }
        return Ok(Bound {
            listeners,
            port: bound,
        });
    }
}

/// The most connections the endpoints of one emulator hold open at once,
/// unless configured otherwise.
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// How long a client has to send a request's head (and to finish the TLS
/// handshake), and how long an idle connection is kept, unless configured
/// otherwise.
pub(crate) const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a client has to send a request's whole body once its head is
/// read, unless configured otherwise.
pub(crate) const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a closing connection with no request in flight is given to say
/// goodbye before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// What bounds the connections of an emulator: one set of slots shared by
/// all its endpoints, the header timeout and the body timeout.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    slots: Arc<Semaphore>,
    max: usize,
    header_timeout: Duration,
    body_timeout: Duration,
    /// Whether connections are being refused (so that is logged once per
    /// episode, not once per connection).
    full: Arc<AtomicBool>,
}

impl Limits {
    /// At most `max` connections; `header_timeout` for handshakes, request
    /// heads and idle connections, `body_timeout` for request bodies.
    pub(crate) fn new(max: usize, header_timeout: Duration, body_timeout: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max)),
            max,
            header_timeout,
            body_timeout,
            full: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A slot for a new connection, or `None` when all are taken (the
    /// connection is then closed at once: nothing was read from it, so a
    /// client may safely try again).
    fn admit(&self, endpoint: &str, peer: SocketAddr) -> Option<OwnedSemaphorePermit> {
        match self.slots.clone().try_acquire_owned() {
            Ok(permit) => {
                if self.full.swap(false, Ordering::Relaxed) {
                    tracing::info!(endpoint, "accepting connections again");
                }
                Some(permit)
            }
            Err(_) => {
                if !self.full.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        endpoint,
                        %peer,
                        max_connections = self.max,
                        "connection limit reached: new connections are closed at accept"
                    );
                }
                None
            }
        }
    }
}

/// What a connection is doing, as its watchdog sees it: requests in flight,
/// and since when none has been.
struct Activity {
    in_flight: AtomicUsize,
    idle_since: std::sync::Mutex<Instant>,
}

impl Activity {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            in_flight: AtomicUsize::new(0),
            idle_since: std::sync::Mutex::new(Instant::now()),
        })
    }

    /// Counts a request in flight until the guard is dropped.
    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }

    /// When the connection will have been idle for `timeout`; `None` while
    /// a request is in flight.
    fn idle_deadline(&self, timeout: Duration) -> Option<Instant> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let since = *self.idle_since.lock().unwrap_or_else(|e| e.into_inner());
        Some(since + timeout)
    }
}

/// A request in flight on a connection.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        *self.0.idle_since.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves `listeners` until `shutdown` turns true, then lets open requests
/// finish (for a few seconds at most).
///
/// A connection takes one of `limits`' slots from accept to close; beyond
/// the limit a connection is closed at accept. A connection that sends no
/// complete request head within the header timeout (after the handshake,
/// or since its last request ended) is closed, so neither silent nor slow
/// clients hold slots for long.
pub(crate) async fn serve(
    name: &'static str,
    bound: Bound,
    tls: Arc<ServerConfig>,
    handler: Handler,
    fallback_host: String,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let (conn_tx, mut conn_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut accept_tasks = tokio::task::JoinSet::new();
    for listener in bound.listeners {
        let conn_tx = conn_tx.clone();
        let limits = limits.clone();
        accept_tasks.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, peer)) => {
                        let Some(permit) = limits.admit(name, peer) else {
                            drop(stream);
                            continue;
                        };
                        if conn_tx.send((stream, peer, permit)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(endpoint = name, error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
    }
    drop(conn_tx);
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            next = conn_rx.recv() => {
                let Some((stream, peer, permit)) = next else { break };
                let conn = Connection {
                    name,
                    peer,
                    acceptor: acceptor.clone(),
                    handler: handler.clone(),
                    fallback_host: fallback_host.clone(),
                    header_timeout: limits.header_timeout,
                    body_timeout: limits.body_timeout,
                    shutdown: shutdown.clone(),
                };
                conns.spawn(async move {
                    conn.run(stream).await;
                    drop(permit);
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    accept_tasks.abort_all();
    let drained = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), drained)
        .await
        .is_err()
    {
        tracing::warn!(endpoint = name, "open connections did not finish in time");
    }
    conns.abort_all();
    while conns.join_next().await.is_some() {}
}

/// One accepted connection and what serving it needs.
struct Connection {
    name: &'static str,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    handler: Handler,
    fallback_host: String,
    header_timeout: Duration,
    body_timeout: Duration,
    shutdown: watch::Receiver<bool>,
}

impl Connection {
    /// Does the TLS handshake, then serves requests until the client, the
    /// header timeout or the emulator's shutdown ends the connection.
    async fn run(mut self, stream: TcpStream) {
        let (name, peer) = (self.name, self.peer);
        let handshake = self.header_timeout.min(HANDSHAKE_TIMEOUT);
        let tls = match tokio::time::timeout(handshake, self.acceptor.accept(stream)).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                tracing::debug!(endpoint = name, %peer, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(endpoint = name, %peer, "TLS handshake timed out");
                return;
            }
        };
        let activity = Activity::new();
        let svc = {
            let (handler, fallback_host) = (self.handler.clone(), self.fallback_host.clone());
            let (activity, timeout) = (activity.clone(), self.body_timeout);
            service_fn(move |req: http::Request<Incoming>| {
                let in_flight = activity.begin();
                let (handler, fallback_host) = (handler.clone(), fallback_host.clone());
                async move {
                    let resp = respond(name, &handler, &fallback_host, timeout, req).await;
                    drop(in_flight);
                    crate::faults::delivery::deliver(resp)
                }
            })
        };
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .max_headers(PARSED_HEADERS)
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout);
        builder.http2().timer(TokioTimer::new());
        let conn = builder.serve_connection(TokioIo::new(tls), svc);
        tokio::pin!(conn);
        let mut closing: Option<Instant> = None;
        loop {
            let idle = activity.idle_deadline(self.header_timeout);
            let wake = match (closing, idle) {
                (Some(at), Some(_)) => at + CLOSE_GRACE,
                (None, Some(deadline)) => deadline,
                (_, None) => Instant::now() + self.header_timeout,
            };
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(endpoint = name, %peer, error = %e, "connection ended with an error");
                    }
                    return;
                }
                _ = self.shutdown.wait_for(|stop| *stop), if closing.is_none() => {
                    conn.as_mut().graceful_shutdown();
                    closing = Some(Instant::now());
                }
                _ = tokio::time::sleep_until(wake.into()) => {
                    let Some(idle) = activity.idle_deadline(self.header_timeout) else { continue };
                    match closing {
                        Some(at) if Instant::now() >= at + CLOSE_GRACE => {
                            tracing::debug!(endpoint = name, %peer, "connection dropped after closing");
                            return;
                        }
                        None if Instant::now() >= idle => {
                            tracing::debug!(endpoint = name, %peer, "closing a connection with no request for the header timeout");
                            conn.as_mut().graceful_shutdown();
                            closing = Some(Instant::now());
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

/// Serves one request: reads it whole, asks the handler, adds the request
/// ids and writes the access-log line.
async fn respond(
    name: &'static str,
    handler: &Handler,
    fallback_host: &str,
    body_timeout: Duration,
    req: http::Request<Incoming>,
) -> HttpResponse {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let client_request_id = req.headers().get("x-ms-client-request-id").cloned();
    let mut resp = match read_request(req, fallback_host, body_timeout).await {
        Ok(r) => handler(r).await,
        Err(e) => e.into_response(),
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    if let Ok(v) = http::HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-ms-request-id", v);
    }
    if let Some(v) = client_request_id {
        resp.headers_mut().insert("x-ms-client-request-id", v);
    }
    let caller = resp
        .extensions()
        .get::<Caller>()
        .map(|c| c.0.clone())
        .unwrap_or_default();
    tracing::info!(
        target: "keyvault_emulator::access",
        endpoint = name,
        %method,
        path = %path,
        status = resp.status().as_u16(),
        duration_ms = %format_args!("{:.3}", started.elapsed().as_secs_f64() * 1000.0),
        caller = %if caller.is_empty() { "-" } else { caller.as_str() },
        request_id = %request_id,
        "request"
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Fb%20c~%21", false), "a/b c~!");
        assert_eq!(percent_decode("a+b", true), "a b");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("100%", false), "100%");
        assert_eq!(percent_decode("%zz", false), "%zz");
        assert_eq!(percent_decode("%4", false), "%4");
    }

    #[tokio::test]
    async fn binds_both_loopback_families() {
        let b = bind("127.0.0.1", 0).await.unwrap();
        assert_ne!(b.port, 0);
        let v6 = std::net::TcpListener::bind("[::1]:0").is_ok();
        assert_eq!(b.listeners.len(), if v6 { 2 } else { 1 });
        for l in &b.listeners {
            assert_eq!(l.local_addr().unwrap().port(), b.port);
        }
        if v6 {
            // A fixed port whose IPv6 twin belongs to someone else still binds IPv4.
            let stranger = std::net::TcpListener::bind("[::1]:0").unwrap();
            let p = stranger.local_addr().unwrap().port();
            if let Ok(b) = bind("127.0.0.1", p).await {
                assert_eq!(b.listeners.len(), 1);
                assert_eq!(b.port, p);
            }
        }
    }

    #[test]
    fn query_parsing() {
        let q = parse_query(Some("api-version=7.3&%24skiptoken=ab%3D&maxresults=2"));
        assert_eq!(q[0], ("api-version".to_owned(), "7.3".to_owned()));
        assert_eq!(q[1], ("$skiptoken".to_owned(), "ab=".to_owned()));
        assert_eq!(q.len(), 3);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_query_parses_without_panicking(q in any::<String>()) {
            for (k, v) in parse_query(Some(&q)) {
                prop_assert!(k.len() + v.len() <= q.len());
            }
        }

        #[test]
        fn an_encoded_query_reads_back(pairs in prop::collection::vec((".{1,10}", ".{0,10}"), 0..5)) {
            let enc = |s: &str| {
                percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
            };
            let q: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
            let q = q.join("&");
            prop_assert_eq!(parse_query(Some(&q)), pairs);
        }
    }
}
