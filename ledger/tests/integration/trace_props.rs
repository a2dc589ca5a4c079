//! Property tests of the rules and the gift trace (SPEC 6.8): random histories
//! never break the invariants — balances ≥ 0 and equal to their queues and to
//! in − out, the traces of all donations add up to the outflows, refused entries
//! change nothing, and replay is deterministic.

use minhbach_demo::world as support;

use minhbach_ledger::rules::{FlowKind, State};
use minhbach_ledger::statement::Slug;
use minhbach_ledger::summary;
use minhbach_ledger::trace::AckStatus;
use proptest::prelude::*;
use serde_json::json;
use support::*;

#[derive(Clone, Debug)]
enum Op {
    Donate { hanoi: bool, amount: u64 },
    Disburse { amount: u64, who: u32 },
    Transfer { amount: u64 },
    Ack { pick: usize, amount: u64 },
    ReverseDonation { pick: usize },
    ReverseDisbursement { pick: usize },
    Close,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<bool>(), 1u64..5_000_000).prop_map(|(hanoi, amount)| Op::Donate { hanoi, amount }),
        4 => (1u64..6_000_000, 1u32..5).prop_map(|(amount, who)| Op::Disburse { amount, who }),
        2 => (1u64..8_000_000).prop_map(|amount| Op::Transfer { amount }),
        2 => (any::<usize>(), 1u64..3_000_000).prop_map(|(pick, amount)| Op::Ack { pick, amount }),
        1 => any::<usize>().prop_map(|pick| Op::ReverseDonation { pick }),
        1 => any::<usize>().prop_map(|pick| Op::ReverseDisbursement { pick }),
        1 => Just(Op::Close),
    ]
}

fn world() -> World {
    let mut w = World::new();
    for p in 2..5 {
        w.ok(step(
            json!({"type": "beneficiary.enroll", "beneficiary": person(p).to_hex(), "region": LAO_CAI_WARD,
                   "category": "poor_household", "priority": 2}),
            &["field"],
        ));
    }
    w
}

fn run(w: &mut World, ops: &[Op]) {
    let mut refs = 0u32;
    for o in ops {
        let s = match o {
            Op::Donate { hanoi, amount } => {
                refs += 1;
                donation(
                    if *hanoi { HANOI } else { YAGI },
                    *amount,
                    &format!("FT-P{refs}"),
                )
            }
            Op::Disburse { amount, who } => disbursement(YAGI, *amount, *who, &["a1", "a2"]),
            Op::Transfer { amount } => step(
                json!({"type": "transfer", "from_campaign": YAGI, "to_campaign": HANOI, "amount": amount,
                       "asset": "VND", "purpose": "Phân bổ"}),
                &["a1"],
            ),
            Op::Ack { pick, amount } => {
                let ds: Vec<u64> = w.trace_disbursements();
                if ds.is_empty() {
                    continue;
                }
                let d = ds[pick % ds.len()];
                step(
                    json!({"type": "acknowledgment", "disbursement": w.entry_ref(d), "amount": amount}),
                    &["field"],
                )
            }
            Op::ReverseDonation { pick } | Op::ReverseDisbursement { pick } => {
                let targets: Vec<u64> = if matches!(o, Op::ReverseDonation { .. }) {
                    (0..w.entries.len() as u64)
                        .filter(|i| w.state.donation_record(*i).unwrap().is_some())
                        .collect()
                } else {
                    w.trace_disbursements()
                };
                if targets.is_empty() {
                    continue;
                }
                let t = targets[pick % targets.len()];
                let signers: &[&'static str] = if matches!(o, Op::ReverseDonation { .. }) {
                    if w.state
                        .donation_record(t)
                        .unwrap()
                        .is_some_and(|d| d.campaign.as_str() == HANOI)
                    {
                        &["intake_hn"]
                    } else {
                        &["intake"]
                    }
                } else {
                    &["a1", "a2"]
                };
                step(
                    json!({"type": "reversal", "target": w.entry_ref(t), "reason": "Hoàn trả"}),
                    signers,
                )
            }
            Op::Close => step(
                json!({"type": "campaign.close", "campaign": HANOI, "reason": "Kết thúc"}),
                &["g1", "g2"],
            ),
        };
        let before = w.state.clone();
        if w.submit(s).is_err() {
            assert_eq!(w.state, before, "a refused entry changed the state");
        }
        check_invariants(w);
    }
}

trait Disbursements {
    fn trace_disbursements(&self) -> Vec<u64>;
}

impl Disbursements for World {
    fn trace_disbursements(&self) -> Vec<u64> {
        (0..self.entries.len() as u64)
            .filter(|i| self.state.disbursement_record(*i).unwrap().is_some())
            .collect()
    }
}

