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

use crate::rules::{Effects, Flow, FlowKind, History, State};
use crate::statement::{Asset, Slug};
use crate::store::LogStore;
use crate::store::books::{self, Layer, Layers};

/// Collects the [`Flow`]s of accepted entries in memory (O(flows): the
/// auditor's; the server keeps its index in its store, [`StoredTrace`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceIndex {
    by_origin: HashMap<u64, Vec<Step>>,
    by_outflow: HashMap<u64, Vec<(u64, u64)>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Step {
    at: u64,
    flow: Flow,
}

/// Whether an outflow reached its recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack: Option<AckStatus>,
}

/// Where one donation went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
        record(self, effects);
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
    #[must_use]
    pub fn trace<H: History>(&self, state: &State<H>, donation: u64) -> Option<Trace> {
        let steps = self.by_origin.get(&donation).map_or(&[][..], Vec::as_slice);
        trace_of(steps, state, donation)
    }
}

/// Where the lists of a trace index are changed: in memory, or in the
/// writes pending over a store.
trait Lists {
    /// The steps of a donation, to append to.
    fn steps_mut(&mut self, origin: u64) -> &mut Vec<Step>;
    /// The sources of a disbursement, to append to.
    fn sources_mut(&mut self, outflow: u64) -> &mut Vec<(u64, u64)>;
    /// Forgets the sources of a reversed disbursement.
    fn remove_sources(&mut self, outflow: u64);
}

impl Lists for TraceIndex {
    fn steps_mut(&mut self, origin: u64) -> &mut Vec<Step> {
        self.by_origin.entry(origin).or_default()
    }

    fn sources_mut(&mut self, outflow: u64) -> &mut Vec<(u64, u64)> {
        self.by_outflow.entry(outflow).or_default()
    }

    fn remove_sources(&mut self, outflow: u64) {
        self.by_outflow.remove(&outflow);
    }
}

/// The one way flows become lists, for every kind of index.
fn record(lists: &mut impl Lists, effects: &Effects) {
    for f in &effects.flows {
        lists.steps_mut(f.origin).push(Step {
            at: effects.index,
            flow: f.clone(),
        });
        match f.kind {
            FlowKind::Disbursed => lists.sources_mut(effects.index).push((f.origin, f.amount)),
            FlowKind::Restored { disbursement } => lists.remove_sources(disbursement),
            _ => {}
        }
    }
}

/// A donation's trace from its steps.
fn trace_of<H: History>(steps: &[Step], state: &State<H>, donation: u64) -> Option<Trace> {
    let d = state.donation_record(donation)?;
    let mut out: u64 = 0;
    let mut back: u64 = 0;
    let steps: Vec<TraceStep> = steps
        .iter()
        .map(|s| {
            let ack = match s.flow.kind {
                FlowKind::Disbursed => {
                    state
                        .disbursement_record(s.at)
                        .map(|r| match r.reversed_by {
                            Some(by) => AckStatus::Reversed { by },
                            None if r.acknowledged == 0 => AckStatus::Unacknowledged,
                            None if r.acknowledged >= r.amount => AckStatus::Acknowledged,
                            None => AckStatus::Partial {
                                acknowledged: r.acknowledged,
                                of: r.amount,
                            },
                        })
                }
                _ => None,
            };
            match s.flow.kind {
                FlowKind::Disbursed
                | FlowKind::CoveredReversal { .. }
                | FlowKind::DonationReversed => {
                    out += s.flow.amount;
                }
                FlowKind::Restored { .. } => back += s.flow.amount,
                FlowKind::Transferred { .. } => {}
            }
            TraceStep {
                at: s.at,
                campaign: s.flow.campaign.clone(),
                amount: s.flow.amount,
                kind: s.flow.kind.clone(),
                ack,
            }
        })
        .collect();
    Some(Trace {
        donation,
        campaign: d.campaign,
        asset: d.asset,
        amount: d.amount,
        reversed_by: d.reversed_by,
        steps,
        // Invariant (checked by the property tests): a donation never loses more
        // than its amount; saturate rather than panic on a broken invariant.
        unspent: (d.amount + back).saturating_sub(out),
    })
}

fn steps_key(origin: u64) -> Vec<u8> {
    books::key("steps", &origin.to_be_bytes())
}

fn sources_key(outflow: u64) -> Vec<u8> {
    books::key("sources", &outflow.to_be_bytes())
}

/// A trace index's lists not yet in the store: whole lists (the stored one
/// with the new steps appended), `None` for a reversed disbursement's
/// sources.
#[derive(Clone, Debug, Default)]
pub struct TraceLayer {
    steps: HashMap<u64, Vec<Step>>,
    sources: HashMap<u64, Option<Vec<(u64, u64)>>>,
}

