//! The live state does not grow with the log; the history does, and the rules
//! give the same answers wherever it is kept.

use minhbach_demo::world as support;

use minhbach_ledger::rules::history::HistoryKey;
use minhbach_ledger::rules::{
    ApplyError, DisbursementRecord, DonationRecord, History, HistoryMut, Lookup, MemoryHistory,
    State,
};
use minhbach_ledger::statement::StatementKind;
use minhbach_ledger::store::StoreError;
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

/// A history in memory whose lookups fail while `failing` is set: what a
/// store that cannot be read gives the rules.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
struct Flaky {
    records: MemoryHistory,
    failing: bool,
}

impl Flaky {
    fn check(&self) -> Result<(), StoreError> {
        if self.failing {
            Err(StoreError::Backend {
                message: "the disk is gone".into(),
            })
        } else {
            Ok(())
        }
    }
}

impl History for Flaky {
    fn id(&self, key: &HistoryKey) -> Lookup<(u64, StatementKind)> {
        self.check()?;
        self.records.id(key)
    }
    fn reference(&self, key: &HistoryKey) -> Lookup<u64> {
        self.check()?;
        self.records.reference(key)
    }
    fn donation(&self, index: u64) -> Lookup<DonationRecord> {
        self.check()?;
        self.records.donation(index)
    }
    fn disbursement(&self, index: u64) -> Lookup<DisbursementRecord> {
        self.check()?;
        self.records.disbursement(index)
    }
}

impl HistoryMut for Flaky {
    fn put_id(&mut self, key: HistoryKey, index: u64, kind: StatementKind) {
        self.records.put_id(key, index, kind);
    }
    fn put_reference(&mut self, key: HistoryKey, index: u64) {
        self.records.put_reference(key, index);
    }
    fn put_donation(&mut self, index: u64, record: DonationRecord) {
        self.records.put_donation(index, record);
    }
    fn put_disbursement(&mut self, index: u64, record: DisbursementRecord) {
        self.records.put_disbursement(index, record);
    }
}

#[test]
fn a_history_that_cannot_be_read_decides_nothing_and_changes_nothing() {
    let w = flow(600);
    let mut live = State::with_history(Flaky::default());
    let mut in_memory = State::new();
    let mut unavailable = 0;
    for e in &w.entries {
        // Every entry is first tried while the history cannot be read:
        // each one that looks up the past (every one: its statement id) is
        // refused as unavailable, never accepted or refused by a rule on a
        // guess, and leaves the state exactly as it was.
        live.history_mut().failing = true;
        let before = live.clone();
        match live.apply(e) {
            Err(ApplyError::Unavailable(StoreError::Backend { message })) => {
                assert_eq!(message, "the disk is gone");
                unavailable += 1;
            }
            other => panic!("entry {}: {other:?}", e.index),
        }
        assert!(live == before, "entry {} changed the state", e.index);
        // Readable again: the same answer as in memory.
        live.history_mut().failing = false;
        assert_eq!(live.apply(e), in_memory.apply(e));
    }
    assert_eq!(unavailable, w.entries.len());
    assert_eq!(live.history().records, *in_memory.history());
    assert_eq!(live.sizes(), in_memory.sizes());
    // The trace reads the history the same way, and fails the same way.
    let donation = (0..w.entries.len() as u64)
        .find(|&i| in_memory.donation_record(i).unwrap().is_some())
        .unwrap();
    assert_eq!(
        w.trace.trace(&live, donation).unwrap(),
        w.trace.trace(&in_memory, donation).unwrap()
    );
    live.history_mut().failing = true;
    assert!(w.trace.trace(&live, donation).is_err());
}
