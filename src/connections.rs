//! Accepting HTTP connections and keeping them in check: a client slow to send its headers
//! or idle too long is closed, the number open stays below the process's open-file limit
//! (the longest-idle connection makes room for a newcomer, so that a flood of slow clients
//! cannot lock out `/healthz`), and shutdown waits for requests in flight a bounded time.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, Uri};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tower::ServiceExt;

use crate::config::ServeConfig;

/// Open files kept for other things than connections: the store, its journal, feeds,
/// PostgreSQL sessions, the site's files, logs.
const RESERVED_FILES: u64 = 128;
/// How often connections are checked against their timeouts.
const SWEEP_EVERY: Duration = Duration::from_millis(250);
/// How long accepting pauses after the system refused a connection (out of files).
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// The router once the data has loaded; until then, requests get `loading`'s answer.
pub type App = Arc<ArcSwapOption<Router>>;

/// The limits every connection is held to.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_grace: Duration,
}

impl Limits {
    /// The configured limits, the cap on connections lowered to fit the open-file limit.
    pub fn new(config: &ServeConfig) -> Limits {
        let files = rustix::process::getrlimit(rustix::process::Resource::Nofile)
            .current
            .unwrap_or(u64::MAX);
        let room = files.saturating_sub(RESERVED_FILES).max(files / 2).max(1);
        let cap = config
            .max_connections
            .map_or(room, |wanted| u64::from(wanted).min(room));
        Limits {
            header_timeout: config.header_timeout,
            idle_timeout: config.idle_timeout,
            max_connections: usize::try_from(cap).unwrap_or(usize::MAX),
            shutdown_grace: config.shutdown_grace,
        }
    }
}

/// One open connection, as the accept loop and the sweeper see it.
struct Connection {
    started: Instant,
    /// Requests being answered, counted until their response body has been sent.
    busy: AtomicUsize,
    /// When the connection opened or last finished a request, in ms after `started`.
    last_done: AtomicU64,
    /// When a request's head began arriving, in ms after `started` plus one (0: none).
    head_since: AtomicU64,
    close: Notify,
}

