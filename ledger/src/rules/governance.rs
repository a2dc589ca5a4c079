//! Statements that need the governance quorum: keys, campaigns, accounts.

use super::state::{Account, Campaign};
use super::{DuplicateKind, Effects, Rejection, State, VerifiedEntry};
use crate::statement::{
    AccountClose, AccountRegister, Asset, CampaignClose, CampaignOpen, CampaignUpdate, KeyGrant,
    KeyRevoke, Role, StatementKind,
};

fn done(e: &VerifiedEntry) -> Effects {
    Effects {
        index: e.index,
        ..Effects::default()
    }
}

impl<H> State<H> {
    fn check_log_assets<'a>(
        &self,
        assets: impl IntoIterator<Item = &'a Asset>,
    ) -> Result<(), Rejection> {
        let log_assets = self.config.as_ref().map(|c| &c.assets);
        for a in assets {
            if !log_assets.is_some_and(|l| l.contains(a)) {
                return Err(Rejection::UnknownAsset { asset: a.clone() });
            }
        }
        Ok(())
    }

    pub(crate) fn key_grant(
        &mut self,
        e: &VerifiedEntry,
        k: &KeyGrant,
    ) -> Result<Effects, Rejection> {
        self.require_governance(StatementKind::KeyGrant, &e.signers)?;
        let keyid = k.public_key.key_id();
        if let Some(old) = self.keys.get(&keyid) {
            return Err(match old.revoked_at {
                Some(at) => Rejection::KeyRevoked {
                    keyid,
                    revoked_at: at,
                },
                None => Rejection::Duplicate {
                    what: DuplicateKind::Key { keyid },
                    existing_index: old.granted_at,
                },
            });
        }
        if k.roles.contains(&Role::Governance) {
            self.governance_active += 1;
        }
        self.keys.insert(
            keyid,
            super::KeyRecord {
                public_key: k.public_key,
                name: k.name.clone(),
                title: Some(k.title.clone()),
                roles: k.roles.clone(),
                scope: k.scope.clone(),
                granted_at: e.index,
                revoked_at: None,
            },
        );
        Ok(done(e))
    }

    pub(crate) fn key_revoke(
        &mut self,
        e: &VerifiedEntry,
        k: &KeyRevoke,
    ) -> Result<Effects, Rejection> {
        self.require_governance(StatementKind::KeyRevoke, &e.signers)?;
        let threshold = self.config.as_ref().map_or(0, |c| c.threshold);
        let rec = self
            .keys
            .get(&k.keyid)
            .ok_or(Rejection::UnknownKey { keyid: k.keyid })?;
        if let Some(at) = rec.revoked_at {
            return Err(Rejection::KeyRevoked {
                keyid: k.keyid,
                revoked_at: at,
            });
        }
        let is_gov = rec.has_role(Role::Governance);
        if is_gov && self.governance_active - 1 < usize::from(threshold) {
            return Err(Rejection::QuorumUnreachable {
                remaining: self.governance_active - 1,
                threshold,
            });
        }
        if is_gov {
            self.governance_active -= 1;
        }
        if let Some(rec) = self.keys.get_mut(&k.keyid) {
            rec.revoked_at = Some(e.index);
        }
        Ok(done(e))
    }

    pub(crate) fn campaign_open(
        &mut self,
        e: &VerifiedEntry,
        c: &CampaignOpen,
    ) -> Result<Effects, Rejection> {
        self.require_governance(StatementKind::CampaignOpen, &e.signers)?;
        if let Some(old) = self.campaigns.get(&c.campaign) {
            return Err(Rejection::Duplicate {
                what: DuplicateKind::Campaign {
                    campaign: c.campaign.clone(),
                },
                existing_index: old.opened_at,
            });
        }
        self.check_log_assets(&c.assets)?;
        self.campaigns.insert(
            c.campaign.clone(),
            Campaign {
                opened_at: e.index,
                title: c.title.clone(),
                cause: c.cause.clone(),
                priority: c.priority,
                assets: c.assets.clone(),
                policy: c.approval_policy.clone(),
                unit_rates: c.unit_rates.clone(),
                closed_at: None,
                funds: c
                    .assets
                    .iter()
                    .map(|a| (a.clone(), Default::default()))
                    .collect(),
            },
        );
        Ok(done(e))
    }

    pub(crate) fn campaign_update(
        &mut self,
        e: &VerifiedEntry,
        u: &CampaignUpdate,
    ) -> Result<Effects, Rejection> {
        self.require_governance(StatementKind::CampaignUpdate, &e.signers)?;
        let c = self.open_campaign(&u.campaign)?;
        let assets = u.merged_assets(&c.assets, &c.policy)?;
        self.check_log_assets(u.add_assets.iter().flatten())?;
        let Some(c) = self.campaigns.get_mut(&u.campaign) else {
            return Err(Rejection::UnknownCampaign {
                campaign: u.campaign.clone(),
            });
        };
        for a in u.add_assets.iter().flatten() {
            c.funds.entry(a.clone()).or_default();
        }
        c.assets = assets;
        if let Some(t) = &u.title {
            c.title = t.clone();
        }
        if let Some(x) = &u.cause {
            c.cause = x.clone();
        }
        if let Some(p) = u.priority {
            c.priority = p;
        }
        if let Some(p) = &u.approval_policy {
            c.policy = p.clone();
        }
        if let Some(r) = &u.unit_rates {
            c.unit_rates = r.clone();
        }
        Ok(done(e))
    }

    pub(crate) fn campaign_close(
        &mut self,
        e: &VerifiedEntry,
        c: &CampaignClose,
    ) -> Result<Effects, Rejection> {
        self.require_governance(StatementKind::CampaignClose, &e.signers)?;
        self.open_campaign(&c.campaign)?;
        if let Some(camp) = self.campaigns.get_mut(&c.campaign) {
            camp.closed_at = Some(e.index);
        }
        Ok(done(e))
    }

    pub(crate) fn account_register(
        &mut self,
        e: &VerifiedEntry,
        r: &AccountRegister,
    ) -> Result<Effects, Rejection> {
        self.require_governance(StatementKind::AccountRegister, &e.signers)?;
        if let Some(old) = self.accounts.get(&r.account) {
            return Err(Rejection::Duplicate {
                what: DuplicateKind::Account {
                    account: r.account.clone(),
                },
                existing_index: old.registered_at,
            });
        }
        let c = self.open_campaign(&r.campaign)?;
        if !c.assets.contains(&r.asset) {
            return Err(Rejection::UnknownAsset {
                asset: r.asset.clone(),
            });
        }
        self.accounts.insert(
            r.account.clone(),
            Account {
                campaign: r.campaign.clone(),
                kind: r.kind,
                institution: r.institution.clone(),
                number: r.number.as_str().to_owned(),
                holder: r.holder.clone(),
                asset: r.asset.clone(),
                derived: r.opening_balance.get(),
                registered_at: e.index,
                closed_at: None,
                last: None,
            },
        );
        Ok(done(e))
    }

    pub(crate) fn account_close(
        &mut self,
        e: &VerifiedEntry,
        c: &AccountClose,
    ) -> Result<Effects, Rejection> {
        self.require_governance(StatementKind::AccountClose, &e.signers)?;
        let a = self
            .accounts
            .get_mut(&c.account)
            .ok_or_else(|| Rejection::UnknownAccount {
                account: c.account.clone(),
            })?;
        if a.closed_at.is_some() {
            return Err(Rejection::AccountClosed {
                account: c.account.clone(),
            });
        }
        a.closed_at = Some(e.index);
        Ok(done(e))
    }

    /// The campaign, if it exists and is open.
    pub(crate) fn open_campaign(
        &self,
        slug: &crate::statement::Slug,
    ) -> Result<&Campaign, Rejection> {
        let c = self
            .campaigns
            .get(slug)
            .ok_or_else(|| Rejection::UnknownCampaign {
                campaign: slug.clone(),
            })?;
        if c.closed_at.is_some() {
            return Err(Rejection::CampaignClosed {
                campaign: slug.clone(),
            });
        }
        Ok(c)
    }

    /// The campaign, open or closed.
    pub(crate) fn any_campaign(
        &self,
        slug: &crate::statement::Slug,
    ) -> Result<&Campaign, Rejection> {
        self.campaigns
            .get(slug)
            .ok_or_else(|| Rejection::UnknownCampaign {
                campaign: slug.clone(),
            })
    }
}
