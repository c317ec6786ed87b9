//! A small recording HTTP(S) server on loopback, and a test credential.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::Request,
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use keyvault_core::{ClientInfo, ClientOptions, Pipeline, RetryOptions};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

/// A request the server received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub version: http::Version,
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Seen {
    pub fn authorization(&self) -> Option<&str> {
        self.headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
    }

    pub fn query_value(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// `scheme://host:port` of the server, from the Host header.
    pub fn base(&self, scheme: &str) -> String {
        let host = self
            .headers
            .get("host")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        format!("{scheme}://{host}")
    }
}

/// What the server answers.
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: String::new(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Answers only after `delay` (a slow server).
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// The challenge a vault sends to an unauthenticated request.
pub fn challenge(resource: &str) -> Reply {
    Reply::json(
        401,
        r#"{"error":{"code":"Unauthorized","message":"AKV10000: Request is missing a Bearer or PoP token."}}"#,
    )
    .header(
        "www-authenticate",
        format!(
            r#"Bearer authorization="https://login.example.test/tenant-one", resource="{resource}""#
        ),
    )
}

/// Answers a challenge (for `https://127.0.0.1`) unless the request carries
/// `Bearer <TOKEN>`.
pub fn require_token(seen: &Seen) -> Option<Reply> {
    match seen.authorization() {
        Some(a) if a == format!("Bearer {TOKEN}") => None,
        _ => Some(challenge("https://127.0.0.1")),
    }
}

pub const TOKEN: &str = "tok-3f9a.eyJhbGciOi-test-token";

type Handler = Arc<dyn Fn(&Seen, usize) -> Reply + Send + Sync>;

pub struct Server {
    pub base: Url,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    /// Starts a plain HTTP server on an ephemeral loopback port.
    pub async fn http(handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = bind().await;
        let addr = listener.local_addr().unwrap();
        let (router, seen) = router(Arc::new(handler));
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            base: Url::parse(&format!("http://{addr}")).unwrap(),
            seen,
        }
    }

    /// Starts an HTTPS server whose certificate (for `127.0.0.1` and
    /// `localhost`) is issued by a fresh CA; returns it with the CA's PEM.
    pub async fn https(
        handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static,
    ) -> (Self, String) {
        let (ca_pem, config) = tls_config();
        let listener = bind().await;
        let addr = listener.local_addr().unwrap();
        let (router, seen) = router(Arc::new(handler));
        let tls = TlsListener {
            inner: listener,
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        };
        tokio::spawn(async move {
            let _ = axum::serve(tls, router).await;
        });
        (
            Self {
                base: Url::parse(&format!("https://localhost:{}", addr.port())).unwrap(),
                seen,
            },
            ca_pem,
        )
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn url(&self, path: &str) -> Url {
        self.base.join(path).unwrap()
    }
}

/// Binds an ephemeral loopback port that no later server of this process
/// gets again: the challenge cache is process-wide and keyed by
/// `scheme://host:port`, so a server on a reused port would inherit what an
/// earlier test's server taught the cache. A duplicate of the socket is kept
/// open for the life of the process.
pub async fn bind() -> TcpListener {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let keep = listener.try_clone().unwrap();
    std::mem::forget(keep);
    listener.set_nonblocking(true).unwrap();
    TcpListener::from_std(listener).unwrap()
}

fn router(handler: Handler) -> (Router, Arc<Mutex<Vec<Seen>>>) {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = seen.clone();
    let router = Router::new().fallback(move |req: Request| {
        let handler = handler.clone();
        let log = log.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let s = Seen {
                version: parts.version,
                method: parts.method.to_string(),
                path: parts.uri.path().to_owned(),
                query: parts.uri.query().unwrap_or("").to_owned(),
                headers: parts.headers,
                body,
            };
            let n = {
                let mut l = log.lock().unwrap();
                l.push(s.clone());
                l.len() - 1
            };
            let reply = handler(&s, n);
            tokio::time::sleep(reply.delay).await;
            let mut resp: Response =
                (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
            for (k, v) in reply.headers {
                resp.headers_mut().insert(
                    HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    HeaderValue::from_str(&v).unwrap(),
                );
            }
            resp
        }
    });
    (router, seen)
}

struct TlsListener {
    inner: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.inner.accept().await else {
                continue;
            };
            // A client that rejects the certificate fails the handshake: wait
            // for the next connection.
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

pub fn tls_config() -> (String, rustls::ServerConfig) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "keyvault-core test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    (ca.pem(), config)
}

/// A credential that counts its calls and returns [`TOKEN`].
#[derive(Debug, Default)]
pub struct TestCredential {
    pub calls: AtomicUsize,
    pub scopes: Mutex<Vec<String>>,
    pub delay: Option<Duration>,
}

impl TestCredential {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl TokenCredential for TestCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.scopes
            .lock()
            .unwrap()
            .extend(scopes.iter().map(|s| s.to_string()));
        if let Some(d) = self.delay {
            tokio::time::sleep(d).await;
        }
        Ok(AccessToken::new(
            TOKEN,
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
}

/// A credential that cannot get a token: no developer is signed in.
#[derive(Debug)]
pub struct FailingCredential;

#[async_trait::async_trait]
impl TokenCredential for FailingCredential {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            "no developer credential is signed in",
        ))
    }
}

pub const INFO: ClientInfo = ClientInfo {
    name: "core-test",
    version: "0.0.1",
};

/// The API version the test pipelines send.
pub const API_VERSION: &str = "7.6";

/// Options for a loopback emulator-like server: plain http allowed, small
/// backoff delays.
pub fn options() -> ClientOptions {
    ClientOptions {
        allow_loopback_http: true,
        retry: RetryOptions {
            max_retries: 3,
            initial_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            budget: Duration::from_secs(10),
            ..Default::default()
        },
        ..Default::default()
    }
}

pub fn pipeline(credential: &Arc<TestCredential>, options: ClientOptions) -> Pipeline {
    Pipeline::new(INFO, credential.clone(), API_VERSION, options).unwrap()
}
