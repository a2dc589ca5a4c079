//! # minhbach-server
//!
//! The minhbach log server's HTTP side over the durable RocksDB store:
//!
//! - the C2SP read path (SPEC 8.3): `GET /checkpoint`, `GET /tile/<L>/<N>[.p/<W>]`
//!   and `GET /tile/entries/<N>[.p/<W>]`, byte for byte what any tlog-tiles
//!   client expects ([`app`]);
//! - the JSON API (SPEC 8.4): `GET /api/v1/log`, `GET /api/v1/entries/{index}`,
//!   `GET /api/v1/proofs/inclusion` and `GET /api/v1/proofs/consistency`;
//! - the data directory (the RocksDB log, the log key, demo officials' keys:
//!   [`datadir`]) and, with the feature `demo` (on by default), the demo
//!   data directory that `minhbach-server demo` seeds with the history of
//!   the `minhbach-demo` crate (`demo`).
//!
//! - the write path: `POST /api/v1/entries` ([`write`](mod@write)) feeding the
//!   [`sequencer`], the one writer, which applies the rules and commits
//!   batches durably with one checkpoint each;
//! - the [`books`]: what the rules know after the committed prefix, live in
//!   memory over the store, flushed with a snapshot and reopened from it;
//! - the books' read API (`books_api`): lookups, campaigns, traces, keys,
//!   accounts, coverage, feedback; receipts; `GET /metrics` ([`metrics`]);
//! - witnesses ([`witness`], C2SP tlog-witness): after each commit the
//!   server asks them to cosign the new checkpoint and publishes it with
//!   their cosignatures once enough did (`publish`). Readers always see the
//!   *published* checkpoint;
//! - `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of all of it
//!   ([`OPENAPI`]), checked against live answers in the tests;
//! - operations on a data directory: `init`, `reindex`, `backup` ([`ops`]),
//!   the replica of the read path in S3-compatible object storage
//!   ([`replica`]), and the `serve` configuration ([`config`]).
//! - the public explorer at `/` ([`web`]): server-rendered HTML pages over
//!   the same books, with an in-browser verifier of checkpoints and
//!   inclusion proofs.
//!
//! It never holds an official's key except the demo keys it generates for its
//! own demo data.
//!
//! Errors are RFC 9457 problem JSON with a stable `code`: `not_found` (404),
//! `malformed` (400), `out_of_range` (400), the rules' codes (401, 403, 409,
//! 413, 422), `rate_limited` (429), `overloaded` (503), `unavailable` (503,
//! the books cannot be read), `internal` (500, generic body).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use axum::routing::get;
use minhbach_ledger::note::VerifierKey;
use minhbach_ledger::store::rocks::RocksStore;
use minhbach_ledger::store::{LogStore as _, StoreError};
use tokio::net::TcpListener;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

mod api;
pub mod books;
mod books_api;
pub mod checker;
pub mod config;
pub mod datadir;
#[cfg(feature = "demo")]
pub mod demo;
mod error;
pub mod metrics;
pub mod ops;
mod publish;
pub mod replica;
pub mod sequencer;
mod tiles;
pub mod web;
pub mod witness;
pub mod write;

use books::{Books, BooksError, SharedBooks};
use checker::Checker;
use metrics::Metrics;
pub use publish::PublishError;
use publish::{Latest, Published, Publisher};
use sequencer::{BatchConfig, Core, CoreError, Sequencer};
use witness::WitnessPolicy;
use write::RateLimiter;

use error::ApiError;

/// How long a request may take before the server answers 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest request body accepted, in bytes (reads need none; the write
/// API will accept batches of envelopes, each at most a leaf).
pub const BODY_LIMIT: usize = 1 << 20;

/// The most requests handled at once; more wait for a slot.
pub const CONCURRENCY_LIMIT: usize = 1024;

