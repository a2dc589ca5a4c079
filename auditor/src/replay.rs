//! The replay: every leaf, in log order, through the ledger's rules, with
//! every signature verified and the Merkle tree rebuilt alongside.
//!
//! Signatures dominate the cost, so they are checked ahead of the rules, in
//! parallel and in Ed25519 batches ([`Envelope::verify_batch`]), against a
//! snapshot of the key registry; the rules then run on one thread. A key
//! registry only grows and a key id is the hash of its key, so a snapshot can
//! only lack keys: an entry whose signers are not in it, or whose batch check
//! fails, is verified again at its exact place in the log by the ledger
//! ([`State::apply_leaf`]), which gives the precise rejection. While the rules
//! apply one chunk, the next chunk is being verified.
//!
//! Batch verification has one documented limit (see
//! [`Envelope::verify_batch`]): it may accept a signature with a small-torsion
//! component that `verify_strict` refuses; only a holder of a granted key can
//! make one.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::VerifyingKey;
use minhbach_ledger::envelope::{Envelope, KeyId, STATEMENT_PAYLOAD_TYPE};
use minhbach_ledger::leaf::Leaf;
use minhbach_ledger::merkle::{Hash, NodeId, Tree, leaf_hash};
use minhbach_ledger::rules::{ApplyError, Effects, RejectedEntry, State, VerifiedEntry};
use minhbach_ledger::statement::{FeedbackCategory, Recipient, Statement, StatementKind};
use minhbach_ledger::tile::{TILE_HEIGHT, TileError};
use minhbach_ledger::trace::TraceIndex;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Entries in a full entry bundle (C2SP tlog-tiles).
const ENTRIES_PER_BUNDLE: u64 = 256;

/// Entries prepared (parsed and batch-verified) as one part of the pipeline.
const PART: usize = 512;

/// The first step is small: it holds genesis and the first key grants,
/// which the next steps' key snapshots then include.
const FIRST_CHUNK: usize = 64;

/// Why the replay stopped. Every variant is proven misbehaviour of the log
/// (exit code 1): what it signed does not hold up.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// An entry bundle does not decode or has the wrong number of entries.
    #[error("entry bundle {bundle}: {source}")]
    Bundle {
        /// The bundle's index.
        bundle: u64,
        /// What is wrong.
        #[source]
        source: TileError,
    },
    /// An entry audited by an earlier run (a resumed replay) is served with
    /// other bytes now: its leaf hash changed.
    #[error("entry {index} differs from the one audited before")]
    ChangedEntry {
        /// The entry.
        index: u64,
    },
    /// An entry breaks a rule (or its signature does not verify): the log
    /// accepted what the rules refuse.
    #[error(transparent)]
    Rejected(#[from] RejectedEntry),
    /// The replay's history could not be read. It is kept in memory, where
    /// a lookup cannot fail; the variant keeps the rules' error whole.
    #[error("the replay's history could not be read: {0}")]
    History(String),
    /// The leaves do not hash to the signed root.
    #[error("the {size} leaves hash to root {computed}, but the checkpoint signs {expected}")]
    RootMismatch {
        /// The tree size.
        size: u64,
        /// The signed root.
        expected: Hash,
        /// The recomputed root.
        computed: Hash,
    },
    /// A hash tile differs from the hashes recomputed from the leaves.
    #[error("tile {path} differs from the hashes recomputed from the leaves")]
    TileMismatch {
        /// The tile.
        path: String,
    },
}

impl ReplayError {
    /// Whether the log failed verification (every variant but
    /// [`ReplayError::History`], which is the auditor's own failure).
    #[must_use]
    pub fn is_verification_failure(&self) -> bool {
        !matches!(self, Self::History(_))
    }
}

/// A disbursement as observed during the replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenDisbursement {
    /// Its entry.
    pub index: u64,
    /// When it was logged.
    pub logged_at: DateTime<Utc>,
    /// The recipient's commitment, if a beneficiary.
    pub beneficiary: Option<String>,
}

/// An open feedback item as observed during the replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenFeedback {
    /// Its category.
    pub category: FeedbackCategory,
    /// When it is due.
    pub due: DateTime<Utc>,
}

