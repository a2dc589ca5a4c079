//! The write API: `POST /api/v1/entries` (SPEC 8.2) and receipts.
//!
//! The body is one DSSE envelope (a JSON object) or a batch (a JSON array of
//! at most [`MAX_BATCH`] envelopes). Statements are parsed and signatures
//! verified off the async workers by the [`Checker`](crate::checker)
//! threads, in Ed25519 batches that span concurrent requests; the
//! [`Sequencer`](crate::sequencer) applies the rules and commits. Answers:
//!
//! * one envelope: `200 {"index","leaf_hash","statement_id","type","existing"}`
//!   or a problem (400/401/403/409/413/422/429/503) — nothing is written for a
//!   refused statement;
//! * a batch: `200 {"results":[…]}`, one item per envelope, in order, each the
//!   success object or `{"problem":{…}}`; items are judged independently;
//! * `?wait=checkpoint`: the answer waits until a *published* checkpoint
//!   covers the accepted entries (with witnesses, once enough cosigned it)
//!   and each success also carries `receipt`, the receipt bundle (SPEC
//!   4.5.2) against that checkpoint. If none covers them within
//!   [`WAIT_FOR_PUBLICATION`] (witnesses down), the answer is `202` with
//!   the same results and no receipts: the entries are logged, and
//!   `GET /api/v1/receipts/{index}` gives their receipts once published;
//! * `?dry_run=true`: the signatures and rules are checked against the
//!   current state, nothing is logged: `200 {"ok":true,…}` or the problem.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minhbach_ledger::api::DryRun;
use minhbach_ledger::envelope::Envelope;
use minhbach_ledger::leaf::Leaf;
use minhbach_ledger::merkle::leaf_hash;
use minhbach_ledger::receipt::{ReceiptBundle, TlogProof};
use minhbach_ledger::rules::{Rejection, VerifiedEntry};
use minhbach_ledger::store::LogStore as _;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::checker::CheckError;
use crate::error::{ApiError, ApiPath, ApiQuery};
use crate::sequencer::{Accepted, Checked, SequencerError};
use crate::{AppState, View};

/// The most envelopes in one request.
pub const MAX_BATCH: usize = 1000;

/// How long `?wait=checkpoint` waits for a published checkpoint to cover
/// the entries (below the request timeout).
pub const WAIT_FOR_PUBLICATION: Duration = Duration::from_secs(8);

/// The largest `POST /api/v1/entries` body, bytes (a full batch of large
/// envelopes).
pub const WRITE_BODY_LIMIT: usize = 16 << 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WriteQuery {
    /// `checkpoint`: answer with receipts once a checkpoint covers the entries.
    wait: Option<String>,
    /// Check only, log nothing.
    #[serde(default)]
    dry_run: bool,
}

