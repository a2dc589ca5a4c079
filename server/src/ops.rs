//! Operations on a data directory, outside of serving: `init` (a new log
//! from a signed genesis), `reindex` (rebuild every derived index from the
//! leaves alone) and `backup` (a consistent RocksDB checkpoint).
//!
//! Each refuses to act on the wrong thing rather than half-doing it: `init`
//! runs the genesis through the rules before it writes anything, `reindex`
//! checks the leaves against the root recorded at the last commit before it
//! rewrites a single node, and `backup` verifies the copy it made.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use minhbach_ledger::checkpoint::open_checkpoint;
use minhbach_ledger::envelope::{Envelope, EnvelopeError};
use minhbach_ledger::leaf::Leaf;
use minhbach_ledger::merkle::Hash;
use minhbach_ledger::note::VerifierKey;
use minhbach_ledger::rules::{ApplyError, Rejection, State};
use minhbach_ledger::statement::Statement;
use minhbach_ledger::store::rocks::RocksStore;
use minhbach_ledger::store::{LogStore as _, StoreError};
use rand_core::CryptoRngCore;

use crate::books::{Books, BooksError, SharedBooks};
use crate::datadir::{DataDir, DataDirError};
use crate::metrics::Metrics;
use crate::sequencer::{Core, CoreError, SequencerError, check_envelopes};

