//! Money statements: donations, transfers, disbursements, acknowledgments,
//! reversals and bank balances (SPEC 6.3 to 6.6, 6.11), with the first-in-first-out
//! queues of the gift trace (SPEC 6.8, see [`crate::trace`]).
//!
//! Each handler first checks everything against the unchanged state, computing
//! every new total with checked arithmetic, and only then mutates: so a
//! rejection leaves the state untouched.

use std::collections::VecDeque;

use super::auth::Need;
use super::history::{HistoryMut, ref_key};
use super::state::{DisbursementRecord, DonationRecord, Fund, Slice};
use super::{
    ApplyError, DuplicateKind, Effects, Flow, FlowKind, Reconciliation, Rejection, State,
    VerifiedEntry,
};
use crate::statement::{
    AccountBalance, Acknowledgment, Asset, Disbursement, Donation, MAX_AMOUNT, Recipient, Reversal,
    Role, Slug, StatementKind, Transfer,
};

/// Checked addition bounded by 2^53 − 1.
fn add(a: u64, b: u64) -> Result<u64, Rejection> {
    a.checked_add(b)
        .filter(|&s| s <= MAX_AMOUNT)
        .ok_or(Rejection::Overflow)
}

fn overspend(scope: &Slug, asset: &Asset, balance: u64, amount: u64) -> Rejection {
    Rejection::Overspend {
        scope: scope.clone(),
        asset: asset.clone(),
        balance,
        amount,
    }
}

/// Takes `amount` from the front of the queue (the caller checked the balance).
fn consume(queue: &mut VecDeque<Slice>, mut amount: u64) -> Vec<Slice> {
    let mut taken = Vec::new();
    while amount > 0 {
        let Some(front) = queue.front_mut() else {
            break;
        };
        let take = front.amount.min(amount);
        taken.push(Slice {
            origin: front.origin,
            amount: take,
        });
        front.amount -= take;
        amount -= take;
        if front.amount == 0 {
            queue.pop_front();
        }
    }
    taken
}

/// Removes up to `amount` of `origin`'s own slices from the queue.
fn remove_origin(queue: &mut VecDeque<Slice>, origin: u64, mut amount: u64) -> u64 {
    let mut removed = 0;
    for s in queue.iter_mut().filter(|s| s.origin == origin) {
        let take = s.amount.min(amount);
        s.amount -= take;
        amount -= take;
        removed += take;
        if amount == 0 {
            break;
        }
    }
    queue.retain(|s| s.amount > 0);
    removed
}

fn flows(slices: &[Slice], campaign: &Slug, kind: &FlowKind) -> Vec<Flow> {
    slices
        .iter()
        .map(|s| Flow {
            origin: s.origin,
            amount: s.amount,
            campaign: campaign.clone(),
            kind: kind.clone(),
        })
        .collect()
}

impl<H: HistoryMut> State<H> {
    fn fund(&self, campaign: &Slug, asset: &Asset) -> Result<&Fund, Rejection> {
        self.any_campaign(campaign)?
            .funds
            .get(asset)
            .ok_or_else(|| Rejection::UnknownAsset {
                asset: asset.clone(),
            })
    }

    fn fund_mut(&mut self, campaign: &Slug, asset: &Asset) -> Option<&mut Fund> {
        self.campaigns.get_mut(campaign)?.funds.get_mut(asset)
    }

    /// The account exists, belongs to `campaign`, holds `asset`; returns its
    /// derived balance. `open` also requires it to be open.
    fn check_account(
        &self,
        account: &Slug,
        campaign: &Slug,
        asset: &Asset,
        open: bool,
    ) -> Result<u64, Rejection> {
        let a = self
            .accounts
            .get(account)
            .filter(|a| &a.campaign == campaign)
            .ok_or_else(|| Rejection::UnknownAccount {
                account: account.clone(),
            })?;
        if open && a.closed_at.is_some() {
            return Err(Rejection::AccountClosed {
                account: account.clone(),
            });
        }
        if &a.asset != asset {
            return Err(Rejection::UnknownAsset {
                asset: asset.clone(),
            });
        }
        Ok(a.derived)
    }

