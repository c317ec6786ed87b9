//! No secret value and no token ever reaches a log, an error or `Debug`.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use keyvault_core::{
    Context,
    http::{Method, Request},
};
use tracing_subscriber::fmt::MakeWriter;

use crate::server::{self, Reply, Server, TestCredential, require_token};

const SECRET_VALUE: &str = "Sup3r-S3cret-Value-7d1f";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn trace_output_holds_no_secret_value_and_no_token() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let first_put = std::sync::atomic::AtomicBool::new(true);
    let srv = Server::http(move |seen, _| {
        require_token(seen).unwrap_or_else(|| {
            if seen.path == "/warm-up" {
                Reply::json(200, "{}")
            } else if seen.method == "PUT"
                && first_put.swap(false, std::sync::atomic::Ordering::SeqCst)
            {
                Reply::empty(503).header("retry-after", "0")
            } else if seen.method == "PUT" {
                // The service echoes the value, as Set Secret does.
                Reply::json(
                    200,
                    format!(r#"{{"value":"{SECRET_VALUE}","id":"https://v/secrets/s/1"}}"#),
                )
                .header("x-ms-request-id", "redaction-req")
            } else {
                Reply::json(
                    400,
                    r#"{"error":{"code":"BadParameter","message":"The request is invalid."}}"#,
                )
            }
        })
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());

    // Other tests, on other threads, may have registered the pipeline's
    // callsites while this subscriber was being set: warm them up, then have
    // their interest computed again, with this subscriber known.
    p.send(
        &Context::new("WarmUp"),
        Request::new(Method::GET, srv.url("/warm-up")),
    )
    .await
    .unwrap();
    tracing::callsite::rebuild_interest_cache();

    let mut put = Request::new(Method::PUT, srv.url("/secrets/s"));
    put.set_json(&serde_json::json!({ "value": SECRET_VALUE }))
        .unwrap();
    let resp = p
        .send(&Context::new("SetSecret"), put.clone())
        .await
        .unwrap();
    assert!(
        std::str::from_utf8(resp.body())
            .unwrap()
            .contains(SECRET_VALUE)
    );

    let mut patch = Request::new(Method::PATCH, srv.url("/secrets/s/1"));
    patch
        .set_json(&serde_json::json!({ "value": SECRET_VALUE }))
        .unwrap();
    let err = p
        .send(&Context::new("UpdateSecret"), patch)
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), Some("BadParameter"));

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    // The capture really holds the trace of these requests...
    assert!(logs.contains("KeyVault.SetSecret"), "{logs}");
    assert!(logs.contains("KeyVault.UpdateSecret"), "{logs}");
    assert!(logs.contains("sending request"), "{logs}");
    assert!(logs.contains("redaction-req"), "{logs}");
    assert!(
        logs.contains("REDACTED"),
        "the authorization header is logged as redacted: {logs}"
    );
    // The operation span carries Azure's semantic-convention fields.
    for field in [
        "az.namespace=\"Microsoft.KeyVault\"",
        "server.address=\"127.0.0.1\"",
        "http.request.method=PUT",
        "http.response.status_code=200",
        "az.service_request_id=\"redaction-req\"",
        "http.request.resend_count=1",
    ] {
        assert!(logs.contains(field), "missing {field}: {logs}");
    }
    // ...and neither the secret value nor the token.
    for (what, text) in [
        ("logs", logs.as_str()),
        ("error Display", &err.to_string()),
        ("error Debug", &format!("{err:?}")),
        ("request Debug", &format!("{put:?}")),
        ("response Debug", &format!("{resp:?}")),
        ("pipeline Debug", &format!("{p:?}")),
    ] {
        assert!(
            !text.contains(SECRET_VALUE),
            "{what} shows the secret value: {text}"
        );
        assert!(
            !text.contains(server::TOKEN),
            "{what} shows the token: {text}"
        );
    }
}
