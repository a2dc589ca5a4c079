//! The state the rules keep between entries.
//!
//! Its size grows with the number of keys, campaigns, accounts, beneficiaries,
//! regions reached and open items (unconsumed inflow slices, unresolved
//! feedback), not with the log's length. What does grow with the log (statement
//! ids and external references for uniqueness, one small record per donation
//! and disbursement) is the [`History`], which the state reaches through a
//! trait so that it can live outside memory. No statement is kept whole.

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::history::{History, Lookup, MemoryHistory, id_key, ref_key};
use crate::region::RegionCode;
use crate::statement::{
    AccountKind, ApprovalPolicy, Asset, BeneficiaryCategory, Cause, Channel, Commitment, Digest,
    FeedbackCategory, KeyId, Origin, Priority, PublicKey, Role, Scope, Slug, StatementKind, Text,
    Title, UnitRate,
};

/// The state of the rules after some prefix of the log.
///
/// It serializes (serde) so that a verifier can save it and resume later.
/// Deserializing does not check it against any rule: load only a state you
/// saved yourself and tied to what it was computed from (the auditor ties it
/// to a signed checkpoint, the tree's frontier and a digest).
///
/// `H` is where the log's past is kept ([`History`]); by default in memory.
/// The history is not part of the serialized form: a verifier saves it
/// beside the state (the auditor) or keeps it in its store (the server), and
/// a deserialized state starts with an empty one (see
/// [`State::map_history`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State<H = MemoryHistory> {
    pub(crate) next_index: u64,
    pub(crate) last_logged_at: Option<DateTime<Utc>>,
    pub(crate) config: Option<Config>,
    pub(crate) keys: HashMap<KeyId, KeyRecord>,
    pub(crate) governance_active: usize,
    pub(crate) campaigns: BTreeMap<Slug, Campaign>,
    pub(crate) accounts: BTreeMap<Slug, Account>,
    pub(crate) beneficiaries: HashMap<Commitment, Beneficiary>,
    pub(crate) open_feedback: HashMap<u64, FeedbackRecord>,
    pub(crate) feedback_stats: BTreeMap<FeedbackCategory, FeedbackStats>,
    pub(crate) coverage: BTreeMap<(RegionCode, BeneficiaryCategory), Coverage>,
    pub(crate) mismatches: Vec<Reconciliation>,
    #[serde(skip)]
    pub(crate) history: H,
}

/// The log's constants, from genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// The log's origin.
    pub origin: Origin,
    /// The governance quorum M.
    pub threshold: u8,
    /// The allowed |time − logged_at|, seconds.
    pub max_skew_seconds: u32,
    /// Days to resolve feedback on time.
    pub feedback_due_days: u16,
    /// The assets the log counts.
    pub assets: Vec<Asset>,
}

/// A signer key as granted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// The public key.
    pub public_key: PublicKey,
    /// Who holds it.
    pub name: Text,
    /// Their title.
    pub title: Option<Text>,
    /// Roles.
    pub roles: Vec<Role>,
    /// Scope.
    pub scope: Scope,
    /// The entry that granted it (0 for genesis keys).
    pub granted_at: u64,
    /// The entry that revoked it.
    pub revoked_at: Option<u64>,
}

impl KeyRecord {
    /// Whether the key holds `role`.
    #[must_use]
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// A campaign as opened and updated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    /// The entry that opened it.
    pub opened_at: u64,
    /// Title.
    pub title: Title,
    /// Cause.
    pub cause: Cause,
    /// Priority.
    pub priority: Priority,
    /// Assets taken.
    pub assets: Vec<Asset>,
    /// Approval policy.
    pub policy: ApprovalPolicy,
    /// Published unit rates.
    pub unit_rates: Vec<UnitRate>,
    /// The entry that closed it.
    pub closed_at: Option<u64>,
    /// Money per asset.
    pub funds: BTreeMap<Asset, Fund>,
}

impl Campaign {
    pub(crate) fn rate(&self, category: &Slug, asset: &Asset) -> Option<u64> {
        self.unit_rates
            .iter()
            .find(|r| &r.category == category && &r.asset == asset)
            .map(|r| r.amount.get())
    }
}

/// A share of one donation still unspent in a campaign's queue (SPEC 6.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slice {
    /// The donation's entry index.
    pub origin: u64,
    /// How much of it.
    pub amount: u64,
}

