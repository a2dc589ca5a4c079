//! The live state does not grow with the log; the history does, and the rules
//! give the same answers wherever it is kept.
#![allow(missing_docs)]

use minhbach_demo::world as support;

use std::sync::{Arc, RwLock};

use minhbach_ledger::rules::history::HistoryKey;
use minhbach_ledger::rules::{
    DisbursementRecord, DonationRecord, History, HistoryMut, MemoryHistory, Overlay, State,
};
use minhbach_ledger::statement::{Channel, StatementKind};
use serde_json::json;
use support::*;

/// Applies the relief flow for `n` entries after the standard world.
fn flow(n: usize) -> World {
    let mut w = World::new();
    enroll_households(&mut w);
    relief_flow(&mut w, n);
    w
}

#[test]
fn the_live_state_follows_open_items_not_the_log() {
    let short = flow(2_000);
    let long = flow(8_000);
    let (a, b) = (short.state.sizes(), long.state.sizes());
    // Same keys, campaigns, accounts and households; nothing left open beyond
    // the last few unspent donations and the feedback of the moment.
    assert_eq!(
        (a.keys, a.campaigns, a.accounts, a.beneficiaries),
        (b.keys, b.campaigns, b.accounts, b.beneficiaries)
    );
    assert!(b.open_slices <= 20, "{b:?}");
    assert_eq!(b.open_feedback, 0, "{b:?}");
    // Four times the log, the same live bytes within a few slices.
    let (sa, sb) = (short.state.approx_bytes(), long.state.approx_bytes());
    assert!(sb <= sa + 20 * 16, "live state {sa} -> {sb} bytes");
    // While the history grew with the log, so the check above can fail.
    let (ha, hb) = (short.state.history().sizes(), long.state.history().sizes());
    assert!(hb.ids > 3 * ha.ids, "{ha:?} -> {hb:?}");
    assert!(hb.donations > 3 * ha.donations, "{ha:?} -> {hb:?}");
    assert!(hb.disbursements > 3 * ha.disbursements, "{ha:?} -> {hb:?}");
    assert!(long.state.history().approx_bytes() > 3 * short.state.history().approx_bytes());
}

/// A committed history behind a lock: what a store gives the server.
#[derive(Clone, Default)]
struct Committed(Arc<RwLock<MemoryHistory>>);

impl History for Committed {
    fn id(&self, key: &HistoryKey) -> Option<(u64, StatementKind)> {
        self.0.read().unwrap().id(key)
    }
    fn reference(&self, key: &HistoryKey) -> Option<u64> {
        self.0.read().unwrap().reference(key)
    }
    fn donation(&self, index: u64) -> Option<DonationRecord> {
        self.0.read().unwrap().donation(index)
    }
    fn disbursement(&self, index: u64) -> Option<DisbursementRecord> {
        self.0.read().unwrap().disbursement(index)
    }
}

impl Committed {
    /// Writes pending records the way a store does: one put per record.
    fn commit(&self, pending: &MemoryHistory) {
        let mut h = self.0.write().unwrap();
        for (key, index, kind) in pending.ids() {
            h.put_id(*key, index, kind);
        }
        for (key, index) in pending.references() {
            h.put_reference(*key, index);
        }
        for (index, d) in pending.donations() {
            h.put_donation(index, d.clone());
        }
        for (index, d) in pending.disbursements() {
            h.put_disbursement(index, d.clone());
        }
    }
}

#[test]
fn rules_over_an_overlay_agree_with_rules_in_memory() {
    let w = flow(3_000);
    let committed = Committed::default();
    let mut overlaid = State::with_history(Overlay::new(committed.clone()));
    let mut in_memory = State::new();
    let mut thawed = 0;
    for (n, chunk) in w.entries.chunks(97).enumerate() {
        for e in chunk {
            let a = overlaid.apply(e).unwrap();
            let b = in_memory.apply(e).unwrap();
            assert_eq!(a, b, "entry {}", e.index);
        }
        // A flush freezes the pending records, and the rules go on over the
        // pending, frozen and committed layers while it writes; then the
        // frozen records are committed and released, or (a failed write)
        // thawed back under what came since. Reads cross every layer.
        let layers = overlaid.history_mut().layers_mut();
        match n % 4 {
            0 => assert!(!layers.freeze().is_empty()),
            2 if n % 8 == 2 => {
                committed.commit(layers.frozen());
                layers.release();
                assert!(layers.frozen().is_empty());
            }
            2 => {
                layers.thaw();
                assert!(layers.frozen().is_empty());
                thawed += 1;
            }
            _ => {}
        }
    }
    assert!(thawed > 0);
    let layers = overlaid.history_mut().layers_mut();
    committed.commit(&layers.freeze());
    layers.release();
    assert_eq!(*committed.0.read().unwrap(), *in_memory.history());
    assert_eq!(overlaid.sizes(), in_memory.sizes());
    assert_eq!(overlaid.approx_bytes(), in_memory.approx_bytes());
    // The trace reads the history the same way.
    for index in [400, 1_000, 2_500] {
        if in_memory.donation_record(index).is_some() {
            assert_eq!(
                w.trace.trace(&overlaid, index),
                w.trace.trace(&in_memory, index)
            );
        }
    }
}

#[test]
fn a_refused_entry_or_batch_leaves_nothing_pending() {
    let mut w = World::new();
    let mut live = State::with_history(Overlay::new(Committed::default()));
    for e in &w.entries {
        live.apply(e).unwrap();
    }
    let before = live.history().layers().pending().sizes();

    // A batch whose second donation reuses the first one's reference.
    let good = w
        .entry(&donation(YAGI, 700_000, "FT24REFUSED01"))
        .unwrap()
        .0;
    let mut dup = w
        .entry(&donation(YAGI, 800_000, "FT24REFUSED01"))
        .unwrap()
        .0;
    dup.index = good.index + 1;
    let err = live.apply_batch(&[good.clone(), dup]).unwrap_err();
    assert_eq!(err.position, 1);
    assert_eq!(err.rejection.code(), "duplicate");
    assert_eq!(live.history().layers().pending().sizes(), before);
    assert_eq!(live.next_index(), good.index);
    assert_eq!(live.entry_of_ref(Channel::Bank, "FT24REFUSED01"), None);

    // A single refused entry: an acknowledgment of no disbursement.
    let ack = w
        .entry(&step(
            json!({"type": "acknowledgment", "disbursement": {"index": 1, "leaf_hash": "00".repeat(32)},
                   "amount": 1}),
            &["field"],
        ))
        .unwrap()
        .0;
    assert_eq!(live.apply(&ack).unwrap_err().code(), "unknown_disbursement");
    assert_eq!(live.history().layers().pending().sizes(), before);

    // The good one alone goes in, pending until committed.
    live.apply(&good).unwrap();
    assert_eq!(
        live.history().layers().pending().sizes().donations,
        before.donations + 1
    );
    assert_eq!(
        live.entry_of_ref(Channel::Bank, "FT24REFUSED01"),
        Some(good.index)
    );
    assert_eq!(live.history().base().donation(good.index), None);
}
