//! The sequencer (DESIGN 8): the one writer of the log.
//!
//! ```text
//!  checker threads (one per core)   sequencer thread (one)
//!  parse + verify signatures  ──►  group jobs into a batch (size, short window)
//!  (Ed25519 batch verification)     apply the rules in order (pure on error)
//!                                   one fsync'd RocksDB write batch + checkpoint
//!  ◄── outcomes, after the commit   publish the new size, then answer
//! ```
//!
//! * Signatures are verified before the sequencer, on every core and in
//!   batches spanning concurrent requests ([`crate::checker`], which calls
//!   [`check_envelopes`]), against the key registry at that moment. A key id names one
//!   public key forever, so a signature that verified stays verified; whether
//!   the signer may sign *this* statement *here* is a rule, applied in order by
//!   the sequencer. An envelope whose key was unknown to the handler is
//!   verified again by the sequencer (its key may be granted earlier in the
//!   same batch).
//! * The rules ([`minhbach_ledger::rules`]) are applied to the live state
//!   under the books' write lock; `apply` is pure on error, so a refused
//!   statement leaves no trace. The accepted ones are written in one atomic
//!   commit with the checkpoint that covers them; only then does anyone get an
//!   answer. If the commit fails, the in-memory books are rebuilt from the
//!   store, which still holds exactly the acknowledged entries.
//! * Idempotency: a statement whose id (or donation reference, or any other
//!   unique field) is already logged is answered with the existing entry when
//!   its payload is byte-for-byte the logged one (`existing: true`), and
//!   refused as `duplicate` with the existing index otherwise.
//! * `logged_at` comes from the clock, never decreases, and has millisecond
//!   precision (DESIGN 4.3).

use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound as _, TimeDelta, Utc};
use minhbach_ledger::checkpoint::{sign_checkpoint, Checkpoint, LogSigner};
use minhbach_ledger::envelope::{Envelope, KeyId};
use minhbach_ledger::leaf::Leaf;
use minhbach_ledger::log::{Log, LogError};
use minhbach_ledger::merkle::{leaf_hash, Hash};
use minhbach_ledger::rules::{Rejection, State};
use minhbach_ledger::statement::{Digest, Statement};
use minhbach_ledger::store::rocks::RocksStore;
use minhbach_ledger::store::LogStore as _;
use minhbach_ledger::trace::TraceIndex;
use tokio::sync::{oneshot, watch};

use crate::metrics::Metrics;
use crate::recent::{campaigns_of, RecentEntries};

/// What the rules know after the committed prefix of the log, plus the trace
/// index their effects feed.
#[derive(Debug, Default)]
pub struct Books {
    /// The rules' state.
    pub state: State,
    /// Where every donation went.
    pub trace: TraceIndex,
    /// The latest entries of each campaign.
    pub recent: RecentEntries,
}

/// Errors rebuilding the books from the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] minhbach_ledger::store::StoreError),
    /// A logged entry breaks the rules: the log was not written by this
    /// sequencer, or the rules changed. Nothing is served from a log the
    /// rules refuse.
    #[error("entry {index} breaks the rules: {rejection} ({code})")]
    Rejected {
        /// The entry.
        index: u64,
        /// The rule broken.
        rejection: Rejection,
        /// Its stable code.
        code: &'static str,
    },
}

impl Books {
    /// Replays every leaf of `store` through the rules, verifying every
    /// signature, exactly as an auditor would.
    ///
    /// # Errors
    /// [`ReplayError`] if a leaf cannot be read or breaks a rule.
    pub fn replay(store: &RocksStore) -> Result<Self, ReplayError> {
        const CHUNK: u64 = 4096;
        let size = store.tree_size()?;
        let mut books = Self::default();
        let mut start = 0;
        while start < size {
            let end = (start + CHUNK).min(size);
            for (offset, leaf) in store.read_leaves(start, end)?.iter().enumerate() {
                let index = start + offset as u64;
                let (entry, effects) =
                    books
                        .state
                        .apply_leaf(leaf)
                        .map_err(|rejection| ReplayError::Rejected {
                            index,
                            code: rejection.code(),
                            rejection,
                        })?;
                books.trace.record(&effects);
                books.recent.record(&books.state, index, &entry.statement);
            }
            start = end;
        }
        Ok(books)
    }
}

/// The books behind a lock: the sequencer writes, handlers read.
#[derive(Clone, Debug, Default)]
pub struct SharedBooks(Arc<RwLock<Books>>);

impl SharedBooks {
    /// Shares `books`.
    #[must_use]
    pub fn new(books: Books) -> Self {
        Self(Arc::new(RwLock::new(books)))
    }

