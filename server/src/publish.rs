//! Publishing checkpoints: the committed checkpoint becomes the published one
//! once enough witnesses cosigned it (SPEC 2, 4.4, 4.6).
//!
//! ```text
//!  sequencer: commit ──► committed checkpoint (log signature only)
//!                              │ committed() watch
//!  publisher thread ───────────┘
//!    asks every witness at once: POST add-checkpoint, proof from its old size
//!    (a 409 names its size: ask again with a proof from there)
//!    verifies each cosignature with the witness's key
//!    ≥ required cosigned ──► persist, then publish (checkpoint + cosignatures)
//!    too few ──► keep the previous published checkpoint, retry with backoff;
//!                a newer commit supersedes the pending one
//! ```
//!
//! * The *committed* checkpoint is what the sequencer signed and stored with
//!   each batch. The *published* checkpoint is what readers see: `GET
//!   /checkpoint`, receipts, `?wait=checkpoint`, proofs' default size. With
//!   no quorum (`required == 0`) every committed checkpoint is published at
//!   once, as it is committed; cosignatures that come are added to it.
//! * The published checkpoint is written to the store's metadata (fsync'd)
//!   before anyone sees it, so a restart serves it again and never an older
//!   one. Each witness's last cosigned size is remembered the same way, so
//!   requests after a restart carry the right `old` size.
//! * Published checkpoints never go back: a new one is always larger than the
//!   last, or the same checkpoint with more cosignatures.
//! * Tiles are served up to the committed size: a reader only uses the tiles
//!   that a checkpoint it verified covers (C2SP tlog-tiles).

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use minhbach_ledger::checkpoint::{Checkpoint, add_cosignatures, open_checkpoint};
use minhbach_ledger::merkle::{consistency_proof, verify_consistency};
use minhbach_ledger::note::{Note, NoteSignature, VerifierKey};
use minhbach_ledger::store::rocks::RocksStore;
use minhbach_ledger::store::{LogStore as _, StoreError};
use minhbach_ledger::witness::add_checkpoint_body;
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::witness::{Answer, WitnessClient, WitnessPolicy};

/// Metadata key of the published checkpoint (a signed note with its
/// cosignatures).
const PUBLISHED_KEY: &[u8] = b"witness/published";

/// Metadata key of the quorum the last writer ran with (decimal): whether
/// readers were served committed checkpoints (0) or witnessed ones.
const QUORUM_KEY: &[u8] = b"witness/required";

/// The first wait before asking again when too few witnesses cosigned.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Requests to one witness for one checkpoint (the first, and retries after
/// `409` answers naming another size).
const ATTEMPTS: usize = 3;

/// Metadata key of a witness's last cosigned size (big-endian `u64`).
fn witness_size_key(witness: &VerifierKey) -> Vec<u8> {
    format!("witness/size/{witness}").into_bytes()
}

/// A signed checkpoint and what it says, parsed once, so that the size and
/// root an answer uses always belong together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Latest {
    /// The signed note, with any cosignatures.
    pub(crate) signed: Vec<u8>,
    /// Its checkpoint.
    pub(crate) checkpoint: Checkpoint,
    /// Its note text (the signed body).
    text: String,
}

