//! Lazy listings: [`ItemPager`] streams items, [`ItemPager::into_pages`]
//! streams whole pages with their continuation tokens.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use futures::{Stream, StreamExt, stream::BoxStream};
use keyvault_core::paging::{Paged, Pager};

use crate::Result;

/// One page of a listing; see [`ItemPager::into_pages`].
///
/// ```no_run
/// use futures::TryStreamExt;
/// use keyvault_administration::{KeyVaultRoleScope, ListOptions};
/// # async fn demo(client: keyvault_administration::KeyVaultAccessControlClient, token: String) -> keyvault_administration::Result<()> {
/// // Continue an earlier listing where its page left off.
/// let options = ListOptions { continuation_token: Some(token), ..Default::default() };
/// let mut pages = client.list_role_definitions(KeyVaultRoleScope::Global, Some(options)).into_pages();
/// while let Some(page) = pages.try_next().await? {
///     println!("{} items, next: {:?}", page.items.len(), page.continuation_token);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The token that resumes the listing at the next page, `None` on the
    /// last page. Pass it as
    /// [`ListOptions::continuation_token`](crate::ListOptions::continuation_token).
    pub continuation_token: Option<String>,
}

enum Source<P: Paged, T> {
    Pager(Pager<P>, fn(P::Item) -> T),
    Failed(Option<crate::Error>),
}

/// A lazy [`Stream`] of the items of a listing: nothing is sent until it
/// is polled, and each page is fetched when the previous one is used up.
///
/// ```no_run
/// use futures::TryStreamExt;
/// use keyvault_administration::KeyVaultRoleScope;
/// # async fn demo(client: keyvault_administration::KeyVaultAccessControlClient) -> keyvault_administration::Result<()> {
/// let mut roles = client.list_role_definitions(KeyVaultRoleScope::Global, None);
/// while let Some(role) = roles.try_next().await? {
///     println!("{:?}", role.role_name);
/// }
/// # Ok(()) }
/// ```
pub struct ItemPager<T> {
    items: BoxStream<'static, Result<T>>,
    pages: Box<dyn FnOnce(BoxStream<'static, Result<T>>) -> PageStream<T> + Send>,
}

impl<T: Send + 'static> ItemPager<T> {
    pub(crate) fn new<P: Paged>(pager: Result<Pager<P>>, map: fn(P::Item) -> T) -> Self {
        let source = match pager {
            Ok(p) => Source::Pager(p, map),
            Err(e) => Source::Failed(Some(e)),
        };
        // The item stream and the page stream read the same source; which
        // one is used is decided by `into_pages`, so the source is kept in
        // a slot both can take it from.
        let slot = std::sync::Arc::new(std::sync::Mutex::new(Some(source)));
        let items_slot = slot.clone();
        let items = futures::stream::once(async move {
            let taken = items_slot.lock().ok().and_then(|mut s| s.take());
            match taken {
                Some(Source::Pager(pager, map)) => pager.map(move |r| r.map(map)).boxed(),
                Some(Source::Failed(e)) => futures::stream::iter(e.map(Err)).boxed(),
                None => futures::stream::empty().boxed(),
            }
        })
        .flatten()
        .boxed();
        let pages = Box::new(move |_items: BoxStream<'static, Result<T>>| {
            let taken = slot.lock().ok().and_then(|mut s| s.take());
            let inner = match taken {
                Some(Source::Pager(pager, map)) => pager
                    .into_pages()
                    .map(move |page| {
                        page.map(|p| Page {
                            items: p.items.into_iter().map(map).collect(),
                            continuation_token: p.continuation_token,
                        })
                    })
                    .boxed(),
                Some(Source::Failed(e)) => futures::stream::iter(e.map(Err)).boxed(),
                None => futures::stream::empty().boxed(),
            };
            PageStream { inner }
        });
        Self { items, pages }
    }

    /// The listing as a stream of whole pages, each with the token that
    /// resumes the listing after it. Call it before reading any item.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// use keyvault_administration::KeyVaultRoleScope;
    /// # async fn demo(client: keyvault_administration::KeyVaultAccessControlClient) -> keyvault_administration::Result<()> {
    /// let mut pages = client.list_role_assignments(KeyVaultRoleScope::Global, None).into_pages();
    /// if let Some(page) = pages.try_next().await? {
    ///     println!("{} items; resume with {:?}", page.items.len(), page.continuation_token);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn into_pages(self) -> PageStream<T> {
        (self.pages)(self.items)
    }
}

impl<T> std::fmt::Debug for ItemPager<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ItemPager").finish_non_exhaustive()
    }
}

impl<T> Stream for ItemPager<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.items.poll_next_unpin(cx)
    }
}

/// A lazy [`Stream`] of the pages of a listing; see [`ItemPager::into_pages`]
/// and [`Page`] for an example.
pub struct PageStream<T> {
    inner: BoxStream<'static, Result<Page<T>>>,
}

impl<T> std::fmt::Debug for PageStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageStream").finish_non_exhaustive()
    }
}

impl<T> Stream for PageStream<T> {
    type Item = Result<Page<T>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}
