//! The gift trace's lists ([`TraceLists`]) kept in the store: one
//! [`Table`] of steps per donation and one of sources per disbursement,
//! with the lists changed since the last flush in memory on top. Its
//! answers are those of a [`TraceIndex`](minhbach_ledger::trace::TraceIndex)
//! that recorded the same flows.

use minhbach_ledger::rules::{Effects, History, Lookup, State};
use minhbach_ledger::store::{LogStore, StoreError};
use minhbach_ledger::trace::{self, Sources, Step, Trace, TraceLists};

use super::table::{Layered, Table, Unwritten};

/// The trace index in a store's metadata: `books/steps/<donation>` and
/// `books/sources/<disbursement>` (a reversed disbursement's sources
/// removed).
#[derive(Clone, Debug)]
pub struct StoredTrace<S> {
    store: S,
    steps: Table<u64, Vec<Step>>,
    sources: Table<u64, Sources>,
}

impl<S: LogStore> StoredTrace<S> {
    /// The index kept in `store`, nothing pending.
    pub fn new(store: S) -> Self {
        Self {
            store,
            steps: Table::new("steps"),
            sources: Table::new("sources"),
        }
    }

    /// Records the flows of an accepted entry (pending until written).
    ///
    /// # Errors
    /// The store's, if a list to append to cannot be read; the flows before
    /// it are recorded.
    pub fn record(&mut self, effects: &Effects) -> Result<(), StoreError> {
        trace::record(self, effects)
    }

    /// The donations that funded a live (not reversed) disbursement:
    /// `(donation index, amount)` in consumption order.
    ///
    /// # Errors
    /// The store's, if the list cannot be read.
    pub fn sources(&self, disbursement: u64) -> Result<Sources, StoreError> {
        Ok(self
            .sources
            .get(&self.store, &disbursement)?
            .map(std::borrow::Cow::into_owned)
            .unwrap_or_default())
    }

    /// Where a donation went; `None` if `donation` is not a donation entry.
    ///
    /// # Errors
    /// The store's, if its steps or `state`'s records cannot be read.
    pub fn trace<H: History>(&self, state: &State<H>, donation: u64) -> Lookup<Trace> {
        let steps = self.steps.get(&self.store, &donation)?;
        trace::trace_of(steps.as_deref().map_or(&[], Vec::as_slice), state, donation)
    }

    /// Its tables, to freeze, release or thaw them together.
    pub fn tables_mut(&mut self) -> [&mut dyn Layered; 2] {
        [&mut self.steps, &mut self.sources]
    }

    /// How many lists are not yet in the store, by layer.
    #[must_use]
    pub fn unwritten(&self) -> Unwritten {
        self.steps.unwritten() + self.sources.unwritten()
    }
}

impl<S: LogStore> TraceLists for StoredTrace<S> {
    type Error = StoreError;

    fn steps_mut(&mut self, origin: u64) -> Result<&mut Vec<Step>, StoreError> {
        Ok(self
            .steps
            .get_mut(&self.store, origin)?
            .get_or_insert_with(Vec::new))
    }

    fn sources_mut(&mut self, outflow: u64) -> Result<&mut Sources, StoreError> {
        Ok(self
            .sources
            .get_mut(&self.store, outflow)?
            .get_or_insert_with(Vec::new))
    }

    fn remove_sources(&mut self, outflow: u64) {
        self.sources.remove(outflow);
    }
}
