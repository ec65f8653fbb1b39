//! [`Paginated`]: the items of a listing, the pages fetched as they are read.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use http::header::{HeaderValue, LINK};
use serde::de::DeserializeOwned;

use crate::Error;
use crate::api::parse;
use crate::client::{HubClient, HubRequest};
use crate::metadata::join_url;

type Page = Pin<
    Box<dyn Future<Output = Result<(String, http::response::Parts, bytes::Bytes), Error>> + Send>,
>;

/// The items of a paginated listing ([`HubClient::list_models`], [`HubClient::list_repo_tree`],
/// [`HubClient::list_repo_commits`], …), each page fetched when the items before it have been
/// read, following the Hub's `Link: <…>; rel="next"` headers.
///
/// A [`Stream`] of `Result<T, Error>` that is `Unpin` and `Send`: store it in a struct, name its
/// type, pass it to another task, read it with [`Paginated::try_next`] (no trait to import) or
/// with any [`futures_util::StreamExt`] / `TryStreamExt` combinator, no `pin!` needed. After an
/// error the listing ends. From synchronous code, the blocking client's listings are iterators.
///
/// ```no_run
/// use hub_api::{ClientBuilder, ListOptions, Paginated, RepoInfo};
///
/// struct Catalogue {
///     models: Paginated<RepoInfo>,
/// }
///
/// # async fn run() -> Result<(), hub_api::Error> {
/// let client = ClientBuilder::from_env()?.build()?;
/// let options = ListOptions::default().with_filter(["asteroid"]);
/// let mut catalogue = Catalogue { models: client.list_models(&options) };
/// while let Some(model) = catalogue.models.try_next().await? {
///     println!("{}", model.id);
/// }
/// # Ok(()) }
/// ```
pub struct Paginated<T> {
    client: HubClient,
    /// The next page's URL; `None` once the last page (or an error) was read.
    next: Option<String>,
    /// The page being fetched.
    fetching: Option<Page>,
    buffer: VecDeque<T>,
    /// Items still to give before the caller's limit.
    remaining: Option<usize>,
}

// The items are moved out of the buffer, never pinned: the listing is `Unpin` whatever `T` is.
impl<T> Unpin for Paginated<T> {}

impl<T: DeserializeOwned + Send + 'static> Paginated<T> {
    /// The items of the JSON array at `url` and the pages after it, at most `limit`.
    pub(crate) fn new(client: HubClient, url: String, limit: Option<usize>) -> Paginated<T> {
        Paginated {
            client,
            next: Some(url),
            fetching: None,
            buffer: VecDeque::new(),
            remaining: limit,
        }
    }

    /// The next item; `None` at the end of the listing.
    ///
    /// # Errors
    ///
    /// The failure to fetch or to read a page; the listing ends after it.
    pub async fn try_next(&mut self) -> Result<Option<T>, Error> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await.transpose()
    }

    /// Every remaining item, in order, as one `Vec` (`TryStreamExt::try_collect` gives any
    /// collection).
    ///
    /// # Errors
    ///
    /// As [`Paginated::try_next`].
    pub async fn collect_vec(mut self) -> Result<Vec<T>, Error> {
        let mut items = Vec::new();
        while let Some(item) = self.try_next().await? {
            items.push(item);
        }
        Ok(items)
    }
}

impl<T: DeserializeOwned + Send + 'static> Stream for Paginated<T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.remaining == Some(0) {
                return Poll::Ready(None);
            }
            if let Some(item) = this.buffer.pop_front() {
                this.remaining = this.remaining.map(|r| r - 1);
                return Poll::Ready(Some(Ok(item)));
            }
            let page = match &mut this.fetching {
                Some(page) => page,
                None => {
                    let Some(url) = this.next.take() else { return Poll::Ready(None) };
                    let client = this.client.clone();
                    let fetch = async move { client.send_api(&HubRequest::get(url)).await };
                    this.fetching.insert(Box::pin(fetch))
                }
            };
            let answer = match page.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(answer) => answer,
            };
            this.fetching = None;
            let (url, parts, body) = match answer {
                Ok(answer) => answer,
                Err(e) => return Poll::Ready(Some(Err(e))),
            };
            match parse::<Vec<T>>(&url, &body) {
                Ok(items) => {
                    this.next = next_link(&url, parts.headers.get(LINK));
                    this.buffer.extend(items);
                }
                Err(e) => return Poll::Ready(Some(Err(e))),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let buffered = self.buffer.len();
        let buffered = self.remaining.map_or(buffered, |r| buffered.min(r));
        let done = self.next.is_none() && self.fetching.is_none();
        (buffered, if done { Some(buffered) } else { self.remaining })
    }
}

impl<T> fmt::Debug for Paginated<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paginated")
            .field("next", &self.next)
            .field("fetching", &self.fetching.is_some())
            .field("buffered", &self.buffer.len())
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

/// The `rel="next"` URL of a `Link` header.
pub(crate) fn next_link(base: &str, header: Option<&HeaderValue>) -> Option<String> {
    let value = header?.to_str().ok()?;
    value.split(',').find_map(|link| {
        let (target, params) = link.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| join_url(base, target))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_storable<T: Send + Unpin + 'static>() {}

    #[test]
    fn a_listing_can_be_stored_and_sent() {
        assert_storable::<Paginated<crate::RepoInfo>>();
        assert_storable::<Paginated<serde_json::Value>>();
    }

    #[test]
    fn next_links_are_found_among_others() {
        let h = HeaderValue::from_static(
            "<https://hub/api/models?cursor=a>; rel=\"prev\", <https://hub/api/models?cursor=b>; rel=\"next\"",
        );
        assert_eq!(
            next_link("https://hub/api/models", Some(&h)).as_deref(),
            Some("https://hub/api/models?cursor=b")
        );
        let relative = HeaderValue::from_static("</api/models?p=2>; rel=next");
        assert_eq!(
            next_link("http://h:1/api/models", Some(&relative)).as_deref(),
            Some("http://h:1/api/models?p=2")
        );
        assert_eq!(next_link("u", None), None);
    }
}