/// Why an operation refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpsError {
    /// The data directory or its keys.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `init` on a log that already has entries.
    #[error("{path} already holds a log of {size} entries; init creates new logs only")]
    AlreadyInitialised {
        /// The log directory.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// The genesis file is not a DSSE envelope.
    #[error("the genesis file is not a DSSE envelope: {0}")]
    Envelope(#[from] EnvelopeError),
    /// The envelope does not hold a genesis statement.
    #[error("the envelope holds a `{0}` statement, not a genesis")]
    NotGenesis(&'static str),
    /// The genesis breaks a rule (signatures, quorum, fields).
    #[error("the rules refuse the genesis: {rejection} ({code})")]
    Refused {
        /// The rule broken.
        rejection: Rejection,
        /// Its stable code.
        code: &'static str,
    },
    /// An existing log key is named for another origin than the genesis.
    #[error("the log key in {path} is for `{key}`, but the genesis names the origin `{genesis}`")]
    OriginMismatch {
        /// The key file.
        path: PathBuf,
        /// The key's name.
        key: String,
        /// The genesis origin.
        genesis: String,
    },
    /// The log's entries do not replay.
    #[error(transparent)]
    Replay(#[from] BooksError),
    /// The writer cannot open the log.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The commit failed.
    #[error(transparent)]
    Sequencer(#[from] SequencerError),
    /// The backup destination exists.
    #[error("{0} exists; a backup goes to a new directory")]
    DestinationExists(PathBuf),
    /// The copy does not hold what the original held.
    #[error("the backup in {path} does not verify: {reason}")]
    BadBackup {
        /// The backup directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be copied.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl From<Rejection> for OpsError {
    fn from(rejection: Rejection) -> Self {
        Self::Refused {
            code: rejection.code(),
            rejection,
        }
    }
}

impl From<ApplyError> for OpsError {
    fn from(error: ApplyError) -> Self {
        match error {
            ApplyError::Rejected(rejection) => rejection.into(),
            ApplyError::Unavailable(e) => Self::Store(e),
        }
    }
}

/// What `init` created.
#[derive(Debug)]
pub struct Initialised {
    /// The log's origin.
    pub origin: String,
    /// The log's verifier key (publish it: everyone checks checkpoints with it).
    pub verifier: VerifierKey,
    /// The genesis leaf's hash.
    pub leaf_hash: Hash,
    /// Whether the log key was generated now (or was already there).
    pub key_created: bool,
}

/// Creates a log in `data` whose entry 0 is `genesis` (a DSSE envelope
/// signed by the governance quorum it names), logged at `now`.
///
/// The genesis is checked by the rules on a scratch state first; the log key
/// (named for the genesis origin) is generated only then, unless one is
/// already there for the same origin.
///
/// # Errors
/// [`OpsError::AlreadyInitialised`] if the log has entries, the envelope and
/// rule errors, [`OpsError::OriginMismatch`], and store or key errors.
pub fn init(
    data: &Path,
    genesis: &[u8],
    now: DateTime<Utc>,
    rng: &mut impl CryptoRngCore,
) -> Result<Initialised, OpsError> {
    let envelope = Envelope::from_json(genesis)?;
    let statement = Statement::from_json(envelope.payload()).map_err(Rejection::from)?;
    let Statement::Genesis(g) = &statement else {
        return Err(OpsError::NotGenesis(statement.kind().as_str()));
    };
    let origin = g.origin.as_str().to_owned();
    // The whole rule check (signatures, quorum, fields), on a scratch state.
    let bytes = Leaf::new(now, envelope.clone())
        .encode()
        .map_err(Rejection::from)?;
    State::new().apply_leaf(&bytes)?;

    let dir = DataDir::new(data);
    dir.create()?;
    let store = Arc::new(dir.open_store()?);
    let size = store.tree_size()?;
    if size > 0 {
        return Err(OpsError::AlreadyInitialised {
            path: dir.log_dir(),
            size,
        });
    }
    let (signer, key_created) = match dir.load_log_signer()? {
        Some(signer) if signer.name().as_str() == origin => (signer, false),
        Some(signer) => {
            return Err(OpsError::OriginMismatch {
                path: dir.log_key_path(),
                key: signer.name().as_str().to_owned(),
                genesis: origin,
            });
        }
        None => (dir.create_log_signer(&origin, rng)?, true),
    };
    let books = SharedBooks::new(Books::open(&store)?);
    let mut core = Core::new(
        Arc::clone(&store),
        books.clone(),
        signer.clone(),
        Arc::new(Metrics::new(0)),
    )?;
    let checked = check_envelopes(&books, vec![envelope]);
    let accepted = core
        .process(checked, now)?
        .pop()
        .expect("one outcome per item")?;
    Ok(Initialised {
        origin,
        verifier: signer.verifier(),
        leaf_hash: accepted.leaf_hash,
        key_created,
    })
}

/// What `reindex` rebuilt.
#[derive(Debug)]
pub struct Reindexed {
    /// Entries in the log.
    pub size: u64,
    /// The root recomputed from the leaves (equal to the signed one).
    pub root: Hash,
    /// Statements replayed through the rules (every entry).
    pub replayed: u64,
    /// How long it took.
    pub elapsed: Duration,
}

/// Rebuilds every derived index of the log in `data` from its leaves alone:
/// all node hashes (the proofs' and tiles' source), checked against the
/// signed checkpoint, then the books (rules state and gift traces): the
/// stored ones are dropped and every entry replayed with full verification,
/// as the server does when its snapshot is missing. The server must be
/// stopped (RocksDB holds a lock).
///
/// # Errors
/// [`StoreError::Corrupt`] (through [`OpsError::Store`]) if the leaves do
/// not hash to the committed root, [`DataDirError::KeyMismatch`] if the
/// checkpoint does not verify with the log key, [`OpsError::Replay`] if an
/// entry breaks the rules.
pub fn reindex(data: &Path) -> Result<Reindexed, OpsError> {
    let started = Instant::now();
    let dir = DataDir::new(data);
    let signer = dir.require_log_signer()?;
    let mut store = dir.open_store()?;
    let root = store.rebuild_hashes(1 << 16)?;
    dir.check_checkpoint(&store, &signer)?;
    let store = Arc::new(store);
    let mut books = Books::rebuild(&store)?;
    books.flush(&store)?;
    Ok(Reindexed {
        size: store.tree_size()?,
        root,
        replayed: books.state.next_index(),
        elapsed: started.elapsed(),
    })
}

/// What `backup` wrote.
#[derive(Debug)]
pub struct BackedUp {
    /// Entries in the copy.
    pub size: u64,
    /// The copy's signed checkpoint verified with the log key.
    pub checkpoint_verified: bool,
    /// Whether the log's signer key was copied too.
    pub with_key: bool,
}

/// Writes a consistent copy of the data directory `data` to `dest` (a new
/// directory): the RocksDB log as a checkpoint (hard links where the file
/// system allows), the log's verifier key, and with `with_key` its private
/// key (mode 0600). The copy is then opened and checked: its checkpoint must
/// verify with the log key and cover exactly its leaves.
///
/// # Errors
/// [`OpsError::DestinationExists`], store and key errors,
/// [`OpsError::BadBackup`] if the copy does not verify.
pub fn backup(data: &Path, dest: &Path, with_key: bool) -> Result<BackedUp, OpsError> {
    if dest.exists() {
        return Err(OpsError::DestinationExists(dest.to_owned()));
    }
    let dir = DataDir::new(data);
    let signer = dir.require_log_signer()?;
    let store = RocksStore::open(&dir.log_dir())?;
    let copy = DataDir::new(dest);
    copy.create()?;
    store.backup_to(&copy.log_dir())?;
    drop(store);
    let copy_file = |from: PathBuf, to: PathBuf| {
        std::fs::copy(&from, &to)
            .map(|_| ())
            .map_err(|source| OpsError::Io { path: from, source })
    };
    copy_file(dir.log_vkey_path(), copy.log_vkey_path())?;
    if with_key {
        copy_file(dir.log_key_path(), copy.log_key_path())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let path = copy.log_key_path();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(|source| OpsError::Io { path, source })?;
        }
    }

    let restored = RocksStore::open(&copy.log_dir())?;
    let size = restored.tree_size()?;
    let bad = |reason: String| OpsError::BadBackup {
        path: dest.to_owned(),
        reason,
    };
    let checkpoint_verified = match restored.checkpoint()? {
        Some(signed) => {
            let opened = open_checkpoint(&signed, &signer.verifier(), &[])
                .map_err(|e| bad(format!("checkpoint: {e}")))?;
            let checkpoint = opened.checkpoint();
            if checkpoint.size() != size {
                return Err(bad(format!(
                    "the checkpoint covers {} entries but the copy holds {size}",
                    checkpoint.size()
                )));
            }
            let root = minhbach_ledger::merkle::root_at(&restored, size)
                .map_err(|e| bad(format!("root: {e}")))?;
            if root != checkpoint.root() {
                return Err(bad("the copy's tree does not match its checkpoint".into()));
            }
            true
        }
        None if size == 0 => false,
        None => return Err(bad("entries but no checkpoint".into())),
    };
    Ok(BackedUp {
        size,
        checkpoint_verified,
        with_key,
    })
}