/// A per-client token bucket on submitted statements (HTTP 429 beyond it).
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    clients: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_second` statements per client on average, up to `burst` at once;
    /// `per_second == 0` turns the limit off.
    #[must_use]
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(1)),
            clients: Mutex::default(),
        }
    }

    /// Takes `n` tokens for `client`; `false` if it has too few.
    pub fn allow(&self, client: IpAddr, n: usize) -> bool {
        if self.per_second <= 0.0 {
            return true;
        }
        let now = Instant::now();
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if clients.len() > 100_000 {
            // Forget idle clients (full buckets) so the map stays small.
            let burst = self.burst;
            let rate = self.per_second;
            clients.retain(|_, (t, at)| *t + now.duration_since(*at).as_secs_f64() * rate < burst);
        }
        let (tokens, at) = clients.entry(client).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        let need = n as f64;
        if *tokens >= need {
            *tokens -= need;
            true
        } else {
            false
        }
    }
}

#[derive(Serialize)]
struct Success {
    #[serde(flatten)]
    accepted: Accepted,
    #[serde(skip_serializing_if = "Option::is_none")]
    receipt: Option<serde_json::Value>,
}

/// The request body: one envelope or many.
enum Body {
    One(Envelope),
    Many(Vec<Result<Envelope, ApiError>>),
}

fn parse_body(bytes: &[u8]) -> Result<Body, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        let items: Vec<&RawValue> = serde_json::from_slice(bytes)
            .map_err(|e| ApiError::Malformed(format!("the body is not a JSON array: {e}")))?;
        if items.is_empty() {
            return Err(ApiError::Malformed("the batch is empty".into()));
        }
        if items.len() > MAX_BATCH {
            return Err(ApiError::TooLarge(format!(
                "{} envelopes in one request; at most {MAX_BATCH}",
                items.len()
            )));
        }
        Ok(Body::Many(
            items
                .into_iter()
                .map(|raw| {
                    Envelope::from_json(raw.get().as_bytes())
                        .map_err(|e| ApiError::Malformed(format!("not a DSSE envelope: {e}")))
                })
                .collect(),
        ))
    } else {
        Envelope::from_json(bytes)
            .map(Body::One)
            .map_err(|e| ApiError::Malformed(format!("not a DSSE envelope: {e}")))
    }
}

fn sequencer_error(e: &SequencerError) -> ApiError {
    match e {
        SequencerError::Overloaded => {
            ApiError::Overloaded("the log is busy; retry in a moment".into())
        }
        SequencerError::Stopped => ApiError::Overloaded("the log is not accepting writes".into()),
        SequencerError::Store => ApiError::internal("the durable write failed"),
        SequencerError::Unavailable => {
            ApiError::Unavailable("the books cannot record the batch".into())
        }
    }
}

/// The route of the write API, for officials' tools: its body is not under
/// the reads' body limit, but [`WRITE_BODY_LIMIT`].
pub(crate) fn routes() -> axum::Router<AppState> {
    use axum::routing::post;
    axum::Router::new().route("/api/v1/entries", post(submit))
}

/// `POST /api/v1/entries`: read the body, check the signatures, then
/// either judge the statements against the current state (`?dry_run=true`)
/// or have the sequencer log them, and answer.
pub(crate) async fn submit(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<WriteQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let wait = wait_for_checkpoint(query.wait.as_deref())?;
    let body = read_body(&state, request).await?;
    let (single, envelopes, early) = body.split();
    let checked = state.checker.check(envelopes).await.map_err(check_error)?;

    let (results, published) = if query.dry_run {
        (judge(&state, checked).await?, true)
    } else {
        commit(&state, checked, wait).await?
    };
    state.metrics.record_submit(started.elapsed());
    // Logged, but no published checkpoint covers it yet (`202`).
    let status = if published {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    answer(status, single, results, early)
}

/// `?wait=`: whether to wait for a published checkpoint.
fn wait_for_checkpoint(wait: Option<&str>) -> Result<bool, ApiError> {
    match wait {
        None => Ok(false),
        Some("checkpoint") => Ok(true),
        Some(other) => Err(ApiError::Malformed(format!(
            "wait={other}: the only value is `checkpoint`"
        ))),
    }
}

/// The request's body, parsed, within the client's rate limit.
async fn read_body(state: &AppState, request: Request) -> Result<Body, ApiError> {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let bytes = axum::body::to_bytes(request.into_body(), WRITE_BODY_LIMIT)
        .await
        .map_err(|_| {
            ApiError::TooLarge(format!("the body is larger than {WRITE_BODY_LIMIT} bytes"))
        })?;
    let body = parse_body(&bytes)?;
    let count = match &body {
        Body::One(_) => 1,
        Body::Many(items) => items.len(),
    };
    if let Some(client) = client
        && !state.limiter.allow(client, count)
    {
        return Err(ApiError::RateLimited(format!(
            "too many statements from {client}; slow down"
        )));
    }
    Ok(body)
}

impl Body {
    /// Whether it was one envelope, the envelopes that parsed, and per item
    /// of the request its early answer (`None`: in `envelopes`, in order).
    fn split(self) -> (bool, Vec<Envelope>, Vec<Option<ApiError>>) {
        match self {
            Body::One(e) => (true, vec![e], vec![None]),
            Body::Many(items) => {
                let mut envelopes = Vec::with_capacity(items.len());
                let mut early = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Ok(e) => {
                            envelopes.push(e);
                            early.push(None);
                        }
                        Err(e) => early.push(Some(e)),
                    }
                }
                (false, envelopes, early)
            }
        }
    }
}

/// The answer when the signature checkers cannot take the request.
fn check_error(e: CheckError) -> ApiError {
    match e {
        CheckError::Overloaded => ApiError::Overloaded("the log is busy; retry in a moment".into()),
        _ => ApiError::Overloaded("the log is not accepting writes".into()),
    }
}

/// `?dry_run=true`: each statement judged against the current state, off
/// the async workers; nothing is logged.
async fn judge(
    state: &AppState,
    checked: Vec<Result<Checked, Rejection>>,
) -> Result<Vec<Result<serde_json::Value, ApiError>>, ApiError> {
    let books = state.books.clone();
    let outcomes = tokio::task::spawn_blocking(move || dry_run(&books, checked))
        .await
        .map_err(ApiError::internal)?;
    Ok(outcomes
        .into_iter()
        .map(|o| o.map(|d| serde_json::to_value(d).unwrap_or_default()))
        .collect())
}

/// The statements handed to the sequencer; once their batch is committed,
/// one result per statement, with its receipt if `wait`. Also whether a
/// published checkpoint covers them (`false` only if `wait` timed out).
async fn commit(
    state: &AppState,
    checked: Vec<Result<Checked, Rejection>>,
    wait: bool,
) -> Result<(Vec<Result<serde_json::Value, ApiError>>, bool), ApiError> {
    let sequencer = state
        .sequencer
        .as_ref()
        .ok_or_else(|| ApiError::Overloaded("this server is read-only".into()))?;
    let outcomes = sequencer
        .submit(checked)
        .await
        .map_err(|e| sequencer_error(&e))?;
    let mut results = Vec::with_capacity(outcomes.len());
    let mut receipts = Vec::new();
    let mut covered = true;
    if wait {
        match receipts_once_published(state, &outcomes).await? {
            Some(r) => receipts = r,
            None => covered = false,
        }
    }
    let mut receipts = receipts.into_iter();
    for outcome in outcomes {
        results.push(match outcome {
            Ok(accepted) => {
                let receipt = if wait { receipts.next() } else { None };
                Ok(serde_json::to_value(Success { accepted, receipt }).unwrap_or_default())
            }
            Err(error) => {
                if let Some(rejection) = error.rejection() {
                    state.metrics.record_rejection(rejection.code());
                }
                Err(ApiError::from(error))
            }
        });
    }
    Ok((results, covered))
}

/// `?wait=checkpoint`: the receipts of the accepted entries, once a
/// published checkpoint covers them; `None` if none does within
/// [`WAIT_FOR_PUBLICATION`].
async fn receipts_once_published(
    state: &AppState,
    outcomes: &[crate::sequencer::Outcome],
) -> Result<Option<Vec<serde_json::Value>>, ApiError> {
    let indexes: Vec<u64> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok().map(|a| a.index))
        .collect();
    let needed = indexes.iter().max().map(|i| i + 1);
    let covered = match needed {
        Some(size) => state.published.wait_for(size, WAIT_FOR_PUBLICATION).await,
        // Nothing accepted: nothing to wait for.
        None => true,
    };
    if !covered {
        return Ok(None);
    }
    state
        .read(move |view| {
            indexes
                .into_iter()
                .map(|i| receipt(view, i))
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map(Some)
}

/// The answer: for one envelope its result; for a batch one item per
/// envelope of the request, in order, each a success or a problem.
fn answer(
    status: StatusCode,
    single: bool,
    results: Vec<Result<serde_json::Value, ApiError>>,
    early: Vec<Option<ApiError>>,
) -> Result<Response, ApiError> {
    if single {
        let result = results
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::internal("no outcome"))?;
        return result.map(|v| (status, Json(v)).into_response());
    }
    let mut results = results.into_iter();
    let items: Vec<serde_json::Value> = early
        .into_iter()
        .map(|e| {
            let r = match e {
                Some(e) => Err(e),
                None => results
                    .next()
                    .unwrap_or_else(|| Err(ApiError::internal("no outcome"))),
            };
            match r {
                Ok(v) => v,
                Err(e) => serde_json::json!({ "problem": e.problem() }),
            }
        })
        .collect();
    Ok((status, Json(serde_json::json!({ "results": items }))).into_response())
}

/// Checks each statement against the current state without logging it.
fn dry_run(
    books: &crate::books::SharedBooks,
    checked: Vec<Result<Checked, Rejection>>,
) -> Vec<Result<DryRun, ApiError>> {
    let books = books.read();
    let state = &books.state;
    let now = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now());
    checked
        .into_iter()
        .map(|c| {
            let c = c.map_err(ApiError::Rejected)?;
            let (envelope, statement, signers) = c.into_parts();
            let signers = match signers {
                Ok(s) => s,
                Err(Rejection::UnknownKey { .. }) => {
                    state
                        .verify_envelope(&envelope)
                        .map_err(ApiError::Rejected)?
                        .1
                }
                Err(e) => return Err(ApiError::Rejected(e)),
            };
            let statement_id = statement.id().as_str().to_owned();
            let kind = statement.kind().as_str();
            let logged_at = state.last_logged_at().map_or(now, |l| l.max(now));
            let bytes = Leaf::new(logged_at, envelope)
                .encode()
                .map_err(|e| ApiError::Rejected(e.into()))?;
            let entry = VerifiedEntry {
                index: state.next_index(),
                leaf_hash: leaf_hash(&bytes).into(),
                logged_at,
                statement,
                signers: signers.clone(),
            };
            state.check(&entry)?;
            Ok(DryRun {
                ok: true,
                statement_id,
                kind: kind.to_owned(),
                signers: signers.iter().map(ToString::to_string).collect(),
            })
        })
        .collect()
}

/// The receipt bundle of entry `index` against the published checkpoint.
pub(crate) fn receipt(view: &View, index: u64) -> Result<serde_json::Value, ApiError> {
    let store = view.store();
    let latest = view.require_latest()?;
    let size = latest.checkpoint.size();
    if index >= size {
        return Err(ApiError::NotFound(format!(
            "no entry {index}: the tree has {size} entries"
        )));
    }
    let leaf = store
        .read_leaves(index, index + 1)
        .map_err(ApiError::internal)?
        .pop()
        .ok_or_else(|| ApiError::internal(format!("leaf {index} missing below the tree size")))?;
    let hashes =
        minhbach_ledger::merkle::inclusion_proof(store, index, size).map_err(ApiError::internal)?;
    let bundle = ReceiptBundle {
        leaf,
        proof: TlogProof {
            extra: None,
            index,
            hashes,
            checkpoint: latest.signed.clone(),
        },
    };
    let json = bundle.to_json().map_err(ApiError::internal)?;
    serde_json::from_str(&json).map_err(ApiError::internal)
}

/// `GET /api/v1/receipts/{index}`.
pub(crate) async fn get_receipt(
    State(state): State<AppState>,
    ApiPath(index): ApiPath<u64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.read(move |view| receipt(view, index)).await.map(Json)
}
