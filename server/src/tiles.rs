//! The C2SP read path (SPEC 4.4.4, 8.3; <https://c2sp.org/tlog-tiles>):
//! `/checkpoint`, `/tile/<L>/<N>[.p/<W>]` and `/tile/entries/<N>[.p/<W>]`.
//!
//! A hash tile is the run of stored nodes at tree level `8·L`, indices
//! `N·256 .. N·256 + W`: one RocksDB range read. An entry bundle is the
//! leaves of the level-0 tile with the same `N` and `W`, each prefixed by its
//! big-endian `u16` length.
//!
//! `/checkpoint` is the *published* checkpoint (with its witnesses'
//! cosignatures; see the server's publisher). Tiles are served up to the
//! *committed* tree, which may run ahead of it while witnesses cosign: a
//! client only uses the tiles that a checkpoint it verified covers.
//!
//! Which tiles exist: a tile is served when every hash (or entry) it holds
//! exists in the committed tree. So the full tiles, the
//! rightmost partial tile of the current width, and also any narrower partial
//! tile of a level: its bytes are the first `W` hashes of a run that never
//! changes, exactly what the tile was when the tree was smaller, so a client
//! still verifying an older checkpoint gets it. A width past the end of the
//! tree, or a tile past the end, is 404.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use minhbach_ledger::store::LogStore as _;
use minhbach_ledger::tile::{
    TILE_HEIGHT, TILE_WIDTH, TileKind, TilePath, encode_entry_bundle, encode_tile,
};

use crate::error::ApiError;
use crate::{AppState, View};

/// Full tiles never change.
pub(crate) const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Partial tiles are replaced by wider ones as the log grows: cache briefly.
pub(crate) const PARTIAL: &str = "public, max-age=5";

/// The checkpoint (and the log's metadata) change with every commit.
pub(crate) const CHECKPOINT_CACHE: &str = "no-cache";

/// The routes of the C2SP read path, for tlog-tiles clients, witnesses and
/// monitors.
pub(crate) fn routes() -> axum::Router<AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
}

/// `GET /checkpoint`: the published checkpoint, with its cosignatures.
pub(crate) async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let latest = state.read_now(View::require_latest)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(CHECKPOINT_CACHE),
            ),
        ],
        latest.signed.clone(),
    )
        .into_response())
}

/// `GET /tile/{*path}`: a hash tile or an entry bundle.
pub(crate) async fn tile(
    State(state): State<AppState>,
    axum::extract::Path(rest): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let path = TilePath::parse(&format!("tile/{rest}"))
        .map_err(|e| ApiError::NotFound(format!("not a tile: {e}")))?;
    // Up to the committed size: a reader only uses the tiles a checkpoint
    // it verified covers (C2SP tlog-tiles), and a tile never changes once
    // its hashes exist.
    let read = move |view: &View| {
        let store = view.store();
        let size = store.tree_size().map_err(ApiError::internal)?;
        tile_bytes(store, path, size)
    };
    // A hash tile is one stored block; an entry bundle is up to 256 leaves.
    let bytes = match path.kind() {
        TileKind::Hashes { .. } => state.read_now(read)?,
        TileKind::Entries => state.read(read).await?,
    };
    let cache = if path.is_full() { IMMUTABLE } else { PARTIAL };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        bytes,
    )
        .into_response())
}

/// The bytes of `path` in the tree of `size` leaves, or `not_found` if the
/// tree does not hold all of it.
pub(crate) fn tile_bytes(
    store: &minhbach_ledger::store::rocks::RocksStore,
    path: TilePath,
    size: u64,
) -> Result<Vec<u8>, ApiError> {
    let beyond = || ApiError::NotFound(format!("{path} lies beyond the tree of size {size}"));
    let tree_level = TILE_HEIGHT * path.kind().level();
    // Nodes that exist at this tree level; `TilePath` keeps 8·L ≤ 56.
    let available = size >> tree_level;
    let first = path.index() * u64::from(TILE_WIDTH);
    let width = u64::from(path.width());
    // `TilePath` guarantees that N·256 + W fits a u64.
    if first + width > available {
        return Err(beyond());
    }
    match path.kind() {
        TileKind::Hashes { .. } => {
            let hashes = store
                .read_node_run(tree_level, first, width)
                .map_err(ApiError::internal)?;
            encode_tile(&hashes).map_err(ApiError::internal)
        }
        TileKind::Entries => {
            let leaves = store
                .read_leaves(first, first + width)
                .map_err(ApiError::internal)?;
            let entries: Vec<&[u8]> = leaves.iter().map(Vec::as_slice).collect();
            encode_entry_bundle(&entries).map_err(ApiError::internal)
        }
    }
}
