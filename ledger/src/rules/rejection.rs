//! Why an entry is refused: one variant per rule broken, each with a stable
//! machine code ([`Rejection::code`], used as the RFC 9457 `code`) and a human
//! message (`Display`).

use crate::statement::{Asset, KeyId, Role, Slug, StatementError, StatementId};
use crate::store::StoreError;

/// What a duplicate collides with.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DuplicateKind {
    /// A key already granted (and not revoked).
    Key {
        /// The key.
        keyid: KeyId,
    },
    /// A campaign slug already opened.
    Campaign {
        /// The campaign.
        campaign: Slug,
    },
    /// An account slug already registered.
    Account {
        /// The account.
        account: Slug,
    },
    /// A beneficiary commitment already enrolled.
    Beneficiary,
    /// A bank balance already given for that account and day.
    BalanceDay {
        /// The account.
        account: Slug,
    },
    /// A donation's (channel, external reference) already logged: resubmitting is
    /// idempotent, the server answers with `existing_index`.
    ExternalRef {
        /// The channel.
        channel: &'static str,
        /// The reference.
        external_ref: String,
    },
    /// A statement id already used.
    Id {
        /// The id.
        id: StatementId,
    },
}

/// A logged entry that the rules refuse. A log must never hold one: a replay
/// of the log (the server rebuilding its books, an auditor checking every
/// rule) stops at the first and names it with its rule's stable code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("entry {index} breaks rule {code}: {rejection}", code = rejection.code())]
pub struct RejectedEntry {
    /// The entry's index in the log.
    pub index: u64,
    /// The rule and why.
    pub rejection: Rejection,
}

/// Why the rules did not apply an entry: it breaks a rule, or the log's past
/// could not be read to decide. Either way nothing changed in the state.
/// These are the only two outcomes (the callers match both).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The entry breaks a rule.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The history ([`History`](super::History)) could not be read: the
    /// rules decided nothing, and the same entry may be accepted once the
    /// store answers again. Never for a history in memory.
    #[error("the log's past could not be read ({0})")]
    Unavailable(#[from] StoreError),
}

impl ApplyError {
    /// The rule broken, if that is why.
    #[must_use]
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Self::Rejected(r) => Some(r),
            Self::Unavailable(_) => None,
        }
    }

    /// The rule's stable code ([`Rejection::code`]), or `unavailable`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Rejected(r) => r.code(),
            Self::Unavailable(_) => "unavailable",
        }
    }
}

