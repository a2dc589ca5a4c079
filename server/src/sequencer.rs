//! The sequencer (SPEC 3): the one writer of the log.
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
//!   precision (SPEC 4.3, 6.7).

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
use minhbach_ledger::rules::{
    history_pairs, MemoryHistory, Overlay, Rejection, State, StoredHistory,
};
use minhbach_ledger::statement::{Digest, Statement};
use minhbach_ledger::store::books;
use minhbach_ledger::store::rocks::RocksStore;
use minhbach_ledger::store::LogStore as _;
use minhbach_ledger::trace::{StoredTrace, TraceLayer};
use tokio::sync::{oneshot, watch};

use crate::metrics::Metrics;
use crate::recent::{campaigns_of, RecentEntries};

/// The store the books keep their past in.
pub type BooksStore = Arc<RocksStore>;

/// The rules' state as the server keeps it: the live part in memory, the
/// log's past in the store, with what was recorded since the last flush on
/// top.
pub type BooksState = State<Overlay<StoredHistory<BooksStore>>>;

/// A flush writes the records of the entries since the last one and a
/// snapshot of the whole live state, so it waits for at least this many
/// entries...
const FLUSH_ENTRIES: u64 = 4096;
/// ... and for one entry per this many bytes of live state: the snapshot
/// then costs at most about this much per entry, however large the live
/// state grows (millions of unspent donations in a long appeal), and the
/// records waiting in memory stay within a small multiple of it.
const LIVE_BYTES_PER_ENTRY: u64 = 128;
/// A quiet log is flushed once its oldest unflushed entry is this old, if
/// its snapshot is at most [`QUIET_SNAPSHOT_BYTES`].
const FLUSH_AGE: Duration = Duration::from_secs(2);
/// See [`FLUSH_AGE`].
const QUIET_SNAPSHOT_BYTES: u64 = 1 << 20;
/// The metadata key of the books' snapshot.
const SNAPSHOT_KEY: &str = "snapshot";
/// The snapshot's format; any other is ignored and the books rebuilt.
const SNAPSHOT_VERSION: u32 = 1;

/// What the rules know after the committed prefix of the log, plus the trace
/// index their effects feed and the latest entries of each campaign.
///
/// Only what is live stays in memory: keys, campaigns and their unspent
/// slices, accounts, beneficiaries, open feedback, and the recent entries.
/// What grows with the log (statement ids, references, donation and
/// disbursement records, the traces) is read from the store, under the
/// `books/` metadata keys, with what was recorded since the last flush held
/// in memory on top. A flush writes those records together with a snapshot
/// of the live part at the same size, in one atomic write: so the store
/// always holds the books as of some committed size `S`, and opening them
/// ([`Books::open`]) loads that snapshot and replays only the entries after
/// `S`, instead of the whole log.
///
/// A flush is taken in two steps so that it can be written while the books
/// go on: [`Books::begin_flush`] freezes what is unwritten and copies the
/// live part (the time of a copy, under the write lock), the [`FlushJob`]
/// encodes and writes them on any thread, and [`Books::end_flush`] forgets
/// them once written, or keeps them if the write failed. One flush is in
/// flight at a time, so the snapshots are written in order.
pub struct Books {
    /// The rules' state.
    pub state: BooksState,
    /// Where every donation went.
    pub trace: StoredTrace<BooksStore>,
    /// The latest entries of each campaign.
    pub recent: RecentEntries,
    /// The size the stored books describe.
    flushed_size: u64,
    /// When the first entry after `flushed_size`, or after the flush in
    /// flight, was recorded.
    dirty_since: Option<Instant>,
    /// The size the flush in flight covers.
    in_flight: Option<u64>,
}

impl std::fmt::Debug for Books {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Books")
            .field("next_index", &self.state.next_index())
            .field("flushed_size", &self.flushed_size)
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

/// The snapshot as written.
#[derive(serde::Serialize)]
struct SnapshotRef<'a> {
    version: u32,
    size: u64,
    state: &'a State<()>,
    recent: &'a RecentEntries,
}

/// The snapshot as read.
#[derive(serde::Deserialize)]
struct Snapshot {
    version: u32,
    size: u64,
    state: State,
    recent: RecentEntries,
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
    /// Empty books over `store`'s (empty) stored books.
    fn empty(store: &BooksStore) -> Self {
        Self {
            state: State::with_history(Overlay::new(StoredHistory::new(Arc::clone(store)))),
            trace: StoredTrace::new(Arc::clone(store)),
            recent: RecentEntries::default(),
            flushed_size: 0,
            dirty_since: None,
            in_flight: None,
        }
    }