fn check_invariants(w: &World) {
    let mut total_balance = 0u64;
    for (slug, c) in w.state.campaigns() {
        for (asset, f) in &c.funds {
            let queued: u64 = f.queue.iter().map(|s| s.amount).sum();
            assert_eq!(f.balance, queued, "{slug}/{asset}: balance is the queue");
            assert!(f.queue.iter().all(|s| s.amount > 0));
            if asset.as_str() == "VND" {
                total_balance += f.balance;
            }
        }
        let sum = summary::campaign(&w.state, slug).unwrap();
        for a in &sum.assets {
            assert_eq!(
                a.total_in - a.total_out,
                a.balance,
                "{slug}: in − out = balance"
            );
        }
    }
    // Traces: unspent shares add up to the balances; each live disbursement is
    // exactly covered by its sources.
    let mut unspent = 0u64;
    let mut per_disbursement = std::collections::BTreeMap::<u64, i128>::new();
    for i in 0..w.entries.len() as u64 {
        if let Some(t) = w.trace.trace(&w.state, i).unwrap() {
            if t.asset.as_str() == "VND" {
                unspent += t.unspent;
            }
            for s in &t.steps {
                match s.kind {
                    FlowKind::Disbursed => {
                        *per_disbursement.entry(s.at).or_default() += i128::from(s.amount)
                    }
                    FlowKind::Restored { disbursement } => {
                        *per_disbursement.entry(disbursement).or_default() -= i128::from(s.amount)
                    }
                    _ => {}
                }
                if let (FlowKind::Disbursed, Some(AckStatus::Reversed { .. })) = (&s.kind, s.ack) {
                    assert!(
                        w.state
                            .disbursement_record(s.at)
                            .unwrap()
                            .unwrap()
                            .reversed_by
                            .is_some()
                    );
                }
            }
        }
    }
    assert_eq!(unspent, total_balance, "unspent shares = balances");
    for i in 0..w.entries.len() as u64 {
        if let Some(d) = w.state.disbursement_record(i).unwrap() {
            let traced = per_disbursement.get(&i).copied().unwrap_or(0);
            let sources: u64 = w.trace.sources(i).iter().map(|(_, a)| a).sum();
            if d.reversed_by.is_some() {
                assert_eq!(traced, 0, "a reversed disbursement is fully restored");
                assert_eq!(sources, 0);
            } else {
                assert_eq!(
                    traced,
                    i128::from(d.amount),
                    "traces of disbursement {i} = its amount"
                );
                assert_eq!(sources, d.amount);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_histories_keep_the_invariants(ops in proptest::collection::vec(op(), 1..40)) {
        let mut w = world();
        run(&mut w, &ops);
        // Replay is deterministic: same state, same effects.
        let mut again = State::new();
        let mut trace = minhbach_ledger::trace::TraceIndex::new();
        for e in &w.entries {
            let fx = again.apply(e).unwrap();
            trace.record(&fx);
        }
        prop_assert_eq!(&again, &w.state);
        prop_assert_eq!(&trace, &w.trace);
    }
}

#[test]
fn fifo_follows_transfers_and_reversals() {
    let mut w = World::new();
    let d1 = w.entries.len() as u64 - 1; // 10,000,000 from the base world
    let d2 = w.donation(5_000_000, "FT-2");
    let out1 = w.disburse(12_000_000, 1); // all of d1, 2,000,000 of d2
    let t = w.ok(step(
        json!({"type": "transfer", "from_campaign": YAGI, "to_campaign": HANOI, "amount": 1_000_000,
               "asset": "VND", "purpose": "Phân bổ"}),
        &["a1"],
    ));
    let hn = w.ok(step(
        json!({"type": "disbursement", "campaign": HANOI, "amount": 600_000, "asset": "VND",
               "recipient": {"organization": "UBND phường Ba Đình"}, "region": BA_DINH, "purpose": "Hỗ trợ"}),
        &["a1"],
    ));
    let t1 = w.trace.trace(&w.state, d1).unwrap().unwrap();
    assert_eq!(t1.steps.len(), 1);
    assert_eq!((t1.steps[0].at, t1.steps[0].amount), (out1, 10_000_000));
    assert_eq!(t1.steps[0].ack, Some(AckStatus::Unacknowledged));
    assert_eq!(t1.unspent, 0);
    let t2 = w.trace.trace(&w.state, d2).unwrap().unwrap();
    let kinds: Vec<_> = t2
        .steps
        .iter()
        .map(|s| (s.at, s.amount, s.campaign.as_str().to_owned()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (out1, 2_000_000, YAGI.into()),
            (t, 1_000_000, YAGI.into()),
            (hn, 600_000, HANOI.into())
        ]
    );
    assert_eq!(t2.unspent, 5_000_000 - 2_000_000 - 600_000);
    // Reversing the disbursement puts d1 and d2's shares back at the front.
    w.ok(step(
        json!({"type": "reversal", "target": w.entry_ref(out1), "reason": "Sai người nhận"}),
        &["a1"],
    ));
    let t1 = w.trace.trace(&w.state, d1).unwrap().unwrap();
    assert_eq!(t1.unspent, 10_000_000);
    assert_eq!(
        t1.steps[0].ack,
        Some(AckStatus::Reversed {
            by: w.state.next_index() - 1
        })
    );
    let f = &w.state.campaign(&Slug::new(YAGI).unwrap()).unwrap().funds;
    let q: Vec<_> = f
        .values()
        .next()
        .unwrap()
        .queue
        .iter()
        .map(|s| (s.origin, s.amount))
        .collect();
    assert_eq!(q, vec![(d1, 10_000_000), (d2, 2_000_000), (d2, 2_000_000)]);
    // Reversing d2 (bounced): its own 4,000,000 left in Yagi go, the 1,000,000
    // already transferred stays in Hà Nội; nothing needs covering.
    w.ok(step(
        json!({"type": "reversal", "target": w.entry_ref(d2), "reason": "Giao dịch bị hoàn"}),
        &["intake"],
    ));
    let t2 = w.trace.trace(&w.state, d2).unwrap().unwrap();
    assert_eq!(t2.reversed_by, Some(w.state.next_index() - 1));
    assert_eq!(t2.unspent, 400_000);
}

#[test]
fn reversal_of_a_spent_donation_is_covered_first_in_first_out() {
    let mut w = World::new();
    let d1 = w.entries.len() as u64 - 1; // 10,000,000
    let d2 = w.donation(3_000_000, "FT-2");
    let d3 = w.donation(8_000_000, "FT-3");
    w.disburse(12_000_000, 1); // d1 fully, d2 2,000,000
    // d2 bounces: 1,000,000 of its own remain; 2,000,000 are covered from d2's
    // remaining... none left, so from the front: d3.
    w.ok(step(
        json!({"type": "reversal", "target": w.entry_ref(d2), "reason": "Hoàn"}),
        &["intake"],
    ));
    let rev = w.state.next_index() - 1;
    let t3 = w.trace.trace(&w.state, d3).unwrap().unwrap();
    assert_eq!(t3.steps.len(), 1);
    assert_eq!(t3.steps[0].kind, FlowKind::CoveredReversal { donation: d2 });
    assert_eq!((t3.steps[0].at, t3.steps[0].amount), (rev, 2_000_000));
    assert_eq!(t3.unspent, 6_000_000);
    let t2 = w.trace.trace(&w.state, d2).unwrap().unwrap();
    assert_eq!(t2.unspent, 0);
    let _ = d1;
}

#[test]
fn summaries_and_coverage() {
    let mut w = World::new();
    for p in 2..6 {
        w.ok(step(
            json!({"type": "beneficiary.enroll", "beneficiary": person(p).to_hex(), "region": LAO_CAI_WARD,
                   "category": "disaster_affected", "priority": 2}),
            &["field"],
        ));
    }
    w.disburse(1_000_000, 1);
    w.disburse(1_000_000, 2);
    let s = summary::campaign(&w.state, &Slug::new(YAGI).unwrap()).unwrap();
    let vnd = &s.assets[0];
    assert_eq!(
        (vnd.total_in, vnd.total_out, vnd.balance),
        (10_000_000, 2_000_000, 8_000_000)
    );
    assert_eq!(vnd.by_province.get(LAO_CAI), Some(&2_000_000));
    assert_eq!(vnd.by_commune.get(LAO_CAI_WARD), Some(&2_000_000));
    let cov = summary::coverage(&w.state, 3);
    assert_eq!(cov.len(), 1);
    assert_eq!((cov[0].enrolled, cov[0].reached), (Some(5), Some(2)));
    let cov = summary::coverage(&w.state, 6);
    assert_eq!(cov[0].enrolled, None, "small cells are suppressed");
}

#[test]
fn feedback_on_time_rate() {
    let mut w = World::new();
    for (id, cat) in [
        ("fb-1", "complaint"),
        ("fb-2", "complaint"),
        ("fb-3", "request"),
    ] {
        w.ok(step(
            json!({"type": "feedback.open", "id": id, "category": cat, "region": LAO_CAI_WARD, "text_hash": "cd".repeat(32)}),
            &["field"],
        ));
    }
    w.ok(step(
        json!({"type": "feedback.resolve", "feedback": "fb-1", "outcome": "resolved", "response_hash": "ef".repeat(32)}),
        &["field"],
    ));
    // Sixteen days later: fb-2 is resolved late, fb-3 is overdue.
    let mut late = step(
        json!({"type": "feedback.resolve", "feedback": "fb-2", "outcome": "referred", "response_hash": "ef".repeat(32)}),
        &["field"],
    );
    late.logged_at = Some(w.now + chrono::Duration::days(16));
    w.ok(late);
    let f = summary::feedback(&w.state, w.now);
    let complaint = f
        .iter()
        .find(|x| x.category.as_str() == "complaint")
        .unwrap();
    assert_eq!(
        (
            complaint.opened,
            complaint.resolved,
            complaint.resolved_on_time
        ),
        (2, 2, 1)
    );
    let request = f.iter().find(|x| x.category.as_str() == "request").unwrap();
    assert_eq!((request.open, request.overdue), (1, 1));
}