/// An entry the rules refuse. Nothing changes in the state when `apply` returns one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// A disbursement above its category's published unit rate lacks the governance quorum.
    #[error(
        "{amount} is above the published rate of {limit} for {category}: the governance quorum must also sign"
    )]
    AboveUnitRate {
        /// The category.
        category: Slug,
        /// Rate × units.
        limit: u64,
        /// The amount asked.
        amount: u64,
    },
    /// The account is closed.
    #[error("account {account} is closed")]
    AccountClosed {
        /// The account.
        account: Slug,
    },
    /// The feedback was already resolved.
    #[error("feedback {feedback} is already resolved")]
    AlreadyResolved {
        /// The feedback.open id.
        feedback: StatementId,
    },
    /// The target entry was already reversed.
    #[error("entry {index} was already reversed")]
    AlreadyReversed {
        /// The target's index.
        index: u64,
    },
    /// A signature does not verify.
    #[error("the signature by key {keyid} does not verify")]
    BadSignature {
        /// The key.
        keyid: KeyId,
    },
    /// The campaign is closed and takes nothing new.
    #[error("campaign {campaign} is closed")]
    CampaignClosed {
        /// The campaign.
        campaign: Slug,
    },
    /// Something already exists; `existing_index` is the entry that made it.
    #[error("duplicate: {what:?} already logged at entry {existing_index}")]
    Duplicate {
        /// What collides.
        what: DuplicateKind,
        /// The entry that holds it.
        existing_index: u64,
    },
    /// A genesis statement after entry 0.
    #[error("the log already has a genesis entry")]
    GenesisExists,
    /// Fewer distinct qualified signers than needed.
    #[error("{got} of {needed} required {role} signatures")]
    InsufficientApprovals {
        /// The role whose signatures count.
        role: Role,
        /// How many are needed.
        needed: u8,
        /// How many distinct qualified keys signed.
        got: usize,
    },
    /// A signer key has been revoked.
    #[error("key {keyid} was revoked at entry {revoked_at}")]
    KeyRevoked {
        /// The key.
        keyid: KeyId,
        /// The revoking entry.
        revoked_at: u64,
    },
    /// The envelope or leaf is not valid (JSON shape, base64, payload type, ...).
    #[error("malformed {what}")]
    MalformedEnvelope {
        /// What is malformed.
        what: &'static str,
    },
    /// The statement is not valid on its own.
    #[error(transparent)]
    Malformed(#[from] StatementError),
    /// Entry 0 must be genesis.
    #[error("entry 0 must be a genesis statement")]
    NotGenesis,
    /// The target cannot be reversed (not a donation or disbursement, or acknowledged).
    #[error("entry {index} ({kind}) cannot be reversed: {why}")]
    NotReversible {
        /// The target's index.
        index: u64,
        /// The target's type.
        kind: &'static str,
        /// Why.
        why: &'static str,
    },
    /// The entry's index is not the next one.
    #[error("expected entry {expected}, got {got}")]
    OutOfOrder {
        /// The next index.
        expected: u64,
        /// The index given.
        got: u64,
    },
    /// Too few signers in scope, and some that hold the role are not: they
    /// are named, since widening their scope (or another signer) is the fix.
    #[error(
        "{in_scope} of {needed} required {role} signatures are in scope of this campaign and region; out of scope: {}",
        keys.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    )]
    OutOfScope {
        /// The role needed.
        role: Role,
        /// The signers that hold the role but not the scope.
        keys: Vec<KeyId>,
        /// Distinct signers in scope.
        in_scope: usize,
        /// How many are needed.
        needed: u8,
    },
    /// Acknowledgments would exceed the disbursement.
    #[error("disbursement {disbursement} has {remaining} left to acknowledge, not {amount}")]
    OverAcknowledged {
        /// The disbursement's index.
        disbursement: u64,
        /// Amount not yet acknowledged.
        remaining: u64,
        /// Amount acknowledged by this entry.
        amount: u64,
    },
    /// A sum would overflow (larger than 2^53 − 1).
    #[error("a total would exceed 2^53 - 1")]
    Overflow,
    /// A balance would go below zero.
    #[error("{scope} holds {balance} {asset}, less than {amount}")]
    Overspend {
        /// The campaign or account.
        scope: Slug,
        /// The asset.
        asset: Asset,
        /// The balance.
        balance: u64,
        /// The amount asked.
        amount: u64,
    },
    /// A revocation would leave fewer governance keys than the quorum.
    #[error("revoking would leave {remaining} governance keys for a quorum of {threshold}")]
    QuorumUnreachable {
        /// Active governance keys after the revocation.
        remaining: usize,
        /// The quorum.
        threshold: u8,
    },
    /// The disbursement's region is not the beneficiary's commune.
    #[error("the beneficiary is enrolled in {expected}, not {got}")]
    RegionMismatch {
        /// The beneficiary's commune.
        expected: String,
        /// The region given.
        got: String,
    },
    /// The statement references an entry whose leaf hash differs.
    #[error("entry {index} has another leaf hash")]
    LeafHashMismatch {
        /// The index referenced.
        index: u64,
    },
    /// The leaf is larger than 65,535 bytes.
    #[error("the leaf is {size} bytes, more than {max}")]
    LeafTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// `logged_at` went backwards.
    #[error("logged_at {logged_at} is before the previous entry's {previous}")]
    TimeRegression {
        /// The previous `logged_at`, RFC 3339.
        previous: String,
        /// This entry's `logged_at`, RFC 3339.
        logged_at: String,
    },
    /// `time` too far from `logged_at`.
    #[error("time is {skew_seconds} s from logged_at, more than {max_seconds} s")]
    TimeSkew {
        /// |time − logged_at| in seconds.
        skew_seconds: i64,
        /// The allowed skew.
        max_seconds: u32,
    },
    /// No signer holds the role the statement needs.
    #[error("{kind} must be signed by a {role} key")]
    Unauthorized {
        /// The statement type.
        kind: &'static str,
        /// The role needed.
        role: Role,
    },
    /// The account is not registered (for this campaign).
    #[error("account {account} is not registered for this campaign")]
    UnknownAccount {
        /// The account.
        account: Slug,
    },
    /// The asset is not a genesis asset, or not taken by the campaign or account.
    #[error("asset {asset} is not accepted here")]
    UnknownAsset {
        /// The asset.
        asset: Asset,
    },
    /// The beneficiary is not enrolled, or not active.
    #[error("the beneficiary is not enrolled (or not active)")]
    UnknownBeneficiary,
    /// The campaign was never opened.
    #[error("campaign {campaign} does not exist")]
    UnknownCampaign {
        /// The campaign.
        campaign: Slug,
    },
    /// The category has no published unit rate in that asset.
    #[error("category {category} has no published unit rate in this asset")]
    UnknownCategory {
        /// The category.
        category: Slug,
    },
    /// The referenced entry is not a disbursement.
    #[error("entry {index} is not a disbursement")]
    UnknownDisbursement {
        /// The index referenced.
        index: u64,
    },
    /// The referenced entry does not exist yet.
    #[error("entry {index} does not exist")]
    UnknownEntry {
        /// The index referenced.
        index: u64,
    },
    /// No feedback.open with that id.
    #[error("no feedback {feedback}")]
    UnknownFeedback {
        /// The id.
        feedback: StatementId,
    },
    /// A signer is not in the registry (or a revoked key was never granted).
    #[error("key {keyid} is not granted")]
    UnknownKey {
        /// The key.
        keyid: KeyId,
    },
}

