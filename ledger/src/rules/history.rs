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
//! [`MemoryHistory`] keeps them in hash maps (tests, the auditor).
//! [`StoredHistory`] reads them from a store's metadata, and the server keeps
//! them there through an [`Overlay`]: the writes since the last flush sit in
//! memory on top of the stored history (in [`Layers`], so that a flush can
//! write them while more are recorded), and are written ([`history_pairs`])
//! together with a snapshot of the live state at the same entry, so that the
//! stored history and the snapshot always describe the same prefix of the
//! log.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::state::{DisbursementRecord, DonationRecord};
use crate::statement::{Channel, StatementKind};
use crate::store::LogStore;
use crate::store::books::{self, Layers};

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

/// Reads of the log's past (see the module documentation).
pub trait History {
    /// The entry that used this statement id, and its type.
    fn id(&self, key: &HistoryKey) -> Option<(u64, StatementKind)>;
    /// The donation entry with this (channel, reference).
    fn reference(&self, key: &HistoryKey) -> Option<u64>;
    /// The record of the donation at `index`.
    fn donation(&self, index: u64) -> Option<DonationRecord>;
    /// The record of the disbursement at `index`.
    fn disbursement(&self, index: u64) -> Option<DisbursementRecord>;
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

    /// Every statement id recorded, in no particular order.
    pub fn ids(&self) -> impl Iterator<Item = (&HistoryKey, u64, StatementKind)> {
        self.ids.iter().map(|(k, &(i, kind))| (k, i, kind))
    }

    /// Every reference recorded, in no particular order.
    pub fn references(&self) -> impl Iterator<Item = (&HistoryKey, u64)> {
        self.refs.iter().map(|(k, &i)| (k, i))
    }

    /// Every donation recorded, in no particular order.
    pub fn donations(&self) -> impl Iterator<Item = (u64, &DonationRecord)> {
        self.donations.iter().map(|(&i, d)| (i, d))
    }

    /// Every disbursement recorded, in no particular order.
    pub fn disbursements(&self) -> impl Iterator<Item = (u64, &DisbursementRecord)> {
        self.disbursements.iter().map(|(&i, d)| (i, d))
    }
}

impl History for MemoryHistory {
    fn id(&self, key: &HistoryKey) -> Option<(u64, StatementKind)> {
        self.ids.get(key).copied()
    }

    fn reference(&self, key: &HistoryKey) -> Option<u64> {
        self.refs.get(key).copied()
    }

    fn donation(&self, index: u64) -> Option<DonationRecord> {
        self.donations.get(&index).cloned()
    }

