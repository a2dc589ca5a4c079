//! `feedback.open` (an intake key) and `feedback.resolve` (a `field` key): the
//! citizen feedback channel, so the on-time rate is computed, not claimed.
//! The text stays off the log; only its hash is logged.

use serde::{Deserialize, Serialize};

use super::{Digest, EntryRef, Slug, StatementId, Timestamp};
use crate::region::RegionCode;

/// What a citizen raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FeedbackCategory {
    /// A complaint about how aid was handled.
    Complaint,
    /// A correction to published data.
    Correction,
    /// A report of fraud, skimming or a scam account.
    FraudReport,
    /// A question.
    Question,
    /// A request for support.
    Request,
}

impl FeedbackCategory {
    /// The category's name as written in statements.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Complaint => "complaint",
            Self::Correction => "correction",
            Self::FraudReport => "fraud_report",
            Self::Question => "question",
            Self::Request => "request",
        }
    }
}

/// A complaint or request received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackOpen {
    /// Unique statement id (feedback.resolve refers to it).
    pub id: StatementId,
    /// When it was signed: the due date counts from here.
    pub time: Timestamp,
    /// Its category.
    pub category: FeedbackCategory,
    /// Where it comes from.
    pub region: RegionCode,
    /// The campaign it concerns, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<Slug>,
    /// The log entry it concerns, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concerns: Option<EntryRef>,
    /// SHA-256 of the text, kept off the log.
    pub text_hash: Digest,
}

/// How feedback was closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Passed to another authority.
    Referred,
    /// Found groundless.
    Rejected,
    /// Resolved.
    Resolved,
}

/// The answer to feedback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackResolve {
    /// Unique statement id.
    pub id: StatementId,
    /// When it was signed: on time when within the due days of the opening.
    pub time: Timestamp,
    /// The `id` of the feedback.open statement.
    pub feedback: StatementId,
    /// The outcome.
    pub outcome: Outcome,
    /// SHA-256 of the public answer, kept off the log.
    pub response_hash: Digest,
}
