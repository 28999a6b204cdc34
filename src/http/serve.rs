//! The connection loop: accepts TCP connections and serves HTTP/1.1 on each with hyper.
//!
//! `axum::serve` offers no say over two connection settings that matter on the internet:
//! - A client must send its whole request head within `HEADER_READ_TIMEOUT`, or the connection
//!   is closed. Without it, a slowloris client holds a connection (and its memory) open forever
//!   by sending one header byte now and then.
//! - Half-closed connections are served: a client that sends a whole request and closes its end
//!   at once (a fire-and-forget logout) still has the request carried out. With hyper's default,
//!   the end-of-stream that follows the request makes it drop the request before the handler
//!   ever runs. Whether the client has closed its side can still be asked
//!   ([`crate::client_presence::PeerClosed`]), so that work only the client could use (a login's
//!   password hash) is not started for a client that left.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::client_presence::PeerClosed;

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and waits for
/// open connections to finish their current request (idle ones are closed at once).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(header_read_timeout).half_close(true).keep_alive(true);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(connection) => connection,
                Err(error) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let peer_closed = PeerClosed::watching(&stream);
        let service = router.clone().map_request(move |mut request: axum::extract::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            request.extensions_mut().insert(peer_closed.clone());
            request.map(axum::body::Body::new)
        });
        let service = TowerToHyperService::new(service.map_err(|never: Infallible| match never {}));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