/// A stored checkpoint that does not parse.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LatestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored checkpoint: {0}")]
    Checkpoint(#[from] minhbach_ledger::checkpoint::CheckpointError),
    #[error("stored checkpoint: {0}")]
    Note(#[from] minhbach_ledger::note::NoteError),
}

impl Latest {
    fn parse(signed: Vec<u8>) -> Result<Self, LatestError> {
        let note = Note::parse(&signed)?;
        let checkpoint = Checkpoint::parse(note.text().as_bytes())?;
        let text = note.text().to_owned();
        Ok(Self {
            signed,
            checkpoint,
            text,
        })
    }

    /// The checkpoint the sequencer committed last; `None` while the log is
    /// empty.
    pub(crate) fn committed(store: &RocksStore) -> Result<Option<Self>, LatestError> {
        store.checkpoint()?.map(Self::parse).transpose()
    }
}

/// Which checkpoint readers see.
#[derive(Debug)]
pub(crate) struct Published {
    required: usize,
    /// The latest checkpoint with the cosignatures gathered for it.
    witnessed: watch::Sender<Option<Arc<Latest>>>,
    /// The committed checkpoint last parsed, reused while it is current
    /// (every read asks for it).
    committed: std::sync::Mutex<Option<Arc<Latest>>>,
}

impl Published {
    /// Publishes every committed checkpoint at once (no quorum), with the
    /// cosignatures stored for it, if any.
    pub(crate) fn immediate(store: &RocksStore) -> Self {
        let witnessed = match store.read_meta(PUBLISHED_KEY) {
            Ok(Some(bytes)) => Latest::parse(bytes).ok().map(Arc::new),
            _ => None,
        };
        Self {
            required: 0,
            witnessed: watch::Sender::new(witnessed),
            committed: std::sync::Mutex::new(None),
        }
    }

    /// The checkpoint readers see: the committed one when no quorum is
    /// required (with its cosignatures when some were gathered for it), the
    /// latest witnessed one otherwise. `None`: nothing published yet.
    pub(crate) fn latest(&self, store: &RocksStore) -> Result<Option<Arc<Latest>>, LatestError> {
        let witnessed = self.witnessed.borrow().clone();
        if self.required > 0 {
            return Ok(witnessed);
        }
        let Some(signed) = store.checkpoint()? else {
            return Ok(None);
        };
        let committed = {
            let mut cache = self
                .committed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match &*cache {
                Some(c) if c.signed == signed => Arc::clone(c),
                _ => {
                    let parsed = Arc::new(Latest::parse(signed)?);
                    *cache = Some(Arc::clone(&parsed));
                    parsed
                }
            }
        };
        Ok(Some(match witnessed {
            Some(w) if w.text == committed.text => w,
            _ => committed,
        }))
    }

    /// Waits until the published checkpoint covers `size` entries, for at
    /// most `within`; whether it does.
    pub(crate) async fn wait_for(&self, size: u64, within: Duration) -> bool {
        if self.required == 0 {
            // The sequencer answers after its commit, which is published.
            return true;
        }
        let mut rx = self.witnessed.subscribe();
        let covered = rx.wait_for(|l| l.as_ref().is_some_and(|l| l.checkpoint.size() >= size));
        let covered = matches!(tokio::time::timeout(within, covered).await, Ok(Ok(_)));
        covered
    }

    fn current(&self) -> Option<Arc<Latest>> {
        self.witnessed.borrow().clone()
    }

    fn set(&self, latest: Arc<Latest>) {
        self.witnessed.send_replace(Some(latest));
    }
}

/// Why the publisher cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The store cannot be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The committed checkpoint does not parse.
    #[error("the committed checkpoint does not parse: {0}")]
    Checkpoint(String),
    /// The publisher thread cannot be spawned.
    #[error("starting the publisher: {0}")]
    Thread(#[from] std::io::Error),
}

impl From<LatestError> for PublishError {
    fn from(e: LatestError) -> Self {
        match e {
            LatestError::Store(e) => Self::Store(e),
            e => Self::Checkpoint(e.to_string()),
        }
    }
}

/// What the publisher thread works with.
struct Context {
    store: Arc<RocksStore>,
    log: VerifierKey,
    clients: Vec<WitnessClient>,
    required: usize,
    published: Arc<Published>,
    metrics: Arc<Metrics>,
}

/// What the publisher remembers between rounds.
struct Progress {
    /// Per witness: the size of the latest checkpoint it cosigned, as far as
    /// this log knows (0: none).
    known: Vec<u64>,
    /// `known` as last written to the store.
    stored: Vec<u64>,
    /// The checkpoint being gathered for, and the cosignature of each
    /// witness so far (kept across retries of the same checkpoint).
    gathering: Option<(Arc<Latest>, Vec<Option<NoteSignature>>)>,
}

/// One witness's part of a round.
struct Asked {
    line: Option<NoteSignature>,
    /// The witness's size, when it said or cosigned.
    known: Option<u64>,
}

/// The running publisher: a thread that asks the witnesses to cosign each
/// new committed checkpoint and publishes it with their cosignatures.
pub(crate) struct Publisher {
    stop: watch::Sender<bool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").finish_non_exhaustive()
    }
}

