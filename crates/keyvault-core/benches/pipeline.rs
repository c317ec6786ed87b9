//! CPU per request of our pipeline, against plain `reqwest`, against
//! `azure_core`'s `Pipeline`, and against the official
//! `azure_security_keyvault_secrets` client (`get_secret`), all four over the
//! same `reqwest::Client` setup to a loopback HTTPS server.
//!
//! Run with `cargo bench -p keyvault-core --bench pipeline`. The server runs
//! on its own thread and runtime; the client runs on the main thread with a
//! current-thread runtime, so the main thread's CPU time (read from
//! `/proc/thread-self/schedstat`, Linux only) is the client's cost alone:
//! building the request, the pipeline, hyper's connection task, reading and
//! buffering the response.
//!
//! Each variant sends authenticated GETs (a cached bearer token) with
//! `api-version`, a client request id and a user agent, reads the whole body
//! and decodes it into a secret model. Rounds rotate the variants; the
//! median round is reported.

#![allow(clippy::print_stdout)]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use keyvault_core::{
    ClientInfo, ClientOptions, Context, Pipeline,
    http::{Method, Request},
};

const TOKEN: &str = "bench-token";
const BODY: &str = r#"{"value":"not-a-real-secret","id":"https://127.0.0.1/secrets/bench/0123456789abcdef","attributes":{"enabled":true,"created":1700000000,"updated":1700000000,"recoveryLevel":"Recoverable+Purgeable","recoverableDays":90}}"#;

