//! Paging over Key Vault's `{ "value": [...], "nextLink": "..." }` list responses.
//!
//! [`Pager`] is a lazy stream of the items of a generated list result;
//! [`Pager::into_pages`] gives whole pages with their continuation tokens;
//! [`Pager::resume`] continues from one.
//!
//! Client crates expose listings as an [`ItemPager`]: a [`Pager`] whose
//! items are mapped to the models users see, and which also carries the
//! error of a listing that could not start (an invalid argument, a bad
//! continuation token) to the first poll. Its [`PageStream`] of [`Page`]s
//! is the same type a [`Pager`] gives, generic over the item type only.

use std::{
    collections::VecDeque,
    pin::Pin,
    task::{Context as TaskContext, Poll},
};

use futures::{Stream, StreamExt, stream::BoxStream};
use url::Url;

use crate::{
    Error, ErrorKind, Result,
    http::{Method, Request},
    pipeline::{Context, Pipeline},
};

/// A decoded page of a list operation: its items and the link to the next page.
///
/// Generated list-result models implement this trait so that the pager in this
/// module can walk any list operation.
pub trait Paged: serde::de::DeserializeOwned + Send + 'static {
    /// The type of one item of the list.
    type Item: Send + 'static;

    /// Splits the page into its items and its `nextLink` (absent or empty on
    /// the last page).
    fn into_page(self) -> (Vec<Self::Item>, Option<String>);
}

/// One page of a listing.
#[derive(Debug)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items of this page (possibly none: the service may return empty
    /// pages before the last one).
    pub items: Vec<T>,
    /// The token that resumes the listing at the next page, or `None` on the
    /// last page. Client crates take it back as the `continuation_token` of
    /// their list options; [`Pager::resume`] takes it directly.
    pub continuation_token: Option<String>,
}

impl<T> Page<T> {
    /// A page of `items`, followed by the page at `continuation_token`
    /// (`None` on the last page).
    pub fn new(items: Vec<T>, continuation_token: Option<String>) -> Self {
        Self {
            items,
            continuation_token,
        }
    }

    /// The same page with each item converted by `f`.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            continuation_token: self.continuation_token,
        }
    }
}

enum Next {
    First(Box<Request>),
    Link(String),
    Done,
}

/// A lazy [`Stream`] of the pages of a listing, each a [`Page`] of `T`s
/// with the token that resumes the listing after it. Nothing is sent until
/// it is polled; it ends after the last page or after the first error. Get
/// one with [`ItemPager::into_pages`] or [`Pager::into_pages`].
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

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

impl<T: Send + 'static> PageStream<T> {
    /// A stream that yields `error` once and ends: a listing that could not
    /// start.
    fn failed(error: Error) -> Self {
        Self {
            inner: futures::stream::once(async move { Err(error) }).boxed(),
        }
    }

    /// The same pages with each item converted by `f`; a page with an item
    /// `f` fails on is that error.
    fn map_items<U: Send + 'static>(
        self,
        mut f: impl FnMut(T) -> Result<U> + Send + 'static,
    ) -> PageStream<U> {
        PageStream {
            inner: self
                .inner
                .map(move |page| {
                    let page = page?;
                    let items = page.items.into_iter().map(&mut f).collect::<Result<_>>()?;
                    Ok(Page {
                        items,
                        continuation_token: page.continuation_token,
                    })
                })
                .boxed(),
        }
    }
}

/// The items of a [`PageStream`], one page read at a time.
struct Items<T> {
    pages: PageStream<T>,
    buffered: VecDeque<T>,
    done: bool,
}

impl<T> Items<T> {
    fn new(pages: PageStream<T>) -> Self {
        Self {
            pages,
            buffered: VecDeque::new(),
            done: false,
        }
    }

    fn poll_item(&mut self, cx: &mut TaskContext<'_>) -> Poll<Option<Result<T>>> {
        loop {
            if let Some(item) = self.buffered.pop_front() {
                return Poll::Ready(Some(Ok(item)));
            }
            if self.done {
                return Poll::Ready(None);
            }
            match self.pages.inner.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    self.done = true;
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Err(e))) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(Some(Ok(page))) => self.buffered.extend(page.items),
            }
        }
    }
}