/// What every handler shares: the store (reads take `&self`), the log's
/// public identity, the books, and the sequencer when this server writes.
#[derive(Clone)]
pub struct AppState {
    store: Arc<RocksStore>,
    verifier: Arc<VerifierKey>,
    books: SharedBooks,
    sequencer: Option<Arc<Sequencer>>,
    published: Arc<Published>,
    publisher: Option<Arc<Publisher>>,
    witnesses: Arc<WitnessPolicy>,
    metrics: Arc<Metrics>,
    limiter: Arc<RateLimiter>,
    checker: Arc<Checker>,
    read_url: Option<Arc<str>>,
}

/// How a writing server runs.
#[derive(Clone, Debug)]
pub struct WriteConfig {
    /// Batching of the sequencer.
    pub batch: BatchConfig,
    /// Statements per second per client (0: no limit).
    pub rate_per_client: u32,
    /// Statements a client may send at once.
    pub burst_per_client: u32,
    /// The witnesses asked to cosign each checkpoint, and how many must
    /// before it is published (none by default: every commit is published
    /// at once).
    pub witnesses: WitnessPolicy,
}

impl Default for WriteConfig {
    fn default() -> Self {
        Self {
            batch: BatchConfig::default(),
            rate_per_client: 20_000,
            burst_per_client: 50_000,
            witnesses: WitnessPolicy::default(),
        }
    }
}