    fn set_account(&mut self, account: Option<&Slug>, derived: u64) {
        if let Some(a) = account.and_then(|a| self.accounts.get_mut(a)) {
            a.derived = derived;
        }
    }

    pub(crate) fn donation(
        &mut self,
        e: &VerifiedEntry,
        d: &Donation,
    ) -> Result<Effects, ApplyError> {
        let rk = ref_key(d.channel, d.external_ref.as_str());
        if let Some(existing_index) = self.history.reference(&rk)? {
            return Err(Rejection::Duplicate {
                what: DuplicateKind::ExternalRef {
                    channel: d.channel.as_str(),
                    external_ref: d.external_ref.as_str().to_owned(),
                },
                existing_index,
            }
            .into());
        }
        self.open_campaign(&d.campaign)?;
        self.require_one(
            StatementKind::Donation,
            &e.signers,
            Need::new(Role::Intake).campaign(&d.campaign),
        )?;
        let fund = self.fund(&d.campaign, &d.asset)?;
        let amount = d.amount.get();
        let balance = add(fund.balance, amount)?;
        let donated = add(fund.donated, amount)?;
        let derived = match &d.account {
            Some(a) => Some(add(
                self.check_account(a, &d.campaign, &d.asset, true)?,
                amount,
            )?),
            None => None,
        };
        // Checks done: mutate.
        if let Some(v) = derived {
            self.set_account(d.account.as_ref(), v);
        }
        if let Some(f) = self.fund_mut(&d.campaign, &d.asset) {
            f.balance = balance;
            f.donated = donated;
            f.donation_count += 1;
            f.queue.push_back(Slice {
                origin: e.index,
                amount,
            });
        }
        self.history.put_reference(rk, e.index);
        self.history.put_donation(
            e.index,
            DonationRecord {
                leaf_hash: e.leaf_hash,
                campaign: d.campaign.clone(),
                asset: d.asset.clone(),
                amount,
                channel: d.channel,
                account: d.account.clone(),
                reversed_by: None,
            },
        );
        Ok(Effects {
            index: e.index,
            ..Effects::default()
        })
    }

    pub(crate) fn transfer(
        &mut self,
        e: &VerifiedEntry,
        t: &Transfer,
    ) -> Result<Effects, Rejection> {
        let from = self.any_campaign(&t.from_campaign)?;
        let needed = from
            .policy
            .approvals_for(&t.asset, t.amount.get())
            .ok_or_else(|| Rejection::UnknownAsset {
                asset: t.asset.clone(),
            })?;
        self.open_campaign(&t.to_campaign)?;
        self.require_many(
            StatementKind::Transfer,
            &e.signers,
            Need::new(Role::Approver).campaign(&t.from_campaign),
            needed,
        )?;
        let amount = t.amount.get();
        let src = self.fund(&t.from_campaign, &t.asset)?;
        let dst = self.fund(&t.to_campaign, &t.asset)?;
        if src.balance < amount {
            return Err(overspend(&t.from_campaign, &t.asset, src.balance, amount));
        }
        let src_balance = src.balance - amount;
        let src_out = add(src.transferred_out, amount)?;
        let dst_balance = add(dst.balance, amount)?;
        let dst_in = add(dst.transferred_in, amount)?;
        let from_acc = match &t.from_account {
            Some(a) => {
                let v = self.check_account(a, &t.from_campaign, &t.asset, false)?;
                Some(
                    v.checked_sub(amount)
                        .ok_or_else(|| overspend(a, &t.asset, v, amount))?,
                )
            }
            None => None,
        };
        let to_acc = match &t.to_account {
            Some(a) => Some(add(
                self.check_account(a, &t.to_campaign, &t.asset, true)?,
                amount,
            )?),
            None => None,
        };
        // Checks done: mutate.
        let slices = match self.fund_mut(&t.from_campaign, &t.asset) {
            Some(f) => {
                f.balance = src_balance;
                f.transferred_out = src_out;
                consume(&mut f.queue, amount)
            }
            None => Vec::new(),
        };
        if let Some(f) = self.fund_mut(&t.to_campaign, &t.asset) {
            f.balance = dst_balance;
            f.transferred_in = dst_in;
            f.queue.extend(slices.iter().copied());
        }
        if let Some(v) = from_acc {
            self.set_account(t.from_account.as_ref(), v);
        }
        if let Some(v) = to_acc {
            self.set_account(t.to_account.as_ref(), v);
        }
        let kind = FlowKind::Transferred {
            to: t.to_campaign.clone(),
        };
        Ok(Effects {
            index: e.index,
            flows: flows(&slices, &t.from_campaign, &kind),
            reconciliation: None,
        })
    }