    /// The books of `store`: its stored snapshot, then every entry after it
    /// replayed through the rules with every signature verified, exactly as
    /// an auditor would. Without a usable snapshot (a new store, an older
    /// format, a snapshot beyond the log), the stored books are dropped and
    /// rebuilt from entry 0 ([`Books::rebuild`]).
    ///
    /// # Errors
    /// [`ReplayError`] if a leaf cannot be read or breaks a rule, or the
    /// store cannot be written.
    pub fn open(store: &BooksStore) -> Result<Self, ReplayError> {
        let size = store.tree_size()?;
        let stored = store.read_meta(&books::key(SNAPSHOT_KEY, b""))?;
        let snapshot = stored
            .as_deref()
            .and_then(|bytes| ciborium::from_reader::<Snapshot, _>(bytes).ok())
            .filter(|s| {
                s.version == SNAPSHOT_VERSION && s.size <= size && s.state.next_index() == s.size
            });
        let Some(snapshot) = snapshot else {
            if size > 0 || stored.is_some() {
                tracing::warn!(target: "minhbach_server::sequencer", size, "no usable snapshot of the books: rebuilding them from every entry");
            }
            return Self::rebuild(store);
        };
        let mut books = Self::empty(store);
        books.state = snapshot
            .state
            .map_history(|_| Overlay::new(StoredHistory::new(Arc::clone(store))));
        books.recent = snapshot.recent;
        books.flushed_size = snapshot.size;
        books.catch_up(store)?;
        Ok(books)
    }

    /// Drops the stored books of `store` and rebuilds them from its leaves
    /// alone, replaying every entry (flushing as it goes, so memory stays
    /// bounded whatever the log's length).
    ///
    /// # Errors
    /// As [`Books::open`].
    pub fn rebuild(store: &BooksStore) -> Result<Self, ReplayError> {
        store.delete_meta_prefix(books::BOOKS_PREFIX)?;
        let mut books = Self::empty(store);
        books.catch_up(store)?;
        Ok(books)
    }

    /// Replays the entries of `store` after those the books cover (its
    /// log must extend theirs).
    ///
    /// # Errors
    /// As [`Books::open`].
    pub fn catch_up(&mut self, store: &BooksStore) -> Result<(), ReplayError> {
        self.replay(store, self.state.next_index(), store.tree_size()?)
    }

    /// Replays the leaves `[start, end)`, which must follow what the books
    /// cover.
    fn replay(&mut self, store: &BooksStore, start: u64, end: u64) -> Result<(), ReplayError> {
        const CHUNK: u64 = 4096;
        let mut from = start;
        while from < end {
            let to = (from + CHUNK).min(end);
            for (offset, leaf) in store.read_leaves(from, to)?.iter().enumerate() {
                let index = from + offset as u64;
                let (entry, effects) =
                    self.state
                        .apply_leaf(leaf)
                        .map_err(|rejection| ReplayError::Rejected {
                            index,
                            code: rejection.code(),
                            rejection,
                        })?;
                self.trace.record(&effects);
                self.recent.record(&self.state, index, &entry.statement);
            }
            self.dirty_since.get_or_insert_with(Instant::now);
            from = to;
            // By count only: a replay's memory stays bounded, and what it
            // leaves unflushed is what the crash left (flushed by the
            // sequencer's next round).
            if self.unflushed() >= self.flush_interval() {
                self.flush(store)?;
            }
        }
        Ok(())
    }

    /// Entries recorded since the last flush.
    #[must_use]
    pub fn unflushed(&self) -> u64 {
        self.state.next_index() - self.flushed_size
    }

    /// Whether enough is unflushed to write it now.
    fn flush_due(&self) -> bool {
        let unflushed = self.unflushed();
        unflushed >= self.flush_interval()
            || (unflushed > 0
                && self.dirty_since.is_some_and(|t| t.elapsed() >= FLUSH_AGE)
                && self.live_bytes() <= QUIET_SNAPSHOT_BYTES)
    }

    /// Entries between flushes under load.
    fn flush_interval(&self) -> u64 {
        FLUSH_ENTRIES.max(self.live_bytes() / LIVE_BYTES_PER_ENTRY)
    }

