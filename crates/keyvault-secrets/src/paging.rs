//! Lazy listings: [`ItemPager`] streams items, [`ItemPager::into_pages`]
//! streams whole pages with their continuation tokens.

use std::{
    marker::PhantomData,
    pin::Pin,
    task::{Context, Poll},
};

use futures::{Stream, StreamExt, stream::BoxStream};
use keyvault_core::paging::{Paged, Pager};

use crate::{Error, Result};

/// One page of a listing.
#[derive(Debug)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items of this page (the service may return empty pages before
    /// the last one).
    pub items: Vec<T>,
    /// The token that resumes the listing at the next page, `None` on the
    /// last page. Pass it as
    /// [`ListOptions::continuation_token`](crate::ListOptions::continuation_token).
    pub continuation_token: Option<String>,
}

/// What an [`ItemPager`] reads from: a generated list operation walked by
/// keyvault-core's pager, with its items converted to our models.
trait Source<T>: Stream<Item = Result<T>> + Send + Unpin {
    fn into_pages(self: Box<Self>) -> BoxStream<'static, Result<Page<T>>>;
}

struct Mapped<P: Paged, T> {
    pager: Pager<P>,
    map: fn(P::Item) -> T,
}

impl<P: Paged, T> Stream for Mapped<P, T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let map = self.map;
        self.pager
            .poll_next_unpin(cx)
            .map(|o| o.map(|r| r.map(map)))
    }
}

impl<P: Paged, T: Send + 'static> Source<T> for Mapped<P, T> {
    fn into_pages(self: Box<Self>) -> BoxStream<'static, Result<Page<T>>> {
        let map = self.map;
        self.pager
            .into_pages()
            .map(move |page| {
                page.map(|p| Page {
                    items: p.items.into_iter().map(map).collect(),
                    continuation_token: p.continuation_token,
                })
            })
            .boxed()
    }
}

/// A listing that could not start: it yields its error once.
struct Failed<T>(Option<Error>, PhantomData<fn() -> T>);

impl<T> Stream for Failed<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.take().map(Err))
    }
}

impl<T: Send + 'static> Source<T> for Failed<T> {
    fn into_pages(self: Box<Self>) -> BoxStream<'static, Result<Page<T>>> {
        futures::stream::iter(self.0.map(Err)).boxed()
    }
}

/// A lazy [`Stream`] of the items of a listing: nothing is sent until it
/// is polled, and each page is fetched when the previous one is used up.
///
/// ```no_run
/// use futures::TryStreamExt;
/// # async fn demo(client: keyvault_secrets::SecretClient) -> keyvault_secrets::Result<()> {
/// let mut secrets = client.list_properties_of_secrets(None);
/// while let Some(props) = secrets.try_next().await? {
///     println!("{}", props.name());
/// }
/// # Ok(()) }
/// ```
pub struct ItemPager<T> {
    source: Box<dyn Source<T>>,
}

impl<T: Send + 'static> ItemPager<T> {
    pub(crate) fn new<P: Paged>(pager: Result<Pager<P>>, map: fn(P::Item) -> T) -> Self {
        match pager {
            Ok(pager) => Self {
                source: Box::new(Mapped { pager, map }),
            },
            Err(e) => Self {
                source: Box::new(Failed(Some(e), PhantomData)),
            },
        }
    }

    /// The listing as a stream of whole pages, each with the token that
    /// resumes the listing after it.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// use keyvault_secrets::ListOptions;
    /// # async fn demo(client: keyvault_secrets::SecretClient) -> keyvault_secrets::Result<()> {
    /// let options = ListOptions { max_page_size: Some(10), ..Default::default() };
    /// let mut pages = client.list_properties_of_secrets(Some(options)).into_pages();
    /// if let Some(page) = pages.try_next().await? {
    ///     println!("{} items; resume with {:?}", page.items.len(), page.continuation_token);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn into_pages(self) -> PageStream<T> {
        PageStream {
            inner: self.source.into_pages(),
        }
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
        self.source.poll_next_unpin(cx)
    }
}

/// A lazy [`Stream`] of the pages of a listing; see [`ItemPager::into_pages`].
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
