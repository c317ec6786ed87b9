//! `ClientCore`: the URL kept once, the version sent and gated, sends,
//! listings and pollers through it.

use std::{sync::Arc, time::Duration};

use keyvault_core::{
    ClientOptions, ErrorKind, Result,
    client::{ClientCore, ClientCoreOptions},
    http::{Method, Request},
};
use serde::de::IgnoredAny;

use crate::server::{self, Reply, Server, TestCredential};

keyvault_core::api_version_enum! {
    /// A test enum.
    pub(crate) enum Version {
        /// `7.5`.
        V7_5 => "7.5",
        /// `7.6`.
        V7_6 => "7.6",
    }
    default = V7_6;
    ordered = ["7.5", "7.6"];
}

pub(crate) fn core(
    url: &str,
    version: Version,
    options: ClientOptions,
) -> Result<ClientCore<Version>> {
    let credential = Arc::new(TestCredential::default());
    let options = ClientCoreOptions {
        api_version: version,
        client_options: options,
    };
    ClientCore::new(
        server::INFO,
        url,
        "a test service",
        credential,
        Some(options),
    )
}

#[test]
fn the_url_is_checked_once_and_kept_once() {
    let c = core(
        " https://v.vault.azure.net/ ",
        Version::V7_6,
        ClientOptions::default(),
    )
    .unwrap();
    assert_eq!(c.url(), "https://v.vault.azure.net");
    assert_eq!(c.endpoint().as_str(), "https://v.vault.azure.net/");
    assert_eq!(c.pipeline().api_version(), "7.6");
    assert_eq!(c.api_version(), &Version::V7_6);
    assert_eq!(Version::ALL.len(), 2);
    let e = core(" / ", Version::V7_6, ClientOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("a test service"), "{e}");
    assert!(
        core(
            "http://v.vault.azure.net",
            Version::V7_6,
            ClientOptions::default()
        )
        .is_err()
    );
}

#[test]
fn version_gates_name_the_feature_and_the_versions() {
    let new = core("https://v", Version::V7_6, ClientOptions::default()).unwrap();
    assert!(new.require("x", "7.6").is_ok());
    let old = core("https://v", Version::V7_5, ClientOptions::default()).unwrap();
    let e = old.require("begin_pre_backup", "7.6").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        e.to_string()
            .contains("begin_pre_backup is not available in API version 7.5; use 7.6 or newer"),
        "{e}"
    );
}

#[tokio::test]
async fn requests_and_pollers_go_through_the_core_with_its_version() {
    let srv = Server::http(|seen, n| match seen.method.as_str() {
        "DELETE" => Reply::json(200, r#"{"recoveryId":"r"}"#),
        _ if n < 2 => Reply::empty(404),
        _ => Reply::json(200, r#"{"recoveryId":"r"}"#),
    })
    .await;
    let c = core(srv.url("/").as_str(), Version::V7_5, server::options()).unwrap();
    let url = srv.url("/deletedsecrets/s");
    let sent = c
        .send(
            "DeleteSecret",
            Ok(Request::new(Method::DELETE, url.clone())),
        )
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let poller = c
        .until_found::<IgnoredAny>(
            "GetDeletedSecret",
            Ok(Request::new(Method::GET, url)),
            Duration::from_millis(5),
        )
        .unwrap();
    let token = poller.resume_token();
    poller.await.unwrap();
    c.resume::<IgnoredAny>("GetDeletedSecret", &token, Duration::from_millis(5))
        .unwrap()
        .await
        .unwrap();
    let raw = c
        .send_request(Method::GET, "deletedsecrets/s", None)
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    let seen = srv.seen();
    assert_eq!(
        seen.len(),
        5,
        "one delete, two polls, one resumed poll, one raw request"
    );
    assert!(
        seen.iter()
            .all(|s| s.query_value("api-version").as_deref() == Some("7.5"))
    );
}
