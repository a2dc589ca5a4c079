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
    fn qualified(&self, signers: &[KeyId], need: Need<'_>) -> Qualified {
        let mut q = Qualified::default();
        for (i, k) in signers.iter().enumerate() {
            if signers[..i].contains(k) {
                continue;
            }
            let Some(r) = self.keys.get(k) else { continue };
            if r.revoked_at.is_some() || !r.has_role(need.role) {
                continue;
            }
            q.has_role = true;
            let in_scope = need.campaign.is_none_or(|c| r.scope.covers_campaign(c))
                && need.region.is_none_or(|g| r.scope.covers_region(g));
            if in_scope {
                q.count += 1;
            } else {
                q.out_of_scope.push(*k);
            }
        }
        q
    }

    /// At least one qualified signer.
    pub(crate) fn require_one(
        &self,
        kind: StatementKind,
        signers: &[KeyId],
        need: Need<'_>,
    ) -> Result<(), Rejection> {
        self.require_many(kind, signers, need, 1)
    }

    /// At least `needed` distinct qualified signers.
    pub(crate) fn require_many(
        &self,
        kind: StatementKind,
        signers: &[KeyId],
        need: Need<'_>,
        needed: u8,
    ) -> Result<(), Rejection> {
        let q = self.qualified(signers, need);
        if !q.has_role {
            return Err(Rejection::Unauthorized {
                kind: kind.as_str(),
                role: need.role,
            });
        }
        if q.count >= usize::from(needed) {
            return Ok(());
        }
        // Short of signatures: name the keys that hold the role but not the
        // scope, if any signed (the fix is theirs), else count.
        if q.out_of_scope.is_empty() {
            Err(Rejection::InsufficientApprovals {
                role: need.role,
                needed,
                got: q.count,
            })
        } else {
            Err(Rejection::OutOfScope {
                role: need.role,
                keys: q.out_of_scope,
                in_scope: q.count,
                needed,
            })
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
        self.qualified(signers, Need::new(Role::Governance)).count >= threshold
    }
}

/// The signers of an entry, as a rule counts them.
#[derive(Default)]
struct Qualified {
    /// Distinct signers with the role and in scope.
    count: usize,
    /// Whether any signer holds the role.
    has_role: bool,
    /// Signers with the role but out of scope, in signing order.
    out_of_scope: Vec<KeyId>,
}
