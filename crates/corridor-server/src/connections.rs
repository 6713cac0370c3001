//! The accept loop: HTTP/1.1 connections with a header-read timeout, an
//! idle keep-alive timeout and a cap on how many are open, so idle or slow
//! clients can neither starve the store and the log of file descriptors nor
//! keep `/healthz` from answering.
//!
//! Each connection is in one of three phases, kept by the connection
//! itself: *idle* (no request in flight and no byte of the next one yet),
//! *reading a head* (bytes of a request arrived, its header is not complete)
//! or *busy* (a request is being answered; the request timeout of the
//! router bounds it). An idle connection is closed after `idle_timeout`
//! without a byte read or written; a head must be complete within
//! `header_read_timeout` of its first byte.
//!
//! The cap is `min(max_connections, RLIMIT_NOFILE - reserved_descriptors)`,
//! so the descriptors the store, the log and the runtime need are never
//! taken by sockets. A connection accepted at the cap closes the open
//! connection that has been idle (or reading a head) the longest: HTTP/1.1
//! clients expect a server to close an idle keep-alive connection, and a
//! flood of idle or slow connections then only displaces itself, so a
//! health check or a submission that arrives finds a slot. Only when every
//! open connection is busy is the new one answered `503` with
//! `Retry-After` and closed. Refusing to accept instead would leave new
//! clients (a load balancer's health check among them) waiting in the
//! kernel's queue behind the flood.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, watch};
use tower::ServiceExt as _;

use crate::ServerError;

/// Limits on the server's connections, each with a `corridor serve` flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a request's header may take to arrive, from its first byte.
    pub header_read_timeout: Duration,
    /// How long a connection may stay open with no request in flight and no
    /// byte read or written.
    pub idle_timeout: Duration,
    /// The most connections open at once (before the descriptor reserve).
    pub max_connections: usize,
    /// File descriptors kept for the store, the log, the witnesses and the
    /// runtime: connections may use at most `RLIMIT_NOFILE` minus this.
    pub reserved_descriptors: u64,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            reserved_descriptors: 128,
        }
    }
}

impl ConnectionLimits {
    /// The connection cap in force for a process allowed `open_files`
    /// descriptors: `min(max_connections, open_files - reserved_descriptors)`.
    ///
    /// # Errors
    /// [`ServerError::Descriptors`] when the reserve leaves no descriptor
    /// for connections.
    pub fn cap_for(&self, open_files: u64) -> Result<usize, ServerError> {
        let available = open_files.saturating_sub(self.reserved_descriptors);
        if available == 0 || self.max_connections == 0 {
            return Err(ServerError::Descriptors {
                open_files,
                reserved: self.reserved_descriptors,
                max_connections: self.max_connections,
            });
        }
        Ok(self
            .max_connections
            .min(usize::try_from(available).unwrap_or(usize::MAX)))
    }

    /// The connection cap in force for this process (its soft
    /// `RLIMIT_NOFILE`; no limit counts as unlimited).
    ///
    /// # Errors
    /// See [`ConnectionLimits::cap_for`].
    pub fn cap(&self) -> Result<usize, ServerError> {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        self.cap_for(limit.current.unwrap_or(u64::MAX))
    }
}

/// Counters of the accept loop, exported by `/metrics`.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    /// Connections open now.
    pub open: AtomicU64,
    /// The cap in force (see [`ConnectionLimits::cap`]).
    pub cap: AtomicU64,
    /// Idle or slow connections closed to make room for a new one.
    pub displaced: AtomicU64,
    /// Connections answered `503` because every open one was busy.
    pub refused: AtomicU64,
    /// Connections closed by the idle or header-read timeout.
    pub timed_out: AtomicU64,
}

/// What a connection is doing, for its timeouts and for displacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No request in flight and no byte of the next one, since then
    /// (bytes written, as a streamed response, move it on).
    Idle(Instant),
    /// The first byte of a request head arrived then.
    ReadingHead(Instant),
    /// This many requests are being answered.
    Busy(u32),
}

