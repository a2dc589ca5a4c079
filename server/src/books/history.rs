//! The rules' history ([`History`]) kept in the store: one [`Table`] per
//! lookup, with the records since the last flush in memory on top.

use minhbach_ledger::rules::history::HistoryKey;
use minhbach_ledger::rules::{DisbursementRecord, DonationRecord, History, HistoryMut, Lookup};
use minhbach_ledger::statement::StatementKind;
use minhbach_ledger::store::LogStore;

use super::table::{Layered, Table, Unwritten};

/// The history in a store's metadata: `books/id/<key>`, `books/ref/<key>`,
/// `books/donation/<index>` and `books/disbursement/<index>`, with what was
/// recorded since the last flush on top. A lookup that must read the store
/// fails as the store does; the rules then decide nothing
/// ([`ApplyError::Unavailable`](minhbach_ledger::rules::ApplyError)).
#[derive(Clone, Debug)]
pub struct StoredHistory<S> {
    store: S,
    ids: Table<HistoryKey, (u64, StatementKind)>,
    refs: Table<HistoryKey, u64>,
    donations: Table<u64, DonationRecord>,
    disbursements: Table<u64, DisbursementRecord>,
}

impl<S> StoredHistory<S> {
    /// The history kept in `store`, nothing pending.
    pub fn new(store: S) -> Self {
        Self {
            store,
            ids: Table::new("id"),
            refs: Table::new("ref"),
            donations: Table::new("donation"),
            disbursements: Table::new("disbursement"),
        }
    }

    /// Its tables, to freeze, release or thaw them together.
    pub fn tables_mut(&mut self) -> [&mut dyn Layered; 4] {
        [
            &mut self.ids,
            &mut self.refs,
            &mut self.donations,
            &mut self.disbursements,
        ]
    }

    /// How many records are not yet in the store, by layer.
    #[must_use]
    pub fn unwritten(&self) -> Unwritten {
        self.ids.unwritten()
            + self.refs.unwritten()
            + self.donations.unwritten()
            + self.disbursements.unwritten()
    }
}

impl<S: LogStore> History for StoredHistory<S> {
    fn id(&self, key: &HistoryKey) -> Lookup<(u64, StatementKind)> {
        Ok(self.ids.get(&self.store, key)?.map(|v| *v))
    }

    fn reference(&self, key: &HistoryKey) -> Lookup<u64> {
        Ok(self.refs.get(&self.store, key)?.map(|v| *v))
    }

    fn donation(&self, index: u64) -> Lookup<DonationRecord> {
        Ok(self
            .donations
            .get(&self.store, &index)?
            .map(|v| v.into_owned()))
    }

    fn disbursement(&self, index: u64) -> Lookup<DisbursementRecord> {
        Ok(self
            .disbursements
            .get(&self.store, &index)?
            .map(|v| v.into_owned()))
    }
}

impl<S: LogStore> HistoryMut for StoredHistory<S> {
    fn put_id(&mut self, key: HistoryKey, index: u64, kind: StatementKind) {
        self.ids.put(key, (index, kind));
    }

    fn put_reference(&mut self, key: HistoryKey, index: u64) {
        self.refs.put(key, index);
    }

    fn put_donation(&mut self, index: u64, record: DonationRecord) {
        self.donations.put(index, record);
    }

    fn put_disbursement(&mut self, index: u64, record: DisbursementRecord) {
        self.disbursements.put(index, record);
    }
}
