//! `disbursement` (approvers per policy) and `acknowledgment` (a `field` key):
//! aid going out, and its receipt confirmed (SPEC 5.7, 6.4 and 6.5).

use serde::{Deserialize, Serialize};

use super::{
    Amount, Asset, Commitment, Digest, EntryRef, Slug, StatementError, StatementId, Text, Timestamp,
};
use crate::region::RegionCode;

/// Who receives a disbursement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Recipient {
    /// An enrolled beneficiary, by commitment.
    Beneficiary(Commitment),
    /// A public organization (a commune People's Committee, a school), by name.
    Organization(Text),
}

/// Aid paid or handed out from a campaign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disbursement {
    /// Unique statement id.
    pub id: StatementId,
    /// When it was signed.
    pub time: Timestamp,
    /// The paying campaign.
    pub campaign: Slug,
    /// The amount.
    pub amount: Amount,
    /// The asset.
    pub asset: Asset,
    /// The recipient.
    pub recipient: Recipient,
    /// Where (a beneficiary's own commune; any level for an organization).
    pub region: RegionCode,
    /// What for.
    pub purpose: Text,
    /// The unit-rate category it falls under, if any (`house_rebuild`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Slug>,
    /// How many units of the category (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<u32>,
    /// The paying account, if the money leaves a registered account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<Slug>,
}

impl Disbursement {
    pub(crate) fn validate(&self) -> Result<(), StatementError> {
        if self.units == Some(0) {
            return Err(StatementError::invalid("units", "at least 1"));
        }
        if self.units.is_some() && self.category.is_none() {
            return Err(StatementError::invalid("units", "only with a category"));
        }
        if let Recipient::Beneficiary(_) = self.recipient {
            super::beneficiary::require_commune("region", &self.region)?;
        }
        Ok(())
    }
}

/// Confirms that (part of) a disbursement reached its recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acknowledgment {
    /// Unique statement id.
    pub id: StatementId,
    /// When it was signed.
    pub time: Timestamp,
    /// The disbursement.
    pub disbursement: EntryRef,
    /// The amount received.
    pub amount: Amount,
    /// Hashes of evidence kept off the log (signed receipt, photo).
    #[serde(default)]
    pub evidence: Vec<Digest>,
}

impl Acknowledgment {
    pub(crate) fn validate(&self) -> Result<(), StatementError> {
        if self.evidence.len() > 16 {
            return Err(StatementError::invalid("evidence", "at most 16 hashes"));
        }
        Ok(())
    }
}