/// One open connection, shared by its task, its I/O and its service.
#[derive(Debug)]
struct Tracked {
    phase: Mutex<Phase>,
    /// Wakes the connection's watchdog when the phase changes.
    changed: Notify,
    /// Tells the connection to close now (displaced).
    displace: Notify,
}

impl Tracked {
    fn new() -> Tracked {
        Tracked {
            phase: Mutex::new(Phase::Idle(Instant::now())),
            changed: Notify::new(),
            displace: Notify::new(),
        }
    }

    fn phase(&self) -> Phase {
        self.phase.lock().map_or(Phase::Busy(1), |phase| *phase)
    }

    fn update(&self, change: impl FnOnce(Phase) -> Phase) {
        if let Ok(mut phase) = self.phase.lock() {
            let next = change(*phase);
            if next != *phase {
                *phase = next;
                drop(phase);
                self.changed.notify_one();
            }
        }
    }

    fn read_bytes(&self) {
        self.update(|phase| match phase {
            Phase::Idle(_) => Phase::ReadingHead(Instant::now()),
            other => other,
        });
    }

    fn wrote_bytes(&self) {
        self.update(|phase| match phase {
            Phase::Idle(_) => Phase::Idle(Instant::now()),
            other => other,
        });
    }

    fn request_started(&self) {
        self.update(|phase| match phase {
            Phase::Busy(requests) => Phase::Busy(requests + 1),
            _ => Phase::Busy(1),
        });
    }

    fn request_finished(&self) {
        self.update(|phase| match phase {
            Phase::Busy(requests) if requests > 1 => Phase::Busy(requests - 1),
            _ => Phase::Idle(Instant::now()),
        });
    }

    /// When this connection is closed by a timeout if nothing happens, and why.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<(Instant, &'static str)> {
        match self.phase() {
            Phase::Idle(since) => Some((since + limits.idle_timeout, "idle timeout")),
            Phase::ReadingHead(since) => {
                Some((since + limits.header_read_timeout, "header-read timeout"))
            }
            Phase::Busy(_) => None,
        }
    }

    /// Since when it has been displaceable (idle or reading a head), if it is.
    fn displaceable_since(&self) -> Option<Instant> {
        match self.phase() {
            Phase::Idle(since) | Phase::ReadingHead(since) => Some(since),
            Phase::Busy(_) => None,
        }
    }
}

