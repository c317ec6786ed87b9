//! Paging over `{value, nextLink}`.

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use keyvault_core::{
    Context, ErrorKind,
    http::{Method, Request},
    paging::{ItemPager, Page, Paged, Pager},
};
use serde::Deserialize;

use crate::server::{self, Reply, Seen, Server, TestCredential};

#[derive(Deserialize)]
pub(crate) struct NameList {
    value: Vec<Item>,
    #[serde(rename = "nextLink")]
    next_link: Option<String>,
}

#[derive(Deserialize, Debug, PartialEq)]
pub(crate) struct Item {
    pub(crate) id: String,
}

impl Paged for NameList {
    type Item = Item;
    fn into_page(self) -> (Vec<Item>, Option<String>) {
        (self.value, self.next_link)
    }
}

/// Three pages: `a b`, `c d`, `e`. The next links carry an old api-version
/// and no `maxresults`, as a service might.
pub(crate) fn three_pages(seen: &Seen, _: usize) -> Reply {
    let base = seen.base("http");
    let page = seen.query_value("$skiptoken");
    let body = match page.as_deref() {
        None => format!(
            r#"{{"value":[{{"id":"a"}},{{"id":"b"}}],"nextLink":"{base}/secrets?$skiptoken=p2&api-version=2016-10-01"}}"#
        ),
        Some("p2") => format!(
            r#"{{"value":[{{"id":"c"}},{{"id":"d"}}],"nextLink":"{base}/secrets?$skiptoken=p3"}}"#
        ),
        _ => r#"{"value":[{"id":"e"}],"nextLink":null}"#.to_owned(),
    };
    Reply::json(200, body)
}

pub(crate) fn first_request(srv: &Server) -> Request {
    let mut r = Request::new(Method::GET, srv.url("/secrets"));
    r.append_query("maxresults", "2");
    r
}

#[tokio::test]
async fn items_stream_across_three_pages() {
    let srv = Server::http(three_pages).await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let pager = Pager::<NameList>::new(p, Context::new("GetSecrets"), first_request(&srv));
    assert!(
        srv.seen().is_empty(),
        "nothing is sent before the stream is polled"
    );
    let ids: Vec<String> = pager.map_ok(|i| i.id).try_collect().await.unwrap();
    assert_eq!(ids, ["a", "b", "c", "d", "e"]);
    let seen = srv.seen();
    assert_eq!(seen.len(), 3);
    for s in &seen {
        assert_eq!(
            s.query_value("api-version").as_deref(),
            Some("7.6"),
            "{}",
            s.query
        );
        assert_eq!(
            s.query_value("maxresults").as_deref(),
            Some("2"),
            "{}",
            s.query
        );
    }
}