/// A lazy [`Stream`] of the items of a listing, converted to the models a
/// client crate shows: how client crates expose list operations.
///
/// Build one from the [`Pager`] of a generated list result and a function
/// that converts one generated item into a model. Building the pager may
/// fail (an invalid argument, a continuation token that is not a link to
/// the vault); the error then comes out of the stream, once, at the first
/// poll, so that list methods can return an `ItemPager` rather than a
/// `Result`. Nothing is sent until the stream is polled, and each page is
/// fetched when the previous one is used up.
///
/// ```no_run
/// # use keyvault_core::{Context, Pipeline, Result, paging::{ItemPager, Paged, Pager}, http::{Method, Request}};
/// # use futures::TryStreamExt;
/// # #[derive(serde::Deserialize)] struct ListResult { value: Vec<String>, #[serde(rename = "nextLink")] next_link: Option<String> }
/// # impl Paged for ListResult { type Item = String; fn into_page(self) -> (Vec<String>, Option<String>) { (self.value, self.next_link) } }
/// /// The model users see.
/// struct Name(String);
///
/// fn list_names(pipeline: Pipeline, first: Result<Request>, token: Option<&str>) -> ItemPager<Name> {
///     let ctx = Context::new("GetSecrets");
///     let pager = first.and_then(|first| Pager::<ListResult>::start_at(pipeline, ctx, first, token));
///     ItemPager::new(pager, Name)
/// }
///
/// # async fn demo(pipeline: Pipeline, url: url::Url) -> Result<()> {
/// let mut names = list_names(pipeline.clone(), Ok(Request::new(Method::GET, url.clone())), None);
/// while let Some(Name(name)) = names.try_next().await? {
///     println!("{name}");
/// }
/// // Or page by page, with the token that resumes after each page.
/// let mut pages = list_names(pipeline, Ok(Request::new(Method::GET, url)), None).into_pages();
/// if let Some(page) = pages.try_next().await? {
///     println!("{} items; resume with {:?}", page.items.len(), page.continuation_token);
/// }
/// # Ok(()) }
/// ```
pub struct ItemPager<T> {
    items: Items<T>,
}

impl<T: Send + 'static> ItemPager<T> {
    /// A listing of the items of `pager`, each converted by `map`; when
    /// `pager` is an error, a listing that yields that error once.
    ///
    /// Items the pager had already buffered (from a partly read page) are
    /// not included: give it a pager that has not been polled.
    pub fn new<P: Paged>(
        pager: Result<Pager<P>>,
        mut map: impl FnMut(P::Item) -> T + Send + 'static,
    ) -> Self {
        Self::try_new(pager, move |item| Ok(map(item)))
    }

    /// As [`new`](Self::new), with a conversion that may fail (an item that
    /// lacks what the model needs): the page holding such an item is that
    /// error.
    pub fn try_new<P: Paged>(
        pager: Result<Pager<P>>,
        map: impl FnMut(P::Item) -> Result<T> + Send + 'static,
    ) -> Self {
        let pages = match pager {
            Ok(pager) => pager.into_pages().map_items(map),
            Err(e) => PageStream::failed(e),
        };
        Self {
            items: Items::new(pages),
        }
    }

    /// The listing as a stream of whole pages, each with the token that
    /// resumes the listing after it. Items already read from a partly
    /// consumed page are dropped: call it before reading any item.
    pub fn into_pages(self) -> PageStream<T> {
        self.items.pages
    }
}

impl<T> std::fmt::Debug for ItemPager<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ItemPager")
            .field("buffered", &self.items.buffered.len())
            .finish_non_exhaustive()
    }
}

impl<T> Unpin for ItemPager<T> {}

impl<T> Stream for ItemPager<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.items.poll_item(cx)
    }
}

/// A lazy [`Stream`] of the items of a list operation, over Key Vault's
/// `{"value": [...], "nextLink": "..."}` pages.
///
/// `nextLink` is followed as given, after checking that it points at the
/// same host as the first request; the pipeline sets our `api-version` on it,
/// and `maxresults` is carried over when the link lacks it.
///
/// ```no_run
/// # use keyvault_core::{Context, Pipeline, paging::{Paged, Pager}, http::{Method, Request}};
/// # use futures::TryStreamExt;
/// # #[derive(serde::Deserialize)] struct ListResult { value: Vec<String>, #[serde(rename = "nextLink")] next_link: Option<String> }
/// # impl Paged for ListResult { type Item = String; fn into_page(self) -> (Vec<String>, Option<String>) { (self.value, self.next_link) } }
/// # async fn demo(pipeline: Pipeline, url: url::Url) -> keyvault_core::Result<()> {
/// let mut request = Request::new(Method::GET, url);
/// request.append_query("maxresults", "25");
/// let mut items = Pager::<ListResult>::new(pipeline, Context::new("GetSecrets"), request);
/// while let Some(item) = items.try_next().await? {
///     println!("{item}");
/// }
/// # Ok(()) }
/// ```
pub struct Pager<P: Paged> {
    items: Items<P::Item>,
}