/// Ends a request's busy phase when dropped (answered, or cancelled).
struct InFlight(Arc<Tracked>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A TCP stream that reports reads and writes to its connection's phase.
struct Watched {
    stream: TcpStream,
    tracked: Arc<Tracked>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buffer.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(context, buffer);
        if matches!(polled, Poll::Ready(Ok(()))) && buffer.filled().len() > before {
            self.tracked.read_bytes();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(context, bytes);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.tracked.wrote_bytes();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(context, buffers);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.tracked.wrote_bytes();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(context)
    }
}

/// The open connections, for displacement.
#[derive(Debug, Default)]
struct Registry {
    next_id: u64,
    open: HashMap<u64, Arc<Tracked>>,
}

impl Registry {
    /// Removes the connection displaceable the longest and tells it to close.
    fn displace_one(&mut self) -> bool {
        let oldest = self
            .open
            .iter()
            .filter_map(|(id, tracked)| tracked.displaceable_since().map(|since| (since, *id)))
            .min();
        match oldest.and_then(|(_, id)| self.open.remove(&id)) {
            Some(tracked) => {
                tracked.displace.notify_one();
                true
            }
            None => false,
        }
    }
}

/// What a client gets when every slot is busy.
fn busy_response() -> Vec<u8> {
    let body = r#"{"error":{"status":503,"message":"the server is at its connection limit and every connection is busy; nothing was read; retry shortly"}}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// How long the accept loop pauses when the process is out of descriptors
/// anyway (a burst beyond the reserve), before accepting again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `router` on `listener` under `limits` until `shutdown` resolves,
/// then stops accepting, lets every connection finish the request it is
/// answering (idle ones close at once) and returns.
///
/// # Errors
/// [`ServerError::Descriptors`] when the descriptor reserve leaves no room
/// for connections; the listener's own failure.
pub async fn serve_connections(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stats: Arc<ConnectionStats>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let cap = limits.cap()?;
    stats.cap.store(cap as u64, Ordering::Relaxed);
    tracing::info!(
        cap,
        header_read_timeout_ms = limits.header_read_timeout.as_millis() as u64,
        idle_timeout_ms = limits.idle_timeout.as_millis() as u64,
        "accepting connections"
    );
    let limits = Arc::new(limits);
    let registry = Arc::new(Mutex::new(Registry::default()));
    let (stopping, stop) = watch::channel(false);
    // Every connection task holds a clone; `recv` returns `None` once all are gone.
    let (alive, mut all_closed) = mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of descriptors (EMFILE, ENFILE) or a connection reset
                // before it was accepted: neither stops the server.
                tracing::warn!("accepting a connection failed: {error}");
                if is_out_of_descriptors(&error) {
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
                continue;
            }
        };
        let tracked = Arc::new(Tracked::new());
        let id = {
            let Ok(mut registry) = registry.lock() else {
                break;
            };
            if registry.open.len() >= cap {
                if registry.displace_one() {
                    stats.displaced.fetch_add(1, Ordering::Relaxed);
                } else {
                    stats.refused.fetch_add(1, Ordering::Relaxed);
                    drop(registry);
                    // Best effort: the socket buffer of a new connection
                    // takes these bytes at once; then it is closed.
                    let _ = stream.try_write(&busy_response());
                    continue;
                }
            }
            registry.next_id += 1;
            let id = registry.next_id;
            registry.open.insert(id, Arc::clone(&tracked));
            id
        };
        stats.open.fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            id,
            peer,
            stream,
            tracked,
            router: router.clone(),
            limits: Arc::clone(&limits),
            stats: Arc::clone(&stats),
            registry: Arc::clone(&registry),
            stop: stop.clone(),
            alive: alive.clone(),
        };
        tokio::spawn(connection.run());
    }
    let _ = stopping.send(true);
    drop(alive);
    let _ = all_closed.recv().await;
    Ok(())
}

fn is_out_of_descriptors(error: &io::Error) -> bool {
    let code = error.raw_os_error();
    code == Some(rustix::io::Errno::MFILE.raw_os_error())
        || code == Some(rustix::io::Errno::NFILE.raw_os_error())
}

/// One accepted connection and what it needs to run.
struct Connection {
    id: u64,
    peer: SocketAddr,
    stream: TcpStream,
    tracked: Arc<Tracked>,
    router: Router,
    limits: Arc<ConnectionLimits>,
    stats: Arc<ConnectionStats>,
    registry: Arc<Mutex<Registry>>,
    stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
}

