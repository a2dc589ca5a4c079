//! The JSON read API (SPEC 8.4): the log's identity, decoded entries, and
//! inclusion and consistency proofs as base64 hash lists. The answers' shapes
//! are the core's ([`minhbach_ledger::api`]).
//!
//! Proofs come from stored node hashes (O(log n) reads, nothing rehashed) and
//! are bounded by the tree of the latest checkpoint, which is also their
//! default size: a proof fetched without a size verifies against the
//! checkpoint served at `/checkpoint`.

use axum::Json;
use axum::extract::State;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use minhbach_ledger::api;
use minhbach_ledger::leaf::Leaf;
use minhbach_ledger::merkle::{self, Hash, MerkleError};
use minhbach_ledger::store::LogStore as _;
use serde::{Deserialize, Serialize};

use minhbach_ledger::note::VerifierKey;

use crate::error::{ApiError, ApiPath, ApiQuery};
use crate::witness::WitnessPolicy;
use crate::{AppState, View};

/// `GET /api/v1/log` ([`api::LogInfo`], the shape the CLI and the auditor
/// read).
#[derive(Serialize)]
#[serde(transparent)]
pub(crate) struct LogInfo(api::LogInfo);

impl LogInfo {
    /// The log `verifier` verifies and its `witnesses`, with the size and
    /// root of the published checkpoint `latest` (none: an empty tree), and
    /// `committed_size` entries committed.
    pub(crate) fn new(
        verifier: &VerifierKey,
        witnesses: &WitnessPolicy,
        latest: Option<&minhbach_ledger::checkpoint::Checkpoint>,
        committed_size: u64,
    ) -> Self {
        let (tree_size, root) = match latest {
            Some(c) => (c.size(), c.root()),
            None => (0, merkle::empty_root()),
        };
        Self(api::LogInfo {
            origin: verifier.name().as_str().to_owned(),
            verifier_key: verifier.to_string(),
            witnesses: witnesses
                .witnesses()
                .iter()
                .map(|w| w.verifier().to_string())
                .collect(),
            witness_quorum: witnesses.required(),
            tree_size,
            root: root.to_base64(),
            committed_size,
        })
    }
}

pub(crate) async fn log_info(State(state): State<AppState>) -> Result<Json<LogInfo>, ApiError> {
    let (latest, committed_size) = state
        .read(|view| {
            let committed = view.store().tree_size().map_err(ApiError::internal)?;
            Ok((view.latest()?, committed))
        })
        .await?;
    Ok(Json(LogInfo::new(
        state.verifier(),
        state.witnesses(),
        latest.as_deref().map(|l| &l.checkpoint),
        committed_size,
    )))
}

/// `GET /api/v1/entries/{index}`.
pub(crate) async fn entry(
    State(state): State<AppState>,
    ApiPath(index): ApiPath<u64>,
) -> Result<Json<api::Entry>, ApiError> {
    let bytes = state.read(move |view| leaf_at(view, index)).await?;
    // The log only ever appends leaves that `Leaf::encode` made.
    let leaf = Leaf::parse(&bytes).map_err(ApiError::internal)?;
    let hash = merkle::leaf_hash(&bytes);
    let envelope = &leaf.envelope;
    Ok(Json(api::Entry {
        index,
        leaf: BASE64.encode(&bytes),
        leaf_hash: hash.to_base64(),
        leaf_hash_hex: hash.to_hex(),
        logged_at: leaf
            .logged_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        payload_type: envelope.payload_type().to_owned(),
        signers: envelope
            .signatures()
            .iter()
            .map(|s| s.keyid.to_string())
            .collect(),
        statement: serde_json::from_slice(envelope.payload()).ok(),
    }))
}

