//! Accepting connections with limits a server left running needs: a bounded number of
//! connections, a deadline for the request headers, and an idle timeout on every socket.
//!
//! `axum::serve` has none of these knobs, so connections are served here with hyper's HTTP/1
//! builder directly (upgrades on, for WebSockets). Each socket is wrapped in
//! `tokio_io_timeout::TimeoutStream`: a read or write that makes no progress for the idle timeout
//! fails and the connection closes — silent TCP connections, idle keep-alives and stalled slow
//! senders all end. WebSocket subscribers stay because the server pings them more often than that.

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_io_timeout::TimeoutStream;

/// Connection limits (see [`crate::ServerConfig`] for the defaults and why).
#[derive(Clone, Copy, Debug)]
pub struct ConnLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
}

/// Serve `app` on `listener` until `shutdown` resolves, then give the open connections up to
/// 10 s to finish (every finished connection returns its permit).
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                // Out of descriptors or a reset before accept: keep serving the others.
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Over the limit: close at once rather than queue (the client sees a reset and may retry;
        // the connections already served keep their descriptors).
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(
                "connection refused: {} connections open (serve --max-connections)",
                limits.max_connections
            );
            continue;
        };
        let _ = stream.set_nodelay(true);
        let mut io = TimeoutStream::new(stream);
        io.set_read_timeout(Some(limits.idle_timeout));
        io.set_write_timeout(Some(limits.idle_timeout));
        let io = TokioIo::new(Box::pin(io));
        let service = TowerToHyperService::new(app.clone());
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .serve_connection(io, service)
            .with_upgrades();
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(Duration::from_secs(10), permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("shutdown: connections still open after 10 s are dropped");
    }
    Ok(())
}