/// Starting a server over a data directory failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The log's entries do not replay.
    #[error(transparent)]
    Replay(#[from] BooksError),
    /// The writer cannot open the log.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The sequencer or a signature checker thread cannot start.
    #[error("starting a thread: {0}")]
    Thread(#[from] std::io::Error),
    /// The store cannot be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Publication (the published checkpoint, the witnesses) cannot start.
    #[error(transparent)]
    Publish(#[from] PublishError),
}

impl AppState {
    /// A read-only state serving `store`, a log whose checkpoints `verifier`
    /// verifies (its name is the log's origin). The books are opened from
    /// the store ([`Books::open`]: the stored snapshot, then the entries
    /// after it through the rules); writes answer 503.
    ///
    /// # Errors
    /// [`StartError::Replay`] if an entry breaks the rules.
    pub fn new(store: Arc<RocksStore>, verifier: VerifierKey) -> Result<Self, StartError> {
        let books = SharedBooks::new(Books::open(&store)?);
        let size = store.tree_size()?;
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let metrics = Arc::new(Metrics::new(size));
        let checker = Arc::new(Checker::start(books.clone(), cores, Arc::clone(&metrics))?);
        Ok(Self {
            published: Arc::new(Published::immediate(&store)),
            store,
            verifier: Arc::new(verifier),
            books,
            sequencer: None,
            publisher: None,
            witnesses: Arc::new(WitnessPolicy::default()),
            metrics,
            limiter: Arc::new(RateLimiter::new(0, 0)),
            checker,
            read_url: None,
        })
    }

    /// A writing state: as [`AppState::new`], plus the sequencer that signs
    /// checkpoints with `signer`, and the publisher that asks the configured
    /// witnesses to cosign them.
    ///
    /// # Errors
    /// [`StartError`] if the log does not replay or the writer cannot start.
    pub fn writer(
        store: Arc<RocksStore>,
        signer: minhbach_ledger::checkpoint::LogSigner,
        config: WriteConfig,
    ) -> Result<Self, StartError> {
        let verifier = signer.verifier();
        let mut state = Self::new(Arc::clone(&store), verifier.clone())?;
        let core = Core::new(
            Arc::clone(&store),
            state.books.clone(),
            signer,
            Arc::clone(&state.metrics),
        )?;
        let sequencer = Arc::new(Sequencer::start(core, config.batch)?);
        let (published, publisher) = Publisher::start(
            store,
            verifier,
            &config.witnesses,
            Arc::clone(&state.metrics),
            sequencer.committed(),
        )?;
        state.sequencer = Some(sequencer);
        state.published = published;
        state.publisher = publisher.map(Arc::new);
        state.witnesses = Arc::new(config.witnesses);
        state.limiter = Arc::new(RateLimiter::new(
            config.rate_per_client,
            config.burst_per_client,
        ));
        Ok(state)
    }

    /// Points the explorer's in-browser verification at a published copy
    /// of the read path (the public URL of the object-storage replica, behind
    /// its CDN): browsers fetch the log's metadata and checkpoint from there,
    /// so they check what every other reader sees.
    #[must_use]
    pub fn with_read_url(mut self, url: Option<&str>) -> Self {
        self.read_url = url.map(|u| Arc::from(u.trim_end_matches('/')));
        self
    }

    /// The published copy browsers verify against, if any.
    #[must_use]
    pub fn read_url(&self) -> Option<&str> {
        self.read_url.as_deref()
    }

    /// The books (the rules' state and the trace index).
    #[must_use]
    pub fn books(&self) -> &SharedBooks {
        &self.books
    }

    /// The metrics.
    #[must_use]
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The log's origin: the name of its verifier key.
    #[must_use]
    pub fn origin(&self) -> &str {
        self.verifier.name().as_str()
    }

    /// The log's signed-note verifier key.
    #[must_use]
    pub fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<RocksStore> {
        &self.store
    }

    /// The committed tree size (published or not yet).
    ///
    /// # Errors
    /// A [`StoreError`] if the store cannot be read.
    pub fn tree_size(&self) -> Result<u64, StoreError> {
        self.store.tree_size()
    }

    /// The size of the published checkpoint (0 before the first), which is
    /// what readers see.
    ///
    /// # Errors
    /// A [`StoreError`] if the store cannot be read.
    pub fn published_size(&self) -> Result<u64, StoreError> {
        match self.published.latest(&self.store) {
            Ok(latest) => Ok(latest.map_or(0, |l| l.checkpoint.size())),
            Err(publish::LatestError::Store(e)) => Err(e),
            Err(_) => Err(StoreError::Corrupt {
                what: "the committed checkpoint does not parse",
            }),
        }
    }

    /// The witnesses this server asks, and the quorum.
    #[must_use]
    pub fn witnesses(&self) -> &WitnessPolicy {
        &self.witnesses
    }

    /// What readers see: the store and the published checkpoint. Its reads
    /// block: call it off the async workers.
    pub(crate) fn view(&self) -> View {
        View {
            store: Arc::clone(&self.store),
            published: Arc::clone(&self.published),
        }
    }

    /// Runs a small synchronous store read (a proof, a tile, the
    /// checkpoint: a few RocksDB blocks, mostly cached) on the async worker
    /// itself: a hop to the blocking pool would cost more than the read,
    /// two thread wake-ups per request.
    fn read_now<T>(&self, f: impl FnOnce(&View) -> Result<T, ApiError>) -> Result<T, ApiError> {
        f(&self.view())
    }

    /// Runs a synchronous store read off the async workers.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&View) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let view = self.view();
        tokio::task::spawn_blocking(move || f(&view))
            .await
            .map_err(ApiError::internal)?
    }
}

/// What a read sees: the store, and the published checkpoint.
pub(crate) struct View {
    store: Arc<RocksStore>,
    published: Arc<Published>,
}

impl View {
    /// The store (committed entries, which may run ahead of the published
    /// checkpoint).
    pub(crate) fn store(&self) -> &RocksStore {
        &self.store
    }

    /// The published checkpoint; `None` before the first.
    pub(crate) fn latest(&self) -> Result<Option<Arc<Latest>>, ApiError> {
        self.published
            .latest(&self.store)
            .map_err(ApiError::internal)
    }

    /// Like [`View::latest`], but none is a `not_found` answer.
    pub(crate) fn require_latest(&self) -> Result<Arc<Latest>, ApiError> {
        self.latest()?
            .ok_or_else(|| ApiError::NotFound("no checkpoint published yet".into()))
    }
}

/// The server's routes (the public contract of SPEC 8), grouped by
/// audience in the modules that serve them: the write API
/// ([`write`](mod@write)), the C2SP read path (`tiles`), the JSON API
/// (`api`), the operators' `/metrics` and `/healthz`, and the explorer
/// ([`web`]). With their middleware: tracing, a request timeout, a body
/// limit and a concurrency limit.
pub fn app(state: AppState) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request| {
            let matched_path = req
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str);
            tracing::info_span!("request", method = %req.method(), matched_path, uri = %req.uri())
        })
        // Handlers log their own failures (see `error`).
        .on_failure(());
    // The C2SP read path, the JSON API, the operators' routes and the
    // explorer, under the body limit; the write API reads its own, larger
    // body (`write::WRITE_BODY_LIMIT`).
    let reads = Router::new()
        .merge(tiles::routes())
        .merge(api::routes())
        .merge(operations())
        .merge(web::routes())
        .fallback(not_found)
        .with_state(state.clone())
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT));
    reads
        .merge(write::routes().with_state(state))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(GlobalConcurrencyLimitLayer::new(CONCURRENCY_LIMIT))
        .layer(trace)
}

