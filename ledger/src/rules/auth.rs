//! Signer authorization (SPEC 6.1 and 6.4): role, scope and quorum at this
//! point of the log.
//!
//! A statement may carry more signatures than it needs (a recipient's key on an
//! acknowledgment, an extra officer): signers that do not qualify are ignored,
//! but a revoked or unknown signer makes the whole entry invalid.

use super::{Rejection, State};
use crate::region::RegionCode;
use crate::statement::{KeyId, Role, Slug, StatementKind};

/// What a signer must hold for a statement.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Need<'a> {
    pub(crate) role: Role,
    pub(crate) campaign: Option<&'a Slug>,
    pub(crate) region: Option<&'a RegionCode>,
}

impl<'a> Need<'a> {
    pub(crate) fn new(role: Role) -> Self {
        Self {
            role,
            campaign: None,
            region: None,
        }
    }

    pub(crate) fn campaign(mut self, c: &'a Slug) -> Self {
        self.campaign = Some(c);
        self
    }

    pub(crate) fn region(mut self, r: &'a RegionCode) -> Self {
        self.region = Some(r);
        self
    }
}

impl<H> State<H> {
    /// Every signer is granted and not revoked.
    pub(crate) fn check_signers_known(&self, signers: &[KeyId]) -> Result<(), Rejection> {
        for k in signers {
            match self.keys.get(k) {
                None => return Err(Rejection::UnknownKey { keyid: *k }),
                Some(r) => {
                    if let Some(at) = r.revoked_at {
                        return Err(Rejection::KeyRevoked {
                            keyid: *k,
                            revoked_at: at,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// (distinct qualified signers, whether any signer holds the role at all).
    fn qualified(&self, signers: &[KeyId], need: Need<'_>) -> (usize, bool) {
        let mut count = 0;
        let mut has_role = false;
        for (i, k) in signers.iter().enumerate() {
            if signers[..i].contains(k) {
                continue;
            }
            let Some(r) = self.keys.get(k) else { continue };
            if r.revoked_at.is_some() || !r.has_role(need.role) {
                continue;
            }
            has_role = true;
            let in_scope = need.campaign.is_none_or(|c| r.scope.covers_campaign(c))
                && need.region.is_none_or(|g| r.scope.covers_region(g));
            if in_scope {
                count += 1;
            }
        }
        (count, has_role)
    }

    /// At least one qualified signer.
    pub(crate) fn require_one(
        &self,
        kind: StatementKind,
        signers: &[KeyId],
        need: Need<'_>,
    ) -> Result<(), Rejection> {
        match self.qualified(signers, need) {
            (0, false) => Err(Rejection::Unauthorized {
                kind: kind.as_str(),
                role: need.role,
            }),
            (0, true) => Err(Rejection::OutOfScope { role: need.role }),
            _ => Ok(()),
        }
    }

    /// At least `needed` distinct qualified signers.
    pub(crate) fn require_many(
        &self,
        kind: StatementKind,
        signers: &[KeyId],
        need: Need<'_>,
        needed: u8,
    ) -> Result<(), Rejection> {
        match self.qualified(signers, need) {
            (_, false) => Err(Rejection::Unauthorized {
                kind: kind.as_str(),
                role: need.role,
            }),
            (got, true) if got < usize::from(needed) => Err(Rejection::InsufficientApprovals {
                role: need.role,
                needed,
                got,
            }),
            _ => Ok(()),
        }
    }

    /// The governance quorum signed.
    pub(crate) fn require_governance(
        &self,
        kind: StatementKind,
        signers: &[KeyId],
    ) -> Result<(), Rejection> {
        let threshold = self.config.as_ref().map_or(u8::MAX, |c| c.threshold);
        self.require_many(kind, signers, Need::new(Role::Governance), threshold)
    }

    /// Whether the governance quorum signed (without an error).
    pub(crate) fn has_governance(&self, signers: &[KeyId]) -> bool {
        let threshold = self
            .config
            .as_ref()
            .map_or(usize::MAX, |c| usize::from(c.threshold));
        self.qualified(signers, Need::new(Role::Governance)).0 >= threshold
    }
}