    /// A read view (a poisoned lock is still readable: the books are only
    /// changed under the sequencer's commit discipline).
    pub fn read(&self) -> RwLockReadGuard<'_, Books> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Books> {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One submitted envelope after the handler's checks.
#[derive(Debug)]
pub struct Checked {
    envelope: Envelope,
    statement: Statement,
    /// The signers whose signatures verified, or why they did not.
    signers: Result<Vec<KeyId>, Rejection>,
}

impl Checked {
    /// The envelope, its statement and the signature verdict.
    pub fn into_parts(self) -> (Envelope, Statement, Result<Vec<KeyId>, Rejection>) {
        (self.envelope, self.statement, self.signers)
    }
}

/// Parses envelopes' statements and verifies their signatures against the
/// key registry of `books`, with Ed25519 batch verification. Envelopes whose
/// statement does not parse are answered at once (`Err`).
pub fn check_envelopes(
    books: &SharedBooks,
    envelopes: Vec<Envelope>,
) -> Vec<Result<Checked, Rejection>> {
    let books = books.read();
    let state = &books.state;
    let mut parsed = Vec::with_capacity(envelopes.len());
    for envelope in envelopes {
        parsed.push(
            if envelope.payload_type() == minhbach_ledger::envelope::STATEMENT_PAYLOAD_TYPE {
                Statement::from_json(envelope.payload())
                    .map(|s| (envelope, s))
                    .map_err(Rejection::from)
            } else {
                Err(Rejection::MalformedEnvelope {
                    what: "payload type",
                })
            },
        );
    }
    let to_verify: Vec<&Envelope> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok().map(|(e, _)| e))
        .collect();
    let mut verdicts = Envelope::verify_batch(to_verify, |k| state.verifying_key(k)).into_iter();
    parsed
        .into_iter()
        .map(|p| {
            let (envelope, statement) = p?;
            let verdict = verdicts
                .next()
                .unwrap_or(Err(minhbach_ledger::envelope::EnvelopeError::NoSignatures));
            // An unknown key (before genesis, or granted since) is checked
            // again in order by the sequencer.
            let signers = verdict.map_err(Rejection::from);
            Ok(Checked {
                envelope,
                statement,
                signers,
            })
        })
        .collect()
}

/// An accepted (or already logged) statement.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Accepted {
    /// Its index in the log.
    pub index: u64,
    /// Its leaf hash (base64 in JSON).
    #[serde(serialize_with = "hash_b64")]
    pub leaf_hash: Hash,
    /// The statement id.
    pub statement_id: String,
    /// The statement type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Whether this very statement was logged before (an idempotent resubmission).
    pub existing: bool,
}

fn hash_b64<S: serde::Serializer>(h: &Hash, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&h.to_base64())
}

/// The answer for one submitted statement.
pub type Outcome = Result<Accepted, Rejection>;

/// Why a whole job failed (nothing of it was written).
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SequencerError {
    /// The queue is full: try again shortly (HTTP 503).
    #[error("the sequencer's queue is full")]
    Overloaded,
    /// The sequencer has stopped (shutdown, or a failed store).
    #[error("the sequencer is not running")]
    Stopped,
    /// The durable write failed; nothing of the batch was written.
    #[error("the write to the store failed")]
    Store,
}

/// The single writer: the log, the books and the log's signing key.
pub struct Core {
    log: Log<Arc<RocksStore>>,
    books: SharedBooks,
    signer: LogSigner,
    origin: String,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("size", &self.log.size())
            .finish_non_exhaustive()
    }
}

/// Opening the writer failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// The log could not be opened.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The books and the log disagree on the size.
    #[error("the books cover {books} entries but the log holds {log}")]
    SizeMismatch {
        /// Entries the books cover.
        books: u64,
        /// Entries the log holds.
        log: u64,
    },
}

impl Core {
    /// The writer over `store`, whose books `books` must cover exactly the
    /// committed entries (see [`Books::replay`]).
    ///
    /// # Errors
    /// [`CoreError`] if the log cannot be opened or the sizes differ.
    pub fn new(
        store: Arc<RocksStore>,
        books: SharedBooks,
        signer: LogSigner,
        metrics: Arc<Metrics>,
    ) -> Result<Self, CoreError> {
        let log = Log::open(store)?;
        let covered = books.read().state.next_index();
        if covered != log.size() {
            return Err(CoreError::SizeMismatch {
                books: covered,
                log: log.size(),
            });
        }
        let origin = signer.name().as_str().to_owned();
        Ok(Self {
            log,
            books,
            signer,
            origin,
            metrics,
        })
    }

