//! `DefaultAzureCredential` against real token endpoints: a loopback Entra
//! token server, the emulator's managed identity endpoint, and nothing at
//! all. The links that read the process environment (managed identity, the
//! CLIs) are tested in a child process of this test binary, with the
//! environment the test gives it and nothing else.

use std::{
    collections::HashMap,
    process::Output,
    sync::Arc,
    time::{Duration, Instant},
};

use azure_core::credentials::TokenCredential;
use keyvault_core::{
    ClientOptions, Context, CredentialKind, DefaultAzureCredential, DefaultAzureCredentialOptions,
    Pipeline,
    http::{Method, Request},
};
use rustls::pki_types::{CertificateDer, pem::PemObject};
use url::Url;

use crate::server::{self, Reply, Server};

const VAULT_SCOPE: &str = "https://vault.azure.net/.default";
const CLIENT_SECRET: &str = "s3cr3t-Qz7~client-secret-value";
/// Set in a child process: the name of the test it runs the child part of.
const CHILD: &str = "KEYVAULT_CORE_TEST_CHILD";

/// Entra's token endpoint: a token for the client secret when
/// `accept_secret`, for the client assertion when `accept_assertion`.
fn token_server_reply(seen: &server::Seen, accept_secret: bool, accept_assertion: bool) -> Reply {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&seen.body)
        .into_owned()
        .collect();
    if seen.method != "POST" || seen.path != "/tenant-1/oauth2/v2.0/token" {
        return Reply::json(404, r#"{"error":"not_found"}"#);
    }
    let token = |value: &str| {
        Reply::json(
            200,
            format!(
                r#"{{"token_type":"Bearer","expires_in":3600,"ext_expires_in":3600,"access_token":"{value}"}}"#
            ),
        )
    };
    if accept_assertion
        && form.get("client_assertion").map(String::as_str) == Some("federated-token")
    {
        return token("workload-token");
    }
    if accept_secret && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET) {
        return token("service-principal-token");
    }
    Reply::json(
        401,
        r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}"#,
    )
}

/// How many of the server's requests so far carried a client secret.
fn secret_requests(seen: &[server::Seen]) -> usize {
    seen.iter()
        .filter(|s| String::from_utf8_lossy(&s.body).contains("client_secret="))
        .count()
}