impl TraceLayer {
    /// How many lists it holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.steps.len() + self.sources.len()
    }

    /// Whether it holds no list.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The metadata writes that store its lists for [`StoredTrace`] (a
    /// reversed disbursement's sources as an empty value, which reads as
    /// none), in no particular order.
    #[must_use]
    pub fn pairs(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let steps = self
            .steps
            .iter()
            .map(|(&origin, list)| (steps_key(origin), books::encode(list)));
        let sources = self.sources.iter().map(|(&outflow, list)| {
            (
                sources_key(outflow),
                list.as_ref().map(books::encode).unwrap_or_default(),
            )
        });
        steps.chain(sources).collect()
    }
}

impl Layer for TraceLayer {
    fn absorb_older(&mut self, older: Self) {
        books::keep_newer(&mut self.steps, older.steps);
        books::keep_newer(&mut self.sources, older.sources);
    }
}

/// A trace index in a store's metadata (under
/// [`BOOKS_PREFIX`](crate::store::books::BOOKS_PREFIX): one list of steps per
/// donation, one list of sources per disbursement), with the lists changed
/// since they were last written held in memory on top, in [`Layers`] (see
/// there how a flush writes them). Its answers are those of a
/// [`TraceIndex`] that recorded the same flows.
///
/// # Panics
/// Reads panic if the store fails (see [`crate::store::books::read`]).
#[derive(Clone, Debug)]
pub struct StoredTrace<S> {
    store: S,
    layers: Layers<TraceLayer>,
}

impl<S: LogStore> StoredTrace<S> {
    /// The index kept in `store`, nothing pending.
    pub fn new(store: S) -> Self {
        Self {
            store,
            layers: Layers::default(),
        }
    }

    /// Records the flows of an accepted entry (pending until written).
    pub fn record(&mut self, effects: &Effects) {
        record(self, effects);
    }

    /// The donations that funded a live (not reversed) disbursement:
    /// `(donation index, amount)` in consumption order.
    #[must_use]
    pub fn sources(&self, disbursement: u64) -> Vec<(u64, u64)> {
        self.latest_sources(disbursement).unwrap_or_default()
    }

    /// Where a donation went; `None` if `donation` is not a donation entry.
    #[must_use]
    pub fn trace<H: History>(&self, state: &State<H>, donation: u64) -> Option<Trace> {
        match self.layers.find(|l| l.steps.get(&donation)) {
            Some(steps) => trace_of(steps, state, donation),
            None => trace_of(&self.stored_steps(donation), state, donation),
        }
    }

    /// The lists not yet written, to freeze, release or thaw them (see
    /// [`Layers`]).
    pub fn layers_mut(&mut self) -> &mut Layers<TraceLayer> {
        &mut self.layers
    }

    /// The lists not yet written.
    #[must_use]
    pub fn layers(&self) -> &Layers<TraceLayer> {
        &self.layers
    }

    /// The steps of `origin` as stored.
    fn stored_steps(&self, origin: u64) -> Vec<Step> {
        books::read(&self.store, &steps_key(origin)).unwrap_or_default()
    }

    /// The newest sources of `outflow`: pending, frozen or stored (`None`
    /// if it has none, or was reversed).
    fn latest_sources(&self, outflow: u64) -> Option<Vec<(u64, u64)>> {
        match self.layers.find(|l| l.sources.get(&outflow)) {
            Some(list) => list.clone(),
            None => books::read(&self.store, &sources_key(outflow)),
        }
    }
}

impl<S: LogStore> Lists for StoredTrace<S> {
    fn steps_mut(&mut self, origin: u64) -> &mut Vec<Step> {
        // A list changes in the pending layer, starting from its newest
        // version (frozen or stored) when it is not there yet.
        let older = (!self.layers.pending().steps.contains_key(&origin)).then(|| {
            self.layers
                .find(|l| l.steps.get(&origin).cloned())
                .unwrap_or_else(|| self.stored_steps(origin))
        });
        self.layers
            .pending_mut()
            .steps
            .entry(origin)
            .or_insert_with(|| older.unwrap_or_default())
    }

    fn sources_mut(&mut self, outflow: u64) -> &mut Vec<(u64, u64)> {
        let older = (!self.layers.pending().sources.contains_key(&outflow))
            .then(|| self.latest_sources(outflow));
        self.layers
            .pending_mut()
            .sources
            .entry(outflow)
            .or_insert_with(|| older.flatten())
            .get_or_insert_with(Vec::new)
    }

    fn remove_sources(&mut self, outflow: u64) {
        self.layers.pending_mut().sources.insert(outflow, None);
    }
}
