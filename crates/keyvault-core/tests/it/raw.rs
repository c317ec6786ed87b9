//! Requests written by hand: `Pipeline::send_request`.

use std::sync::Arc;

use keyvault_core::{
    ErrorKind, SendRequestOptions,
    http::{HeaderMap, HeaderValue, Method, StatusCode},
};

use crate::server::{self, Reply, Server, TestCredential, require_token};

#[tokio::test]
async fn send_request_resolves_under_the_endpoint_and_keeps_a_pinned_version() {
    let srv = Server::http(|seen, _| {
        require_token(seen).unwrap_or_else(|| match seen.path.as_str() {
            "/hsm/settings" => Reply::json(200, r#"{"settings":[]}"#),
            _ => Reply::json(404, r#"{"error":{"code":"NotFound","message":"no"}}"#),
        })
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let mut options = server::options();
    options.verify_challenge_resource = false;
    let p = server::pipeline(&cred, options);
    // An endpoint with a path is a folder: relative paths go below it.
    let endpoint = p.parse_endpoint(srv.url("/hsm").as_str()).unwrap();

    let r = p
        .send_request(&endpoint, Method::GET, "settings", None)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = p
        .send_request(&endpoint, Method::GET, "settings?api-version=7.2", None)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // A body is JSON unless a header says otherwise; a failure status is
    // returned, not an error; an absolute URL is used as given.
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("text/plain"));
    headers.insert("x-ms-client-request-id", HeaderValue::from_static("mine"));
    let with_type = SendRequestOptions {
        headers,
        body: Some(b"plain".to_vec()),
    };
    let r = p
        .send_request(&endpoint, Method::PUT, "settings/a", Some(with_type))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let json = SendRequestOptions {
        body: Some(br#"{"value":"true"}"#.to_vec()),
        ..Default::default()
    };
    let absolute = srv.url("/elsewhere?x=1");
    let r = p
        .send_request(&endpoint, Method::PATCH, absolute.as_str(), Some(json))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let seen: Vec<_> = srv
        .seen()
        .into_iter()
        .filter(|s| s.authorization().is_some())
        .collect();
    let shape: Vec<_> = seen
        .iter()
        .map(|s| (s.method.as_str(), s.path.as_str(), s.query.as_str()))
        .collect();
    assert_eq!(
        shape,
        [
            ("GET", "/hsm/settings", "api-version=7.6"),
            ("GET", "/hsm/settings", "api-version=7.2"),
            ("PUT", "/hsm/settings/a", "api-version=7.6"),
            ("PATCH", "/elsewhere", "x=1&api-version=7.6"),
        ]
    );
    assert_eq!(seen[2].headers["content-type"], "text/plain");
    assert_eq!(seen[2].headers["x-ms-client-request-id"], "mine");
    assert_eq!(&seen[2].body[..], b"plain");
    assert_eq!(seen[3].headers["content-type"], "application/json");
    assert_eq!(&seen[3].body[..], br#"{"value":"true"}"#);

    // What cannot be resolved, or may not be sent to, is an error.
    let e = p
        .send_request(&endpoint, Method::GET, "http://[::1", None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    let e = p
        .send_request(&endpoint, Method::GET, "http://example.com/x", None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");

    // Such an error quotes the URL without its query, which may hold a SAS.
    for bad in ["http://[::1?sig=s3cret", "http://example.com/x?sig=s3cret"] {
        let e = p
            .send_request(&endpoint, Method::GET, bad, None)
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(
            !text.contains("s3cret") && text.contains("http://"),
            "{text}"
        );
    }
    let e = p
        .parse_endpoint("https://myhsm.managedhsm.azure.net/?sig=s3cret")
        .unwrap_err();
    assert!(!e.to_string().contains("s3cret"), "{e}");
}
