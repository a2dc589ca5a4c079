//! Where did my gift go (SPEC 6.8).
//!
//! Per (campaign, asset), inflows queue in log order and outflows consume the
//! queue first in, first out. The state ([`crate::rules`]) keeps the queues and
//! reports every movement of a donation's share as a [`Flow`] in the
//! [`Effects`] of each entry; a [`TraceIndex`] collects them, so
//! `trace(donation)` lists the outflows that consumed it, with amounts and
//! acknowledgment status.
//!
//! The rules, exactly:
//!
//! 1. **Donation.** Its amount joins the back of its (campaign, asset) queue as
//!    one slice whose origin is the donation.
//! 2. **Disbursement.** Takes its amount from the front of the queue, splitting
//!    the last slice if needed; each slice taken is a `disbursed` step in its
//!    origin's trace.
//! 3. **Transfer.** Takes its amount from the front of the source queue the same
//!    way and appends the slices, origins unchanged and in the same order, to the
//!    back of the destination queue: a donor's share continues in the
//!    destination campaign and later outflows there appear in the same trace.
//! 4. **Reversal of a donation** (a bounced transfer). First the donation's own
//!    unspent slices in its campaign are removed (`donation_reversed`). If part
//!    of it was already spent, the shortfall is taken from the front of the
//!    queue like an outflow, and shows in those donors' traces as
//!    `covered_reversal` (naming the reversed donation). Shares of the reversed
//!    donation already transferred elsewhere stay where they are. Earlier steps
//!    are never rewritten: traces only grow, so a receipt printed yesterday stays
//!    true.
//! 5. **Reversal of a disbursement** (only before any acknowledgment). The
//!    slices it took go back to the *front* of the queue, in their original
//!    order (they were the oldest money), and each origin's trace gets a
//!    `restored` step naming the disbursement. The disbursement's own step stays,
//!    with status `reversed`.
//!
//! For every donation: `amount = unspent + disbursed + covered_reversal +
//! donation_reversed − restored`, and the unspent shares of all donations add up
//! to the balances of all funds. The property tests check both, and that the
//! slices of every live disbursement add up to its amount.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::rules::{Effects, Flow, FlowKind, History, Lookup, State};
use crate::statement::{Asset, Slug};

/// Collects the [`Flow`]s of accepted entries in memory (O(flows): the
/// auditor's). The server keeps the same lists in its store
/// (`minhbach_server::books`), recorded through [`TraceLists`] and read
/// back through [`trace_of`], so both answer alike.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceIndex {
    by_origin: HashMap<u64, Vec<Step>>,
    by_outflow: HashMap<u64, Vec<(u64, u64)>>,
}

/// One movement of a donation's share, as a trace index keeps it: the
/// entry that moved it and how.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The entry that moved the share.
    pub at: u64,
    /// How it moved.
    pub flow: Flow,
}

/// A list of sources of a disbursement: `(donation index, amount)` in
/// consumption order.
pub type Sources = Vec<(u64, u64)>;

/// Whether an outflow reached its recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
#[non_exhaustive]
pub enum AckStatus {
    /// Fully acknowledged.
    Acknowledged,
    /// Not acknowledged yet.
    Unacknowledged,
    /// Partly acknowledged.
    Partial {
        /// Acknowledged so far.
        acknowledged: u64,
        /// The disbursement's amount.
        of: u64,
    },
    /// The disbursement was reversed by that entry.
    Reversed {
        /// The reversal entry.
        by: u64,
    },
}

/// One step of a donation's trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceStep {
    /// The entry that moved the share (disbursement, transfer, reversal).
    pub at: u64,
    /// The campaign where it happened.
    pub campaign: Slug,
    /// How much of the donation.
    pub amount: u64,
    /// What happened.
    pub kind: FlowKind,
    /// For a `disbursed` step: the disbursement's acknowledgment status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack: Option<AckStatus>,
}

/// Where one donation went: the answer of `GET /api/v1/donations/{index}/trace`
/// (SPEC 8.4), which the server writes and the CLI and the auditor read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    /// The donation's entry index.
    pub donation: u64,
    /// Its campaign.
    pub campaign: Slug,
    /// Its asset.
    pub asset: Asset,
    /// Its amount.
    pub amount: u64,
    /// The reversal entry, if it bounced.
    pub reversed_by: Option<u64>,
    /// What happened to it, in log order.
    pub steps: Vec<TraceStep>,
    /// How much of it is still unspent (in its campaign or where it was transferred).
    pub unspent: u64,
}

impl TraceIndex {
    /// An empty index.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the flows of an accepted entry.
    pub fn record(&mut self, effects: &Effects) {
        record(self, effects).unwrap_or_else(|never: std::convert::Infallible| match never {});
    }