/// A few URLs worth opening on a server at `base` (`http://127.0.0.1:8080`)
/// whose log has `size` entries.
#[must_use]
pub fn urls_to_try(base: &str, size: u64) -> Vec<String> {
    let mut urls = vec![
        format!("{base}/checkpoint"),
        format!("{base}/api/v1/log"),
        format!("{base}/healthz"),
    ];
    if size > 0 {
        let last = size - 1;
        urls.push(format!("{base}/api/v1/entries/0"));
        urls.push(format!("{base}/api/v1/entries/{last}"));
        urls.push(format!("{base}/api/v1/proofs/inclusion?index={last}"));
        urls.push(format!(
            "{base}/api/v1/proofs/consistency?from={}",
            size / 2
        ));
        let tiles = minhbach_ledger::tile::tiles_for_size(size);
        let bundles = minhbach_ledger::tile::entry_bundles_for_size(size);
        for path in tiles.take(1).chain(bundles.take(1)) {
            urls.push(format!("{base}/{path}"));
        }
    }
    urls
}

async fn metrics_text(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        {
            let mut text = state.metrics.render();
            if let Ok(m) = state.store.memory() {
                text.push_str(&metrics::store_memory(&m));
            }
            text
        },
    )
}

/// The OpenAPI 3.1 document of every route (`server/api/openapi.json`).
pub const OPENAPI: &str = include_str!("../api/openapi.json");

/// The routes for operators: metrics and the health check.
fn operations() -> Router<AppState> {
    Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(healthz))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn method_not_allowed(method: axum::http::Method) -> ApiError {
    ApiError::MethodNotAllowed(format!("{method} is not allowed on this route"))
}

/// Unknown routes: an HTML page for browsers, a problem for everyone else.
async fn not_found(req: Request) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if web::wants_html(&req) {
        let (parts, _) = req.into_parts();
        return web::not_found_page(&parts);
    }
    ApiError::NotFound("no such route".into()).into_response()
}

/// Serves `app(state)` on `listener` until `shutdown` completes (see
/// [`shutdown_signal`]), then finishes the requests in flight.
///
/// # Errors
/// An I/O error from the listener.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(target: "minhbach_server::http", ?addr, origin = state.origin(), "serving");
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    tracing::info!(target: "minhbach_server::http", "stopped");
    Ok(())
}

/// Listens for Ctrl-C and SIGTERM from now on, and completes at the first
/// of them. Call it before the server says where it listens: a signal
/// that comes in between is then a graceful shutdown, not the default
/// action that ends the process on the spot.
///
/// # Errors
/// An I/O error if the signal handlers cannot be installed.
pub fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static>
{
    #[cfg(unix)]
    let (mut interrupt, mut terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        )
    };
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        #[cfg(not(unix))]
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(target: "minhbach_server::http", error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!(target: "minhbach_server::http", "shutting down");
    })
}

/// Joins a background thread held in `slot`, once: the first caller takes the
/// handle and waits for the thread; later callers find the slot empty. A
/// poisoned lock is still taken, since its content is only the handle.
pub(crate) fn join_once(slot: &std::sync::Mutex<Option<std::thread::JoinHandle<()>>>) {
    let thread = slot
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    if let Some(thread) = thread {
        let _ = thread.join();
    }
}