impl Connection {
    fn new() -> Self {
        Connection {
            started: Instant::now(),
            busy: AtomicUsize::new(0),
            last_done: AtomicU64::new(0),
            head_since: AtomicU64::new(0),
            close: Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn is_idle(&self) -> bool {
        self.busy.load(Ordering::Acquire) == 0
    }

    /// Bytes came in: while no request is being answered, they begin the next one's head.
    fn bytes_arrived(&self) {
        if self.is_idle() {
            let now = self.now() + 1;
            let _ = self
                .head_since
                .compare_exchange(0, now, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    /// Why the connection should be closed now, if it should.
    fn overdue(&self, limits: &Limits) -> Option<&'static str> {
        if !self.is_idle() {
            return None;
        }
        let now = self.now();
        match self.head_since.load(Ordering::Acquire) {
            0 => (now.saturating_sub(self.last_done.load(Ordering::Acquire))
                > limits.idle_timeout.as_millis() as u64)
                .then_some("idle"),
            since => (now.saturating_sub(since - 1) > limits.header_timeout.as_millis() as u64)
                .then_some("slow headers"),
        }
    }
}

/// Marks a connection busy while a request is answered; dropped once its response is sent.
struct Busy(Arc<Connection>);

impl Busy {
    fn enter(connection: &Arc<Connection>) -> Busy {
        connection.busy.fetch_add(1, Ordering::AcqRel);
        connection.head_since.store(0, Ordering::Release);
        Busy(connection.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.last_done.store(self.0.now(), Ordering::Release);
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its connection marked busy until it has been sent.
struct Tracked {
    body: Body,
    _busy: Busy,
}

impl hyper::body::Body for Tracked {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The socket, noting when bytes arrive so that a slowly sent head can be timed.
struct Watched {
    stream: TcpStream,
    connection: Arc<Connection>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.connection.bytes_arrived();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The open connections.
#[derive(Default)]
struct Registry {
    open: Mutex<HashMap<u64, Arc<Connection>>>,
    next: AtomicU64,
    /// Signalled whenever a connection closes.
    closed: Notify,
}

impl Registry {
    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Connection>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn len(&self) -> usize {
        self.open().len()
    }

    fn add(&self) -> (u64, Arc<Connection>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection::new());
        self.open().insert(id, connection.clone());
        (id, connection)
    }

    fn remove(&self, id: u64) {
        self.open().remove(&id);
        self.closed.notify_one();
    }

    /// Asks the connection idle the longest to close; false if every one is busy.
    fn evict_idle(&self) -> bool {
        let open = self.open();
        let oldest = open.values().filter(|c| c.is_idle()).min_by_key(|c| {
            // Idle since: a head arriving counts as activity only from its first byte.
            let since = c.head_since.load(Ordering::Acquire);
            let done = c.last_done.load(Ordering::Acquire);
            c.started + Duration::from_millis(done.max(since.saturating_sub(1)))
        });
        match oldest {
            Some(connection) => {
                connection.close.notify_one();
                true
            }
            None => false,
        }
    }

    fn sweep(&self, limits: &Limits) {
        for connection in self.open().values() {
            if let Some(reason) = connection.overdue(limits) {
                tracing::debug!(reason, "closing a connection");
                connection.close.notify_one();
            }
        }
    }
}

/// Serves `listener` until `shutdown` completes, then lets requests in flight finish for at
/// most the shutdown grace.
pub async fn serve(
    listener: TcpListener,
    app: App,
    loading: fn(&Uri) -> Response<Body>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(
        max_connections = limits.max_connections,
        "accepting connections"
    );
    let registry = Arc::new(Registry::default());
    let (stop, stopping) = watch::channel(false);
    // Timeouts are this module's own, so that an idle keep-alive and a slow head differ.
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().header_read_timeout(None);
    let builder = Arc::new(builder);
    let sweeper = tokio::spawn({
        let registry = registry.clone();
        async move {
            let mut ticks = tokio::time::interval(SWEEP_EVERY);
            loop {
                ticks.tick().await;
                registry.sweep(&limits);
            }
        }
    });
    tokio::pin!(shutdown);
    'accepting: loop {
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
        };
        while registry.len() >= limits.max_connections {
            if !registry.evict_idle() {
                tracing::debug!("every connection is busy; the newcomer waits");
            }
            tokio::select! {
                () = registry.closed.notified() => {}
                () = &mut shutdown => break 'accepting,
            }
        }
        let _ = stream.set_nodelay(true);
        let (id, connection) = registry.add();
        let task = serve_one(
            stream,
            remote,
            (app.clone(), loading),
            connection,
            builder.clone(),
            stopping.clone(),
        );
        let registry = registry.clone();
        tokio::spawn(async move {
            task.await;
            registry.remove(id);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while registry.len() > 0 {
            registry.closed.notified().await;
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = registry.len(),
            "the shutdown grace is over; closing the connections left"
        );
    }
    sweeper.abort();
    Ok(())
}

/// Answers the requests of one connection until it ends, is closed for idling or a slow
/// head, or the server shuts down (then its requests in flight finish).
async fn serve_one(
    stream: TcpStream,
    remote: SocketAddr,
    (app, loading): (App, fn(&Uri) -> Response<Body>),
    connection: Arc<Connection>,
    builder: Arc<Builder<TokioExecutor>>,
    mut stopping: watch::Receiver<bool>,
) {
    let io = TokioIo::new(Watched {
        stream,
        connection: connection.clone(),
    });
    let watched = connection.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        let busy = Busy::enter(&watched);
        request.extensions_mut().insert(ConnectInfo(remote));
        let router = app.load_full();
        async move {
            let response = match router {
                Some(router) => match Router::clone(&router).oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                },
                None => loading(request.uri()),
            };
            Ok::<_, Infallible>(response.map(|body| Body::new(Tracked { body, _busy: busy })))
        }
    });
    let served = builder.serve_connection(io, service);
    tokio::pin!(served);
    loop {
        tokio::select! {
            _ = served.as_mut() => return,
            () = connection.close.notified() => {
                // Nothing is being answered (checked again: a request may have begun).
                if connection.is_idle() {
                    return;
                }
            }
            _ = stopping.wait_for(|stop| *stop) => {
                // A connection with nothing in flight (idle, or a head still arriving) is
                // not waited for.
                if connection.is_idle() {
                    return;
                }
                break;
            }
        }
    }
    served.as_mut().graceful_shutdown();
    let _ = served.await;
}