impl Publisher {
    /// Sets up publication for a writing server: the published checkpoint to
    /// start from (see the module's notes), and, when witnesses are
    /// configured, the thread that asks them after each commit seen on
    /// `committed`.
    ///
    /// # Errors
    /// [`PublishError`] if the store cannot be read or written or the thread
    /// cannot start.
    pub(crate) fn start(
        store: Arc<RocksStore>,
        log: VerifierKey,
        policy: &WitnessPolicy,
        metrics: Arc<Metrics>,
        committed: watch::Receiver<u64>,
    ) -> Result<(Arc<Published>, Option<Self>), PublishError> {
        let required = policy.required();
        let keys: Vec<VerifierKey> = policy
            .witnesses()
            .iter()
            .map(|w| w.verifier().clone())
            .collect();
        let committed_now = Latest::committed(&store)?;
        let stored = stored_published(&store, &log, &keys, committed_now.as_ref());
        let previous_quorum = stored_quorum(&store)?;
        // What readers may have seen already: the committed checkpoint if
        // the last run published every commit, the stored one otherwise.
        let initial = if required == 0 {
            // Readers see the committed checkpoint; a stored copy of it
            // with cosignatures is served in its place.
            stored.filter(|s| committed_now.as_ref().is_some_and(|c| c.text == s.text))
        } else if previous_quorum == 0 {
            // The last run published every commit: so does this one, until
            // the witnesses cosign the next.
            match (stored, committed_now) {
                (Some(s), Some(c)) if s.text == c.text => Some(s),
                (_, c) => c.map(Arc::new),
            }
        } else {
            stored
        };
        let mut meta = vec![(QUORUM_KEY.to_vec(), required.to_string().into_bytes())];
        if required > 0
            && let Some(initial) = &initial
        {
            meta.push((PUBLISHED_KEY.to_vec(), initial.signed.clone()));
        }
        // Persisted before anything is served.
        store.put_meta(&meta)?;
        metrics.set_witness_quorum(required);
        if required > 0 {
            metrics.record_published(initial.as_ref().map_or(0, |l| l.checkpoint.size()));
        }
        let published = Arc::new(Published {
            required,
            witnessed: watch::Sender::new(initial),
            committed: std::sync::Mutex::new(None),
        });
        if keys.is_empty() {
            return Ok((published, None));
        }

        let mut known = Vec::with_capacity(keys.len());
        for key in &keys {
            let size = store
                .read_meta(&witness_size_key(key))?
                .and_then(|v| Some(u64::from_be_bytes(v.as_slice().try_into().ok()?)))
                .unwrap_or(0);
            metrics.record_witness_cosigned(key.name().as_str(), size);
            known.push(size);
        }
        let progress = Progress {
            stored: known.clone(),
            known,
            gathering: None,
        };
        let context = Context {
            store,
            log,
            clients: policy
                .witnesses()
                .iter()
                .map(|w| WitnessClient::new(w.clone(), policy.timeout()))
                .collect(),
            required,
            published: Arc::clone(&published),
            metrics,
        };
        let (stop, stopped) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("publisher".into())
            .spawn(move || context.run(progress, committed, stopped))?;
        Ok((
            published,
            Some(Self {
                stop,
                thread: Mutex::new(Some(thread)),
            }),
        ))
    }
}

/// Stops the publisher after its round in flight (each request is bounded by
/// the witness timeout).
impl Drop for Publisher {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        crate::join_once(&self.thread);
    }
}

/// The quorum the last writer of `store` ran with (0 when none was stored).
fn stored_quorum(store: &RocksStore) -> Result<usize, StoreError> {
    Ok(store
        .read_meta(QUORUM_KEY)?
        .and_then(|v| String::from_utf8(v).ok()?.parse::<usize>().ok())
        .unwrap_or(0))
}

