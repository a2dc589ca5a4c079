//! Beneficiaries (enrolled versus reached per commune and category) and the
//! citizen feedback channel (on-time rate per category).

use chrono::Duration;

use super::HistoryMut;
use super::auth::Need;
use super::state::{Beneficiary, FeedbackRecord};
use super::{ApplyError, DuplicateKind, Effects, Rejection, State, VerifiedEntry};
use crate::statement::{
    BeneficiaryEnroll, BeneficiaryUpdate, Commitment, FeedbackOpen, FeedbackResolve, Role,
    StatementKind,
};

fn done(e: &VerifiedEntry) -> Effects {
    Effects {
        index: e.index,
        ..Effects::default()
    }
}

impl<H: HistoryMut> State<H> {
    /// Adds (`sign = true`) or removes a beneficiary from the coverage counts.
    fn count_coverage(&mut self, b: &Beneficiary, add: bool) {
        if !b.active {
            return;
        }
        let cell = self
            .coverage
            .entry((b.region.clone(), b.category))
            .or_default();
        let reached = u64::from(b.received > 0);
        if add {
            cell.enrolled += 1;
            cell.reached += reached;
        } else {
            cell.enrolled = cell.enrolled.saturating_sub(1);
            cell.reached = cell.reached.saturating_sub(reached);
        }
    }

    /// Counts one more (or one fewer) disbursement received by a beneficiary.
    pub(crate) fn mark_reached(&mut self, c: &Commitment, more: bool) {
        let Some(b) = self.beneficiaries.get(c).cloned() else {
            return;
        };
        self.count_coverage(&b, false);
        let received = if more {
            b.received.saturating_add(1)
        } else {
            b.received.saturating_sub(1)
        };
        let b = Beneficiary { received, ..b };
        self.count_coverage(&b, true);
        self.beneficiaries.insert(*c, b);
    }

    pub(crate) fn beneficiary_enroll(
        &mut self,
        e: &VerifiedEntry,
        b: &BeneficiaryEnroll,
    ) -> Result<Effects, Rejection> {
        if let Some(old) = self.beneficiaries.get(&b.beneficiary) {
            return Err(Rejection::Duplicate {
                what: DuplicateKind::Beneficiary,
                existing_index: old.enrolled_at,
            });
        }
        self.require_one(
            StatementKind::BeneficiaryEnroll,
            &e.signers,
            Need::new(Role::Field).region(&b.region),
        )?;
        let rec = Beneficiary {
            enrolled_at: e.index,
            region: b.region.clone(),
            category: b.category,
            priority: b.priority,
            active: true,
            received: 0,
        };
        self.count_coverage(&rec, true);
        self.beneficiaries.insert(b.beneficiary, rec);
        Ok(done(e))
    }

    pub(crate) fn beneficiary_update(
        &mut self,
        e: &VerifiedEntry,
        u: &BeneficiaryUpdate,
    ) -> Result<Effects, Rejection> {
        let old = self
            .beneficiaries
            .get(&u.beneficiary)
            .ok_or(Rejection::UnknownBeneficiary)?;
        let kind = StatementKind::BeneficiaryUpdate;
        self.require_one(kind, &e.signers, Need::new(Role::Field).region(&old.region))?;
        if let Some(r) = &u.region {
            self.require_one(kind, &e.signers, Need::new(Role::Field).region(r))?;
        }
        let old = old.clone();
        let new = Beneficiary {
            region: u.region.clone().unwrap_or_else(|| old.region.clone()),
            category: u.category.unwrap_or(old.category),
            priority: u.priority.unwrap_or(old.priority),
            active: u.active.unwrap_or(old.active),
            ..old.clone()
        };
        self.count_coverage(&old, false);
        self.count_coverage(&new, true);
        self.beneficiaries.insert(u.beneficiary, new);
        Ok(done(e))
    }

    pub(crate) fn feedback_open(
        &mut self,
        e: &VerifiedEntry,
        f: &FeedbackOpen,
    ) -> Result<Effects, Rejection> {
        let mut need = Need::new(Role::Intake).region(&f.region);
        if let Some(c) = &f.campaign {
            self.any_campaign(c)?;
            need = need.campaign(c);
        }
        if let Some(r) = &f.concerns
            && r.index >= self.next_index
        {
            return Err(Rejection::UnknownEntry { index: r.index });
        }
        self.require_one(StatementKind::FeedbackOpen, &e.signers, need)?;
        let days = self.config.as_ref().map_or(15, |c| c.feedback_due_days);
        let opened = f.time.get();
        self.open_feedback.insert(
            e.index,
            FeedbackRecord {
                category: f.category,
                region: f.region.clone(),
                opened,
                due: opened + Duration::days(i64::from(days)),
            },
        );
        self.feedback_stats.entry(f.category).or_default().opened += 1;
        Ok(done(e))
    }

    pub(crate) fn feedback_resolve(
        &mut self,
        e: &VerifiedEntry,
        f: &FeedbackResolve,
    ) -> Result<Effects, ApplyError> {
        let unknown = || Rejection::UnknownFeedback {
            feedback: f.feedback.clone(),
        };
        let (index, kind) = self.entry_of_id(f.feedback.as_str())?.ok_or_else(unknown)?;
        if kind != StatementKind::FeedbackOpen {
            return Err(unknown().into());
        }
        let rec = self
            .open_feedback
            .get(&index)
            .ok_or_else(|| Rejection::AlreadyResolved {
                feedback: f.feedback.clone(),
            })?;
        self.require_one(
            StatementKind::FeedbackResolve,
            &e.signers,
            Need::new(Role::Field).region(&rec.region),
        )?;
        let on_time = f.time.get() <= rec.due;
        let category = rec.category;
        self.open_feedback.remove(&index);
        let s = self.feedback_stats.entry(category).or_default();
        s.resolved += 1;
        s.resolved_on_time += u64::from(on_time);
        Ok(done(e))
    }
}
