//! The request and response bodies, watched for their ends.
//!
//! The request body's end (or its drop, when a handler answers without
//! reading it) ends `Body`; the response body's end or drop ends `Responding`
//! and starts `Idle`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

use crate::watch::{Phase, Watch};

/// The body of a request served by [`crate::serve`]: hyper's, plus the
/// moment it ends.
#[derive(Debug)]
pub struct RequestBody {
    inner: Incoming,
    watch: Arc<Watch>,
}

impl RequestBody {
    pub(crate) fn new(inner: Incoming, watch: Arc<Watch>) -> Self {
        RequestBody { inner, watch }
    }

    fn done(&self) {
        self.watch.advance(Phase::Body, Phase::Responding);
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => this.done(),
            Poll::Ready(Some(Ok(_))) if this.inner.is_end_stream() => this.done(),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        self.done();
    }
}

/// The body of a response served by [`crate::serve`]: the service's, plus
/// the moment it has been handed to the connection in full.
#[derive(Debug)]
pub struct ResponseBody<B> {
    inner: B,
    watch: Arc<Watch>,
}

impl<B> ResponseBody<B> {
    pub(crate) fn new(inner: B, watch: Arc<Watch>) -> Self {
        ResponseBody { inner, watch }
    }

    fn done(&self) {
        self.watch.advance(Phase::Responding, Phase::Idle);
    }
}

impl<B: Body + Unpin> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) {
            this.done();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for ResponseBody<B> {
    fn drop(&mut self) {
        self.done();
    }
}