/// The checkpoint readers of `store` saw last, for work on a stopped
/// server's data (`minhbach-server publish`): the stored witnessed one if
/// the last run required a quorum, the committed one otherwise (with the
/// cosignatures stored for it). `None`: nothing published yet.
///
/// # Errors
/// [`LatestError`] if the store cannot be read or its checkpoint does not
/// parse.
pub(crate) fn last_published(
    store: &RocksStore,
    log: &VerifierKey,
) -> Result<Option<Arc<Latest>>, LatestError> {
    let committed = Latest::committed(store)?;
    let stored = stored_published(store, log, &[], committed.as_ref());
    if stored_quorum(store)? > 0 {
        return Ok(stored);
    }
    Ok(match (stored, committed) {
        (Some(s), Some(c)) if s.text == c.text => Some(s),
        (_, c) => c.map(Arc::new),
    })
}

/// The stored published checkpoint, if it is one this log signed, its
/// configured witnesses' cosignatures verify, and the committed tree extends
/// it; anything else is ignored, with a warning.
fn stored_published(
    store: &RocksStore,
    log: &VerifierKey,
    witnesses: &[VerifierKey],
    committed: Option<&Latest>,
) -> Option<Arc<Latest>> {
    let bytes = store.read_meta(PUBLISHED_KEY).ok()??;
    let ignore = |why: &str| {
        tracing::warn!(target: "minhbach_server::publish", reason = why, "ignoring the stored published checkpoint");
        None
    };
    if let Err(e) = open_checkpoint(&bytes, log, witnesses) {
        return ignore(&e.to_string());
    }
    let Ok(stored) = Latest::parse(bytes) else {
        return ignore("it does not parse");
    };
    let Some(committed) = committed else {
        return ignore("the log is empty");
    };
    let (m, n) = (stored.checkpoint.size(), committed.checkpoint.size());
    let extends = m <= n
        && consistency_proof(store, m, n).is_ok_and(|proof| {
            verify_consistency(
                m,
                n,
                &proof,
                &stored.checkpoint.root(),
                &committed.checkpoint.root(),
            )
            .is_ok()
        });
    if !extends {
        return ignore("the committed tree does not extend it");
    }
    Some(Arc::new(stored))
}

