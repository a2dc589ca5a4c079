//! `key.grant` and `key.revoke`: the signer registry, kept inside the log
//! (SPEC 2 and 5.2). Both need the governance quorum.

use serde::{Deserialize, Serialize};

use super::{KeyId, PublicKey, Slug, StatementError, StatementId, Text, Timestamp};
use crate::region::RegionCode;

/// What a key may sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Role {
    /// Approves disbursements, transfers and their reversals.
    Approver,
    /// Works in the field: enrolls beneficiaries, acknowledges deliveries, resolves feedback.
    Field,
    /// Belongs to the governance quorum.
    Governance,
    /// Records incoming money: donations, bank balances, feedback intake.
    Intake,
}

impl Role {
    /// The role's name as written in statements.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Approver => "approver",
            Role::Field => "field",
            Role::Governance => "governance",
            Role::Intake => "intake",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a key may act. An absent list means "everywhere".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// The campaigns the key may act on; absent: all campaigns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaigns: Option<Vec<Slug>>,
    /// The regions the key may act in (a province covers its communes); absent:
    /// the whole country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<RegionCode>>,
}

impl Scope {
    /// Whether the scope covers `campaign` (when the statement names one).
    #[must_use]
    pub fn covers_campaign(&self, campaign: &Slug) -> bool {
        self.campaigns.as_ref().is_none_or(|c| c.contains(campaign))
    }

    /// Whether the scope covers `region` (when the statement names one).
    #[must_use]
    pub fn covers_region(&self, region: &RegionCode) -> bool {
        self.regions
            .as_ref()
            .is_none_or(|rs| rs.iter().any(|r| r.contains(region)))
    }
}

/// Grants a signer key its roles and scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyGrant {
    /// Unique statement id.
    pub id: StatementId,
    /// When it was signed.
    pub time: Timestamp,
    /// The Ed25519 public key granted (base64).
    pub public_key: PublicKey,
    /// Who holds it.
    pub name: Text,
    /// Their title.
    pub title: Text,
    /// The roles, at least one, each once.
    pub roles: Vec<Role>,
    /// Where the key may act.
    #[serde(default)]
    pub scope: Scope,
}

/// Revokes a key from this point of the log on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRevoke {
    /// Unique statement id.
    pub id: StatementId,
    /// When it was signed.
    pub time: Timestamp,
    /// The revoked key's id.
    pub keyid: KeyId,
    /// Why (lost phone, left office, compromised).
    pub reason: Text,
}

impl KeyGrant {
    pub(crate) fn validate(&self) -> Result<(), StatementError> {
        let mut roles = self.roles.clone();
        roles.sort_unstable();
        roles.dedup();
        if roles.is_empty() || roles.len() != self.roles.len() {
            return Err(StatementError::invalid(
                "roles",
                "need at least one role, each once",
            ));
        }
        if self.scope.campaigns.as_ref().is_some_and(Vec::is_empty)
            || self.scope.regions.as_ref().is_some_and(Vec::is_empty)
        {
            return Err(StatementError::invalid(
                "scope",
                "omit a list instead of leaving it empty",
            ));
        }
        Ok(())
    }
}