fn service_principal_env(authority: &Url) -> HashMap<String, String> {
    [
        ("AZURE_TENANT_ID", "tenant-1"),
        ("AZURE_CLIENT_ID", "app-1"),
        ("AZURE_CLIENT_SECRET", CLIENT_SECRET),
        ("AZURE_AUTHORITY_HOST", authority.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

#[tokio::test]
async fn a_service_principal_from_the_environment_gets_its_token_from_the_authority_host() {
    let (srv, ca) = Server::https(|seen, _| token_server_reply(seen, true, false)).await;
    let options = DefaultAzureCredentialOptions {
        environment: Some(service_principal_env(&srv.base)),
        client_options: ClientOptions {
            root_certificates_pem: vec![ca.into_bytes()],
            ..Default::default()
        },
        ..Default::default()
    };
    let options_debug = format!("{options:?}");
    let credential = DefaultAzureCredential::new(Some(options)).unwrap();
    assert_eq!(credential.selected(), None);

    let token = credential.get_token(&[VAULT_SCOPE], None).await.unwrap();
    assert_eq!(token.token.secret(), "service-principal-token");
    assert_eq!(credential.selected(), Some(CredentialKind::Environment));

    let seen = srv.seen();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    let form: HashMap<String, String> = url::form_urlencoded::parse(&seen[0].body)
        .into_owned()
        .collect();
    assert_eq!(form["client_id"], "app-1");
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["scope"], VAULT_SCOPE);

    // Neither the options nor the credential print the secret.
    let debug = format!("{options_debug} {credential:?}");
    assert!(!debug.contains(CLIENT_SECRET), "{debug}");
    assert!(debug.contains("AZURE_CLIENT_SECRET"), "{debug}");
}

#[tokio::test]
async fn the_chain_keeps_to_the_first_credential_that_gave_a_token() {
    // The service principal is refused the first time (the server's first
    // request), then would succeed; the workload identity (next in the
    // chain) succeeds twice, then is refused.
    let (srv, ca) = Server::https(|seen, n| token_server_reply(seen, n > 0, n < 3)).await;
    let srv = Arc::new(srv);
    let token_file = std::env::temp_dir().join(format!(
        "keyvault-core-federated-token-{}",
        std::process::id()
    ));
    std::fs::write(&token_file, "federated-token").unwrap();
    let mut env = service_principal_env(&srv.base);
    env.insert(
        "AZURE_FEDERATED_TOKEN_FILE".into(),
        token_file.display().to_string(),
    );
    let options = DefaultAzureCredentialOptions {
        environment: Some(env),
        client_options: ClientOptions {
            root_certificates_pem: vec![ca.into_bytes()],
            ..Default::default()
        },
        ..Default::default()
    };
    let credential = DefaultAzureCredential::new(Some(options)).unwrap();

    let first = credential.get_token(&[VAULT_SCOPE], None).await.unwrap();
    assert_eq!(first.token.secret(), "workload-token");
    assert_eq!(
        credential.selected(),
        Some(CredentialKind::WorkloadIdentity)
    );
    assert_eq!(secret_requests(&srv.seen()), 1);

    // Another scope (so no token cache answers): straight to the workload
    // identity, although the service principal would now be accepted.
    let second = credential
        .get_token(&["https://managedhsm.azure.net/.default"], None)
        .await
        .unwrap();
    assert_eq!(second.token.secret(), "workload-token");
    assert_eq!(secret_requests(&srv.seen()), 1, "{:#?}", srv.seen());
    assert_eq!(srv.seen().len(), 3);

    // When the chosen credential fails, its own error is the answer.
    let err = credential
        .get_token(&["https://storage.azure.com/.default"], None)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("WorkloadIdentityCredential"), "{message}");
    assert!(!message.contains("found no credential"), "{message}");
    assert_eq!(secret_requests(&srv.seen()), 1);
    let _ = std::fs::remove_file(token_file);
}

#[tokio::test]
async fn excluding_every_credential_is_an_error_that_says_so() {
    let options = DefaultAzureCredentialOptions {
        exclude: CredentialKind::ALL.to_vec(),
        ..Default::default()
    };
    let credential = DefaultAzureCredential::new(Some(options)).unwrap();
    let err = credential
        .get_token(&[VAULT_SCOPE], None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("every credential is excluded"),
        "{err}"
    );
}

/// Runs `test` of this module again in a child process whose environment is
/// `vars` only (and a `PATH` where no `az` or `azd` is).
async fn run_child(test: &str, vars: Vec<(&'static str, String)>) -> Output {
    run_child_in("default_credential", test, vars).await
}

/// Runs `test` of the test module `module` again in a child process, as
/// [`run_child`] does.
pub(crate) async fn run_child_in(
    module: &str,
    test: &str,
    vars: Vec<(&'static str, String)>,
) -> Output {
    let exe = std::env::current_exe().unwrap();
    let empty_path = std::env::temp_dir().join("keyvault-core-test-empty-path");
    let mut command = tokio::process::Command::new(exe);
    command
        .args([
            &format!("{module}::{test}"),
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_clear()
        .env(CHILD, test)
        .env("PATH", empty_path)
        .envs(vars)
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the child finishes within a minute")
        .expect("the child starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test: {stdout}"
    );
    output
}

pub(crate) fn in_child(test: &str) -> bool {
    std::env::var(CHILD).is_ok_and(|t| t == test)
}

#[tokio::test]
async fn an_app_service_managed_identity_from_the_emulator_reads_a_vault() {
    const TEST: &str = "an_app_service_managed_identity_from_the_emulator_reads_a_vault";
    if in_child(TEST) {
        // An app in App Service: everything from the environment.
        return read_the_vault_as_a_managed_identity().await;
    }
    let (emulator, tls_dir) = strict_emulator("app-service").await;
    let ca = emulator.ca_cert_path().unwrap().display().to_string();
    run_child(
        TEST,
        vec![
            ("IDENTITY_ENDPOINT", emulator.identity_endpoint()),
            ("IDENTITY_HEADER", emulator.identity_header().to_owned()),
            ("HTTPS_PROXY", emulator.proxy_url().to_owned()),
            ("SSL_CERT_FILE", ca),
            ("VAULT_URL", emulator.vault_host_url()),
        ],
    )
    .await;
    emulator.shutdown().await;
    let _ = std::fs::remove_dir_all(tls_dir);
}

#[tokio::test]
async fn when_every_credential_fails_the_error_says_why_for_each_in_bounded_time() {
    const TEST: &str = "when_every_credential_fails_the_error_says_why_for_each_in_bounded_time";
    if in_child(TEST) {
        let credential = DefaultAzureCredential::new(None).unwrap();
        let started = Instant::now();
        let err = credential
            .get_token(&[VAULT_SCOPE], None)
            .await
            .unwrap_err();
        let elapsed = started.elapsed();
        let message = err.to_string();
        // The parent reads it.
        #[allow(clippy::print_stdout)]
        {
            println!("{message}\n(after {} ms)", elapsed.as_millis());
        }
        for kind in CredentialKind::ALL {
            assert!(message.contains(&format!("- {kind}: ")), "{message}");
        }
        for reason in [
            "EnvironmentCredential: skipped: AZURE_TENANT_ID is not set",
            "WorkloadIdentityCredential: skipped: AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID are not set",
            "did not answer within 1000 ms",
            "az not found on PATH",
            "azd not found on PATH",
        ] {
            assert!(message.contains(reason), "{reason:?} missing in: {message}");
        }
        assert!(!message.contains(CLIENT_SECRET), "{message}");
        // The metadata service probe is what takes time here: one second.
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
        assert_eq!(credential.selected(), None);
        return;
    }
    // The instance metadata service is reached through this proxy, which
    // accepts connections and never answers: the probe's timeout bounds it.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = format!("http://{}", silent.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let output = run_child(
        TEST,
        vec![
            ("HTTP_PROXY", proxy),
            ("AZURE_CLIENT_ID", "app-1".to_owned()),
            ("AZURE_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ],
    )
    .await;
    hold.abort();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("found no credential"), "{stdout}");
    assert!(!stdout.contains(CLIENT_SECRET), "{stdout}");
}

/// The child part of the managed identity tests: an app with default
/// options reads the vault of `VAULT_URL` with the chain's token, the
/// challenge verified, the emulator checking the token.
async fn read_the_vault_as_a_managed_identity() {
    let credential = DefaultAzureCredential::new(None).unwrap();
    let vault = Url::parse(&std::env::var("VAULT_URL").unwrap()).unwrap();
    let pipeline = Pipeline::new(
        server::INFO,
        credential.clone(),
        server::API_VERSION,
        ClientOptions::default(),
    )
    .unwrap();
    let request = Request::new(Method::GET, vault.join("secrets").unwrap());
    let response = pipeline
        .send(&Context::new("GetSecrets"), request)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(credential.selected(), Some(CredentialKind::ManagedIdentity));
}

/// A started emulator that checks tokens, with its CA on disk.
async fn strict_emulator(name: &str) -> (keyvault_emulator::EmulatorHandle, std::path::PathBuf) {
    let tls_dir =
        std::env::temp_dir().join(format!("keyvault-core-test-{name}-{}", std::process::id()));
    let emulator = keyvault_emulator::Emulator::builder()
        .tls_dir(&tls_dir)
        .auth(keyvault_emulator::AuthMode::Strict)
        .start()
        .await
        .unwrap();
    (emulator, tls_dir)
}

#[tokio::test]
async fn a_managed_identity_from_the_instance_metadata_service_after_its_probe() {
    const TEST: &str = "a_managed_identity_from_the_instance_metadata_service_after_its_probe";
    if in_child(TEST) {
        return read_the_vault_as_a_managed_identity().await;
    }
    let (emulator, tls_dir) = strict_emulator("imds").await;
    let ca = emulator.ca_cert_pem().to_owned();
    // An HTTP proxy that sends what reaches it for 169.254.169.254 (the
    // address azure_identity has built in) to the emulator's IMDS endpoint.
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .build()
        .unwrap();
    let imds = emulator.imds_endpoint().to_owned();
    let forwarded: Arc<std::sync::Mutex<Vec<(String, bool)>>> = Arc::default();
    let log = forwarded.clone();
    let router = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let (client, imds, log) = (client.clone(), imds.clone(), log.clone());
        async move {
            let metadata = req.headers().get("metadata").cloned();
            let uri = req.uri();
            log.lock()
                .unwrap()
                .push((uri.host().unwrap_or("").to_owned(), metadata.is_some()));
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            let mut forward = client.get(format!("{imds}{path}"));
            if let Some(metadata) = metadata {
                forward = forward.header("metadata", metadata);
            }
            let answer = forward.send().await.unwrap();
            let status = answer.status();
            (status, answer.bytes().await.unwrap())
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    let serve = tokio::spawn(async move { axum::serve(listener, router).await });

    run_child(
        TEST,
        vec![
            ("HTTP_PROXY", proxy),
            ("HTTPS_PROXY", emulator.proxy_url().to_owned()),
            (
                "SSL_CERT_FILE",
                emulator.ca_cert_path().unwrap().display().to_string(),
            ),
            ("VAULT_URL", emulator.vault_host_url()),
        ],
    )
    .await;
    serve.abort();
    let forwarded = forwarded.lock().unwrap().clone();
    // The probe (without the Metadata header), then the token request.
    assert_eq!(
        forwarded,
        [
            ("169.254.169.254".to_owned(), false),
            ("169.254.169.254".to_owned(), true)
        ],
    );
    emulator.shutdown().await;
    let _ = std::fs::remove_dir_all(tls_dir);
}
