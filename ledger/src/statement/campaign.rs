//! `campaign.open`, `campaign.update`, `campaign.close`: funds (SPEC 5.3).
//! All need the governance quorum.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{Amount, Asset, Slug, StatementError, StatementId, Text, Timestamp};
use crate::region::RegionCode;

/// A campaign's title, in Vietnamese and optionally English.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Title {
    /// Vietnamese title.
    pub vi: Text,
    /// English title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<Text>,
}

/// What kind of event or need a campaign answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CauseKind {
    /// Cold spell, frost.
    ColdSpell,
    /// Drought.
    Drought,
    /// Epidemic.
    Epidemic,
    /// Fire.
    Fire,
    /// Flood, flash flood.
    Flood,
    /// Landslide.
    Landslide,
    /// Anything else.
    Other,
    /// Standing support for poor households (not an event).
    Poverty,
    /// Saltwater intrusion.
    Salinity,
    /// Typhoon or tropical storm.
    Typhoon,
}

/// The cause of a campaign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cause {
    /// Its kind.
    pub kind: CauseKind,
    /// Its name (`Bão số 3 (Yagi)`).
    pub name: Text,
    /// The day it happened, if it is an event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    /// The affected regions (either edition of codes).
    #[serde(default)]
    pub regions: Vec<RegionCode>,
}

/// Priority 1 (highest) to 4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Priority(u8);

impl Priority {
    /// Checks 1 ≤ value ≤ 4.
    ///
    /// # Errors
    /// [`StatementError::Invalid`] when out of range.
    pub fn new(value: u8) -> Result<Self, StatementError> {
        if (1..=4).contains(&value) {
            Ok(Self(value))
        } else {
            Err(StatementError::invalid("priority", "must be 1 to 4"))
        }
    }

    /// The priority.
    #[must_use]
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Priority {
    type Error = StatementError;
    fn try_from(v: u8) -> Result<Self, StatementError> {
        Self::new(v)
    }
}

impl From<Priority> for u8 {
    fn from(p: Priority) -> u8 {
        p.0
    }
}

/// One step of an approval policy: from `from` (inclusive) upward, `approvals`
/// distinct approver keys are needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// The smallest amount this tier applies to (the first tier starts at 0).
    pub from: u64,
    /// Distinct approver keys needed (1 to 16).
    pub approvals: u8,
}

/// Approval policy per asset: amount thresholds → approvers needed (SPEC 6.4).
/// JSON: `{"VND": [{"from": 0, "approvals": 1}, {"from": 100000000, "approvals": 2}]}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApprovalPolicy(pub BTreeMap<Asset, Vec<Tier>>);

impl ApprovalPolicy {
    /// Approvals needed for `amount` of `asset`; `None` when the asset has no policy.
    #[must_use]
    pub fn approvals_for(&self, asset: &Asset, amount: u64) -> Option<u8> {
        let tiers = self.0.get(asset)?;
        tiers
            .iter()
            .rev()
            .find(|t| t.from <= amount)
            .map(|t| t.approvals)
    }

    fn validate(&self, assets: &[Asset]) -> Result<(), StatementError> {
        for a in assets {
            if !self.0.contains_key(a) {
                return Err(StatementError::invalid(
                    "approval_policy",
                    "every asset needs a policy",
                ));
            }
        }
        for (asset, tiers) in &self.0 {
            if !assets.contains(asset) {
                return Err(StatementError::invalid(
                    "approval_policy",
                    "policy for an asset the campaign does not take",
                ));
            }
            let first_ok = tiers.first().is_some_and(|t| t.from == 0);
            let increasing = tiers
                .windows(2)
                .all(|w| w[0].from < w[1].from && w[0].approvals <= w[1].approvals);
            let bounded = tiers.iter().all(|t| (1..=16).contains(&t.approvals));
            if !(first_ok && increasing && bounded) {
                return Err(StatementError::invalid(
                    "approval_policy",
                    "tiers start at 0, increase strictly, need 1 to 16 non-decreasing approvals",
                ));
            }
        }
        Ok(())
    }
}

/// A published unit rate: at most `amount` of `asset` per unit of `category`
/// (e.g. 100,000,000 ₫ per rebuilt house) unless the governance quorum also signs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitRate {
    /// The purpose category (`house_rebuild`, `house_repair`, `food_pack`).
    pub category: Slug,
    /// The asset.
    pub asset: Asset,
    /// The rate per unit.
    pub amount: Amount,
}

