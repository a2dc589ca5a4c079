//! Sequencing and integration: the rules applied to a batch in order (each
//! accepted statement gets the next index), then the accepted leaves
//! appended with their tree nodes and the checkpoint that covers them in one
//! durable write ([`Core::process`]). The books are flushed from here too.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, DurationRound as _, TimeDelta, Utc};
use minhbach_ledger::checkpoint::{Checkpoint, LogSigner, sign_checkpoint};
use minhbach_ledger::leaf::Leaf;
use minhbach_ledger::log::{Log, LogError};
use minhbach_ledger::merkle::{Hash, leaf_hash};
use minhbach_ledger::rules::{ApplyError, Rejection};
use minhbach_ledger::store::rocks::RocksStore;
use minhbach_ledger::store::{LogStore as _, StoreError};

use super::{Books, BooksError, Checked, Flushing, SharedBooks};
use crate::books::BooksStore;
use crate::books::recent::campaigns_of;
use crate::metrics::Metrics;

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

/// The answer for one submitted statement: accepted, refused by a rule, or
/// undecided because the books could not be read
/// ([`ApplyError::Unavailable`]).
pub type Outcome = Result<Accepted, ApplyError>;

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
    /// The books could not read what they needed to record a statement the
    /// rules accepted; nothing of the batch was written (HTTP 503
    /// `unavailable`).
    #[error("the books cannot be read")]
    Unavailable,
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
    Books(#[from] BooksError),
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
    /// [`SequencerError::Store`] if the commit fails, or
    /// [`SequencerError::Unavailable`] if the books cannot record a statement
    /// the rules accepted: then nothing of the batch is written and the books
    /// are rebuilt from the store.
    pub fn process(
        &mut self,
        items: Vec<Result<Checked, Rejection>>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outcome>, SequencerError> {
        let mut books = self.books.write();
        let logged_at = logged_at(now, books.state.last_logged_at());
        let first_index = self.log.size();
        let mut leaves: Vec<Vec<u8>> = Vec::new();
        let mut recents = Vec::new();
        let mut outcomes = Vec::with_capacity(items.len());
        for item in items {
            let outcome = match item {
                Ok(checked) => {
                    self.admit(&mut books, checked, logged_at, &mut leaves, &mut recents)
                }
                Err(rejection) => Ok(Err(rejection.into())),
            };
            match outcome {
                Ok(outcome) => {
                    if let Err(ApplyError::Unavailable(e)) = &outcome {
                        tracing::error!(target: "minhbach_server::sequencer", error = %e, "the books cannot be read; the statement is not decided");
                    }
                    outcomes.push(outcome);
                }
                Err(e) => {
                    // The rules accepted the statement but its trace could
                    // not be recorded: the books no longer follow the log.
                    tracing::error!(target: "minhbach_server::sequencer", error = %e, "the books cannot record an accepted statement; the batch is dropped and the books rebuilt from the store");
                    rebuild(
                        &mut self.flushing,
                        &self.metrics,
                        self.log.store(),
                        &mut books,
                    );
                    return Err(SequencerError::Unavailable);
                }
            }
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
                for (index, kind, campaigns) in recents {
                    books.recent.push(index, kind, campaigns);
                }
                books.dirty_since.get_or_insert_with(Instant::now);
                self.metrics
                    .record_commit(leaves.len(), started.elapsed(), appended.size);
                Ok(outcomes)
            }
            Err(e) => {
                tracing::error!(target: "minhbach_server::sequencer", error = %e, "commit failed; rebuilding the books from the store");
                rebuild(
                    &mut self.flushing,
                    &self.metrics,
                    self.log.store(),
                    &mut books,
                );
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

    /// One statement: wrap it as the next leaf, apply the rules, and
    /// record its flows in the trace (dropped with the books if the commit
    /// fails). The outer error: the trace could not record an accepted
    /// statement, so the batch must be dropped.
    fn admit(
        &self,
        books: &mut Books,
        checked: Checked,
        logged_at: DateTime<Utc>,
        leaves: &mut Vec<Vec<u8>>,
        recents: &mut Vec<(
            u64,
            minhbach_ledger::statement::StatementKind,
            Vec<minhbach_ledger::statement::Slug>,
        )>,
    ) -> Result<Outcome, StoreError> {
        let Checked {
            envelope,
            statement,
            signers,
        } = checked;
        let signers = match signers {
            Ok(s) => s,
            // The key may have been granted since the handler looked (or
            // this is the genesis): verify again, in order.
            Err(Rejection::UnknownKey { .. }) => match books.state.verify_envelope(&envelope) {
                Ok((_, signers)) => signers,
                Err(e) => return Ok(Err(e.into())),
            },
            Err(e) => return Ok(Err(e.into())),
        };
        let payload = envelope.payload().to_vec();
        let statement_id = statement.id().as_str().to_owned();
        let statement_kind = statement.kind();
        let kind = statement_kind.as_str();
        let campaigns = match campaigns_of(&books.state, &statement) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e.into())),
        };
        let bytes = match Leaf::new(logged_at, envelope).encode() {
            Ok(b) => b,
            Err(e) => return Ok(Err(Rejection::from(e).into())),
        };
        let hash = leaf_hash(&bytes);
        match books
            .state
            .apply_verified(hash.into(), logged_at, statement, signers)
        {
            Ok(effects) => {
                books.trace.record(&effects)?;
                recents.push((effects.index, statement_kind, campaigns));
                leaves.push(bytes);
                Ok(Ok(Accepted {
                    index: effects.index,
                    leaf_hash: hash,
                    statement_id,
                    kind,
                    existing: false,
                }))
            }
            Err(error) => {
                let Some(existing) = error.rejection().and_then(Rejection::existing_index) else {
                    return Ok(Err(error));
                };
                Ok(match self.logged_payload(existing, leaves) {
                    Some((logged, logged_hash)) if logged == payload => Ok(Accepted {
                        index: existing,
                        leaf_hash: logged_hash,
                        statement_id,
                        kind,
                        existing: true,
                    }),
                    _ => Err(error),
                })
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

/// Drops what the books recorded of a batch that was not written: reopens
/// them from the store, which still holds exactly the acknowledged entries.
fn rebuild(
    flushing: &mut Option<Flushing>,
    metrics: &Metrics,
    store: &BooksStore,
    books: &mut Books,
) {
    // The rebuild reads what the flush in flight writes.
    if let Some(flushing) = flushing.take() {
        flushing.end(metrics, books);
    }
    match Books::open(store) {
        Ok(rebuilt) => *books = rebuilt,
        Err(e) => {
            tracing::error!(target: "minhbach_server::sequencer", error = %e, "cannot rebuild the books");
        }
    }
}

/// `now` truncated to milliseconds, never before `last`.
fn logged_at(now: DateTime<Utc>, last: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let now = now
        .duration_trunc(TimeDelta::milliseconds(1))
        .unwrap_or(now);
    last.map_or(now, |last| now.max(last))
}