impl<P: Paged> std::fmt::Debug for Pager<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pager")
            .field("buffered", &self.items.buffered.len())
            .finish_non_exhaustive()
    }
}

impl<P: Paged> Pager<P> {
    /// A pager whose first page is fetched with `first`.
    pub fn new(pipeline: Pipeline, ctx: Context, first: Request) -> Self {
        Self::start(pipeline, ctx, first, None)
    }

    /// A pager that continues where a previous listing stopped:
    /// `continuation_token` comes from [`Page::continuation_token`]. `first`
    /// is the request of the first page, used as the template (headers,
    /// host, `maxresults`).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when the token is not a URL on the same
    /// host as `first`.
    pub fn resume(
        pipeline: Pipeline,
        ctx: Context,
        first: Request,
        continuation_token: &str,
    ) -> Result<Self> {
        next_request(&first, continuation_token)?;
        Ok(Self::start(
            pipeline,
            ctx,
            first,
            Some(continuation_token.to_owned()),
        ))
    }

    /// [`resume`](Self::resume) at `continuation_token` when there is one,
    /// else [`new`](Self::new): for list methods whose options carry an
    /// optional continuation token.
    ///
    /// # Errors
    /// As [`resume`](Self::resume).
    pub fn start_at(
        pipeline: Pipeline,
        ctx: Context,
        first: Request,
        continuation_token: Option<&str>,
    ) -> Result<Self> {
        match continuation_token {
            Some(token) => Self::resume(pipeline, ctx, first, token),
            None => Ok(Self::new(pipeline, ctx, first)),
        }
    }

    fn start(pipeline: Pipeline, ctx: Context, first: Request, link: Option<String>) -> Self {
        // Next links carry the version the service chose; ours replaces it.
        let ctx = ctx.replacing_api_version();
        let template = first.clone();
        let state = match link {
            Some(l) => Next::Link(l),
            None => Next::First(Box::new(first)),
        };
        let mut guard = LoopGuard::new(pipeline.max_pages());
        let inner = futures::stream::unfold(state, move |state| {
            let pipeline = pipeline.clone();
            let template = template.clone();
            let ctx = ctx.clone();
            let checked = match &state {
                Next::Done => Ok(()),
                Next::First(_) => guard.follow(None),
                Next::Link(link) => guard.follow(Some(link)),
            };
            async move {
                if let Err(e) = checked {
                    return Some((Err(e), Next::Done));
                }
                let request = match state {
                    Next::Done => return None,
                    Next::First(r) => *r,
                    Next::Link(link) => match next_request(&template, &link) {
                        Ok(r) => r,
                        Err(e) => return Some((Err(e), Next::Done)),
                    },
                };
                let page = async {
                    let response = pipeline.send(&ctx, request).await?;
                    let (items, next) = response.json::<P>()?.into_page();
                    let next = next.filter(|l| !l.is_empty());
                    Ok(Page {
                        items,
                        continuation_token: next,
                    })
                }
                .await;
                match page {
                    Ok(p) => {
                        let state = match &p.continuation_token {
                            Some(l) => Next::Link(l.clone()),
                            None => Next::Done,
                        };
                        Some((Ok(p), state))
                    }
                    Err(e) => Some((Err(e), Next::Done)),
                }
            }
        })
        .boxed();
        Self {
            items: Items::new(PageStream { inner }),
        }
    }

    /// The stream of whole pages instead of items. Items already buffered
    /// from a partly consumed page are dropped.
    pub fn into_pages(self) -> PageStream<P::Item> {
        self.items.pages
    }
}

impl<P: Paged> Unpin for Pager<P> {}

impl<P: Paged> Stream for Pager<P> {
    type Item = Result<P::Item>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.items.poll_item(cx)
    }
}

/// What keeps a listing from following a hostile service forever: the
/// count of pages fetched, against [`ClientOptions::max_pages`](crate::ClientOptions::max_pages),
/// and a hash of each next-page link followed, so that a link given twice
/// (a loop) ends the listing. Eight bytes per page, nothing per item.
struct LoopGuard {
    max_pages: Option<u32>,
    pages: u32,
    links: std::collections::HashSet<u64>,
    hasher: std::hash::RandomState,
}

impl LoopGuard {
    fn new(max_pages: Option<u32>) -> Self {
        Self {
            max_pages,
            pages: 0,
            links: std::collections::HashSet::new(),
            hasher: std::hash::RandomState::new(),
        }
    }