impl Context {
    /// The publisher's loop: a round whenever the committed checkpoint is
    /// ahead of the published one (or lacks cosignatures), then wait for a
    /// commit, the backoff, or the stop signal.
    fn run(
        self,
        mut progress: Progress,
        mut committed: watch::Receiver<u64>,
        mut stop: watch::Receiver<bool>,
    ) {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
        {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(target: "minhbach_server::publish", error = %e, "cannot start the publisher's timer; nothing will be published");
                return;
            }
        };
        let mut backoff: Option<Duration> = None;
        loop {
            let _ = committed.borrow_and_update();
            match self.target(&progress) {
                Ok(Some(target)) => {
                    if self.round(&mut progress, &target) {
                        backoff = None;
                    } else {
                        let next = backoff.map_or(FIRST_BACKOFF, |b| (b * 2).min(MAX_BACKOFF));
                        tracing::warn!(target: "minhbach_server::publish", size = target.checkpoint.size(), required = self.required, retry_in = ?next, "too few witnesses cosigned; the previous checkpoint stays published");
                        backoff = Some(next);
                    }
                }
                Ok(None) => backoff = None,
                Err(e) => {
                    tracing::error!(target: "minhbach_server::publish", error = %e, "cannot read the committed checkpoint");
                    backoff = Some(MAX_BACKOFF);
                }
            }
            let wait = backoff.unwrap_or(Duration::from_secs(3600));
            let go_on = runtime.block_on(async {
                tokio::select! {
                    changed = committed.changed() => changed.is_ok(),
                    _ = stop.wait_for(|s| *s) => false,
                    () = tokio::time::sleep(wait) => true,
                }
            });
            if !go_on || *stop.borrow() {
                break;
            }
        }
        tracing::info!(target: "minhbach_server::publish", "publisher stopped");
    }

    /// The committed checkpoint, if it needs a round: it is ahead of the
    /// published one, or it is the published one without enough
    /// cosignatures.
    fn target(&self, progress: &Progress) -> Result<Option<Arc<Latest>>, LatestError> {
        let Some(committed) = Latest::committed(&self.store)? else {
            return Ok(None);
        };
        let Some(published) = self.published.current() else {
            return Ok(Some(Arc::new(committed)));
        };
        let size = committed.checkpoint.size();
        if size > published.checkpoint.size() {
            return Ok(Some(Arc::new(committed)));
        }
        if size == published.checkpoint.size() && self.required > 0 {
            let have = match &progress.gathering {
                Some((t, lines)) if t.text == published.text => lines.iter().flatten().count(),
                _ => self.count_cosignatures(&published),
            };
            if have < self.required {
                return Ok(Some(published));
            }
        }
        Ok(None)
    }

    fn count_cosignatures(&self, latest: &Latest) -> usize {
        let keys: Vec<VerifierKey> = self
            .clients
            .iter()
            .map(|c| c.spec().verifier().clone())
            .collect();
        open_checkpoint(&latest.signed, &self.log, &keys).map_or(0, |s| s.cosignatures().len())
    }

    /// Asks every witness that has not cosigned `target` yet, at once;
    /// publishes as soon as `required` have, and again with each later
    /// cosignature. Whether enough cosigned.
    fn round(&self, progress: &mut Progress, target: &Arc<Latest>) -> bool {
        let n = self.clients.len();
        let mut lines = match progress.gathering.take() {
            Some((t, lines)) if t.text == target.text => lines,
            _ => {
                // Cosignatures already on it (a published checkpoint short of
                // its quorum after a restart) count.
                let mut lines = vec![None; n];
                if let Ok(note) = Note::parse(&target.signed) {
                    for (i, c) in self.clients.iter().enumerate() {
                        let key = c.spec().verifier();
                        lines[i] = note
                            .signatures()
                            .iter()
                            .find(|s| s.name() == key.name() && s.key_id() == key.key_id())
                            .cloned();
                    }
                }
                if lines.iter().any(Option::is_some)
                    && open_checkpoint(&target.signed, &self.log, &self.keys()).is_err()
                {
                    lines = vec![None; n];
                }
                lines
            }
        };
        let base = Arc::new(Latest {
            signed: strip_cosignatures(&target.signed),
            ..(**target).clone()
        });
        let ask: Vec<usize> = (0..n).filter(|&i| lines[i].is_none()).collect();
        // Cosignatures in the published copy of this checkpoint, if any.
        let mut published = match self.published.current() {
            Some(p) if p.text == target.text => lines.iter().flatten().count(),
            _ => 0,
        };
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel();
            for &i in &ask {
                let tx = tx.clone();
                let old = progress.known[i];
                let base = &base;
                scope.spawn(move || {
                    let _ = tx.send((i, self.ask(i, base, old)));
                });
            }
            drop(tx);
            for (i, asked) in rx {
                if let Some(size) = asked.known {
                    progress.known[i] = size;
                }
                if let Some(line) = asked.line {
                    lines[i] = Some(line);
                    let have = lines.iter().flatten().count();
                    if have >= self.required.max(1)
                        && have > published
                        && self.publish(&base, &lines, progress)
                    {
                        published = have;
                    }
                }
            }
        });
        if progress.known != progress.stored {
            self.store_sizes(progress, Vec::new());
        }
        let enough = published >= self.required;
        progress.gathering = Some((base, lines));
        enough
    }

    fn keys(&self) -> Vec<VerifierKey> {
        self.clients
            .iter()
            .map(|c| c.spec().verifier().clone())
            .collect()
    }

    /// Persists `target` with the cosignatures in `lines` (in witness
    /// order), then publishes it. Whether it was published.
    fn publish(
        &self,
        target: &Latest,
        lines: &[Option<NoteSignature>],
        progress: &mut Progress,
    ) -> bool {
        let size = target.checkpoint.size();
        if let Some(current) = self.published.current()
            && current.checkpoint.size() > size
        {
            return false;
        }
        let cosignatures: Vec<NoteSignature> = lines.iter().flatten().cloned().collect();
        let signed = match add_cosignatures(&target.signed, &cosignatures) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(target: "minhbach_server::publish", error = %e, "cannot add the cosignatures");
                return false;
            }
        };
        if !self.store_sizes(progress, vec![(PUBLISHED_KEY.to_vec(), signed.clone())]) {
            return false;
        }
        self.published.set(Arc::new(Latest {
            signed,
            checkpoint: target.checkpoint.clone(),
            text: target.text.clone(),
        }));
        self.metrics.record_published(size);
        tracing::info!(target: "minhbach_server::publish", size, cosignatures = cosignatures.len(), "published a checkpoint");
        true
    }

    /// Writes the witnesses' sizes, and `extra`, durably. Whether it did.
    fn store_sizes(&self, progress: &mut Progress, mut extra: Vec<(Vec<u8>, Vec<u8>)>) -> bool {
        for (client, size) in self.clients.iter().zip(&progress.known) {
            extra.push((
                witness_size_key(client.spec().verifier()),
                size.to_be_bytes().to_vec(),
            ));
        }
        match self.store.put_meta(&extra) {
            Ok(()) => {
                progress.stored.clone_from(&progress.known);
                true
            }
            Err(e) => {
                tracing::error!(target: "minhbach_server::publish", error = %e, "cannot store the published checkpoint");
                false
            }
        }
    }

    /// Asks witness `i` to cosign `target`, whose tree it last saw at size
    /// `known`; follows `409` answers to the witness's size.
    fn ask(&self, i: usize, target: &Latest, known: u64) -> Asked {
        let client = &self.clients[i];
        let name = client.spec().name();
        let size = target.checkpoint.size();
        // A size above ours can only be learned from the witness itself:
        // start from 0 and let it say.
        let mut old = if known > size { 0 } else { known };
        let mut learned = None;
        for _ in 0..ATTEMPTS {
            let proof = match consistency_proof(&*self.store, old, size) {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(target: "minhbach_server::publish", witness = name, error = %e, "cannot build the consistency proof");
                    self.metrics.record_witness(name, "error");
                    return Asked {
                        line: None,
                        known: learned,
                    };
                }
            };
            let body = match add_checkpoint_body(old, &proof, &target.signed) {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(target: "minhbach_server::publish", witness = name, error = %e, "cannot build the add-checkpoint request");
                    self.metrics.record_witness(name, "error");
                    return Asked {
                        line: None,
                        known: learned,
                    };
                }
            };
            let started = Instant::now();
            let answer = client.add_checkpoint(&body, &target.text);
            self.metrics.record_witness_latency(name, started.elapsed());
            match answer {
                Ok(Answer::Cosigned(c)) => {
                    self.metrics.record_witness(name, "cosigned");
                    self.metrics.record_witness_cosigned(name, size);
                    return Asked {
                        line: Some(c.line),
                        known: Some(size),
                    };
                }
                Ok(Answer::Conflict { size: theirs }) if theirs != old && theirs <= size => {
                    // A stale `old`: prove from the witness's size instead.
                    self.metrics.record_witness(name, "conflict");
                    tracing::debug!(target: "minhbach_server::publish", witness = name, old, theirs, "the witness holds another size");
                    old = theirs;
                    learned = Some(theirs);
                }
                Ok(Answer::Conflict { size: theirs }) => {
                    self.metrics.record_witness(name, "refused");
                    tracing::warn!(target: "minhbach_server::publish", witness = name, theirs, size, "the witness cosigned a checkpoint this log does not extend (a fork, or a rollback of this log)");
                    return Asked {
                        line: None,
                        known: Some(theirs),
                    };
                }
                Ok(Answer::Refused { status, reason }) => {
                    self.metrics.record_witness(name, "refused");
                    tracing::warn!(target: "minhbach_server::publish", witness = name, status, reason, size, old, "the witness refused to cosign");
                    return Asked {
                        line: None,
                        known: learned,
                    };
                }
                Err(e) => {
                    self.metrics.record_witness(name, e.metric());
                    tracing::warn!(target: "minhbach_server::publish", witness = name, error = %e, size, "no usable answer from the witness");
                    return Asked {
                        line: None,
                        known: learned,
                    };
                }
            }
        }
        Asked {
            line: None,
            known: learned,
        }
    }
}

/// The signed note with only its first signature line (the log's): the
/// checkpoint as committed, to which a round adds its cosignatures.
fn strip_cosignatures(signed: &[u8]) -> Vec<u8> {
    match Note::parse(signed) {
        Ok(note) => match Note::new(
            note.text(),
            note.signatures().iter().take(1).cloned().collect(),
        ) {
            Ok(n) => n.to_bytes(),
            Err(_) => signed.to_vec(),
        },
        Err(_) => signed.to_vec(),
    }
}