    /// The donations that funded a live (not reversed) disbursement:
    /// `(donation index, amount)` in consumption order.
    #[must_use]
    pub fn sources(&self, disbursement: u64) -> &[(u64, u64)] {
        self.by_outflow
            .get(&disbursement)
            .map_or(&[], Vec::as_slice)
    }

    /// Where a donation went; `None` if `donation` is not a donation entry.
    ///
    /// # Errors
    /// The store's, if `state`'s history cannot be read.
    pub fn trace<H: History>(&self, state: &State<H>, donation: u64) -> Lookup<Trace> {
        let steps = self.by_origin.get(&donation).map_or(&[][..], Vec::as_slice);
        trace_of(steps, state, donation)
    }
}

/// Where the lists of a trace index are kept and changed: in memory
/// ([`TraceIndex`], which never fails), or in a store with the changes not
/// yet written on top (the server's books, which fail as their store does).
pub trait TraceLists {
    /// Why a list could not be read.
    type Error;
    /// The steps of a donation, to append to.
    ///
    /// # Errors
    /// If the list cannot be read.
    fn steps_mut(&mut self, origin: u64) -> Result<&mut Vec<Step>, Self::Error>;
    /// The sources of a disbursement, to append to.
    ///
    /// # Errors
    /// If the list cannot be read.
    fn sources_mut(&mut self, outflow: u64) -> Result<&mut Sources, Self::Error>;
    /// Forgets the sources of a reversed disbursement.
    fn remove_sources(&mut self, outflow: u64);
}

impl TraceLists for TraceIndex {
    type Error = std::convert::Infallible;

    fn steps_mut(&mut self, origin: u64) -> Result<&mut Vec<Step>, Self::Error> {
        Ok(self.by_origin.entry(origin).or_default())
    }

    fn sources_mut(&mut self, outflow: u64) -> Result<&mut Sources, Self::Error> {
        Ok(self.by_outflow.entry(outflow).or_default())
    }

    fn remove_sources(&mut self, outflow: u64) {
        self.by_outflow.remove(&outflow);
    }
}

/// The one way flows become lists (SPEC 6.8), for every kind of index.
///
/// # Errors
/// The lists' error, if one cannot be read; the flows before it are
/// recorded.
pub fn record<L: TraceLists>(lists: &mut L, effects: &Effects) -> Result<(), L::Error> {
    for f in &effects.flows {
        lists.steps_mut(f.origin)?.push(Step {
            at: effects.index,
            flow: f.clone(),
        });
        match f.kind {
            FlowKind::Disbursed => lists.sources_mut(effects.index)?.push((f.origin, f.amount)),
            FlowKind::Restored { disbursement } => lists.remove_sources(disbursement),
            _ => {}
        }
    }
    Ok(())
}

/// A donation's trace from its steps (as [`record`] listed them) and the
/// records of `state`'s history; `None` if `donation` is not a donation.
///
/// # Errors
/// The store's, if `state`'s history cannot be read.
pub fn trace_of<H: History>(steps: &[Step], state: &State<H>, donation: u64) -> Lookup<Trace> {
    let Some(d) = state.donation_record(donation)? else {
        return Ok(None);
    };
    let mut out: u64 = 0;
    let mut back: u64 = 0;
    let mut traced = Vec::with_capacity(steps.len());
    for s in steps {
        let ack = match s.flow.kind {
            FlowKind::Disbursed => state
                .disbursement_record(s.at)?
                .map(|r| match r.reversed_by {
                    Some(by) => AckStatus::Reversed { by },
                    None if r.acknowledged == 0 => AckStatus::Unacknowledged,
                    None if r.acknowledged >= r.amount => AckStatus::Acknowledged,
                    None => AckStatus::Partial {
                        acknowledged: r.acknowledged,
                        of: r.amount,
                    },
                }),
            _ => None,
        };
        match s.flow.kind {
            FlowKind::Disbursed | FlowKind::CoveredReversal { .. } | FlowKind::DonationReversed => {
                out += s.flow.amount;
            }
            FlowKind::Restored { .. } => back += s.flow.amount,
            FlowKind::Transferred { .. } => {}
        }
        traced.push(TraceStep {
            at: s.at,
            campaign: s.flow.campaign.clone(),
            amount: s.flow.amount,
            kind: s.flow.kind.clone(),
            ack,
        });
    }
    Ok(Some(Trace {
        donation,
        campaign: d.campaign,
        asset: d.asset,
        amount: d.amount,
        reversed_by: d.reversed_by,
        steps: traced,
        // Invariant (checked by the property tests): a donation never loses more
        // than its amount; saturate rather than panic on a broken invariant.
        unspent: (d.amount + back).saturating_sub(out),
    }))
}