    fn disbursement(&self, index: u64) -> Option<DisbursementRecord> {
        self.disbursements.get(&index).cloned()
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

impl books::Layer for MemoryHistory {
    fn absorb_older(&mut self, older: Self) {
        books::keep_newer(&mut self.ids, older.ids);
        books::keep_newer(&mut self.refs, older.refs);
        books::keep_newer(&mut self.donations, older.donations);
        books::keep_newer(&mut self.disbursements, older.disbursements);
    }
}

/// A committed history `B` with the writes not yet committed on top, in
/// [`Layers`]: reads see the pending writes first, then those being
/// committed, then `B`. Cloning it clones the base handle and the writes
/// not yet committed.
#[derive(Clone, Debug, Default)]
pub struct Overlay<B> {
    base: B,
    layers: Layers<MemoryHistory>,
}

impl<B: History> Overlay<B> {
    /// Nothing pending over `base`.
    pub fn new(base: B) -> Self {
        Self {
            base,
            layers: Layers::default(),
        }
    }

    /// The committed history.
    pub fn base(&self) -> &B {
        &self.base
    }

    /// The writes not yet committed: pending, and frozen for a commit
    /// ([`Layers::freeze`]).
    #[must_use]
    pub fn layers(&self) -> &Layers<MemoryHistory> {
        &self.layers
    }

    /// The writes not yet committed, to freeze, release or thaw them (see
    /// [`Layers`]).
    pub fn layers_mut(&mut self) -> &mut Layers<MemoryHistory> {
        &mut self.layers
    }
}

impl<B: History> History for Overlay<B> {
    fn id(&self, key: &HistoryKey) -> Option<(u64, StatementKind)> {
        self.layers
            .find(|l| l.id(key))
            .or_else(|| self.base.id(key))
    }

    fn reference(&self, key: &HistoryKey) -> Option<u64> {
        self.layers
            .find(|l| l.reference(key))
            .or_else(|| self.base.reference(key))
    }

    fn donation(&self, index: u64) -> Option<DonationRecord> {
        self.layers
            .find(|l| l.donation(index))
            .or_else(|| self.base.donation(index))
    }

    fn disbursement(&self, index: u64) -> Option<DisbursementRecord> {
        self.layers
            .find(|l| l.disbursement(index))
            .or_else(|| self.base.disbursement(index))
    }
}

impl<B: History> HistoryMut for Overlay<B> {
    fn put_id(&mut self, key: HistoryKey, index: u64, kind: StatementKind) {
        self.layers.pending_mut().put_id(key, index, kind);
    }

    fn put_reference(&mut self, key: HistoryKey, index: u64) {
        self.layers.pending_mut().put_reference(key, index);
    }

    fn put_donation(&mut self, index: u64, record: DonationRecord) {
        self.layers.pending_mut().put_donation(index, record);
    }

    fn put_disbursement(&mut self, index: u64, record: DisbursementRecord) {
        self.layers.pending_mut().put_disbursement(index, record);
    }
}

/// The history in a store's metadata, under
/// [`BOOKS_PREFIX`](crate::store::books::BOOKS_PREFIX), as written by
/// [`history_pairs`]: one key per statement id, reference, donation and
/// disbursement. Reads go to the store (and its cache) each time; the
/// server puts an [`Overlay`] on top for what is not yet written.
///
/// # Panics
/// Reads panic if the store fails (see [`crate::store::books::read`]).
#[derive(Clone, Debug)]
pub struct StoredHistory<S> {
    store: S,
}

impl<S> StoredHistory<S> {
    /// The history kept in `store`.
    pub fn new(store: S) -> Self {
        Self { store }
    }
}

fn id_meta_key(key: &HistoryKey) -> Vec<u8> {
    books::key("id", key)
}

fn ref_meta_key(key: &HistoryKey) -> Vec<u8> {
    books::key("ref", key)
}

fn donation_meta_key(index: u64) -> Vec<u8> {
    books::key("donation", &index.to_be_bytes())
}

fn disbursement_meta_key(index: u64) -> Vec<u8> {
    books::key("disbursement", &index.to_be_bytes())
}

impl<S: LogStore> History for StoredHistory<S> {
    fn id(&self, key: &HistoryKey) -> Option<(u64, StatementKind)> {
        books::read(&self.store, &id_meta_key(key))
    }

    fn reference(&self, key: &HistoryKey) -> Option<u64> {
        books::read(&self.store, &ref_meta_key(key))
    }

    fn donation(&self, index: u64) -> Option<DonationRecord> {
        books::read(&self.store, &donation_meta_key(index))
    }

    fn disbursement(&self, index: u64) -> Option<DisbursementRecord> {
        books::read(&self.store, &disbursement_meta_key(index))
    }
}

/// The metadata writes that store `history` for [`StoredHistory`] (each
/// replacing what its key held), in no particular order.
#[must_use]
pub fn history_pairs(history: &MemoryHistory) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::with_capacity(
        history.ids.len()
            + history.refs.len()
            + history.donations.len()
            + history.disbursements.len(),
    );
    out.extend(
        history
            .ids()
            .map(|(k, i, kind)| (id_meta_key(k), books::encode(&(i, kind)))),
    );
    out.extend(
        history
            .references()
            .map(|(k, i)| (ref_meta_key(k), books::encode(&i))),
    );
    out.extend(
        history
            .donations()
            .map(|(i, d)| (donation_meta_key(i), books::encode(d))),
    );
    out.extend(
        history
            .disbursements()
            .map(|(i, d)| (disbursement_meta_key(i), books::encode(d))),
    );
    out
}
