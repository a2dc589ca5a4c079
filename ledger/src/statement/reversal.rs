//! `reversal`: undoes a donation (a bounced transfer) or a disbursement nobody
//! has acknowledged, signed by the quorum the target needed (SPEC 5.8, 6.11).
//! How reversals move the gift trace is in [`crate::trace`] and SPEC 6.8.

use serde::{Deserialize, Serialize};

use super::{EntryRef, StatementId, Text, Timestamp};

/// Undoes an earlier entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reversal {
    /// Unique statement id.
    pub id: StatementId,
    /// When it was signed.
    pub time: Timestamp,
    /// The donation or disbursement undone.
    pub target: EntryRef,
    /// Why (bounced transfer, wrong recipient).
    pub reason: Text,
}
