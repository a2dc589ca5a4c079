//! `beneficiary.enroll` and `beneficiary.update`: the list of people needing
//! support, as salted commitments (SPEC 5.6 and 6.9). Signed by a `field` key
//! whose scope covers the region.

use serde::{Deserialize, Serialize};

use super::{Commitment, Priority, StatementError, StatementId, Timestamp};
use crate::region::{Level, RegionCode};

/// Why a household or person is supported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BeneficiaryCategory {
    /// A person with a disability.
    Disabled,
    /// A household hit by a disaster.
    DisasterAffected,
    /// An elderly person living alone.
    ElderlyAlone,
    /// A near-poor household (hộ cận nghèo).
    NearPoorHousehold,
    /// An orphan.
    Orphan,
    /// Another category the Front publishes.
    Other,
    /// A poor household (hộ nghèo).
    PoorHousehold,
}

impl BeneficiaryCategory {
    /// The category's name as written in statements.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::DisasterAffected => "disaster_affected",
            Self::ElderlyAlone => "elderly_alone",
            Self::NearPoorHousehold => "near_poor_household",
            Self::Orphan => "orphan",
            Self::Other => "other",
            Self::PoorHousehold => "poor_household",
        }
    }
}

/// Enrolls a beneficiary in a commune.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeneficiaryEnroll {
    /// Unique statement id.
    pub id: StatementId,
    /// When it was signed.
    pub time: Timestamp,
    /// The beneficiary's commitment.
    pub beneficiary: Commitment,
    /// The commune (a commune-level code of either edition).
    pub region: RegionCode,
    /// The category.
    pub category: BeneficiaryCategory,
    /// The priority, 1 (highest) to 4.
    pub priority: Priority,
}

/// Changes an enrolled beneficiary. Absent fields stay; at least one is present.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeneficiaryUpdate {
    /// Unique statement id.
    pub id: StatementId,
    /// When it was signed.
    pub time: Timestamp,
    /// The beneficiary's commitment.
    pub beneficiary: Commitment,
    /// New commune (the signer's scope must cover the old and the new one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<RegionCode>,
    /// New category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<BeneficiaryCategory>,
    /// New priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// `false` takes the beneficiary off the active list (moved away, deceased);
    /// `true` puts them back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

pub(crate) fn require_commune(field: &'static str, r: &RegionCode) -> Result<(), StatementError> {
    if r.level() == Level::Commune {
        Ok(())
    } else {
        Err(StatementError::invalid(
            field,
            "must be a commune-level code",
        ))
    }
}

impl BeneficiaryEnroll {
    pub(crate) fn validate(&self) -> Result<(), StatementError> {
        require_commune("region", &self.region)
    }
}

impl BeneficiaryUpdate {
    pub(crate) fn validate(&self) -> Result<(), StatementError> {
        if self.region.is_none()
            && self.category.is_none()
            && self.priority.is_none()
            && self.active.is_none()
        {
            return Err(StatementError::invalid(
                "beneficiary.update",
                "changes nothing",
            ));
        }
        match &self.region {
            Some(r) => require_commune("region", r),
            None => Ok(()),
        }
    }
}