fn validate_rates(rates: &[UnitRate], assets: &[Asset]) -> Result<(), StatementError> {
    let mut keys: Vec<_> = rates.iter().map(|r| (&r.category, &r.asset)).collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.len() != rates.len() {
        return Err(StatementError::invalid(
            "unit_rates",
            "a (category, asset) is listed twice",
        ));
    }
    if rates.iter().any(|r| !assets.contains(&r.asset)) {
        return Err(StatementError::invalid(
            "unit_rates",
            "rate in an asset the campaign does not take",
        ));
    }
    Ok(())
}

fn validate_assets(assets: &[Asset]) -> Result<(), StatementError> {
    let mut a: Vec<_> = assets.iter().collect();
    a.sort_unstable();
    a.dedup();
    if a.is_empty() || a.len() != assets.len() {
        return Err(StatementError::invalid(
            "assets",
            "need at least one asset, each once",
        ));
    }
    Ok(())
}

/// Opens a fund.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignOpen {
    /// Unique statement id.
    pub id: StatementId,
    /// When it was signed.
    pub time: Timestamp,
    /// The campaign's stable name (`yagi-2024`).
    pub campaign: Slug,
    /// Its title.
    pub title: Title,
    /// Its cause.
    pub cause: Cause,
    /// Its priority.
    pub priority: Priority,
    /// The assets it takes (each must be a genesis asset).
    pub assets: Vec<Asset>,
    /// Approvals needed per asset and amount.
    pub approval_policy: ApprovalPolicy,
    /// Published unit rates.
    #[serde(default)]
    pub unit_rates: Vec<UnitRate>,
}

impl CampaignOpen {
    pub(crate) fn validate(&self) -> Result<(), StatementError> {
        validate_assets(&self.assets)?;
        self.approval_policy.validate(&self.assets)?;
        validate_rates(&self.unit_rates, &self.assets)
    }
}

/// Changes a fund. Absent fields stay as they were; present ones replace them
/// (`add_assets` adds). At least one field must be present.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignUpdate {
    /// Unique statement id.
    pub id: StatementId,
    /// When it was signed.
    pub time: Timestamp,
    /// Which campaign.
    pub campaign: Slug,
    /// New title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Title>,
    /// New cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    /// New priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// Assets to add (an asset is never removed: it may hold a balance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_assets: Option<Vec<Asset>>,
    /// New approval policy (must cover every asset, old and added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_policy: Option<ApprovalPolicy>,
    /// New unit rates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_rates: Option<Vec<UnitRate>>,
}

impl CampaignUpdate {
    pub(crate) fn validate(&self) -> Result<(), StatementError> {
        if self.title.is_none()
            && self.cause.is_none()
            && self.priority.is_none()
            && self.add_assets.is_none()
            && self.approval_policy.is_none()
            && self.unit_rates.is_none()
        {
            return Err(StatementError::invalid(
                "campaign.update",
                "changes nothing",
            ));
        }
        if let Some(a) = &self.add_assets {
            validate_assets(a)?;
        }
        Ok(())
    }

    /// Checks the update against the campaign's current assets; returns the
    /// assets after the update.
    pub(crate) fn merged_assets(
        &self,
        current: &[Asset],
        current_policy: &ApprovalPolicy,
    ) -> Result<Vec<Asset>, StatementError> {
        let mut assets = current.to_vec();
        for a in self.add_assets.iter().flatten() {
            if assets.contains(a) {
                return Err(StatementError::invalid("add_assets", "asset already taken"));
            }
            assets.push(a.clone());
        }
        self.approval_policy
            .as_ref()
            .unwrap_or(current_policy)
            .validate(&assets)?;
        if let Some(r) = &self.unit_rates {
            validate_rates(r, &assets)?;
        }
        Ok(assets)
    }
}

/// Closes a fund: it takes nothing new (SPEC 6.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignClose {
    /// Unique statement id.
    pub id: StatementId,
    /// When it was signed.
    pub time: Timestamp,
    /// Which campaign.
    pub campaign: Slug,
    /// Why.
    pub reason: Text,
}
