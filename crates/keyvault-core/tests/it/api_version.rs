//! Which `api-version` reaches the server: the pipeline's, or the one a raw
//! request pins with `Context::keep_api_version`.

use std::sync::Arc;

use futures::TryStreamExt;
use keyvault_core::{
    Context,
    http::{Method, Request},
    paging::{Paged, Pager},
};
use serde::Deserialize;

use crate::server::{self, Reply, Seen, Server, TestCredential};

/// Every `api-version` value of the query, in order.
fn versions(seen: &Seen) -> Vec<String> {
    url::form_urlencoded::parse(seen.query.as_bytes())
        .filter(|(k, _)| k == "api-version")
        .map(|(_, v)| v.into_owned())
        .collect()
}

async fn ok_server() -> Server {
    Server::http(|_, _| Reply::json(200, "{}")).await
}

#[tokio::test]
async fn send_raw_keeps_a_pinned_version_when_the_context_says_so() {
    let srv = ok_server().await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let url = srv.url("/secrets/s?api-version=7.0&maxresults=1");

    let keep = Context::new("SendRequest").keep_api_version();
    let r = p
        .send_raw(&keep, Request::new(Method::GET, url.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    p.send(&keep, Request::new(Method::GET, url.clone()))
        .await
        .unwrap();
    // Without the flag, the pipeline's version replaces it.
    p.send_raw(&Context::new("SendRequest"), Request::new(Method::GET, url))
        .await
        .unwrap();

    let seen = srv.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(versions(&seen[0]), ["7.0"], "{}", seen[0].query);
    assert_eq!(versions(&seen[1]), ["7.0"], "{}", seen[1].query);
    assert_eq!(versions(&seen[2]), ["7.6"], "{}", seen[2].query);
    for s in &seen {
        assert_eq!(s.query_value("maxresults").as_deref(), Some("1"));
    }
}

#[tokio::test]
async fn keep_api_version_adds_ours_when_the_url_has_none() {
    let srv = ok_server().await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let keep = Context::new("SendRequest").keep_api_version();
    for path in ["/secrets", "/secrets?maxresults=2"] {
        p.send_raw(&keep, Request::new(Method::GET, srv.url(path)))
            .await
            .unwrap();
    }
    let seen = srv.seen();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(versions(s), ["7.6"], "{}", s.query);
    }
}

#[derive(Deserialize)]
struct List {
    value: Vec<String>,
    #[serde(rename = "nextLink")]
    next_link: Option<String>,
}

impl Paged for List {
    type Item = String;
    fn into_page(self) -> (Vec<String>, Option<String>) {
        (self.value, self.next_link)
    }
}

#[tokio::test]
async fn a_pager_replaces_the_version_of_next_links_even_with_keep() {
    let srv = Server::http(|seen, _| {
        let base = seen.base("http");
        if seen.query_value("$skiptoken").is_none() {
            Reply::json(
                200,
                format!(
                    r#"{{"value":["a"],"nextLink":"{base}/secrets?$skiptoken=p2&api-version=2016-10-01"}}"#
                ),
            )
        } else {
            Reply::json(200, r#"{"value":["b"]}"#)
        }
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let ctx = Context::new("GetSecrets").keep_api_version();
    let items: Vec<String> =
        Pager::<List>::new(p, ctx, Request::new(Method::GET, srv.url("/secrets")))
            .try_collect()
            .await
            .unwrap();
    assert_eq!(items, ["a", "b"]);
    let seen = srv.seen();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(versions(s), ["7.6"], "{}", s.query);
    }
}