    pub(crate) fn disbursement(
        &mut self,
        e: &VerifiedEntry,
        d: &Disbursement,
    ) -> Result<Effects, Rejection> {
        let c = self.open_campaign(&d.campaign)?;
        let amount = d.amount.get();
        let needed =
            c.policy
                .approvals_for(&d.asset, amount)
                .ok_or_else(|| Rejection::UnknownAsset {
                    asset: d.asset.clone(),
                })?;
        let beneficiary = match &d.recipient {
            Recipient::Beneficiary(commit) => {
                let b = self
                    .beneficiaries
                    .get(commit)
                    .filter(|b| b.active)
                    .ok_or(Rejection::UnknownBeneficiary)?;
                if b.region != d.region {
                    return Err(Rejection::RegionMismatch {
                        expected: b.region.to_string(),
                        got: d.region.to_string(),
                    });
                }
                Some(*commit)
            }
            Recipient::Organization(_) => None,
        };
        self.require_many(
            StatementKind::Disbursement,
            &e.signers,
            Need::new(Role::Approver)
                .campaign(&d.campaign)
                .region(&d.region),
            needed,
        )?;
        let mut needed_governance = false;
        if let Some(cat) = &d.category {
            let rate = c
                .rate(cat, &d.asset)
                .ok_or_else(|| Rejection::UnknownCategory {
                    category: cat.clone(),
                })?;
            let limit = rate
                .checked_mul(u64::from(d.units.unwrap_or(1)))
                .ok_or(Rejection::Overflow)?;
            if amount > limit {
                if !self.has_governance(&e.signers) {
                    return Err(Rejection::AboveUnitRate {
                        category: cat.clone(),
                        limit,
                        amount,
                    });
                }
                needed_governance = true;
            }
        }
        let fund = self.fund(&d.campaign, &d.asset)?;
        if fund.balance < amount {
            return Err(overspend(&d.campaign, &d.asset, fund.balance, amount));
        }
        let balance = fund.balance - amount;
        let disbursed = add(fund.disbursed, amount)?;
        let region_total = add(
            fund.out_by_region.get(&d.region).copied().unwrap_or(0),
            amount,
        )?;
        let acc = match &d.account {
            Some(a) => {
                let v = self.check_account(a, &d.campaign, &d.asset, true)?;
                Some(
                    v.checked_sub(amount)
                        .ok_or_else(|| overspend(a, &d.asset, v, amount))?,
                )
            }
            None => None,
        };
        // Checks done: mutate.
        let slices = match self.fund_mut(&d.campaign, &d.asset) {
            Some(f) => {
                f.balance = balance;
                f.disbursed = disbursed;
                f.disbursement_count += 1;
                f.out_by_region.insert(d.region.clone(), region_total);
                consume(&mut f.queue, amount)
            }
            None => Vec::new(),
        };
        if let Some(v) = acc {
            self.set_account(d.account.as_ref(), v);
        }
        if let Some(commit) = &beneficiary {
            self.mark_reached(commit, true);
        }
        let out = flows(&slices, &d.campaign, &FlowKind::Disbursed);
        self.history.put_disbursement(
            e.index,
            DisbursementRecord {
                leaf_hash: e.leaf_hash,
                campaign: d.campaign.clone(),
                asset: d.asset.clone(),
                amount,
                region: d.region.clone(),
                account: d.account.clone(),
                beneficiary,
                approvals_needed: needed,
                needed_governance,
                acknowledged: 0,
                reversed_by: None,
                slices,
            },
        );
        Ok(Effects {
            index: e.index,
            flows: out,
            reconciliation: None,
        })
    }