/// The money of one (campaign, asset).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fund {
    /// Current balance (= the sum of `queue`).
    pub balance: u64,
    /// Donations received.
    pub donated: u64,
    /// Donations reversed.
    pub donations_reversed: u64,
    /// Transfers received.
    pub transferred_in: u64,
    /// Transfers sent.
    pub transferred_out: u64,
    /// Disbursed.
    pub disbursed: u64,
    /// Disbursements reversed.
    pub disbursements_reversed: u64,
    /// Acknowledged by recipients.
    pub acknowledged: u64,
    /// Number of donations.
    pub donation_count: u64,
    /// Number of disbursements.
    pub disbursement_count: u64,
    /// Net disbursed per region code named by disbursements.
    pub out_by_region: BTreeMap<RegionCode, u64>,
    /// Unspent slices, oldest first.
    pub queue: VecDeque<Slice>,
}

impl Fund {
    /// Disbursed, net of reversed disbursements.
    #[must_use]
    pub fn net_disbursed(&self) -> u64 {
        self.disbursed.saturating_sub(self.disbursements_reversed)
    }

    /// Money in: donations net of reversals, plus transfers received.
    #[must_use]
    pub fn total_in(&self) -> u64 {
        self.donated.saturating_sub(self.donations_reversed) + self.transferred_in
    }

    /// Money out: net disbursements plus transfers sent.
    #[must_use]
    pub fn total_out(&self) -> u64 {
        self.net_disbursed() + self.transferred_out
    }
}

/// A registered receiving account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Its campaign.
    pub campaign: Slug,
    /// Kind.
    pub kind: AccountKind,
    /// Institution.
    pub institution: Text,
    /// Number.
    pub number: String,
    /// Holder.
    pub holder: Text,
    /// Asset held.
    pub asset: Asset,
    /// The balance the ledger derives: opening + in − out.
    pub derived: u64,
    /// The entry that registered it.
    pub registered_at: u64,
    /// The entry that closed it.
    pub closed_at: Option<u64>,
    /// The last bank balance given and how it compared.
    pub last: Option<Reconciliation>,
}

/// One daily comparison of the bank's balance with the ledger's (SPEC 6.6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciliation {
    /// The `account.balance` entry.
    pub index: u64,
    /// The account.
    pub account: Slug,
    /// The bank day.
    pub date: NaiveDate,
    /// The bank's closing balance.
    pub bank_balance: u64,
    /// The ledger's derived balance at that entry.
    pub ledger_balance: u64,
}

impl Reconciliation {
    /// Whether the bank and the ledger agree.
    #[must_use]
    pub fn matches(&self) -> bool {
        self.bank_balance == self.ledger_balance
    }
}

/// An enrolled beneficiary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beneficiary {
    /// The enrolling entry.
    pub enrolled_at: u64,
    /// Commune.
    pub region: RegionCode,
    /// Category.
    pub category: BeneficiaryCategory,
    /// Priority.
    pub priority: Priority,
    /// On the active list.
    pub active: bool,
    /// Disbursements received and not reversed.
    pub received: u32,
}

/// What the rules keep of a donation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DonationRecord {
    /// Leaf hash, to check references.
    pub leaf_hash: Digest,
    /// Campaign.
    pub campaign: Slug,
    /// Asset.
    pub asset: Asset,
    /// Amount.
    pub amount: u64,
    /// Channel.
    pub channel: Channel,
    /// Receiving account.
    pub account: Option<Slug>,
    /// The reversal entry, if reversed.
    pub reversed_by: Option<u64>,
}

/// What the rules keep of a disbursement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisbursementRecord {
    /// Leaf hash, to check references.
    pub leaf_hash: Digest,
    /// Campaign.
    pub campaign: Slug,
    /// Asset.
    pub asset: Asset,
    /// Amount.
    pub amount: u64,
    /// Region.
    pub region: RegionCode,
    /// Paying account.
    pub account: Option<Slug>,
    /// The beneficiary, if the recipient is one.
    pub beneficiary: Option<Commitment>,
    /// Approvals it needed (a reversal needs the same).
    pub approvals_needed: u8,
    /// Whether it needed the governance quorum (above unit rate).
    pub needed_governance: bool,
    /// Acknowledged so far.
    pub acknowledged: u64,
    /// The reversal entry, if reversed.
    pub reversed_by: Option<u64>,
    /// The slices it consumed, kept until the first acknowledgment (after which
    /// it can no longer be reversed).
    pub slices: Vec<Slice>,
}