impl Connection {
    async fn run(self) {
        let Connection {
            id,
            peer,
            stream,
            tracked,
            router,
            limits,
            stats,
            registry,
            mut stop,
            alive,
        } = self;
        let service = {
            let tracked = Arc::clone(&tracked);
            hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                tracked.request_started();
                let in_flight = InFlight(Arc::clone(&tracked));
                request.extensions_mut().insert(ConnectInfo(peer));
                let router = router.clone();
                async move {
                    let response = router.oneshot(request).await;
                    drop(in_flight);
                    response
                }
            })
        };
        let io = TokioIo::new(Watched {
            stream,
            tracked: Arc::clone(&tracked),
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        // The header-read timeout is this module's (from a head's first
        // byte, not from the end of the previous response), so hyper's own
        // is off and needs no timer.
        builder.keep_alive(true).header_read_timeout(None);
        let connection = builder.serve_connection(io, service);
        tokio::pin!(connection);
        let mut draining = *stop.borrow();
        if draining {
            connection.as_mut().graceful_shutdown();
        }
        loop {
            tokio::select! {
                served = connection.as_mut() => {
                    if let Err(error) = served {
                        tracing::debug!(%peer, "connection ended: {error}");
                    }
                    break;
                }
                reason = watchdog(&tracked, &limits) => {
                    stats.timed_out.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%peer, "closing a connection: {reason}");
                    break;
                }
                () = tracked.displace.notified() => {
                    tracing::debug!(%peer, "closing an idle connection to make room for a new one");
                    break;
                }
                changed = stop.changed(), if !draining => {
                    draining = true;
                    if changed.is_ok() {
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        }
        if let Ok(mut registry) = registry.lock() {
            registry.open.remove(&id);
        }
        stats.open.fetch_sub(1, Ordering::Relaxed);
        drop(alive);
    }
}

/// Resolves when the connection's idle or header-read deadline passes
/// without the phase changing; returns which one.
async fn watchdog(tracked: &Tracked, limits: &ConnectionLimits) -> &'static str {
    loop {
        let changed = tracked.changed.notified();
        tokio::pin!(changed);
        // Registered before the deadline is read, so no change is missed.
        changed.as_mut().enable();
        match tracked.deadline(limits) {
            Some((deadline, reason)) => {
                if Instant::now() >= deadline {
                    return reason;
                }
                tokio::select! {
                    () = tokio::time::sleep_until(deadline.into()) => {
                        if tracked.deadline(limits).is_some_and(|(now_due, _)| now_due <= Instant::now()) {
                            return reason;
                        }
                    }
                    () = &mut changed => {}
                }
            }
            None => changed.await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_the_smaller_of_the_flag_and_the_descriptors_left() {
        let limits = ConnectionLimits {
            max_connections: 1024,
            reserved_descriptors: 128,
            ..ConnectionLimits::default()
        };
        assert_eq!(limits.cap_for(256).ok(), Some(128));
        assert_eq!(limits.cap_for(1_000_000).ok(), Some(1024));
        assert_eq!(limits.cap_for(u64::MAX).ok(), Some(1024));
        let error = limits.cap_for(100).err().map(|error| error.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "the process may open 100 files (RLIMIT_NOFILE) and --reserved-fds keeps 128 of them for the store and the log, which leaves no descriptor for connections (--max-connections 1024): raise the limit (ulimit -n) or lower --reserved-fds"
            )
        );
    }

    #[test]
    fn displacement_picks_the_connection_idle_the_longest_and_never_a_busy_one() {
        let mut registry = Registry::default();
        let busy = Arc::new(Tracked::new());
        busy.request_started();
        let old = Arc::new(Tracked::new());
        std::thread::sleep(Duration::from_millis(5));
        let young = Arc::new(Tracked::new());
        registry.open.insert(1, Arc::clone(&busy));
        registry.open.insert(2, Arc::clone(&old));
        registry.open.insert(3, Arc::clone(&young));
        assert!(registry.displace_one());
        assert!(
            !registry.open.contains_key(&2),
            "the oldest idle one goes first"
        );
        assert!(registry.displace_one());
        assert!(!registry.open.contains_key(&3));
        assert!(
            !registry.displace_one(),
            "a busy connection is never displaced"
        );
        assert!(registry.open.contains_key(&1));
        busy.request_finished();
        assert!(registry.displace_one());
    }

    #[test]
    fn a_head_is_timed_from_its_first_byte_and_a_busy_connection_not_at_all() {
        let limits = ConnectionLimits::default();
        let tracked = Tracked::new();
        let (_, reason) = tracked
            .deadline(&limits)
            .unwrap_or((Instant::now(), "none"));
        assert_eq!(reason, "idle timeout");
        tracked.read_bytes();
        let (_, reason) = tracked
            .deadline(&limits)
            .unwrap_or((Instant::now(), "none"));
        assert_eq!(reason, "header-read timeout");
        tracked.request_started();
        assert_eq!(tracked.deadline(&limits), None);
        tracked.request_finished();
        let (_, reason) = tracked
            .deadline(&limits)
            .unwrap_or((Instant::now(), "none"));
        assert_eq!(reason, "idle timeout");
    }

    #[test]
    fn the_busy_answer_has_the_length_it_declares() {
        let bytes = busy_response();
        let text = String::from_utf8_lossy(&bytes);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or_default();
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        assert!(
            serde_json::from_str::<serde_json::Value>(body).is_ok(),
            "{body}"
        );
    }
}
