//! The demo data directory: a development log key, the demo officials' keys
//! and the demo history of [`minhbach_demo`], committed **through the
//! rules** by the server's own writer ([`Core`]), so the demo log replays
//! cleanly in any auditor. `minhbach-server demo` and the tests' fixtures
//! start here; the feature `demo` (on by default) builds it.
//!
//! Seeding happens only when the log is empty.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use minhbach_ledger::checkpoint::{CheckpointError, LogSigner};
use minhbach_ledger::envelope::Envelope;
use minhbach_ledger::rules::ApplyError;
use minhbach_ledger::statement::Slug;
use minhbach_ledger::store::LogStore as _;
use minhbach_ledger::store::rocks::RocksStore;
use rand_core::CryptoRngCore;

pub use minhbach_demo::{FLOOD, ORIGIN as DEMO_ORIGIN, Officials, Options as DemoOptions, STORM};

use crate::books::{Books, SharedBooks};
use crate::datadir::{DataDir, DataDirError};
use crate::metrics::Metrics;
use crate::sequencer::{Core, CoreError, SequencerError, check_envelopes};
use crate::{AppState, StartError, WriteConfig};

/// Errors while preparing the demo.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// The data directory failed.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// A checkpoint could not be built (an invalid origin).
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The writer could not open the log.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The history could not be written.
    #[error(transparent)]
    Seed(#[from] minhbach_demo::SeedError<SequencerError>),
    /// The server could not start over the seeded log.
    #[error(transparent)]
    Start(#[from] StartError),
}

/// Loads the demo officials' keys from `<data>/officials/`, creating
/// missing ones.
///
/// # Errors
/// A [`DataDirError`] if a key cannot be read or written.
pub fn officials(data: &DataDir, rng: &mut impl CryptoRngCore) -> Result<Officials, DataDirError> {
    Officials::load_with(|id, comment| data.load_or_create_official(id, comment, rng))
}

/// What [`prepare`] opened.
pub struct Prepared {
    /// The server state over the opened log, with its sequencer running.
    pub state: AppState,
    /// Leaves appended by this start (0 when the log already had a history).
    pub seeded: u64,
    /// The tree size after seeding.
    pub size: u64,
}

/// Opens (creating) the demo data directory, its log key and officials'
/// keys, seeds the history if the log is empty, and starts the writer.
/// `now` is the current time, from the system clock.
///
/// # Errors
/// A [`DemoError`] if anything cannot be read, created or appended.
pub fn prepare(
    data: &Path,
    options: DemoOptions,
    now: DateTime<Utc>,
    rng: &mut impl CryptoRngCore,
) -> Result<Prepared, DemoError> {
    let dir = DataDir::new(data);
    dir.create()?;
    let store = Arc::new(dir.open_store()?);
    let signer = dir.load_or_create_log_signer(&store, DEMO_ORIGIN, rng)?;
    let officials = officials(&dir, rng)?;
    let seeded = seed_if_empty(&store, &signer, &officials, options, now, rng)?;
    let size = store.tree_size().map_err(DataDirError::from)?;
    let state = AppState::writer(store, signer, WriteConfig::default())?;
    Ok(Prepared {
        state,
        seeded,
        size,
    })
}

/// Appends the demo history through the rules if the log is empty; returns
/// the number of leaves appended.
///
/// # Errors
/// A [`DemoError`] if a statement is refused or a batch cannot be committed;
/// the batches committed before stay.
pub fn seed_if_empty(
    store: &Arc<RocksStore>,
    signer: &LogSigner,
    officials: &Officials,
    options: DemoOptions,
    now: DateTime<Utc>,
    rng: &mut impl CryptoRngCore,
) -> Result<u64, DemoError> {
    if store.tree_size().map_err(DataDirError::from)? > 0 {
        tracing::info!(target: "minhbach_server::demo", "log already has a history; not seeding");
        return Ok(0);
    }
    let books = SharedBooks::new(Books::open(store).map_err(CoreError::from)?);
    let core = Core::new(
        Arc::clone(store),
        books.clone(),
        signer.clone(),
        Arc::new(Metrics::new(0)),
    )?;
    let mut writer = CoreWriter { core, books };
    minhbach_demo::seed(&mut writer, officials, options, now, rng)?;
    let size = writer.core.size();
    tracing::info!(target: "minhbach_server::demo", size, "seeded the demo history");
    Ok(size)
}

/// The server's writer as the demo sees it: statements are checked and
/// committed as a live batch would be.
struct CoreWriter {
    core: Core,
    books: SharedBooks,
}

impl minhbach_demo::Writer for CoreWriter {
    type Error = SequencerError;

    fn commit(
        &mut self,
        envelopes: Vec<Envelope>,
        logged_at: DateTime<Utc>,
    ) -> Result<Vec<Result<minhbach_demo::Landed, ApplyError>>, SequencerError> {
        let checked = check_envelopes(&self.books, envelopes);
        let outcomes = self.core.process(checked, logged_at)?;
        Ok(outcomes
            .into_iter()
            .map(|o| {
                o.map(|accepted| minhbach_demo::Landed {
                    index: accepted.index,
                    leaf_hash: accepted.leaf_hash.0,
                })
            })
            .collect())
    }

    fn campaign_balance(&self, campaign: &str) -> u64 {
        let books = self.books.read();
        Slug::new(campaign)
            .ok()
            .and_then(|slug| minhbach_ledger::summary::campaign(&books.state, &slug))
            .and_then(|c| c.assets.into_iter().find(|a| a.asset.as_str() == "VND"))
            .map_or(0, |a| a.balance)
    }

    fn account_balance(&self, account: &str) -> u64 {
        let books = self.books.read();
        books
            .state
            .accounts()
            .find(|(id, _)| id.as_str() == account)
            .map_or(0, |(_, a)| a.derived)
    }
}
