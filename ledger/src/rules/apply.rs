//! The entry point of the rules: order, time, genesis, unique ids, known
//! signers, then the statement's own rules.

use chrono::{DateTime, SecondsFormat, Utc};

use super::history::{HistoryMut, id_key};
use super::state::{Config, KeyRecord};
use super::{ApplyError, Effects, Rejection, State, VerifiedEntry};
use crate::statement::{Genesis, Role, Statement};

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl<H: HistoryMut> State<H> {
    /// Applies one verified entry (SPEC 6). On success the state moves past the
    /// entry; on error nothing changes.
    ///
    /// # Errors
    /// The [`Rejection`] of the first rule the entry breaks, or
    /// [`ApplyError::Unavailable`] if the history cannot be read.
    pub fn apply(&mut self, e: &VerifiedEntry) -> Result<Effects, ApplyError> {
        if e.index != self.next_index {
            return Err(Rejection::OutOfOrder {
                expected: self.next_index,
                got: e.index,
            }
            .into());
        }
        if let Some(prev) = self.last_logged_at
            && e.logged_at < prev
        {
            return Err(Rejection::TimeRegression {
                previous: rfc3339(prev),
                logged_at: rfc3339(e.logged_at),
            }
            .into());
        }
        let s = &e.statement;
        let max_skew = match (&self.config, s) {
            (None, Statement::Genesis(g)) => g.defaults.max_skew_seconds,
            (None, _) => return Err(Rejection::NotGenesis.into()),
            (Some(_), Statement::Genesis(_)) => return Err(Rejection::GenesisExists.into()),
            (Some(c), _) => c.max_skew_seconds,
        };
        // A statement already logged is a duplicate before anything about
        // its time: an envelope sent again days later is answered with its
        // entry (SPEC 6.2, 8.2), not refused as too old.
        let id = id_key(s.id().as_str());
        if let Some((existing_index, _)) = self.history.id(&id)? {
            return Err(Rejection::Duplicate {
                what: super::DuplicateKind::Id { id: s.id().clone() },
                existing_index,
            }
            .into());
        }
        let skew = (s.time().get() - e.logged_at).num_seconds().abs();
        if skew > i64::from(max_skew) {
            return Err(Rejection::TimeSkew {
                skew_seconds: skew,
                max_seconds: max_skew,
            }
            .into());
        }
        let effects = match s {
            Statement::Genesis(g) => self.genesis(e, g)?,
            other => {
                self.check_signers_known(&e.signers)?;
                self.dispatch(e, other)?
            }
        };
        self.history.put_id(id, e.index, s.kind());
        self.next_index += 1;
        self.last_logged_at = Some(e.logged_at);
        Ok(effects)
    }

    /// The statement's own rules. The four that look up the log's past
    /// (a donation's reference, the disbursement acknowledged, the entry
    /// reversed, the feedback resolved) can find it unreadable; the others decide from the live
    /// state alone.
    fn dispatch(&mut self, e: &VerifiedEntry, s: &Statement) -> Result<Effects, ApplyError> {
        Ok(match s {
            Statement::Acknowledgment(a) => return self.acknowledgment(e, a),
            Statement::Donation(d) => return self.donation(e, d),
            Statement::Reversal(r) => return self.reversal(e, r),
            Statement::FeedbackResolve(f) => return self.feedback_resolve(e, f),
            Statement::AccountBalance(b) => self.account_balance(e, b)?,
            Statement::AccountClose(c) => self.account_close(e, c)?,
            Statement::AccountRegister(r) => self.account_register(e, r)?,
            Statement::BeneficiaryEnroll(b) => self.beneficiary_enroll(e, b)?,
            Statement::BeneficiaryUpdate(b) => self.beneficiary_update(e, b)?,
            Statement::CampaignClose(c) => self.campaign_close(e, c)?,
            Statement::CampaignOpen(c) => self.campaign_open(e, c)?,
            Statement::CampaignUpdate(c) => self.campaign_update(e, c)?,
            Statement::Disbursement(d) => self.disbursement(e, d)?,
            Statement::FeedbackOpen(f) => self.feedback_open(e, f)?,
            Statement::KeyGrant(k) => self.key_grant(e, k)?,
            Statement::KeyRevoke(k) => self.key_revoke(e, k)?,
            Statement::Transfer(t) => self.transfer(e, t)?,
            // Handled in `apply` before dispatch.
            Statement::Genesis(_) => return Err(Rejection::GenesisExists.into()),
        })
    }

    /// SPEC 6.1: entry 0, signed by at least M of its own governance keys.
    fn genesis(&mut self, e: &VerifiedEntry, g: &Genesis) -> Result<Effects, Rejection> {
        let ids: Vec<_> = g
            .governance
            .keys
            .iter()
            .map(|k| k.public_key.key_id())
            .collect();
        if let Some(k) = e.signers.iter().find(|k| !ids.contains(k)) {
            return Err(Rejection::UnknownKey { keyid: *k });
        }
        let mut distinct = e.signers.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() < usize::from(g.governance.threshold) {
            return Err(Rejection::InsufficientApprovals {
                role: Role::Governance,
                needed: g.governance.threshold,
                got: distinct.len(),
            });
        }
        for k in &g.governance.keys {
            self.keys.insert(
                k.public_key.key_id(),
                KeyRecord {
                    public_key: k.public_key,
                    name: k.name.clone(),
                    title: k.title.clone(),
                    roles: vec![Role::Governance],
                    scope: Default::default(),
                    granted_at: e.index,
                    revoked_at: None,
                },
            );
        }
        self.governance_active = g.governance.keys.len();
        self.config = Some(Config {
            origin: g.origin.clone(),
            threshold: g.governance.threshold,
            max_skew_seconds: g.defaults.max_skew_seconds,
            feedback_due_days: g.defaults.feedback_due_days,
            assets: g.assets.iter().map(|a| a.code.clone()).collect(),
        });
        Ok(Effects {
            index: e.index,
            ..Effects::default()
        })
    }
}