/// The secret model our variants decode into (the official client decodes
/// into its own `Secret`).
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Bundle {
    value: Option<String>,
    id: Option<String>,
    attributes: Option<Attributes>,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Attributes {
    enabled: Option<bool>,
    created: Option<i64>,
    updated: Option<i64>,
    #[serde(rename = "recoveryLevel")]
    recovery_level: Option<String>,
    #[serde(rename = "recoverableDays")]
    recoverable_days: Option<i32>,
}

#[derive(Debug)]
struct StaticCredential;

#[async_trait::async_trait]
impl TokenCredential for StaticCredential {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        Ok(AccessToken::new(
            TOKEN,
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
}

/// `azure_core`'s transport trait over the shared `reqwest::Client`.
#[derive(Debug)]
struct ReqwestTransport(reqwest::Client);

#[async_trait::async_trait]
impl azure_core::http::HttpClient for ReqwestTransport {
    async fn execute_request(
        &self,
        request: &azure_core::http::Request,
    ) -> azure_core::Result<azure_core::http::AsyncRawResponse> {
        use azure_core::http::{Body, headers::Headers};
        let method = match request.method() {
            azure_core::http::Method::Get => Method::GET,
            azure_core::http::Method::Put => Method::PUT,
            azure_core::http::Method::Post => Method::POST,
            azure_core::http::Method::Delete => Method::DELETE,
            azure_core::http::Method::Patch => Method::PATCH,
            _ => Method::HEAD,
        };
        let mut b = self.0.request(method, request.url().clone());
        for (name, value) in request.headers().iter() {
            b = b.header(name.as_str(), value.as_str());
        }
        if let Body::Bytes(bytes) = request.body()
            && !bytes.is_empty()
        {
            b = b.body(bytes.clone());
        }
        let resp = b.send().await.map_err(|e| {
            azure_core::Error::with_error(azure_core::error::ErrorKind::Io, e, "send")
        })?;
        let status = resp.status().as_u16();
        let mut headers = Headers::new();
        for (k, v) in resp.headers() {
            if let Ok(v) = v.to_str() {
                headers.insert(k.as_str().to_owned(), v.to_owned());
            }
        }
        let body = resp.bytes().await.map_err(|e| {
            azure_core::Error::with_error(azure_core::error::ErrorKind::Io, e, "body")
        })?;
        Ok(azure_core::http::AsyncRawResponse::from_bytes(
            status.into(),
            headers,
            body,
        ))
    }
}

/// A CA, and a server TLS configuration for `127.0.0.1` issued by it.
fn tls() -> (
    rustls::pki_types::CertificateDer<'static>,
    rustls::ServerConfig,
) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("ca");
    let key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("params")
        .signed_by(&key, &ca)
        .expect("leaf");
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(
        vec![leaf.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .expect("server config");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    (ca.der().clone(), config)
}

struct TlsListener {
    inner: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.inner.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

fn start_server(config: rustls::ServerConfig) -> std::net::SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("server runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send addr");
            let app = axum::Router::new().fallback(|headers: http::HeaderMap| async move {
                let authorized = headers
                    .get("authorization")
                    .is_some_and(|v| v.as_bytes() == format!("Bearer {TOKEN}").as_bytes());
                if authorized {
                    (
                        http::StatusCode::OK,
                        [
                            ("content-type", "application/json"),
                            ("x-ms-request-id", "00000000-0000-0000-0000-000000000000"),
                        ],
                        BODY,
                    )
                } else {
                    (
                        http::StatusCode::UNAUTHORIZED,
                        [
                            (
                                "www-authenticate",
                                r#"Bearer authorization="https://login.example.test/t", resource="https://127.0.0.1""#,
                            ),
                            ("x-ms-request-id", "00000000-0000-0000-0000-000000000000"),
                        ],
                        "",
                    )
                }
            });
            let listener = TlsListener {
                inner: listener,
                acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            };
            axum::serve(listener, app).await.expect("serve");
        });
    });
    rx.recv().expect("server address")
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

/// The one client setup all variants use: rustls (ring) trusting the test
/// CA, ALPN h2 and http/1.1, as the pipeline builds by default.
fn client(ca: &rustls::pki_types::CertificateDer<'static>) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).expect("root");
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .expect("client")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Reqwest,
    Ours,
    AzureCore,
    Official,
}

struct Clients {
    base: url::Url,
    plain: reqwest::Client,
    ours: Pipeline,
    azure: azure_core::http::Pipeline,
    official: azure_security_keyvault_secrets::SecretClient,
}

async fn run(c: &Clients, v: Variant, n: usize) -> (Duration, Duration) {
    let cpu0 = thread_cpu();
    let t0 = Instant::now();
    for _ in 0..n {
        let mut url = c.base.clone();
        url.query_pairs_mut().append_pair("api-version", "7.6");
        match v {
            Variant::Reqwest => {
                let r = c
                    .plain
                    .get(url)
                    .header("authorization", format!("Bearer {TOKEN}"))
                    .header("x-ms-client-request-id", uuid::Uuid::new_v4().to_string())
                    .header("user-agent", "bench")
                    .send()
                    .await
                    .expect("send");
                assert!(r.status().is_success());
                let body = r.bytes().await.expect("body");
                let b: Bundle = serde_json::from_slice(&body).expect("decode");
                assert!(b.value.is_some());
            }
            Variant::Ours => {
                let r = c
                    .ours
                    .send(
                        &Context::new("GetSecret"),
                        Request::new(Method::GET, c.base.clone()),
                    )
                    .await
                    .expect("send");
                let b: Bundle = r.json().expect("decode");
                assert!(b.value.is_some());
            }
            Variant::AzureCore => {
                let mut req = azure_core::http::Request::new(url, azure_core::http::Method::Get);
                let r = c
                    .azure
                    .send(&azure_core::http::Context::new(), &mut req, None)
                    .await
                    .expect("send");
                let body = r.into_body();
                let b: Bundle = serde_json::from_slice(body.as_ref()).expect("decode");
                assert!(b.value.is_some());
            }
            Variant::Official => {
                let r = c
                    .official
                    .get_secret("bench", None)
                    .await
                    .expect("get_secret");
                let secret = r.into_model().expect("decode");
                assert!(secret.value.is_some());
            }
        }
    }
    (thread_cpu() - cpu0, t0.elapsed())
}

fn main() {
    let n: usize = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if std::env::args().any(|a| a == "--quick") {
            200
        } else {
            5000
        });
    let rounds = 5;
    let (ca, server_tls) = tls();
    let addr = start_server(server_tls);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let base = url::Url::parse(&format!("https://{addr}/secrets/bench")).expect("url");
        let credential: Arc<dyn TokenCredential> = Arc::new(StaticCredential);
        let credential_for_official = credential.clone();
        let ours = Pipeline::new(
            ClientInfo {
                name: "bench",
                version: "0.0.0",
            },
            credential.clone(),
            "7.6",
            ClientOptions {
                http_client: Some(client(&ca)),
                ..Default::default()
            },
        )
        .expect("pipeline");
        let auth = Arc::new(
            azure_core::http::policies::auth::BearerTokenAuthorizationPolicy::new(
                credential,
                ["https://127.0.0.1/.default"],
            ),
        );
        let azure = azure_core::http::Pipeline::new(
            Some("bench"),
            Some("0.0.0"),
            azure_core::http::ClientOptions {
                transport: Some(azure_core::http::Transport::new(Arc::new(
                    ReqwestTransport(client(&ca)),
                ))),
                ..Default::default()
            },
            Vec::new(),
            vec![auth],
            None,
        );
        let official = azure_security_keyvault_secrets::SecretClient::new(
            &format!("https://{addr}"),
            credential_for_official,
            Some(azure_security_keyvault_secrets::SecretClientOptions {
                api_version: "7.6".to_owned(),
                client_options: azure_core::http::ClientOptions {
                    transport: Some(azure_core::http::Transport::new(Arc::new(
                        ReqwestTransport(client(&ca)),
                    ))),
                    ..Default::default()
                },
                verify_challenge_resource: Some(false),
            }),
        )
        .expect("official client");
        let clients = Clients {
            base,
            plain: client(&ca),
            ours,
            azure,
            official,
        };
        let variants = [
            Variant::Reqwest,
            Variant::Ours,
            Variant::AzureCore,
            Variant::Official,
        ];
        for v in variants {
            run(&clients, v, 500).await; // warm-up: connections, challenge, token
        }
        let k = variants.len();
        let mut cpu: Vec<Vec<Duration>> = vec![Vec::new(); k];
        let mut wall: Vec<Vec<Duration>> = vec![Vec::new(); k];
        for round in 0..rounds {
            for i in 0..k {
                let idx = (i + round) % k;
                let (c, w) = run(&clients, variants[idx], n).await;
                cpu[idx].push(c);
                wall[idx].push(w);
            }
        }
        let median = |v: &mut Vec<Duration>| {
            v.sort();
            v[v.len() / 2]
        };
        let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
        let mut cpu_us = [0.0; 4];
        println!("{n} sequential GETs per round, {rounds} rounds, median round:");
        for i in 0..k {
            let c = per(median(&mut cpu[i]));
            let w = per(median(&mut wall[i]));
            cpu_us[i] = c;
            println!(
                "  {:<10} client CPU {c:7.2} us/request   wall {w:7.2} us/request",
                format!("{:?}", variants[i])
            );
        }
        println!(
            "  ours / reqwest = {:.2}x   ours / azure_core = {:.2}x   ours / official = {:.2}x",
            cpu_us[1] / cpu_us[0],
            cpu_us[1] / cpu_us[2],
            cpu_us[1] / cpu_us[3]
        );
    });
}