    pub(crate) fn acknowledgment(
        &mut self,
        e: &VerifiedEntry,
        a: &Acknowledgment,
    ) -> Result<Effects, ApplyError> {
        let index = a.disbursement.index;
        let mut d = self
            .history
            .disbursement(index)?
            .ok_or(Rejection::UnknownDisbursement { index })?;
        if d.leaf_hash != a.disbursement.leaf_hash {
            return Err(Rejection::LeafHashMismatch { index }.into());
        }
        if d.reversed_by.is_some() {
            return Err(Rejection::AlreadyReversed { index }.into());
        }
        self.require_one(
            StatementKind::Acknowledgment,
            &e.signers,
            Need::new(Role::Field)
                .campaign(&d.campaign)
                .region(&d.region),
        )?;
        let amount = a.amount.get();
        let remaining = d.amount - d.acknowledged;
        if amount > remaining {
            return Err(Rejection::OverAcknowledged {
                disbursement: index,
                remaining,
                amount,
            }
            .into());
        }
        let fund_ack = add(self.fund(&d.campaign, &d.asset)?.acknowledged, amount)?;
        // Checks done: mutate.
        if let Some(f) = self.fund_mut(&d.campaign, &d.asset) {
            f.acknowledged = fund_ack;
        }
        d.acknowledged += amount;
        d.slices = Vec::new();
        self.history.put_disbursement(index, d);
        Ok(Effects {
            index: e.index,
            ..Effects::default()
        })
    }

    pub(crate) fn reversal(
        &mut self,
        e: &VerifiedEntry,
        r: &Reversal,
    ) -> Result<Effects, ApplyError> {
        let index = r.target.index;
        Ok(if let Some(d) = self.history.donation(index)? {
            self.reverse_donation(e, r, d)?
        } else if let Some(d) = self.history.disbursement(index)? {
            self.reverse_disbursement(e, r, d)?
        } else if index < self.next_index {
            return Err(Rejection::NotReversible {
                index,
                kind: "entry",
                why: "only donations and disbursements can be reversed",
            }
            .into());
        } else {
            return Err(Rejection::UnknownEntry { index }.into());
        })
    }

    fn reverse_donation(
        &mut self,
        e: &VerifiedEntry,
        r: &Reversal,
        mut d: DonationRecord,
    ) -> Result<Effects, Rejection> {
        let index = r.target.index;
        if d.leaf_hash != r.target.leaf_hash {
            return Err(Rejection::LeafHashMismatch { index });
        }
        if d.reversed_by.is_some() {
            return Err(Rejection::AlreadyReversed { index });
        }
        self.require_one(
            StatementKind::Reversal,
            &e.signers,
            Need::new(Role::Intake).campaign(&d.campaign),
        )?;
        let fund = self.fund(&d.campaign, &d.asset)?;
        if fund.balance < d.amount {
            return Err(overspend(&d.campaign, &d.asset, fund.balance, d.amount));
        }
        let balance = fund.balance - d.amount;
        let reversed = add(fund.donations_reversed, d.amount)?;
        let acc = match &d.account {
            Some(a) => {
                let v = self.accounts.get(a).map_or(0, |x| x.derived);
                Some(
                    v.checked_sub(d.amount)
                        .ok_or_else(|| overspend(a, &d.asset, v, d.amount))?,
                )
            }
            None => None,
        };
        // Checks done: mutate.
        let mut out = Vec::new();
        if let Some(f) = self.fund_mut(&d.campaign, &d.asset) {
            f.balance = balance;
            f.donations_reversed = reversed;
            let own = remove_origin(&mut f.queue, index, d.amount);
            if own > 0 {
                out.push(Flow {
                    origin: index,
                    amount: own,
                    campaign: d.campaign.clone(),
                    kind: FlowKind::DonationReversed,
                });
            }
            let covered = consume(&mut f.queue, d.amount - own);
            out.extend(flows(
                &covered,
                &d.campaign,
                &FlowKind::CoveredReversal { donation: index },
            ));
        }
        if let Some(v) = acc {
            self.set_account(d.account.as_ref(), v);
        }
        d.reversed_by = Some(e.index);
        self.history.put_donation(index, d);
        Ok(Effects {
            index: e.index,
            flows: out,
            reconciliation: None,
        })
    }