/// An open feedback item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackRecord {
    /// Category.
    pub category: FeedbackCategory,
    /// Region.
    pub region: RegionCode,
    /// Opened at (statement time).
    pub opened: DateTime<Utc>,
    /// Due by.
    pub due: DateTime<Utc>,
}

/// Feedback counts per category.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackStats {
    /// Opened.
    pub opened: u64,
    /// Resolved (any outcome).
    pub resolved: u64,
    /// Resolved within the due days.
    pub resolved_on_time: u64,
}

/// Households enrolled and reached in one (commune, category).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Active beneficiaries enrolled.
    pub enrolled: u64,
    /// Of those, how many received at least one disbursement not reversed.
    pub reached: u64,
}

impl State {
    /// An empty state, before genesis, with its history in memory.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl<H> State<H> {
    /// An empty state, before genesis, over `history` (which must be empty
    /// too, or hold exactly what the entries to come will be checked against).
    pub fn with_history(history: H) -> Self {
        Self {
            next_index: 0,
            last_logged_at: None,
            config: None,
            keys: HashMap::new(),
            governance_active: 0,
            campaigns: BTreeMap::new(),
            accounts: BTreeMap::new(),
            beneficiaries: HashMap::new(),
            open_feedback: HashMap::new(),
            feedback_stats: BTreeMap::new(),
            coverage: BTreeMap::new(),
            mismatches: Vec::new(),
            history,
        }
    }

    /// The same live state over another history, made from this one by
    /// `f` (which must hold exactly what this state's entries recorded:
    /// a deserialized state's history is empty, and is replaced by the
    /// history saved with it).
    pub fn map_history<H2>(self, f: impl FnOnce(H) -> H2) -> State<H2> {
        State {
            next_index: self.next_index,
            last_logged_at: self.last_logged_at,
            config: self.config,
            keys: self.keys,
            governance_active: self.governance_active,
            campaigns: self.campaigns,
            accounts: self.accounts,
            beneficiaries: self.beneficiaries,
            open_feedback: self.open_feedback,
            feedback_stats: self.feedback_stats,
            coverage: self.coverage,
            mismatches: self.mismatches,
            history: f(self.history),
        }
    }

    /// A copy of the live state alone, with no history: what a snapshot of
    /// it saves (the history is not serialized), taken in the time of a
    /// copy rather than of an encoding.
    #[must_use]
    pub fn clone_live(&self) -> State<()> {
        State {
            next_index: self.next_index,
            last_logged_at: self.last_logged_at,
            config: self.config.clone(),
            keys: self.keys.clone(),
            governance_active: self.governance_active,
            campaigns: self.campaigns.clone(),
            accounts: self.accounts.clone(),
            beneficiaries: self.beneficiaries.clone(),
            open_feedback: self.open_feedback.clone(),
            feedback_stats: self.feedback_stats.clone(),
            coverage: self.coverage.clone(),
            mismatches: self.mismatches.clone(),
            history: (),
        }
    }

    /// The log's past as the rules keep it.
    pub fn history(&self) -> &H {
        &self.history
    }

    /// The history, to freeze, release or thaw its writes not yet stored
    /// (the server's books). Changing its records otherwise breaks the
    /// rules' invariants.
    pub fn history_mut(&mut self) -> &mut H {
        &mut self.history
    }

    /// The index the next entry must have (= entries applied so far).
    #[must_use]
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    /// The `logged_at` of the last entry, if any (the next must not be earlier).
    #[must_use]
    pub fn last_logged_at(&self) -> Option<DateTime<Utc>> {
        self.last_logged_at
    }

    /// The log's constants, once genesis is applied.
    #[must_use]
    pub fn config(&self) -> Option<&Config> {
        self.config.as_ref()
    }

    /// A signer key, granted or revoked.
    #[must_use]
    pub fn key(&self, keyid: &KeyId) -> Option<&KeyRecord> {
        self.keys.get(keyid)
    }