/// What the anomaly report needs beyond the rules' state, gathered in one
/// pass (O(disbursements + open feedback) memory).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Observer {
    enrolled: HashSet<[u8; 32]>,
    /// Disbursements per (campaign, beneficiary commitment).
    pub paid: BTreeMap<(String, String), Vec<u64>>,
    /// Disbursements to commitments never enrolled before: (index, campaign, commitment).
    pub never_enrolled: Vec<(u64, String, String)>,
    /// Amounts within 5 % below an approval tier: (index, campaign, asset, amount, tier start).
    pub near_threshold: Vec<(u64, String, String, u64, u64)>,
    /// Every disbursement, in log order.
    pub disbursements: Vec<SeenDisbursement>,
    /// Feedback still open, by entry.
    pub open_feedback: BTreeMap<u64, SeenFeedback>,
    /// Entries per statement type.
    pub counts: BTreeMap<StatementKind, u64>,
    /// The last entry's `logged_at`.
    pub last_logged_at: Option<DateTime<Utc>>,
}

impl Observer {
    fn observe(&mut self, e: &VerifiedEntry, state: &State) {
        *self.counts.entry(e.statement.kind()).or_default() += 1;
        self.last_logged_at = Some(e.logged_at);
        match &e.statement {
            Statement::BeneficiaryEnroll(b) => {
                self.enrolled.insert(b.beneficiary.0);
            }
            Statement::Disbursement(d) => {
                let campaign = d.campaign.as_str().to_owned();
                let beneficiary = match &d.recipient {
                    Recipient::Beneficiary(c) => {
                        let hex = c.to_hex();
                        if !self.enrolled.contains(&c.0) {
                            self.never_enrolled
                                .push((e.index, campaign.clone(), hex.clone()));
                        }
                        self.paid
                            .entry((campaign.clone(), hex.clone()))
                            .or_default()
                            .push(e.index);
                        Some(hex)
                    }
                    _ => None,
                };
                let amount = d.amount.get();
                if let Some(tiers) = state
                    .campaign(&d.campaign)
                    .and_then(|c| c.policy.0.get(&d.asset))
                {
                    for t in tiers.iter().filter(|t| t.from > 0) {
                        // Within 5 % below the tier: 0.95·from ≤ amount < from.
                        if amount < t.from && u128::from(amount) * 100 >= u128::from(t.from) * 95 {
                            self.near_threshold.push((
                                e.index,
                                campaign.clone(),
                                d.asset.as_str().to_owned(),
                                amount,
                                t.from,
                            ));
                        }
                    }
                }
                self.disbursements.push(SeenDisbursement {
                    index: e.index,
                    logged_at: e.logged_at,
                    beneficiary,
                });
            }
            Statement::FeedbackOpen(f) => {
                let days = state.config().map_or(15, |c| c.feedback_due_days);
                self.open_feedback.insert(
                    e.index,
                    SeenFeedback {
                        category: f.category,
                        due: f.time.get() + Duration::days(i64::from(days)),
                    },
                );
            }
            Statement::FeedbackResolve(f) => {
                if let Some((index, _)) = state.history().entry_of_id(f.feedback.as_str()) {
                    self.open_feedback.remove(&index);
                }
            }
            _ => {}
        }
    }
}

/// An entry checked ahead of the rules.
struct Prepared {
    hash: Hash,
    /// `None`: verify again in place with the ledger.
    ready: Option<(DateTime<Utc>, Statement, Vec<KeyId>)>,
}

type Keys = Arc<HashMap<KeyId, VerifyingKey>>;

fn key_snapshot(state: &State) -> Keys {
    Arc::new(
        state
            .keys()
            .into_iter()
            .filter_map(|(id, rec)| {
                VerifyingKey::from_bytes(&rec.public_key.0)
                    .ok()
                    .map(|k| (*id, k))
            })
            .collect(),
    )
}

/// Parses and batch-verifies `leaves` (one worker's share).
fn prepare(leaves: &[&[u8]], keys: &HashMap<KeyId, VerifyingKey>) -> Vec<Prepared> {
    type Parsed = (Hash, Option<(DateTime<Utc>, Statement, Envelope)>);
    let mut parsed: Vec<Parsed> = Vec::with_capacity(leaves.len());
    for bytes in leaves {
        let hash = leaf_hash(bytes);
        let ready = Leaf::parse(bytes).ok().and_then(|leaf| {
            if leaf.envelope.payload_type() != STATEMENT_PAYLOAD_TYPE {
                return None;
            }
            let statement = Statement::from_json(leaf.envelope.payload()).ok()?;
            // Genesis is verified against its own keys, in place.
            if matches!(statement, Statement::Genesis(_)) {
                return None;
            }
            Some((leaf.logged_at, statement, leaf.envelope))
        });
        parsed.push((hash, ready));
    }
    let envelopes: Vec<&Envelope> = parsed
        .iter()
        .filter_map(|(_, r)| r.as_ref().map(|(_, _, e)| e))
        .collect();
    let mut results = Envelope::verify_batch(envelopes, |k| keys.get(k).copied()).into_iter();
    parsed
        .into_iter()
        .map(|(hash, ready)| Prepared {
            hash,
            ready: ready.and_then(|(at, statement, _)| match results.next() {
                Some(Ok(signers)) => Some((at, statement, signers)),
                _ => None,
            }),
        })
        .collect()
}