    /// The committed tree size.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.log.size()
    }

    /// Applies the rules to `items` in order and appends the accepted ones in
    /// one commit, logged at `now` (or the last `logged_at`, if later).
    /// Returns one outcome per item, in order.
    ///
    /// # Errors
    /// [`SequencerError::Store`] if the commit fails: then nothing of the
    /// batch is written and the books are rebuilt from the store.
    pub fn process(
        &mut self,
        items: Vec<Result<Checked, Rejection>>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outcome>, SequencerError> {
        let mut books = self.books.write();
        let logged_at = logged_at(now, books.state.last_logged_at());
        let first_index = self.log.size();
        let mut leaves: Vec<Vec<u8>> = Vec::new();
        let mut all_effects = Vec::new();
        let mut outcomes = Vec::with_capacity(items.len());
        for item in items {
            let outcome = item.and_then(|checked| {
                self.admit(
                    &mut books.state,
                    checked,
                    logged_at,
                    &mut leaves,
                    &mut all_effects,
                )
            });
            outcomes.push(outcome);
        }
        if leaves.is_empty() {
            return Ok(outcomes);
        }
        let origin = &self.origin;
        let signer = &self.signer;
        let started = Instant::now();
        let appended = self.log.append(&leaves, &[], |size, root| {
            // The origin was accepted when the log was created.
            Checkpoint::new(origin, size, *root, vec![])
                .map(|c| sign_checkpoint(&c, signer))
                .unwrap_or_default()
        });
        match appended {
            Ok(appended) => {
                debug_assert_eq!(appended.first_index, first_index);
                for (effects, kind, campaigns) in all_effects {
                    books.trace.record(&effects);
                    books.recent.push(effects.index, kind, campaigns);
                }
                self.metrics
                    .record_commit(leaves.len(), started.elapsed(), appended.size);
                Ok(outcomes)
            }
            Err(e) => {
                tracing::error!(target: "minhbach_server::sequencer", error = %e, "commit failed; rebuilding the books from the store");
                match Books::replay(self.log.store()) {
                    Ok(rebuilt) => *books = rebuilt,
                    Err(e) => {
                        tracing::error!(target: "minhbach_server::sequencer", error = %e, "cannot rebuild the books");
                    }
                }
                Err(SequencerError::Store)
            }
        }
    }

    /// One statement: wrap it as the next leaf and apply the rules.
    fn admit(
        &self,
        state: &mut State,
        checked: Checked,
        logged_at: DateTime<Utc>,
        leaves: &mut Vec<Vec<u8>>,
        all_effects: &mut Vec<(
            minhbach_ledger::rules::Effects,
            minhbach_ledger::statement::StatementKind,
            Vec<minhbach_ledger::statement::Slug>,
        )>,
    ) -> Outcome {
        let Checked {
            envelope,
            statement,
            signers,
        } = checked;
        let signers = match signers {
            Ok(s) => s,
            // The key may have been granted since the handler looked (or
            // this is the genesis): verify again, in order.
            Err(Rejection::UnknownKey { .. }) => state.verify_envelope(&envelope)?.1,
            Err(e) => return Err(e),
        };
        let payload = envelope.payload().to_vec();
        let statement_id = statement.id().as_str().to_owned();
        let statement_kind = statement.kind();
        let kind = statement_kind.as_str();
        let campaigns = campaigns_of(state, &statement);
        let bytes = Leaf::new(logged_at, envelope).encode()?;
        let hash = leaf_hash(&bytes);
        match state.apply_verified(Digest(hash.0), logged_at, statement, signers) {
            Ok(effects) => {
                let index = effects.index;
                all_effects.push((effects, statement_kind, campaigns));
                leaves.push(bytes);
                Ok(Accepted {
                    index,
                    leaf_hash: hash,
                    statement_id,
                    kind,
                    existing: false,
                })
            }
            Err(rejection) => {
                let Some(existing) = rejection.existing_index() else {
                    return Err(rejection);
                };
                match self.logged_payload(existing, leaves) {
                    Some((logged, logged_hash)) if logged == payload => Ok(Accepted {
                        index: existing,
                        leaf_hash: logged_hash,
                        statement_id,
                        kind,
                        existing: true,
                    }),
                    _ => Err(rejection),
                }
            }
        }
    }

    /// The payload and leaf hash of entry `index`: from the leaves of this
    /// batch (not yet committed), or from the store.
    fn logged_payload(&self, index: u64, batch: &[Vec<u8>]) -> Option<(Vec<u8>, Hash)> {
        let committed = self.log.size();
        let bytes = if index >= committed {
            batch.get(usize::try_from(index - committed).ok()?)?.clone()
        } else {
            self.log.store().read_leaves(index, index + 1).ok()?.pop()?
        };
        let leaf = Leaf::parse(&bytes).ok()?;
        Some((leaf.envelope.payload().to_vec(), leaf_hash(&bytes)))
    }
}