    /// All signer keys, sorted by key id.
    #[must_use]
    pub fn keys(&self) -> Vec<(&KeyId, &KeyRecord)> {
        let mut v: Vec<_> = self.keys.iter().collect();
        v.sort_unstable_by_key(|(k, _)| **k);
        v
    }

    /// A signer's public key if it was ever granted (revoked keys included, so
    /// a revoked signer is reported as `key_revoked`, not `unknown_key`).
    #[must_use]
    pub fn public_key(&self, keyid: &KeyId) -> Option<PublicKey> {
        self.keys.get(keyid).map(|k| k.public_key)
    }

    /// A campaign.
    #[must_use]
    pub fn campaign(&self, slug: &Slug) -> Option<&Campaign> {
        self.campaigns.get(slug)
    }

    /// All campaigns, sorted by slug.
    pub fn campaigns(&self) -> impl Iterator<Item = (&Slug, &Campaign)> {
        self.campaigns.iter()
    }

    /// All receiving accounts, sorted by slug.
    pub fn accounts(&self) -> impl Iterator<Item = (&Slug, &Account)> {
        self.accounts.iter()
    }

    /// A beneficiary.
    #[must_use]
    pub fn beneficiary(&self, c: &Commitment) -> Option<&Beneficiary> {
        self.beneficiaries.get(c)
    }

    /// Every bank balance that did not match the ledger, in log order.
    #[must_use]
    pub fn mismatches(&self) -> &[Reconciliation] {
        &self.mismatches
    }

    /// Rough heap size in bytes of the live state, without the history: it
    /// follows keys, campaigns, accounts, beneficiaries, regions and open
    /// items, not the log's length (the rules benchmark checks it).
    #[must_use]
    pub fn approx_bytes(&self) -> usize {
        let queue: usize = self
            .campaigns
            .values()
            .flat_map(|c| c.funds.values())
            .map(|f| f.queue.len() * 16 + f.out_by_region.len() * 48)
            .sum();
        self.beneficiaries.len() * 96
            + self.open_feedback.len() * 80
            + self.coverage.len() * 64
            + self.keys.len() * 256
            + self.campaigns.len() * 512
            + self.accounts.len() * 256
            + self.mismatches.len() * 96
            + queue
    }

    /// Counts of what the live state holds.
    #[must_use]
    pub fn sizes(&self) -> StateSizes {
        StateSizes {
            keys: self.keys.len(),
            campaigns: self.campaigns.len(),
            accounts: self.accounts.len(),
            beneficiaries: self.beneficiaries.len(),
            open_slices: self
                .campaigns
                .values()
                .flat_map(|c| c.funds.values())
                .map(|f| f.queue.len())
                .sum(),
            open_feedback: self.open_feedback.len(),
        }
    }
}

/// The lookups of the log's past ([`History`]): each fails only if the
/// history cannot be read.
impl<H: History> State<H> {
    /// A donation's record.
    ///
    /// # Errors
    /// The store's, if the history cannot be read.
    pub fn donation_record(&self, index: u64) -> Lookup<DonationRecord> {
        self.history.donation(index)
    }

    /// A disbursement's record.
    ///
    /// # Errors
    /// As [`State::donation_record`].
    pub fn disbursement_record(&self, index: u64) -> Lookup<DisbursementRecord> {
        self.history.disbursement(index)
    }

    /// The entry that used a statement id, and its type.
    ///
    /// # Errors
    /// As [`State::donation_record`].
    pub fn entry_of_id(&self, id: &str) -> Lookup<(u64, StatementKind)> {
        self.history.id(&id_key(id))
    }

    /// The donation entry with this (channel, external reference).
    ///
    /// # Errors
    /// As [`State::donation_record`].
    pub fn entry_of_ref(&self, channel: Channel, external_ref: &str) -> Lookup<u64> {
        self.history.reference(&ref_key(channel, external_ref))
    }
}

/// How many items of each kind a [`State`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateSizes {
    /// Signer keys, granted or revoked.
    pub keys: usize,
    /// Campaigns.
    pub campaigns: usize,
    /// Receiving accounts.
    pub accounts: usize,
    /// Beneficiaries.
    pub beneficiaries: usize,
    /// Unspent slices in all queues.
    pub open_slices: usize,
    /// Unresolved feedback.
    pub open_feedback: usize,
}