    fn reverse_disbursement(
        &mut self,
        e: &VerifiedEntry,
        r: &Reversal,
        d: DisbursementRecord,
    ) -> Result<Effects, Rejection> {
        let index = r.target.index;
        if d.leaf_hash != r.target.leaf_hash {
            return Err(Rejection::LeafHashMismatch { index });
        }
        if d.reversed_by.is_some() {
            return Err(Rejection::AlreadyReversed { index });
        }
        if d.acknowledged > 0 {
            return Err(Rejection::NotReversible {
                index,
                kind: "disbursement",
                why: "it has been acknowledged",
            });
        }
        self.require_many(
            StatementKind::Reversal,
            &e.signers,
            Need::new(Role::Approver)
                .campaign(&d.campaign)
                .region(&d.region),
            d.approvals_needed,
        )?;
        if d.needed_governance {
            self.require_governance(StatementKind::Reversal, &e.signers)?;
        }
        let fund = self.fund(&d.campaign, &d.asset)?;
        let balance = add(fund.balance, d.amount)?;
        let reversed = add(fund.disbursements_reversed, d.amount)?;
        let region_total = fund
            .out_by_region
            .get(&d.region)
            .copied()
            .unwrap_or(0)
            .saturating_sub(d.amount);
        let acc = match &d.account {
            Some(a) => Some(add(
                self.accounts.get(a).map_or(0, |x| x.derived),
                d.amount,
            )?),
            None => None,
        };
        // Checks done: mutate.
        if let Some(f) = self.fund_mut(&d.campaign, &d.asset) {
            f.balance = balance;
            f.disbursements_reversed = reversed;
            f.out_by_region.insert(d.region.clone(), region_total);
            for s in d.slices.iter().rev() {
                f.queue.push_front(*s);
            }
        }
        if let Some(v) = acc {
            self.set_account(d.account.as_ref(), v);
        }
        if let Some(b) = &d.beneficiary {
            self.mark_reached(b, false);
        }
        let kind = FlowKind::Restored {
            disbursement: index,
        };
        let restored = flows(&d.slices, &d.campaign, &kind);
        self.history.put_disbursement(
            index,
            DisbursementRecord {
                reversed_by: Some(e.index),
                slices: Vec::new(),
                ..d
            },
        );
        Ok(Effects {
            index: e.index,
            flows: restored,
            reconciliation: None,
        })
    }

    pub(crate) fn account_balance(
        &mut self,
        e: &VerifiedEntry,
        b: &AccountBalance,
    ) -> Result<Effects, Rejection> {
        let a = self
            .accounts
            .get(&b.account)
            .ok_or_else(|| Rejection::UnknownAccount {
                account: b.account.clone(),
            })?;
        self.require_one(
            StatementKind::AccountBalance,
            &e.signers,
            Need::new(Role::Intake).campaign(&a.campaign),
        )?;
        if let Some(last) = &a.last {
            if b.date == last.date {
                return Err(Rejection::Duplicate {
                    what: DuplicateKind::BalanceDay {
                        account: b.account.clone(),
                    },
                    existing_index: last.index,
                });
            }
            if b.date < last.date {
                return Err(Rejection::TimeRegression {
                    previous: last.date.to_string(),
                    logged_at: b.date.to_string(),
                });
            }
        }
        let rec = Reconciliation {
            index: e.index,
            account: b.account.clone(),
            date: b.date,
            bank_balance: b.balance.get(),
            ledger_balance: a.derived,
        };
        // Checks done: mutate.
        if !rec.matches() {
            self.mismatches.push(rec.clone());
        }
        if let Some(a) = self.accounts.get_mut(&b.account) {
            a.last = Some(rec.clone());
        }
        Ok(Effects {
            index: e.index,
            flows: Vec::new(),
            reconciliation: Some(rec),
        })
    }
}
