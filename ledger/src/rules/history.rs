//! What the rules look up from the log's past.
//!
//! A [`State`](super::State) holds only what is live: keys, campaigns and their
//! queues of unspent slices, accounts, beneficiaries, regions, open feedback.
//! Its size follows those, not the log's length. Four lookups do grow with the
//! log, one record per entry at most, and live here instead, behind a trait,
//! so that each verifier keeps them where it can afford to:
//!
//! * statement ids, for uniqueness (SPEC 6.2), as 16-byte digests;
//! * donation references per channel, for idempotency (SPEC 6.2);
//! * one record per donation, for reversals and traces;
//! * one record per disbursement, for acknowledgments, reversals and traces.
//!
//! [`MemoryHistory`] keeps them in hash maps (tests, the auditor); the
//! server keeps them in its store, with the writes since its last flush in
//! memory on top (`minhbach_server::books`, described in ARCHITECTURE.md).
//!
//! A lookup can fail: a history kept in a store can be unreadable. The rules
//! then decide nothing and change nothing ([`ApplyError::Unavailable`](super::ApplyError)):
//! an unreadable statement id is not an unused one.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::state::{DisbursementRecord, DonationRecord};
use crate::statement::{Channel, StatementKind};
use crate::store::StoreError;

/// A 16-byte digest of a statement id ([`id_key`]) or of a donation's
/// (channel, reference) ([`ref_key`]): collision-resistant, deterministic.
pub type HistoryKey = [u8; 16];

fn key16(domain: u8, parts: &[&[u8]]) -> HistoryKey {
    let mut h = Sha256::new();
    h.update([domain]);
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    let full = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// The history key of a statement id.
#[must_use]
pub fn id_key(id: &str) -> HistoryKey {
    key16(1, &[id.as_bytes()])
}

/// The history key of a donation's (channel, external reference).
#[must_use]
pub fn ref_key(channel: Channel, external_ref: &str) -> HistoryKey {
    key16(2, &[channel.as_str().as_bytes(), external_ref.as_bytes()])
}

/// What a lookup of the log's past answers: the record, `None` if there is
/// none, or the store's error if it could not be read.
pub type Lookup<T> = Result<Option<T>, StoreError>;

/// Reads of the log's past (see the module documentation).
pub trait History {
    /// The entry that used this statement id, and its type.
    ///
    /// # Errors
    /// The store's, if the history cannot be read.
    fn id(&self, key: &HistoryKey) -> Lookup<(u64, StatementKind)>;
    /// The donation entry with this (channel, reference).
    ///
    /// # Errors
    /// As [`History::id`].
    fn reference(&self, key: &HistoryKey) -> Lookup<u64>;
    /// The record of the donation at `index`.
    ///
    /// # Errors
    /// As [`History::id`].
    fn donation(&self, index: u64) -> Lookup<DonationRecord>;
    /// The record of the disbursement at `index`.
    ///
    /// # Errors
    /// As [`History::id`].
    fn disbursement(&self, index: u64) -> Lookup<DisbursementRecord>;
}

/// Writes of the rules to the log's past. A write replaces what was there.
pub trait HistoryMut: History {
    /// Records the entry that used a statement id.
    fn put_id(&mut self, key: HistoryKey, index: u64, kind: StatementKind);
    /// Records the donation entry of a (channel, reference).
    fn put_reference(&mut self, key: HistoryKey, index: u64);
    /// Records (or updates) a donation.
    fn put_donation(&mut self, index: u64, record: DonationRecord);
    /// Records (or updates) a disbursement.
    fn put_disbursement(&mut self, index: u64, record: DisbursementRecord);
}

/// The history in hash maps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryHistory {
    ids: HashMap<HistoryKey, (u64, StatementKind)>,
    refs: HashMap<HistoryKey, u64>,
    donations: HashMap<u64, DonationRecord>,
    disbursements: HashMap<u64, DisbursementRecord>,
}

impl MemoryHistory {
    /// An empty history.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether nothing is recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
            && self.refs.is_empty()
            && self.donations.is_empty()
            && self.disbursements.is_empty()
    }

    /// How many records of each kind it holds.
    #[must_use]
    pub fn sizes(&self) -> HistorySizes {
        HistorySizes {
            ids: self.ids.len(),
            references: self.refs.len(),
            donations: self.donations.len(),
            disbursements: self.disbursements.len(),
        }
    }

    /// The entry that used a statement id, and its type (in memory, a
    /// lookup cannot fail: the auditor reads its replay's history here).
    #[must_use]
    pub fn entry_of_id(&self, id: &str) -> Option<(u64, StatementKind)> {
        self.ids.get(&id_key(id)).copied()
    }

    /// The donation entry with this (channel, external reference).
    #[must_use]
    pub fn entry_of_ref(&self, channel: Channel, external_ref: &str) -> Option<u64> {
        self.refs.get(&ref_key(channel, external_ref)).copied()
    }

    /// A disbursement's record.
    #[must_use]
    pub fn disbursement_record(&self, index: u64) -> Option<&DisbursementRecord> {
        self.disbursements.get(&index)
    }

    /// Rough heap size in bytes.
    #[must_use]
    pub fn approx_bytes(&self) -> usize {
        let disbursements: usize = self
            .disbursements
            .values()
            .map(|d| 160 + d.slices.len() * 16)
            .sum();
        self.ids.len() * 40 + self.refs.len() * 32 + self.donations.len() * 120 + disbursements
    }
}

/// In memory, a lookup never fails.
impl History for MemoryHistory {
    fn id(&self, key: &HistoryKey) -> Lookup<(u64, StatementKind)> {
        Ok(self.ids.get(key).copied())
    }

    fn reference(&self, key: &HistoryKey) -> Lookup<u64> {
        Ok(self.refs.get(key).copied())
    }

    fn donation(&self, index: u64) -> Lookup<DonationRecord> {
        Ok(self.donations.get(&index).cloned())
    }

    fn disbursement(&self, index: u64) -> Lookup<DisbursementRecord> {
        Ok(self.disbursements.get(&index).cloned())
    }
}

impl HistoryMut for MemoryHistory {
    fn put_id(&mut self, key: HistoryKey, index: u64, kind: StatementKind) {
        self.ids.insert(key, (index, kind));
    }

    fn put_reference(&mut self, key: HistoryKey, index: u64) {
        self.refs.insert(key, index);
    }

    fn put_donation(&mut self, index: u64, record: DonationRecord) {
        self.donations.insert(index, record);
    }

    fn put_disbursement(&mut self, index: u64, record: DisbursementRecord) {
        self.disbursements.insert(index, record);
    }
}

/// How many records a [`MemoryHistory`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistorySizes {
    /// Statement ids.
    pub ids: usize,
    /// Donation references.
    pub references: usize,
    /// Donation records.
    pub donations: usize,
    /// Disbursement records.
    pub disbursements: usize,
}
