//! The books: what the rules know after the committed prefix of the log,
//! kept live in memory over the store, flushed to it with a snapshot, and
//! opened again from that snapshot plus a replay of the entries after it.
//! This module is their one home: the keys and encodings ([`table`]), the
//! layered table both the rules' history ([`history`]) and the gift trace
//! ([`trace`]) are kept in, the latest entries per campaign ([`recent`]),
//! and the snapshot and flush ([`Books`]). ARCHITECTURE.md ("The books")
//! describes the mechanism.

pub mod history;
pub mod recent;
pub mod table;
pub mod trace;

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use minhbach_ledger::rules::{ApplyError, RejectedEntry, State};
use minhbach_ledger::store::rocks::RocksStore;
use minhbach_ledger::store::{LogStore as _, StoreError};

use crate::metrics::Metrics;
pub use history::StoredHistory;
pub use recent::RecentEntries;
use table::{BOOKS_PREFIX, FrozenChanges, Layered};
pub use trace::StoredTrace;

/// The store the books keep their past in.
pub type BooksStore = Arc<RocksStore>;

/// The rules' state as the server keeps it: the live part in memory, the
/// log's past in the store, with what was recorded since the last flush on
/// top.
pub type BooksState = State<StoredHistory<BooksStore>>;

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
    pub(crate) dirty_since: Option<Instant>,
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

/// Errors loading or rebuilding the books from the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BooksError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] minhbach_ledger::store::StoreError),
    /// A logged entry breaks the rules: the log was not written by this
    /// sequencer, or the rules changed. Nothing is served from a log the
    /// rules refuse.
    #[error(transparent)]
    Rejected(#[from] RejectedEntry),
}

impl BooksError {
    /// The error of replaying entry `index`.
    fn of_entry(index: u64, error: ApplyError) -> Self {
        match error {
            ApplyError::Rejected(rejection) => Self::Rejected(RejectedEntry { index, rejection }),
            ApplyError::Unavailable(e) => Self::Store(e),
        }
    }
}

impl Books {
    /// Empty books over `store`'s (empty) stored books.
    fn empty(store: &BooksStore) -> Self {
        Self {
            state: State::with_history(StoredHistory::new(Arc::clone(store))),
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
    /// [`BooksError`] if a leaf cannot be read or breaks a rule, or the
    /// store cannot be written.
    pub fn open(store: &BooksStore) -> Result<Self, BooksError> {
        let size = store.tree_size()?;
        let stored = store.read_meta(&table::key(SNAPSHOT_KEY, b""))?;
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
            .map_history(|_| StoredHistory::new(Arc::clone(store)));
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
    pub fn rebuild(store: &BooksStore) -> Result<Self, BooksError> {
        store.delete_meta_prefix(BOOKS_PREFIX)?;
        let mut books = Self::empty(store);
        books.catch_up(store)?;
        Ok(books)
    }

    /// Replays the entries of `store` after those the books cover (its
    /// log must extend theirs).
    ///
    /// # Errors
    /// As [`Books::open`].
    pub fn catch_up(&mut self, store: &BooksStore) -> Result<(), BooksError> {
        self.replay(store, self.state.next_index(), store.tree_size()?)
    }

    /// Replays the leaves `[start, end)`, which must follow what the books
    /// cover.
    fn replay(&mut self, store: &BooksStore, start: u64, end: u64) -> Result<(), BooksError> {
        const CHUNK: u64 = 4096;
        let mut from = start;
        while from < end {
            let to = (from + CHUNK).min(end);
            for (offset, leaf) in store.read_leaves(from, to)?.iter().enumerate() {
                let index = from + offset as u64;
                let (entry, effects) = self
                    .state
                    .apply_leaf(leaf)
                    .map_err(|e| BooksError::of_entry(index, e))?;
                self.trace.record(&effects)?;
                self.recent.record(&self.state, index, &entry.statement)?;
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
    pub(crate) fn flush_due(&self) -> bool {
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
        let changes = self.tables_mut().map(Layered::freeze).into_iter().collect();
        Some(FlushJob {
            ticket: FlushTicket {
                size,
                dirty_since: self.dirty_since.take(),
            },
            changes,
            live: self.state.clone_live(),
            recent: self.recent.clone(),
        })
    }

    /// Every table of the books: the history's and the trace's.
    fn tables_mut(&mut self) -> [&mut dyn Layered; 6] {
        let [ids, refs, donations, disbursements] = self.state.history_mut().tables_mut();
        let [steps, sources] = self.trace.tables_mut();
        [ids, refs, donations, disbursements, steps, sources]
    }

    /// How many records of the history and the trace are not yet in the
    /// store, by layer.
    #[must_use]
    pub fn unwritten(&self) -> table::Unwritten {
        self.state.history().unwritten() + self.trace.unwritten()
    }

    /// Ends the flush of `ticket`: if it was `written`, its records are
    /// forgotten (they are read from the store now); if not, they are
    /// unflushed again and go with the next flush.
    pub fn end_flush(&mut self, ticket: FlushTicket, written: bool) {
        debug_assert_eq!(self.in_flight, Some(ticket.size));
        self.in_flight = None;
        if written {
            for table in self.tables_mut() {
                table.release();
            }
            self.flushed_size = ticket.size;
        } else {
            for table in self.tables_mut() {
                table.thaw();
            }
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
    pub fn flush(&mut self, store: &BooksStore) -> Result<(), StoreError> {
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
    /// The frozen changes of every table.
    changes: Vec<Box<dyn FrozenChanges>>,
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
    pub fn write(self, store: &BooksStore) -> Result<usize, StoreError> {
        let mut pairs = Vec::with_capacity(self.changes.iter().map(|c| c.len()).sum::<usize>() + 1);
        for changes in &self.changes {
            changes.encode_into(&mut pairs)?;
        }
        pairs.push((
            table::key(SNAPSHOT_KEY, b""),
            table::encode(&SnapshotRef {
                version: SNAPSHOT_VERSION,
                size: self.ticket.size,
                state: &self.live,
                recent: &self.recent,
            })?,
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

/// A flush of the books being written on its own thread.
pub(crate) struct Flushing {
    ticket: FlushTicket,
    /// Answers how many values it wrote, and how long that took.
    pub(crate) thread: JoinHandle<(Result<usize, StoreError>, Duration)>,
}

impl Flushing {
    /// Starts writing `job` to `store` on a thread of its own; `None`
    /// (the job dropped unwritten) if no thread can be had.
    pub(crate) fn start(job: FlushJob, store: BooksStore) -> Option<Self> {
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
    pub(crate) fn end(self, metrics: &Metrics, books: &mut Books) {
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