impl Rejection {
    /// The stable machine code (snake_case) of the rule broken.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::AboveUnitRate { .. } => "above_unit_rate",
            Self::AccountClosed { .. } => "account_closed",
            Self::AlreadyResolved { .. } => "already_resolved",
            Self::AlreadyReversed { .. } => "already_reversed",
            Self::BadSignature { .. } => "bad_signature",
            Self::CampaignClosed { .. } => "campaign_closed",
            Self::Duplicate { .. } => "duplicate",
            Self::GenesisExists => "genesis_exists",
            Self::InsufficientApprovals { .. } => "insufficient_approvals",
            Self::KeyRevoked { .. } => "key_revoked",
            Self::LeafHashMismatch { .. } => "leaf_hash_mismatch",
            Self::LeafTooLarge { .. } => "too_large",
            Self::MalformedEnvelope { .. } => "malformed",
            Self::Malformed(e) => match e {
                StatementError::PersonalData { .. } => "personal_data",
                StatementError::TooLarge { .. } => "too_large",
                StatementError::UnknownRegion { .. } => "unknown_region",
                _ => "malformed",
            },
            Self::NotGenesis => "not_genesis",
            Self::NotReversible { .. } => "not_reversible",
            Self::OutOfOrder { .. } => "out_of_order",
            Self::OutOfScope { .. } => "out_of_scope",
            Self::OverAcknowledged { .. } => "over_acknowledged",
            Self::Overflow => "overflow",
            Self::Overspend { .. } => "overspend",
            Self::QuorumUnreachable { .. } => "quorum_unreachable",
            Self::RegionMismatch { .. } => "region_mismatch",
            Self::TimeRegression { .. } => "time_regression",
            Self::TimeSkew { .. } => "time_skew",
            Self::Unauthorized { .. } => "unauthorized",
            Self::UnknownAccount { .. } => "unknown_account",
            Self::UnknownAsset { .. } => "unknown_asset",
            Self::UnknownBeneficiary => "unknown_beneficiary",
            Self::UnknownCampaign { .. } => "unknown_campaign",
            Self::UnknownCategory { .. } => "unknown_category",
            Self::UnknownDisbursement { .. } => "unknown_disbursement",
            Self::UnknownEntry { .. } => "unknown_entry",
            Self::UnknownFeedback { .. } => "unknown_feedback",
            Self::UnknownKey { .. } => "unknown_key",
        }
    }

    /// For a duplicate, the entry that already holds it (the server answers
    /// idempotently with that entry).
    #[must_use]
    pub fn existing_index(&self) -> Option<u64> {
        match self {
            Self::Duplicate { existing_index, .. } => Some(*existing_index),
            _ => None,
        }
    }
}

/// Every code [`Rejection::code`] can return, sorted; the rules table test covers each.
pub const CODES: &[&str] = &[
    "above_unit_rate",
    "account_closed",
    "already_resolved",
    "already_reversed",
    "bad_signature",
    "campaign_closed",
    "duplicate",
    "genesis_exists",
    "insufficient_approvals",
    "key_revoked",
    "leaf_hash_mismatch",
    "malformed",
    "not_genesis",
    "not_reversible",
    "out_of_order",
    "out_of_scope",
    "over_acknowledged",
    "overflow",
    "overspend",
    "personal_data",
    "quorum_unreachable",
    "region_mismatch",
    "time_regression",
    "time_skew",
    "too_large",
    "unauthorized",
    "unknown_account",
    "unknown_asset",
    "unknown_beneficiary",
    "unknown_campaign",
    "unknown_category",
    "unknown_disbursement",
    "unknown_entry",
    "unknown_feedback",
    "unknown_key",
    "unknown_region",
];
