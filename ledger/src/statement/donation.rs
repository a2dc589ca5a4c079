//! `donation` (an intake key) and `transfer` (approvers of the source campaign):
//! money in, and money moved between campaigns (SPEC 5.5).

use serde::{Deserialize, Serialize};

use super::{
    Amount, Asset, Commitment, ExternalRef, Slug, StatementError, StatementId, Text, Timestamp,
};

/// The longest run of digits allowed in a memo or donor name: anything longer
/// looks like an account, phone or ID number and must be masked before signing
/// (SPEC 6.10). References belong in `external_ref`.
pub const MAX_DIGIT_RUN: usize = 8;

/// How a donation arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Channel {
    /// A bank transfer.
    Bank,
    /// Cash handed to an office.
    Cash,
    /// An e-wallet transfer.
    EWallet,
    /// Goods in kind.
    InKind,
}

impl Channel {
    /// The channel's name as written in statements.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Bank => "bank",
            Channel::Cash => "cash",
            Channel::EWallet => "e_wallet",
            Channel::InKind => "in_kind",
        }
    }

    /// Whether donations on this channel must name a registered account.
    #[must_use]
    pub fn needs_account(self) -> bool {
        matches!(self, Channel::Bank | Channel::EWallet)
    }
}

/// A gift received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Donation {
    /// Unique statement id.
    pub id: StatementId,
    /// When it was signed.
    pub time: Timestamp,
    /// The campaign it was given to.
    pub campaign: Slug,
    /// The receiving account (required for `bank` and `e_wallet`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<Slug>,
    /// The amount.
    pub amount: Amount,
    /// The asset.
    pub asset: Asset,
    /// The channel.
    pub channel: Channel,
    /// The bank transaction id (or receipt number); unique per channel.
    pub external_ref: ExternalRef,
    /// The donor's name as the donor chose it (full, initials); absent: anonymous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub donor_name: Option<Text>,
    /// An optional salted commitment the donor can use to find their gifts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub donor_commitment: Option<Commitment>,
    /// The transfer memo, with account, phone and ID numbers masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<Text>,
    /// When the bank (or office) received it.
    pub received_at: Timestamp,
}

fn check_masked(field: &'static str, text: Option<&Text>) -> Result<(), StatementError> {
    match text {
        Some(t) if t.longest_digit_run() > MAX_DIGIT_RUN => {
            Err(StatementError::PersonalData { field })
        }
        _ => Ok(()),
    }
}

impl Donation {
    pub(crate) fn validate(&self) -> Result<(), StatementError> {
        if self.channel.needs_account() && self.account.is_none() {
            return Err(StatementError::invalid(
                "account",
                "bank and e-wallet donations name their receiving account",
            ));
        }
        if self.received_at > self.time {
            return Err(StatementError::invalid(
                "received_at",
                "after the statement was signed",
            ));
        }
        check_masked("memo", self.memo.as_ref())?;
        check_masked("donor_name", self.donor_name.as_ref())
    }
}

/// Funds moved from one campaign to another (national → provincial fund).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// Unique statement id.
    pub id: StatementId,
    /// When it was signed.
    pub time: Timestamp,
    /// The source campaign (its approval policy applies).
    pub from_campaign: Slug,
    /// The destination campaign.
    pub to_campaign: Slug,
    /// The amount.
    pub amount: Amount,
    /// The asset.
    pub asset: Asset,
    /// The paying account, if the money leaves a registered account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_account: Option<Slug>,
    /// The receiving account, if the money lands on a registered account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_account: Option<Slug>,
    /// Why.
    pub purpose: Text,
}

impl Transfer {
    pub(crate) fn validate(&self) -> Result<(), StatementError> {
        if self.from_campaign == self.to_campaign {
            return Err(StatementError::invalid(
                "to_campaign",
                "same as from_campaign",
            ));
        }
        Ok(())
    }
}
