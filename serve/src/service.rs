//! The service wrapper: marks the end of the head, a `101`, and hands the
//! peer's address to the routes.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use http::{Request, Response, StatusCode};
use http_body::Body;
use hyper::body::Incoming;

use crate::body::{RequestBody, ResponseBody};
use crate::watch::{Phase, Watch};

/// The peer's address, in every request's extensions (warp's own
/// `warp::addr::remote()` is only filled by `warp::serve`; read this with
/// `warp::ext::optional::<PeerAddr>()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

pub(crate) struct Guarded<S> {
    inner: S,
    watch: Arc<Watch>,
    peer: SocketAddr,
}

impl<S> Guarded<S> {
    pub(crate) fn new(inner: S, watch: Arc<Watch>, peer: SocketAddr) -> Self {
        Guarded { inner, watch, peer }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> hyper::service::Service<Request<Incoming>> for Guarded<S>
where
    S: tower_service::Service<Request<RequestBody>, Response = Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Body + Send + Unpin + 'static,
{
    type Response = Response<ResponseBody<B>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let (mut parts, body) = req.into_parts();
        parts.extensions.insert(PeerAddr(self.peer));
        self.watch.enter(if body.is_end_stream() {
            Phase::Responding
        } else {
            Phase::Body
        });
        let req = Request::from_parts(parts, RequestBody::new(body, self.watch.clone()));
        let watch = self.watch.clone();
        let mut inner = self.inner.clone();
        Box::pin(async move {
            std::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
            let res = inner.call(req).await?;
            if res.status() == StatusCode::SWITCHING_PROTOCOLS {
                watch.enter(Phase::Upgraded);
            }
            Ok(res.map(|b| ResponseBody::new(b, watch)))
        })
    }
}