/// The parts of one [`Replay::replay`] call, prepared ahead of the rules.
///
/// Workers take parts in order; the rules thread applies them in order and,
/// when the part it needs is not ready, prepares the next untaken part
/// itself instead of waiting. So `threads` threads in all keep `threads`
/// cores busy, with no barrier between steps of the pipeline.
struct Pipeline<'a> {
    parts: Vec<&'a [&'a [u8]]>,
    /// The next part nobody has taken.
    next: AtomicUsize,
    ready: Mutex<Vec<Option<Vec<Prepared>>>>,
    filled: Condvar,
    /// The keys granted so far (refreshed by the rules thread).
    keys: Mutex<Keys>,
    /// Set when the rules stop early: workers take no more parts.
    stop: AtomicBool,
}

impl<'a> Pipeline<'a> {
    fn new(leaves: &'a [&'a [u8]], keys: Keys) -> Self {
        let parts: Vec<&[&[u8]]> = leaves.chunks(PART).collect();
        let ready = Mutex::new(parts.iter().map(|_| None).collect());
        Self {
            parts,
            next: AtomicUsize::new(0),
            ready,
            filled: Condvar::new(),
            keys: Mutex::new(keys),
            stop: AtomicBool::new(false),
        }
    }

    /// Takes and prepares the next untaken part; `false` when none is left.
    fn prepare_next(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) {
            return false;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let Some(part) = self.parts.get(i) else {
            return false;
        };
        let keys = Arc::clone(&lock(&self.keys));
        // A worker that panicked would leave the rules thread waiting: its
        // part is then verified in place, where the panic shows.
        let prepared =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| prepare(part, &keys)))
                .unwrap_or_else(|_| {
                    part.iter()
                        .map(|b| Prepared {
                            hash: leaf_hash(b),
                            ready: None,
                        })
                        .collect()
                });
        lock(&self.ready)[i] = Some(prepared);
        self.filled.notify_all();
        true
    }

    /// Part `i`, prepared: by a worker, or here while it is not.
    fn take(&self, i: usize) -> Vec<Prepared> {
        loop {
            if let Some(p) = lock(&self.ready)[i].take() {
                return p;
            }
            if self.prepare_next() {
                continue;
            }
            // Every part is taken: part `i` is on its way.
            let mut ready = lock(&self.ready);
            while ready[i].is_none() {
                ready = self
                    .filled
                    .wait(ready)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            return ready[i].take().unwrap_or_default();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The replay of a log from entry 0: the rules' state, the trace index, the
/// rebuilt tree and the observations for the anomaly report.
pub struct Replay {
    /// The rules' state.
    pub state: State,
    /// Where every gift went.
    pub trace: TraceIndex,
    /// What the anomaly report needs.
    pub observer: Observer,
    /// Signatures verified.
    pub signatures: u64,
    /// Entries verified one by one in place (outside the batches): genesis,
    /// entries signed by keys granted in the same chunk, and failures.
    pub verified_alone: u64,
    pub(crate) tree: Tree,
    /// Nodes at tile levels above 0 (tree levels 8, 16, …), for checking tiles.
    pub(crate) upper: HashMap<NodeId, Hash>,
    /// The leaf hashes of the last, partial entry bundle (fewer than 256).
    pub(crate) tail: Vec<Hash>,
    threads: usize,
    nodes: Vec<(NodeId, Hash)>,
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay")
            .field("size", &self.tree.size())
            .finish_non_exhaustive()
    }
}

impl Replay {
    /// An empty replay verifying signatures on `threads` threads.
    #[must_use]
    pub fn new(threads: usize) -> Self {
        Self {
            state: State::new(),
            trace: TraceIndex::new(),
            observer: Observer::default(),
            signatures: 0,
            verified_alone: 0,
            tree: Tree::new(),
            upper: HashMap::new(),
            tail: Vec::new(),
            threads: threads.max(1),
            nodes: Vec::new(),
        }
    }

    /// A replay resumed from saved parts (see [`crate::snapshot`]).
    #[allow(clippy::too_many_arguments)] // the saved parts, one by one
    pub(crate) fn resume(
        state: State,
        trace: TraceIndex,
        observer: Observer,
        counters: (u64, u64),
        tree: Tree,
        upper: HashMap<NodeId, Hash>,
        tail: Vec<Hash>,
        threads: usize,
    ) -> Self {
        Self {
            state,
            trace,
            observer,
            signatures: counters.0,
            verified_alone: counters.1,
            tree,
            upper,
            tail,
            threads: threads.max(1),
            nodes: Vec::new(),
        }
    }

    /// The leaf hashes of the entries after the last full entry bundle.
    #[must_use]
    pub fn tail(&self) -> &[Hash] {
        &self.tail
    }

    /// Entries replayed so far.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The root of the entries replayed so far.
    #[must_use]
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// A recomputed node at a tile level above 0, if the tree has it.
    #[must_use]
    pub fn upper_node(&self, id: &NodeId) -> Option<Hash> {
        self.upper.get(id).copied()
    }

    /// Replays the next `leaves` and returns their leaf hashes.
    ///
    /// # Errors
    /// [`ReplayError::Rejected`] for the first entry the rules refuse; the
    /// entries before it stay applied.
    pub fn replay(&mut self, leaves: &[&[u8]]) -> Result<Vec<Hash>, ReplayError> {
        let (head, tail) = if self.tree.size() == 0 {
            leaves.split_at(leaves.len().min(FIRST_CHUNK))
        } else {
            (&leaves[..0], leaves)
        };
        let mut hashes = Vec::with_capacity(leaves.len());
        if !head.is_empty() {
            let prepared = prepare(head, &key_snapshot(&self.state));
            self.apply_prepared(head, prepared, &mut hashes)?;
        }
        let pipeline = Pipeline::new(tail, key_snapshot(&self.state));
        std::thread::scope(|s| -> Result<(), ReplayError> {
            for _ in 1..self.threads.min(pipeline.parts.len()) {
                s.spawn(|| while pipeline.prepare_next() {});
            }
            let result = (|| {
                for (i, part) in pipeline.parts.iter().enumerate() {
                    let prepared = pipeline.take(i);
                    let keys = self.state.keys().len();
                    self.apply_prepared(part, prepared, &mut hashes)?;
                    if self.state.keys().len() != keys {
                        *lock(&pipeline.keys) = key_snapshot(&self.state);
                    }
                }
                Ok(())
            })();
            pipeline.stop.store(true, Ordering::Relaxed);
            result
        })?;
        Ok(hashes)
    }

    fn apply_prepared(
        &mut self,
        leaves: &[&[u8]],
        prepared: Vec<Prepared>,
        hashes: &mut Vec<Hash>,
    ) -> Result<(), ReplayError> {
        for (bytes, p) in leaves.iter().zip(prepared) {
            let index = self.state.next_index();
            let rejected = |error| match error {
                ApplyError::Rejected(rejection) => {
                    ReplayError::Rejected(RejectedEntry { index, rejection })
                }
                ApplyError::Unavailable(e) => ReplayError::History(e.to_string()),
            };
            let (entry, effects): (VerifiedEntry, Effects) = match p.ready {
                Some((logged_at, statement, signers)) => {
                    let entry = VerifiedEntry {
                        index,
                        leaf_hash: p.hash.into(),
                        logged_at,
                        statement,
                        signers,
                    };
                    let effects = self.state.apply(&entry).map_err(rejected)?;
                    (entry, effects)
                }
                None => {
                    self.verified_alone += 1;
                    self.state.apply_leaf(bytes).map_err(rejected)?
                }
            };
            self.signatures += entry.signers.len() as u64;
            self.trace.record(&effects);
            self.observer.observe(&entry, &self.state);
            self.nodes.clear();
            self.tree.append(p.hash, &mut self.nodes);
            if self.tree.size().is_multiple_of(ENTRIES_PER_BUNDLE) {
                self.tail.clear();
            } else {
                self.tail.push(p.hash);
            }
            for (id, h) in &self.nodes {
                if id.level > 0 && id.level % TILE_HEIGHT == 0 {
                    self.upper.insert(*id, *h);
                }
            }
            hashes.push(p.hash);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_or_garbage_first_leaf_is_rejected_at_index_0() {
        let mut r = Replay::new(2);
        assert!(r.replay(&[]).unwrap().is_empty());
        let err = r.replay(&[b"not a leaf"]).unwrap_err();
        let ReplayError::Rejected(RejectedEntry { index, rejection }) = &err else {
            panic!("{err}");
        };
        assert_eq!(*index, 0);
        assert_eq!(rejection.code(), "malformed");
        assert!(err.is_verification_failure());
    }
}
