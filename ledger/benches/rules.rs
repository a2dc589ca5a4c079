//! How fast the rules apply already-verified statements (issue 3: at least
//! 200,000 per second on one core), and how the state grows.
//!
//! The mix is what a relief campaign looks like: 70 % donations, 15 %
//! disbursements to enrolled households, 10 % acknowledgments, 5 % feedback
//! opened and resolved. Signatures are verified elsewhere (in parallel batches),
//! so the entries here are [`VerifiedEntry`] values built beforehand.
#![allow(missing_docs)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use minhbach_ledger::rules::{State, VerifiedEntry};
use serde_json::json;
use support::*;

fn history(n: usize) -> (State, Vec<VerifiedEntry>) {
    let mut w = World::new();
    for p in 2..200 {
        w.ok(step(
            json!({"type": "beneficiary.enroll", "beneficiary": person(p).to_hex(), "region": LAO_CAI_WARD,
                   "category": "disaster_affected", "priority": 2}),
            &["field"],
        ));
    }
    let base = w.state.clone();
    let start = w.entries.len();
    let mut last_disbursement = None;
    let mut i = 0u64;
    while w.entries.len() - start < n {
        i += 1;
        match i % 20 {
            0..=13 => {
                w.donation(1_000_000 + i % 977, &format!("FT24{i:012}"));
            }
            14..=16 => last_disbursement = Some(w.disburse(500_000, 1 + (i % 199) as u32)),
            17 | 18 => {
                if let Some(d) = last_disbursement.take() {
                    let r = w.entry_ref(d);
                    w.ok(step(
                        json!({"type": "acknowledgment", "disbursement": r, "amount": 500_000}),
                        &["field"],
                    ));
                }
            }
            _ => {
                let id = format!("fb-{i}");
                w.ok(step(
                    json!({"type": "feedback.open", "id": id, "category": "request", "region": LAO_CAI_WARD,
                           "text_hash": "cd".repeat(32)}),
                    &["field"],
                ));
                w.ok(step(
                    json!({"type": "feedback.resolve", "feedback": id, "outcome": "resolved",
                           "response_hash": "ef".repeat(32)}),
                    &["field"],
                ));
            }
        }
    }
    (base, w.entries.split_off(start))
}

fn apply_all(base: &State, entries: &[VerifiedEntry]) -> State {
    let mut s = base.clone();
    for e in entries {
        // Invariant: the history was built by applying these very entries.
        s.apply(e).expect("valid history");
    }
    s
}

fn bench_rules(c: &mut Criterion) {
    let n = 100_000;
    let (base, entries) = history(n);
    // State growth, printed once (not timed).
    for k in [25_000, 50_000, 100_000] {
        let s = apply_all(&base, &entries[..k]);
        eprintln!(
            "state after {k} entries: ~{} bytes, {:?}",
            s.approx_bytes(),
            s.sizes()
        );
    }
    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Elements(entries.len() as u64));
    g.sample_size(10);
    g.bench_function("apply_100k_verified", |b| {
        b.iter(|| black_box(apply_all(&base, &entries)))
    });
    g.finish();
}

criterion_group!(benches, bench_rules);
criterion_main!(benches);
