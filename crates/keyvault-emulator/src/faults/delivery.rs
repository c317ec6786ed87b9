//! How the server delivers an answer that fault injection marked: whole,
//! with a body that stalls and breaks, or not at all (the connection, or
//! the HTTP/2 stream, is reset).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use http_body_util::Full;
use hyper::body::{Body as HttpBody, Frame, SizeHint};

/// What the server does with an answer, beyond sending it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Delivery {
    /// Reset the connection instead of answering.
    Drop,
    /// Send half the body, wait this long, then break.
    Stall(Duration),
}

/// The connection (or HTTP/2 stream) was dropped on purpose.
#[derive(Debug)]
pub(crate) struct Dropped;

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

/// A response body: whole, or stalled by a fault.
pub(crate) enum Body {
    Whole(Full<Bytes>),
    Stalled {
        head: Option<Bytes>,
        len: u64,
        wait: Pin<Box<tokio::time::Sleep>>,
    },
}

impl HttpBody for Body {
    type Data = Bytes;
    type Error = Dropped;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Dropped>>> {
        match self.get_mut() {
            Body::Whole(full) => Pin::new(full)
                .poll_frame(cx)
                .map(|f| f.map(|f| f.map_err(|never| match never {}))),
            Body::Stalled { head, wait, .. } => match head.take() {
                Some(bytes) => Poll::Ready(Some(Ok(Frame::data(bytes)))),
                None => wait.as_mut().poll(cx).map(|()| Some(Err(Dropped))),
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Whole(full) => full.is_end_stream(),
            Body::Stalled { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Whole(full) => full.size_hint(),
            Body::Stalled { len, .. } => SizeHint::with_exact(*len),
        }
    }
}

/// What the server sends for an endpoint's answer: the answer, a body
/// that stalls, or (`Err`) a dropped connection.
pub(crate) fn deliver(resp: Response<Full<Bytes>>) -> Result<Response<Body>, Dropped> {
    let how = resp.extensions().get::<Delivery>().copied();
    match how {
        None => Ok(resp.map(Body::Whole)),
        Some(Delivery::Drop) => Err(Dropped),
        Some(Delivery::Stall(wait)) => {
            let (parts, full) = resp.into_parts();
            let bytes = full_bytes(full);
            let len = bytes.len() as u64;
            let body = Body::Stalled {
                head: Some(bytes.slice(..bytes.len() / 2)),
                len: len.max(1),
                wait: Box::pin(tokio::time::sleep(wait)),
            };
            Ok(Response::from_parts(parts, body))
        }
    }
}

/// The bytes of a whole body (ready at once).
fn full_bytes(full: Full<Bytes>) -> Bytes {
    let mut full = full;
    let waker = std::task::Waker::noop();
    let mut cx = Context::from_waker(waker);
    match Pin::new(&mut full).poll_frame(&mut cx) {
        Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
        _ => Bytes::new(),
    }
}