/// `now` truncated to milliseconds, never before `last`.
fn logged_at(now: DateTime<Utc>, last: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let now = now
        .duration_trunc(TimeDelta::milliseconds(1))
        .unwrap_or(now);
    last.map_or(now, |last| now.max(last))
}

/// How the sequencer groups statements.
#[derive(Clone, Copy, Debug)]
pub struct BatchConfig {
    /// The most statements in one commit.
    pub max_batch: usize,
    /// How long to wait for more statements after the first one.
    pub window: Duration,
    /// Jobs that may wait in the queue before submitters get 503.
    pub queue: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            max_batch: 4096,
            window: Duration::from_millis(2),
            queue: 1024,
        }
    }
}

struct Job {
    items: Vec<Result<Checked, Rejection>>,
    reply: oneshot::Sender<Result<Vec<Outcome>, SequencerError>>,
}

/// The running sequencer: a thread that owns the [`Core`].
pub struct Sequencer {
    tx: SyncSender<Job>,
    committed: watch::Receiver<u64>,
    thread: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Sequencer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequencer")
            .field("committed", &*self.committed.borrow())
            .finish_non_exhaustive()
    }
}

impl Sequencer {
    /// Starts the sequencer thread over `core`.
    ///
    /// # Errors
    /// An I/O error if the thread cannot be spawned.
    pub fn start(mut core: Core, config: BatchConfig) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel::<Job>(config.queue);
        let (committed_tx, committed) = watch::channel(core.size());
        let thread = std::thread::Builder::new()
            .name("sequencer".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut jobs = vec![first];
                    let mut count = jobs[0].items.len();
                    let deadline = Instant::now() + config.window;
                    while count < config.max_batch {
                        let wait = deadline.saturating_duration_since(Instant::now());
                        match rx.recv_timeout(wait) {
                            Ok(job) => {
                                count += job.items.len();
                                jobs.push(job);
                            }
                            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                                break;
                            }
                        }
                    }
                    let mut items = Vec::with_capacity(count);
                    let mut replies = Vec::with_capacity(jobs.len());
                    for job in jobs {
                        replies.push((job.items.len(), job.reply));
                        items.extend(job.items);
                    }
                    let result = core.process(items, DateTime::<Utc>::from(std::time::SystemTime::now()));
                    // Published before anyone hears back, so a waiter that
                    // asks for the size afterwards sees it.
                    committed_tx.send_replace(core.size());
                    match result {
                        Ok(outcomes) => {
                            let mut outcomes = outcomes.into_iter();
                            for (n, reply) in replies {
                                let _ = reply.send(Ok(outcomes.by_ref().take(n).collect()));
                            }
                        }
                        Err(e) => {
                            for (_, reply) in replies {
                                let _ = reply.send(Err(e.clone()));
                            }
                        }
                    }
                }
                tracing::info!(target: "minhbach_server::sequencer", size = core.size(), "sequencer stopped");
            })?;
        Ok(Self {
            tx,
            committed,
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    /// Submits checked statements; the answer comes once their batch is
    /// committed.
    ///
    /// # Errors
    /// [`SequencerError::Overloaded`] when the queue is full,
    /// [`SequencerError::Stopped`] after shutdown, [`SequencerError::Store`]
    /// if the commit failed.
    pub async fn submit(
        &self,
        items: Vec<Result<Checked, Rejection>>,
    ) -> Result<Vec<Outcome>, SequencerError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .try_send(Job { items, reply })
            .map_err(|e| match e {
                TrySendError::Full(_) => SequencerError::Overloaded,
                TrySendError::Disconnected(_) => SequencerError::Stopped,
            })?;
        answer.await.map_err(|_| SequencerError::Stopped)?
    }

    /// The committed size, updated after each commit.
    #[must_use]
    pub fn committed(&self) -> watch::Receiver<u64> {
        self.committed.clone()
    }
}

/// Stops the sequencer: the batch in flight is finished, queued jobs are
/// answered, then the thread exits. Called when the last handle goes.
impl Drop for Sequencer {
    fn drop(&mut self) {
        // Replacing the sender drops ours; the thread drains what is queued
        // and stops when the channel is empty and closed.
        let (dummy, _) = mpsc::sync_channel(0);
        drop(std::mem::replace(&mut self.tx, dummy));
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}
