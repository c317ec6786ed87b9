//! Paging: more than one service page, small page sizes, resuming.

use std::collections::BTreeSet;

use futures::TryStreamExt;
use keyvault_secrets::ListOptions;

use crate::common::{fast, start};

#[tokio::test]
async fn lists_page_through_more_than_25_items() {
    let env = start().await;
    let c = &env.client;
    for i in 0..30 {
        c.set_secret(&format!("item-{i:02}"), "v", None)
            .await
            .unwrap();
    }
    // Default page size: the service's 25, so two pages.
    let all: Vec<_> = c
        .list_properties_of_secrets(None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 30);
    let names: BTreeSet<String> = all.iter().map(|p| p.name().to_owned()).collect();
    assert_eq!(names.len(), 30);
    assert!(
        all.iter().all(|p| p.version().is_none()),
        "list items have no version"
    );

    // Pages of 7: 5 pages, every one but the last with a token.
    let options = ListOptions {
        max_page_size: Some(7),
        ..Default::default()
    };
    let pages: Vec<_> = c
        .list_properties_of_secrets(Some(options.clone()))
        .into_pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 5);
    assert!(pages.iter().take(4).all(|p| p.items.len() == 7));
    assert_eq!(pages[4].items.len(), 2);
    assert!(pages[..4].iter().all(|p| p.continuation_token.is_some()));
    assert!(pages[4].continuation_token.is_none());

    // Resume after the second page: the rest, exactly.
    let token = pages[1].continuation_token.clone().unwrap();
    let rest: Vec<_> = c
        .list_properties_of_secrets(Some(ListOptions {
            continuation_token: Some(token),
            ..options
        }))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rest.len(), 16);
    assert_eq!(rest[0].name(), pages[2].items[0].name());

    // A bad token is an error from the stream, not a panic.
    let mut bad = c.list_properties_of_secrets(Some(ListOptions {
        continuation_token: Some("https://elsewhere.example/secrets?x=1".into()),
        ..Default::default()
    }));
    let err = bad.try_next().await.unwrap_err();
    assert_eq!(
        err.kind(),
        keyvault_secrets::ErrorKind::InvalidInput,
        "{err}"
    );
    assert!(bad.try_next().await.unwrap().is_none());
    env.emu.shutdown().await;
}

#[tokio::test]
async fn versions_and_deleted_secrets_page_too() {
    let env = start().await;
    let c = &env.client;
    for i in 0..27 {
        c.set_secret("many-versions", format!("v{i}"), None)
            .await
            .unwrap();
    }
    let small = || {
        Some(ListOptions {
            max_page_size: Some(4),
            ..Default::default()
        })
    };
    let versions: Vec<_> = c
        .list_properties_of_secret_versions("many-versions", small())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(versions.len(), 27);
    let distinct: BTreeSet<_> = versions.iter().filter_map(|v| v.version()).collect();
    assert_eq!(distinct.len(), 27);

    for i in 0..3 {
        let name = format!("deleted-{i}");
        c.set_secret(&name, "v", None).await.unwrap();
        c.begin_delete_secret(&name, fast())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let deleted: Vec<_> = c.list_deleted_secrets(small()).try_collect().await.unwrap();
    assert_eq!(deleted.len(), 3);
    assert!(
        deleted
            .iter()
            .all(|d| d.recovery_id.is_some() && d.deleted_on.is_some())
    );
    let pages: Vec<_> = c
        .list_deleted_secrets(Some(ListOptions {
            max_page_size: Some(2),
            ..Default::default()
        }))
        .into_pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 2);
    // An empty vault lists nothing.
    let none: Vec<_> = c
        .list_properties_of_secret_versions("never-set", None)
        .try_collect()
        .await
        .unwrap_or_default();
    assert!(none.is_empty());
    env.emu.shutdown().await;
}