    fn live_bytes(&self) -> u64 {
        self.state.approx_bytes() as u64
    }

    /// Starts a flush of what is unflushed: freezes the records (reads
    /// still see them until [`Books::end_flush`]) and copies the live part.
    /// `None` if nothing is unflushed, or a flush is already in flight.
    pub fn begin_flush(&mut self) -> Option<FlushJob> {
        if self.unflushed() == 0 || self.in_flight.is_some() {
            return None;
        }
        let size = self.state.next_index();
        self.in_flight = Some(size);
        Some(FlushJob {
            ticket: FlushTicket {
                size,
                dirty_since: self.dirty_since.take(),
            },
            history: self.state.history_mut().layers_mut().freeze(),
            trace: self.trace.layers_mut().freeze(),
            live: self.state.clone_live(),
            recent: self.recent.clone(),
        })
    }

    /// Ends the flush of `ticket`: if it was `written`, its records are
    /// forgotten (they are read from the store now); if not, they are
    /// unflushed again and go with the next flush.
    pub fn end_flush(&mut self, ticket: FlushTicket, written: bool) {
        debug_assert_eq!(self.in_flight, Some(ticket.size));
        self.in_flight = None;
        if written {
            self.state.history_mut().layers_mut().release();
            self.trace.layers_mut().release();
            self.flushed_size = ticket.size;
        } else {
            self.state.history_mut().layers_mut().thaw();
            self.trace.layers_mut().thaw();
            self.dirty_since = ticket.dirty_since.or(self.dirty_since);
        }
    }

    /// Writes what was recorded since the last flush, with a snapshot of
    /// the live part, in one atomic (and durable) write, on this thread.
    /// The books must cover exactly the committed entries of `store`. Does
    /// nothing while another flush is in flight.
    ///
    /// # Errors
    /// A store error; then nothing is written and nothing forgotten.
    pub fn flush(&mut self, store: &BooksStore) -> Result<(), minhbach_ledger::store::StoreError> {
        let Some(job) = self.begin_flush() else {
            return Ok(());
        };
        let ticket = job.ticket();
        let written = job.write(store);
        self.end_flush(ticket, written.is_ok());
        written.map(drop)
    }
}

/// What a flush covers, to end it with ([`Books::end_flush`]).
#[derive(Clone, Copy, Debug)]
pub struct FlushTicket {
    /// The size of the snapshot.
    size: u64,
    /// When the first of its entries was recorded.
    dirty_since: Option<Instant>,
}

impl FlushTicket {
    /// The size of the books the flush writes.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }
}

/// A flush begun ([`Books::begin_flush`]): the frozen records and a copy of
/// the live part, to encode and write on any thread.
#[derive(Debug)]
pub struct FlushJob {
    ticket: FlushTicket,
    history: Arc<MemoryHistory>,
    trace: Arc<TraceLayer>,
    live: State<()>,
    recent: RecentEntries,
}

impl FlushJob {
    /// What to end the flush with.
    #[must_use]
    pub fn ticket(&self) -> FlushTicket {
        self.ticket
    }

    /// Encodes the records and the snapshot and writes them in one atomic,
    /// durable write; returns how many values were written. The frozen
    /// records are let go of here, so that a failed flush thaws them
    /// without a copy.
    ///
    /// # Errors
    /// A store error; then nothing is written.
    pub fn write(self, store: &BooksStore) -> Result<usize, minhbach_ledger::store::StoreError> {
        let mut pairs = history_pairs(&self.history);
        pairs.extend(self.trace.pairs());
        pairs.push((
            books::key(SNAPSHOT_KEY, b""),
            books::encode(&SnapshotRef {
                version: SNAPSHOT_VERSION,
                size: self.ticket.size,
                state: &self.live,
                recent: &self.recent,
            }),
        ));
        drop(self);
        store.put_meta(&pairs)?;
        Ok(pairs.len())
    }
}

/// The books behind a lock: the sequencer writes, handlers read.
#[derive(Clone, Debug)]
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
    /// The flush being written on its own thread.
    flushing: Option<Flushing>,
}

/// A flush of the books being written on its own thread.
struct Flushing {
    ticket: FlushTicket,
    /// Answers how many values it wrote, and how long that took.
    thread: JoinHandle<(Result<usize, minhbach_ledger::store::StoreError>, Duration)>,
}

