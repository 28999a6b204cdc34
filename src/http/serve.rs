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
//! - A request head is at most [`MAX_HEAD_BYTES`] (hyper answers 431 past it), so a thousand
//!   connections each sending a huge header hold a bounded amount of memory.
//! - At most `MAX_CONNECTIONS` connections are open at once, below the open-file limit: past
//!   it a new connection is answered 503 and closed at once, and the open ones go on being
//!   served. Without it, silent sockets can use up the descriptors, and `/health` then waits
//!   seconds.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

use crate::client_presence::PeerClosed;

/// The largest request head (request line and headers) read.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Sent to a connection past the cap, before it is closed.
const TOO_MANY_CONNECTIONS: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n\
    Content-Type: application/json\r\nContent-Length: 102\r\n\r\n\
    {\"message\":\"The server has too many connections, try again shortly\",\"status\":503,\"code\":\"unavailable\"}";

/// What the connection loop holds each connection to.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and waits for
/// open connections to finish their current request (idle ones are closed at once).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(MAX_HEAD_BYTES)
        .max_buf_size(MAX_HEAD_BYTES)
        .half_close(true)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let open = Arc::new(Semaphore::new(limits.max_connections));
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
        let Ok(slot) = Arc::clone(&open).try_acquire_owned() else {
            refuse(stream);
            continue;
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
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Answers a connection past the cap without waiting for it: one write that fits any socket
/// buffer, then the close. Nothing of its request is read.
fn refuse(stream: tokio::net::TcpStream) {
    tracing::debug!("connection refused: MAX_CONNECTIONS are open");
    let _ = stream.try_write(TOO_MANY_CONNECTIONS);
}
