//! The latest entries of each campaign, kept beside the books so that the
//! campaign API and the explorer list them without scanning the log.
//!
//! An entry belongs to the campaigns it names (donation, disbursement,
//! campaign and account statements, feedback naming one), to both sides of a
//! transfer, and to the campaign of the entry it refers to (acknowledgment,
//! reversal, bank balance). Entries of the whole log (genesis, keys,
//! beneficiaries) belong to none.

use std::collections::{BTreeMap, VecDeque};

use minhbach_ledger::rules::{History, State};
use minhbach_ledger::statement::{Slug, Statement, StatementKind};
use minhbach_ledger::store::StoreError;

/// How many entries are kept per campaign.
pub const RECENT_PER_CAMPAIGN: usize = 20;

/// The last [`RECENT_PER_CAMPAIGN`] entries of each campaign, newest last.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecentEntries(BTreeMap<Slug, VecDeque<(u64, StatementKind)>>);

impl RecentEntries {
    /// Records entry `index` holding `statement`, for the campaigns it
    /// belongs to in `state` (the state before or after the entry: the
    /// campaigns looked up are those of earlier entries).
    ///
    /// # Errors
    /// As [`campaigns_of`]; then nothing is recorded.
    pub fn record<H: History>(
        &mut self,
        state: &State<H>,
        index: u64,
        statement: &Statement,
    ) -> Result<(), StoreError> {
        self.push(index, statement.kind(), campaigns_of(state, statement)?);
        Ok(())
    }

    /// Records entry `index` of type `kind` for `campaigns` (from
    /// [`campaigns_of`]).
    pub fn push(&mut self, index: u64, kind: StatementKind, campaigns: Vec<Slug>) {
        for campaign in campaigns {
            let list = self.0.entry(campaign).or_default();
            if list.len() == RECENT_PER_CAMPAIGN {
                list.pop_front();
            }
            list.push_back((index, kind));
        }
    }

    /// The recent entries of `campaign`, newest first.
    pub fn of(&self, campaign: &Slug) -> impl Iterator<Item = (u64, StatementKind)> + '_ {
        self.0.get(campaign).into_iter().flatten().rev().copied()
    }
}

/// The campaigns `statement` belongs to.
///
/// # Errors
/// The store's, if the record of the entry it refers to cannot be read.
pub fn campaigns_of<H: History>(
    state: &State<H>,
    statement: &Statement,
) -> Result<Vec<Slug>, StoreError> {
    let of_entry = |index: u64| -> Result<Vec<Slug>, StoreError> {
        Ok(match state.donation_record(index)? {
            Some(d) => vec![d.campaign],
            None => state
                .disbursement_record(index)?
                .map(|d| d.campaign)
                .into_iter()
                .collect(),
        })
    };
    Ok(match statement {
        Statement::AccountBalance(s) => account_campaign(state, &s.account),
        Statement::AccountClose(s) => account_campaign(state, &s.account),
        Statement::AccountRegister(s) => vec![s.campaign.clone()],
        Statement::Acknowledgment(s) => of_entry(s.disbursement.index)?,
        Statement::CampaignClose(s) => vec![s.campaign.clone()],
        Statement::CampaignOpen(s) => vec![s.campaign.clone()],
        Statement::CampaignUpdate(s) => vec![s.campaign.clone()],
        Statement::Disbursement(s) => vec![s.campaign.clone()],
        Statement::Donation(s) => vec![s.campaign.clone()],
        Statement::FeedbackOpen(s) => s.campaign.iter().cloned().collect(),
        Statement::Reversal(s) => of_entry(s.target.index)?,
        Statement::Transfer(s) => vec![s.from_campaign.clone(), s.to_campaign.clone()],
        _ => Vec::new(),
    })
}

fn account_campaign<H: History>(state: &State<H>, account: &Slug) -> Vec<Slug> {
    state
        .accounts()
        .find(|(id, _)| *id == account)
        .map(|(_, a)| a.campaign.clone())
        .into_iter()
        .collect()
}