impl Flushing {
    /// Starts writing `job` to `store` on a thread of its own; `None`
    /// (the job dropped unwritten) if no thread can be had.
    fn start(job: FlushJob, store: BooksStore) -> Option<Self> {
        let ticket = job.ticket();
        let spawned = std::thread::Builder::new()
            .name("books-flush".into())
            .spawn(move || {
                let started = Instant::now();
                (job.write(&store), started.elapsed())
            });
        match spawned {
            Ok(thread) => Some(Self { ticket, thread }),
            Err(e) => {
                tracing::error!(target: "minhbach_server::sequencer", error = %e, "cannot start a thread to flush the books; keeping them in memory");
                None
            }
        }
    }

    /// Waits for the write and ends the flush in `books`.
    fn end(self, metrics: &Metrics, books: &mut Books) {
        let written = match self.thread.join() {
            Ok((Ok(records), took)) => {
                tracing::debug!(target: "minhbach_server::sequencer", size = self.ticket.size(), records, elapsed_ms = took.as_millis(), "books flushed");
                metrics.record_books_flush(Some(took));
                true
            }
            Ok((Err(e), _)) => {
                tracing::error!(target: "minhbach_server::sequencer", error = %e, "cannot flush the books; keeping them in memory");
                metrics.record_books_flush(None);
                false
            }
            Err(_) => {
                tracing::error!(target: "minhbach_server::sequencer", "the books' flush panicked; keeping them in memory");
                metrics.record_books_flush(None);
                false
            }
        };
        books.end_flush(self.ticket, written);
    }
}

/// The books are flushed when the writer goes (shutdown, the end of a
/// seeding), so that the next start replays nothing.
impl Drop for Core {
    fn drop(&mut self) {
        self.flush();
    }
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
    /// The books could not be opened.
    #[error(transparent)]
    Books(#[from] ReplayError),
}

impl Core {
    /// The writer over `store`, whose books `books` must cover exactly the
    /// committed entries (see [`Books::open`]).
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
            flushing: None,
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
                books.dirty_since.get_or_insert_with(Instant::now);
                self.metrics
                    .record_commit(leaves.len(), started.elapsed(), appended.size);
                Ok(outcomes)
            }
            Err(e) => {
                tracing::error!(target: "minhbach_server::sequencer", error = %e, "commit failed; rebuilding the books from the store");
                // The rebuild reads what the flush in flight writes.
                if let Some(flushing) = self.flushing.take() {
                    flushing.end(&self.metrics, &mut books);
                }
                match Books::open(self.log.store()) {
                    Ok(rebuilt) => *books = rebuilt,
                    Err(e) => {
                        tracing::error!(target: "minhbach_server::sequencer", error = %e, "cannot rebuild the books");
                    }
                }
                Err(SequencerError::Store)
            }
        }
    }

    /// Flushes the books if enough is unflushed (see [`Books`]), on a
    /// thread of its own: the books are held (under the write lock) only
    /// while the unwritten records are frozen and the live part copied,
    /// and again once written, while they are forgotten. Ends a finished
    /// flush first; one is in flight at a time. A failed write is logged
    /// and tried again later; nothing is lost, the books just stay longer in
    /// memory.
    pub fn flush_if_due(&mut self) {
        if self
            .flushing
            .as_ref()
            .is_some_and(|f| f.thread.is_finished())
        {
            self.finish_flush();
        }
        if self.flushing.is_none() && self.books.read().flush_due() {
            self.start_flush();
        }
    }

    /// Flushes whatever the books hold unflushed, and waits for it.
    pub fn flush(&mut self) {
        self.finish_flush();
        self.start_flush();
        self.finish_flush();
    }

    fn start_flush(&mut self) {
        let started = Instant::now();
        let mut books = self.books.write();
        let Some(job) = books.begin_flush() else {
            return;
        };
        self.metrics.record_books_freeze(started.elapsed());
        let ticket = job.ticket();
        self.flushing = Flushing::start(job, Arc::clone(self.log.store()));
        if self.flushing.is_none() {
            books.end_flush(ticket, false);
        }
    }

    /// Waits for the flush in flight, if any, and ends it.
    fn finish_flush(&mut self) {
        if let Some(flushing) = self.flushing.take() {
            flushing.end(&self.metrics, &mut self.books.write());
        }
    }

    /// One statement: wrap it as the next leaf and apply the rules.
    fn admit(
        &self,
        state: &mut BooksState,
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
                    // After the answers: a flush delays only the next batch.
                    core.flush_if_due();
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