    /// Counts the page about to be fetched from `link` (`None` for the
    /// first request), or says why it must not be.
    fn follow(&mut self, link: Option<&str>) -> Result<()> {
        use std::hash::BuildHasher;
        if self.max_pages.is_some_and(|max| self.pages >= max) {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "the listing has more than {} pages (max_pages); it was stopped",
                    self.pages
                ),
            ));
        }
        if link.is_some_and(|l| !self.links.insert(self.hasher.hash_one(l))) {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "the service gave the next-page link of page {} again, a loop; \
                     the listing was stopped",
                    self.pages + 1
                ),
            ));
        }
        self.pages += 1;
        Ok(())
    }
}

/// The request for the page at `link`, checked to be on the first request's
/// host, carrying its headers and `maxresults`.
pub(crate) fn next_request(first: &Request, link: &str) -> Result<Request> {
    let url = Url::parse(link).map_err(|e| {
        Error::with_source(
            ErrorKind::InvalidInput,
            "the continuation token is not a valid next-page link",
            e,
        )
    })?;
    let a = first.url();
    if url.scheme() != a.scheme()
        || url.host_str() != a.host_str()
        || url.port_or_known_default() != a.port_or_known_default()
    {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "the next-page link points at {}, not at {}; it is not followed",
                url.host_str().unwrap_or(""),
                a.host_str().unwrap_or("")
            ),
        ));
    }
    let mut request = Request::new(Method::GET, url);
    for (name, value) in first.headers() {
        if name != http::header::CONTENT_TYPE && name != "x-ms-client-request-id" {
            request.headers_mut().insert(name.clone(), value.clone());
        }
    }
    let max = first
        .url()
        .query_pairs()
        .find(|(k, _)| k == "maxresults")
        .map(|(_, v)| v.into_owned());
    if let Some(max) = max
        && !request.url().query_pairs().any(|(k, _)| k == "maxresults")
    {
        request.append_query("maxresults", &max);
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct L {
        value: Vec<u8>,
    }

    impl Paged for L {
        type Item = u8;
        fn into_page(self) -> (Vec<u8>, Option<String>) {
            (self.value, None)
        }
    }

    #[test]
    fn pager_is_send() {
        fn assert<T: Send + Unpin + 'static>() {}
        assert::<Pager<L>>();
        assert::<PageStream<u8>>();
        assert::<ItemPager<String>>();
    }

    #[test]
    fn next_request_keeps_maxresults_and_host() {
        let mut first = Request::new(
            Method::GET,
            Url::parse("https://v.vault.azure.net/secrets?maxresults=5").unwrap(),
        );
        first.insert_header(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/json"),
        );
        let next = next_request(
            &first,
            "https://v.vault.azure.net/secrets?$skiptoken=abc&api-version=7.0",
        )
        .unwrap();
        assert_eq!(
            next.url().as_str(),
            "https://v.vault.azure.net/secrets?$skiptoken=abc&api-version=7.0&maxresults=5"
        );
        assert!(next.headers().contains_key(http::header::ACCEPT));
        assert!(next_request(&first, "https://other.vault.azure.net/secrets").is_err());
        assert!(next_request(&first, "not a link").is_err());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn first() -> Request {
        Request::new(
            Method::GET,
            Url::parse("https://v.vault.azure.net/secrets?maxresults=5&api-version=7.6").unwrap(),
        )
    }

    proptest! {
        #[test]
        fn any_token_is_followed_only_on_the_same_origin(token in any::<String>()) {
            if let Ok(next) = next_request(&first(), &token) {
                prop_assert_eq!(next.url().host_str(), Some("v.vault.azure.net"));
                prop_assert_eq!(next.url().scheme(), "https");
            }
        }

        #[test]
        fn a_next_link_reads_back(
            host in prop::sample::select(vec!["v.vault.azure.net", "other.vault.azure.net"]),
            skiptoken in "[A-Za-z0-9+/=!._~-]{0,200}",
        ) {
            let mut link = Url::parse(&format!("https://{host}/secrets?api-version=7.6")).unwrap();
            link.query_pairs_mut().append_pair("$skiptoken", &skiptoken);
            let next = next_request(&first(), link.as_str());
            if host == "v.vault.azure.net" {
                let next = next.unwrap();
                let token = next.url().query_pairs().find(|(k, _)| k == "$skiptoken").map(|(_, v)| v.into_owned());
                prop_assert_eq!(token, Some(skiptoken));
                prop_assert!(next.url().query_pairs().any(|(k, v)| k == "maxresults" && v == "5"));
            } else {
                prop_assert!(next.is_err());
            }
        }
    }
}
