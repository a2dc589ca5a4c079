//! The rules (SPEC 6): the state machine the server runs before appending and
//! the auditor runs on replay, so both refuse exactly the same entries.
//!
//! ```text
//! State::apply(&mut self, &VerifiedEntry) -> Result<Effects, ApplyError>
//! ```
//!
//! * Signatures are checked before the rules, separately (the server verifies
//!   batches in parallel): a [`VerifiedEntry`] carries the key ids whose
//!   signatures verified. [`State::public_key`] is the lookup the envelope
//!   verifier needs.
//! * `apply` is pure on error: when it returns a [`Rejection`] (or cannot
//!   read the log's past, [`ApplyError::Unavailable`]), the state is exactly
//!   as before (a property test checks it). [`State::apply_batch`] is
//!   all-or-nothing for a batch.
//! * Every rejection has a stable code ([`Rejection::code`]) and a message.
//! * No clock, no I/O: time comes from the entry's `logged_at`.
//!
//! The rules themselves are specified in `docs/SPEC.md`, section 6; the gift trace that the
//! [`Effects`] feed is in [`crate::trace`].

mod apply;
mod auth;
mod governance;
pub mod history;
mod money;
mod people;
mod rejection;
mod state;
mod verify;

use chrono::{DateTime, Utc};

pub use history::{History, HistoryMut, Lookup, MemoryHistory};
pub use rejection::{ApplyError, CODES, DuplicateKind, RejectedEntry, Rejection};
pub use state::{
    Account, Beneficiary, Campaign, Config, Coverage, DisbursementRecord, DonationRecord,
    FeedbackRecord, FeedbackStats, Fund, KeyRecord, Reconciliation, Slice, State, StateSizes,
};

use crate::statement::{Digest, KeyId, Slug, Statement};

/// A log entry whose signatures have been verified: the input of the rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEntry {
    /// Its index in the log.
    pub index: u64,
    /// Its RFC 9162 leaf hash.
    pub leaf_hash: Digest,
    /// The time the log accepted it (from the leaf).
    pub logged_at: DateTime<Utc>,
    /// The parsed statement.
    pub statement: Statement,
    /// The keys whose signatures over the envelope verified.
    pub signers: Vec<KeyId>,
}

/// What an accepted entry did, beyond updating the state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// The entry's index.
    pub index: u64,
    /// How money moved between gifts and outflows (SPEC 6.8), in order.
    pub flows: Vec<Flow>,
    /// For `account.balance`: the comparison with the ledger.
    pub reconciliation: Option<Reconciliation>,
}

/// A share of one donation moving (SPEC 6.8).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Flow {
    /// The donation (entry index) the money came from.
    pub origin: u64,
    /// How much of it.
    pub amount: u64,
    /// The campaign where it happened.
    pub campaign: Slug,
    /// What happened.
    pub kind: FlowKind,
}

/// What happened to a share of a donation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
#[non_exhaustive]
pub enum FlowKind {
    /// Consumed by this disbursement.
    Disbursed,
    /// Consumed to cover the reversal of another donation (entry index) that had
    /// already been spent.
    CoveredReversal {
        /// The reversed donation.
        donation: u64,
    },
    /// Removed because its own donation was reversed.
    DonationReversed,
    /// Given back by the reversal of this disbursement (entry index): the share is
    /// unspent again, at the front of the queue.
    Restored {
        /// The reversed disbursement.
        disbursement: u64,
    },
    /// Moved to another campaign's queue, where it may be spent later.
    Transferred {
        /// The destination campaign.
        to: Slug,
    },
}

/// A batch entry was refused: nothing of the batch was applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("entry {position} of the batch: {error}")]
pub struct BatchRejection {
    /// Its position in the batch (0-based).
    pub position: usize,
    /// Why.
    pub error: ApplyError,
}

impl<H: HistoryMut + Clone> State<H> {
    /// Applies a batch all-or-nothing: either every entry is accepted, in order,
    /// or the state is unchanged. Costs one clone of the state.
    ///
    /// # Errors
    /// [`BatchRejection`] naming the first entry refused.
    pub fn apply_batch(
        &mut self,
        entries: &[VerifiedEntry],
    ) -> Result<Vec<Effects>, BatchRejection> {
        let mut next = self.clone();
        let mut out = Vec::with_capacity(entries.len());
        for (position, e) in entries.iter().enumerate() {
            out.push(
                next.apply(e)
                    .map_err(|error| BatchRejection { position, error })?,
            );
        }
        *self = next;
        Ok(out)
    }

    /// Whether `entry` would be accepted next, without changing the state.
    ///
    /// # Errors
    /// The error `apply` would return.
    pub fn check(&self, entry: &VerifiedEntry) -> Result<(), ApplyError> {
        self.clone().apply(entry).map(|_| ())
    }
}