/// The bytes of leaf `index`, if the latest checkpoint covers it (so that
/// what is shown can be proven against the checkpoint served).
pub(crate) fn leaf_at(view: &View, index: u64) -> Result<Vec<u8>, ApiError> {
    let size = view.latest()?.map_or(0, |l| l.checkpoint.size());
    if index >= size {
        return Err(ApiError::NotFound(format!(
            "no entry {index}: the tree has {size} entries"
        )));
    }
    let mut leaves = view
        .store()
        .read_leaves(index, index + 1)
        .map_err(ApiError::internal)?;
    leaves
        .pop()
        .ok_or_else(|| ApiError::internal("store returned no leaf"))
}

#[derive(Deserialize)]
pub(crate) struct InclusionQuery {
    index: u64,
    size: Option<u64>,
}

/// `GET /api/v1/proofs/inclusion`.
pub(crate) async fn inclusion(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<InclusionQuery>,
) -> Result<Json<api::InclusionProof>, ApiError> {
    state.read_now(move |view| {
        let store = view.store();
        let current = view.require_latest()?.checkpoint.size();
        let size = q.size.unwrap_or(current);
        check_size("size", size, current)?;
        let (leaf_hash, proof) =
            merkle::leaf_and_inclusion_proof(store, q.index, size).map_err(proof_error)?;
        Ok(Json(api::InclusionProof {
            index: q.index,
            tree_size: size,
            leaf_hash: leaf_hash.to_base64(),
            proof: encode_hashes(&proof),
        }))
    })
}

#[derive(Deserialize)]
pub(crate) struct ConsistencyQuery {
    from: u64,
    to: Option<u64>,
}

/// `GET /api/v1/proofs/consistency`.
pub(crate) async fn consistency(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> Result<Json<api::ConsistencyProof>, ApiError> {
    state.read_now(move |view| {
        let store = view.store();
        let current = view.require_latest()?.checkpoint.size();
        let to = q.to.unwrap_or(current);
        check_size("to", to, current)?;
        let proof = merkle::consistency_proof(store, q.from, to).map_err(proof_error)?;
        Ok(Json(api::ConsistencyProof {
            from: q.from,
            to,
            proof: encode_hashes(&proof),
        }))
    })
}

fn check_size(name: &str, size: u64, current: u64) -> Result<(), ApiError> {
    if size > current {
        return Err(ApiError::OutOfRange(format!(
            "{name} {size} is larger than the tree size {current}"
        )));
    }
    Ok(())
}

/// Request errors of the Merkle layer are the client's; the rest are ours.
fn proof_error(e: MerkleError) -> ApiError {
    match e {
        MerkleError::IndexOutOfRange { .. } | MerkleError::SizeOutOfRange { .. } => {
            ApiError::OutOfRange(e.to_string())
        }
        e => ApiError::internal(e),
    }
}

fn encode_hashes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(Hash::to_base64).collect()
}

/// The routes of the JSON API (SPEC 8.4), for applications and the CLI:
/// the log and its proofs, receipts, the books' lookups, and the OpenAPI
/// document that describes them all.
pub(crate) fn routes() -> axum::Router<AppState> {
    use crate::{books_api, write};
    use axum::routing::get;
    axum::Router::new()
        .route("/api/v1/log", get(log_info))
        .route("/api/v1/entries/{index}", get(entry))
        .route("/api/v1/proofs/inclusion", get(inclusion))
        .route("/api/v1/proofs/consistency", get(consistency))
        .route("/api/v1/receipts/{index}", get(write::get_receipt))
        .route("/api/v1/lookup", get(books_api::lookup))
        .route("/api/v1/campaigns", get(books_api::campaigns))
        .route("/api/v1/campaigns/{id}", get(books_api::campaign))
        .route("/api/v1/donations/{index}/trace", get(books_api::trace))
        .route("/api/v1/keys", get(books_api::keys))
        .route("/api/v1/accounts", get(books_api::accounts))
        .route("/api/v1/coverage", get(books_api::coverage))
        .route("/api/v1/feedback", get(books_api::feedback))
        .route("/api/v1/openapi.json", get(openapi))
}

/// `GET /api/v1/openapi.json`.
async fn openapi() -> impl axum::response::IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "application/json"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
        ],
        crate::OPENAPI,
    )
}
