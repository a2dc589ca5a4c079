//! Summaries computed from the rules' state: per campaign (totals in, out and
//! balance, by province and commune), coverage (households enrolled versus
//! reached per commune and category, with small cells suppressed) and feedback
//! (on-time rate per category).
//!
//! Everything here is derived, deterministic and cheap: the state keeps running
//! totals, so a summary costs O(campaigns × regions), not O(log).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::region::Level;
use crate::rules::{Fund, Reconciliation, State};
use crate::statement::{Asset, BeneficiaryCategory, FeedbackCategory, Slug};

/// The smallest coverage cell published by default: cells below it are
/// suppressed (SPEC 6.10; humanitarian practice keeps re-identification risk low).
pub const DEFAULT_MIN_CELL: u64 = 3;

/// Totals of one campaign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CampaignSummary {
    /// The campaign.
    pub campaign: Slug,
    /// Its Vietnamese title.
    pub title: String,
    /// Whether it is closed.
    pub closed: bool,
    /// Totals per asset.
    pub assets: Vec<AssetSummary>,
}

/// Totals of one (campaign, asset).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AssetSummary {
    /// The asset.
    pub asset: Asset,
    /// Donations − reversed donations + transfers in.
    pub total_in: u64,
    /// Disbursements − reversed disbursements + transfers out.
    pub total_out: u64,
    /// `total_in − total_out`.
    pub balance: u64,
    /// Donations received (before reversals).
    pub donated: u64,
    /// Donations reversed.
    pub donations_reversed: u64,
    /// Transfers in.
    pub transferred_in: u64,
    /// Transfers out.
    pub transferred_out: u64,
    /// Disbursed, net of reversals.
    pub disbursed: u64,
    /// Acknowledged by recipients.
    pub acknowledged: u64,
    /// Number of donations.
    pub donation_count: u64,
    /// Number of disbursements.
    pub disbursement_count: u64,
    /// Net disbursed per province code.
    pub by_province: BTreeMap<String, u64>,
    /// Net disbursed per commune code (disbursements named at commune level).
    pub by_commune: BTreeMap<String, u64>,
}

fn asset_summary(asset: &Asset, f: &Fund) -> AssetSummary {
    let mut by_province = BTreeMap::new();
    let mut by_commune = BTreeMap::new();
    for (r, v) in &f.out_by_region {
        if *v == 0 {
            continue;
        }
        *by_province
            .entry(r.province().as_str().to_owned())
            .or_insert(0) += v;
        if r.level() == Level::Commune {
            by_commune.insert(r.as_str().to_owned(), *v);
        }
    }
    AssetSummary {
        asset: asset.clone(),
        total_in: f.total_in(),
        total_out: f.total_out(),
        balance: f.balance,
        donated: f.donated,
        donations_reversed: f.donations_reversed,
        transferred_in: f.transferred_in,
        transferred_out: f.transferred_out,
        disbursed: f.net_disbursed(),
        acknowledged: f.acknowledged,
        donation_count: f.donation_count,
        disbursement_count: f.disbursement_count,
        by_province,
        by_commune,
    }
}

/// The summary of one campaign.
#[must_use]
pub fn campaign<H>(state: &State<H>, slug: &Slug) -> Option<CampaignSummary> {
    let c = state.campaign(slug)?;
    Some(CampaignSummary {
        campaign: slug.clone(),
        title: c.title.vi.as_str().to_owned(),
        closed: c.closed_at.is_some(),
        assets: c.funds.iter().map(|(a, f)| asset_summary(a, f)).collect(),
    })
}

/// Summaries of every campaign, sorted by slug.
#[must_use]
pub fn campaigns<H>(state: &State<H>) -> Vec<CampaignSummary> {
    state
        .campaigns()
        .filter_map(|(s, _)| campaign(state, s))
        .collect()
}

/// Households enrolled and reached in one (commune, category).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CoverageCell {
    /// The commune code.
    pub commune: String,
    /// Its province code.
    pub province: String,
    /// The category.
    pub category: BeneficiaryCategory,
    /// Active beneficiaries enrolled; `None` when suppressed.
    pub enrolled: Option<u64>,
    /// Of those, reached by a disbursement; `None` when suppressed.
    pub reached: Option<u64>,
}

/// Coverage per (commune, category); cells with fewer than `min_cell` enrolled
/// (but not zero) have their counts suppressed.
#[must_use]
pub fn coverage<H>(state: &State<H>, min_cell: u64) -> Vec<CoverageCell> {
    state
        .coverage
        .iter()
        .filter(|(_, c)| c.enrolled > 0)
        .map(|((region, category), c)| {
            let show = c.enrolled >= min_cell;
            CoverageCell {
                commune: region.as_str().to_owned(),
                province: region.province().as_str().to_owned(),
                category: *category,
                enrolled: show.then_some(c.enrolled),
                reached: show.then_some(c.reached),
            }
        })
        .collect()
}

/// Feedback figures of one category.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FeedbackSummary {
    /// The category.
    pub category: FeedbackCategory,
    /// Opened.
    pub opened: u64,
    /// Resolved.
    pub resolved: u64,
    /// Resolved within the due days.
    pub resolved_on_time: u64,
    /// Still open.
    pub open: u64,
    /// Still open and past due at `as_of`.
    pub overdue: u64,
}

/// Feedback per category, with overdue items counted at `as_of` (pass the last
/// entry's `logged_at`: the core has no clock).
#[must_use]
pub fn feedback<H>(state: &State<H>, as_of: DateTime<Utc>) -> Vec<FeedbackSummary> {
    let mut open: BTreeMap<FeedbackCategory, (u64, u64)> = BTreeMap::new();
    for f in state.open_feedback.values() {
        let e = open.entry(f.category).or_default();
        e.0 += 1;
        e.1 += u64::from(f.due < as_of);
    }
    state
        .feedback_stats
        .iter()
        .map(|(cat, s)| {
            let (o, late) = open.get(cat).copied().unwrap_or_default();
            FeedbackSummary {
                category: *cat,
                opened: s.opened,
                resolved: s.resolved,
                resolved_on_time: s.resolved_on_time,
                open: o,
                overdue: late,
            }
        })
        .collect()
}

/// Every bank balance that did not match the ledger (SPEC 6.6): never hidden.
#[must_use]
pub fn mismatches<H>(state: &State<H>) -> &[Reconciliation] {
    state.mismatches()
}