#[tokio::test]
async fn pages_carry_continuation_tokens_to_resume_from() {
    let srv = Server::http(three_pages).await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let mut pages =
        Pager::<NameList>::new(p.clone(), Context::new("GetSecrets"), first_request(&srv))
            .into_pages();
    let first = pages.next().await.unwrap().unwrap();
    assert_eq!(first.items.len(), 2);
    let token = first.continuation_token.clone().unwrap();
    drop(pages);

    let resumed = Pager::<NameList>::resume(
        p.clone(),
        Context::new("GetSecrets"),
        first_request(&srv),
        &token,
    )
    .unwrap();
    let pages: Vec<_> = resumed.into_pages().try_collect().await.unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(
        pages[0].items,
        [Item { id: "c".into() }, Item { id: "d".into() }]
    );
    assert!(pages[1].continuation_token.is_none());

    // A token pointing at another host is refused.
    let err = Pager::<NameList>::resume(
        p,
        Context::new("GetSecrets"),
        first_request(&srv),
        "https://elsewhere.example.test/secrets?$skiptoken=p2",
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn start_at_begins_at_the_first_page_or_at_the_token() {
    let srv = Server::http(three_pages).await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let ctx = Context::new("GetSecrets");
    let ids = |pager: Pager<NameList>| pager.map_ok(|i| i.id).try_collect::<Vec<_>>();

    let all =
        Pager::<NameList>::start_at(p.clone(), ctx.clone(), first_request(&srv), None).unwrap();
    assert_eq!(ids(all).await.unwrap(), ["a", "b", "c", "d", "e"]);
    let token = srv.url("/secrets?$skiptoken=p3");
    let rest = Pager::<NameList>::start_at(
        p.clone(),
        ctx.clone(),
        first_request(&srv),
        Some(token.as_str()),
    )
    .unwrap();
    assert_eq!(ids(rest).await.unwrap(), ["e"]);
    let seen = srv.seen();
    assert_eq!(seen.len(), 4, "three pages, then the one the token names");
    assert_eq!(seen[3].query_value("$skiptoken").as_deref(), Some("p3"));
    assert_eq!(seen[3].query_value("maxresults").as_deref(), Some("2"));

    let err = Pager::<NameList>::start_at(
        p,
        ctx,
        first_request(&srv),
        Some("https://elsewhere.example.test/secrets?$skiptoken=p2"),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn an_error_page_ends_the_stream_with_the_error() {
    let srv = Server::http(|seen, _| {
        if seen.query_value("$skiptoken").is_some() {
            Reply::json(
                403,
                r#"{"error":{"code":"Forbidden","message":"no list permission"}}"#,
            )
        } else {
            three_pages(seen, 0)
        }
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let results: Vec<_> =
        Pager::<NameList>::new(p, Context::new("GetSecrets"), first_request(&srv))
            .collect()
            .await;
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok() && results[1].is_ok());
    assert!(results[2].as_ref().unwrap_err().is_forbidden());
}

/// The model a client crate would show for an [`Item`].
#[derive(Debug, PartialEq)]
struct Name(String);

fn to_name(item: Item) -> Name {
    Name(item.id.to_uppercase())
}

#[tokio::test]
async fn item_pager_maps_items_across_pages() {
    let srv = Server::http(three_pages).await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let pager = Pager::<NameList>::new(p, Context::new("GetSecrets"), first_request(&srv));
    let items = ItemPager::new(Ok(pager), to_name);
    assert!(
        srv.seen().is_empty(),
        "nothing is sent before the stream is polled"
    );
    let names: Vec<Name> = items.try_collect().await.unwrap();
    assert_eq!(names, ["A", "B", "C", "D", "E"].map(|n| Name(n.to_owned())));
    assert_eq!(srv.seen().len(), 3);
}

#[tokio::test]
async fn item_pager_conversion_errors_replace_their_page() {
    let srv = Server::http(three_pages).await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let pager = Pager::<NameList>::new(p, Context::new("GetSecrets"), first_request(&srv));
    let items = ItemPager::try_new(Ok(pager), |item: Item| {
        if item.id == "d" {
            Err(keyvault_core::Error::new(ErrorKind::Deserialize, "no d"))
        } else {
            Ok(to_name(item))
        }
    });
    let results: Vec<_> = items.collect().await;
    assert_eq!(results.len(), 3, "{results:?}");
    assert_eq!(results[1].as_ref().unwrap(), &Name("B".into()));
    assert_eq!(
        results[2].as_ref().unwrap_err().kind(),
        ErrorKind::Deserialize
    );
}

#[tokio::test]
async fn item_pager_pages_are_mapped_and_resumable() {
    let srv = Server::http(three_pages).await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let pager = Pager::<NameList>::new(p.clone(), Context::new("GetSecrets"), first_request(&srv));
    let mut pages = ItemPager::new(Ok(pager), to_name).into_pages();
    let first = pages.try_next().await.unwrap().unwrap();
    assert_eq!(first.items, [Name("A".into()), Name("B".into())]);
    let token = first.continuation_token.unwrap();
    drop(pages);

    let resumed =
        Pager::<NameList>::resume(p, Context::new("GetSecrets"), first_request(&srv), &token);
    // A closure that captures state maps too.
    let mut n = 0;
    let pages: Vec<Page<(usize, String)>> = ItemPager::new(resumed, move |i: Item| {
        n += 1;
        (n, i.id)
    })
    .into_pages()
    .try_collect()
    .await
    .unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].items, [(1, "c".into()), (2, "d".into())]);
    assert_eq!(pages[1].items, [(3, "e".into())]);
    assert!(pages[0].continuation_token.is_some());
    assert!(pages[1].continuation_token.is_none());
    assert_eq!(srv.seen().len(), 3, "one first page, then the two resumed");
}

#[tokio::test]
async fn item_pager_that_could_not_start_yields_its_error_once() {
    let srv = Server::http(three_pages).await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let bad = || {
        Pager::<NameList>::resume(
            p.clone(),
            Context::new("GetSecrets"),
            first_request(&srv),
            "https://elsewhere.example.test/secrets?$skiptoken=p2",
        )
    };
    let results: Vec<_> = ItemPager::new(bad(), to_name).collect().await;
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0].as_ref().unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    let pages: Vec<_> = ItemPager::new(bad(), to_name).into_pages().collect().await;
    assert_eq!(pages.len(), 1);
    assert_eq!(
        pages[0].as_ref().unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert!(srv.seen().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn item_pager_ends_after_an_error_page() {
    let srv = Server::http(|seen, _| {
        if seen.query_value("$skiptoken").is_some() {
            Reply::json(
                403,
                r#"{"error":{"code":"Forbidden","message":"no list permission"}}"#,
            )
        } else {
            three_pages(seen, 0)
        }
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let pager = Pager::<NameList>::new(p, Context::new("GetSecrets"), first_request(&srv));
    let mut items = ItemPager::new(Ok(pager), to_name);
    assert_eq!(items.try_next().await.unwrap(), Some(Name("A".into())));
    assert_eq!(items.try_next().await.unwrap(), Some(Name("B".into())));
    assert!(items.try_next().await.unwrap_err().is_forbidden());
    assert!(
        items.next().await.is_none(),
        "the stream ends after the error"
    );
    assert_eq!(srv.seen().len(), 2);
}

#[test]
fn a_page_is_built_and_mapped() {
    let page = Page::new(vec![1, 2], Some("next".to_owned())).map(|n| n * 10);
    assert_eq!(page.items, [10, 20]);
    assert_eq!(page.continuation_token.as_deref(), Some("next"));
}
