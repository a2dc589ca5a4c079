//! # minhbach-server
//!
//! The minhbach log server's HTTP side over the durable RocksDB store:
//!
//! - the C2SP read path (DESIGN 4.4): `GET /checkpoint`, `GET /tile/<L>/<N>[.p/<W>]`
//!   and `GET /tile/entries/<N>[.p/<W>]`, byte for byte what any tlog-tiles
//!   client expects ([`app`]);
//! - the JSON API (DESIGN 7): `GET /api/v1/log`, `GET /api/v1/entries/{index}`,
//!   `GET /api/v1/proofs/inclusion` and `GET /api/v1/proofs/consistency`;
//! - the data directory (the RocksDB log, the log key, demo officials' keys:
//!   [`datadir`]) and the demo history that `minhbach-server demo` seeds
//!   ([`demo`]).
//!
//! What it does **not** do (yet): accept statements. There is no sequencer,
//! no write API, no witness client and no metrics; the only writer is the
//! demo seeding, before the server starts. It never holds an official's key
//! except the demo keys it generates for its own demo data.
//!
//! Errors are RFC 9457 problem JSON with a stable `code`: `not_found` (404),
//! `malformed` (400), `out_of_range` (400), `internal` (500, generic body).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use minhbach_ledger::checkpoint::Checkpoint;
use minhbach_ledger::note::{Note, VerifierKey};
use minhbach_ledger::store::rocks::RocksStore;
use minhbach_ledger::store::{LogStore as _, StoreError};
use tokio::net::TcpListener;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

mod api;
pub mod datadir;
pub mod demo;
mod error;
mod tiles;

use error::ApiError;

/// How long a request may take before the server answers 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest request body accepted, in bytes (reads need none; the write
/// API will accept batches of envelopes, each at most a leaf).
pub const BODY_LIMIT: usize = 1 << 20;

/// The most requests handled at once; more wait for a slot.
pub const CONCURRENCY_LIMIT: usize = 1024;

/// What every handler shares: the store (reads take `&self`) and the log's
/// public identity.
#[derive(Clone)]
pub struct AppState {
    store: Arc<RocksStore>,
    verifier: Arc<VerifierKey>,
}

impl AppState {
    /// A state serving `store`, a log whose checkpoints `verifier` verifies
    /// (its name is the log's origin).
    #[must_use]
    pub fn new(store: Arc<RocksStore>, verifier: VerifierKey) -> Self {
        Self {
            store,
            verifier: Arc::new(verifier),
        }
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

    /// The committed tree size.
    ///
    /// # Errors
    /// A [`StoreError`] if the store cannot be read.
    pub fn tree_size(&self) -> Result<u64, StoreError> {
        self.store.tree_size()
    }

    /// Runs a synchronous store read off the async workers.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&RocksStore) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(ApiError::internal)?
    }
}

/// The latest signed checkpoint and what it says, read once so that the size
/// and root that answers use always belong together.
struct Latest {
    signed: Vec<u8>,
    checkpoint: Checkpoint,
}

/// Reads the latest checkpoint; `None` while the log is empty.
fn latest(store: &RocksStore) -> Result<Option<Latest>, ApiError> {
    let Some(signed) = store.checkpoint().map_err(ApiError::internal)? else {
        return Ok(None);
    };
    let note = Note::parse(&signed).map_err(ApiError::internal)?;
    let checkpoint = Checkpoint::parse(note.text().as_bytes()).map_err(ApiError::internal)?;
    Ok(Some(Latest { signed, checkpoint }))
}

/// Like [`latest`], but an empty log is a `not_found` answer.
fn require_latest(store: &RocksStore) -> Result<Latest, ApiError> {
    latest(store)?.ok_or_else(|| ApiError::NotFound("the log is empty: no checkpoint yet".into()))
}

/// The server's routes (the public contract of DESIGN 7) with their
/// middleware: tracing, a request timeout, a body limit and a concurrency
/// limit.
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
    Router::new()
        .route("/checkpoint", get(tiles::checkpoint))
        .route("/tile/{*path}", get(tiles::tile))
        .route("/api/v1/log", get(api::log_info))
        .route("/api/v1/entries/{index}", get(api::entry))
        .route("/api/v1/proofs/inclusion", get(api::inclusion))
        .route("/api/v1/proofs/consistency", get(api::consistency))
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
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

async fn healthz() -> &'static str {
    "ok\n"
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

/// Serves `app(state)` on `listener` until Ctrl-C or SIGTERM, then finishes
/// the requests in flight.
///
/// # Errors
/// An I/O error from the listener.
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(target: "minhbach_server::http", ?addr, origin = state.origin(), "serving");
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!(target: "minhbach_server::http", "stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(target: "minhbach_server::http", error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(target: "minhbach_server::http", error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!(target: "minhbach_server::http", "shutting down");
}
