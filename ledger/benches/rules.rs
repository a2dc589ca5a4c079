//! How fast the rules apply already-verified statements (issue 3: at least
//! 200,000 per second on one core), and how the state grows.
//!
//! The mix is what a relief campaign looks like (`minhbach_demo::world::relief_flow`): 70 %
//! donations, 15 % disbursements to enrolled households, 10 %
//! acknowledgments, 5 % feedback opened and resolved. Signatures are verified elsewhere (in parallel batches),
//! so the entries here are [`VerifiedEntry`] values built beforehand.
#![allow(missing_docs)]

use minhbach_demo::world as support;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use minhbach_ledger::rules::{State, VerifiedEntry};
use support::*;

fn history(n: usize) -> (State, Vec<VerifiedEntry>) {
    let mut w = World::new();
    enroll_households(&mut w);
    let base = w.state.clone();
    let start = w.entries.len();
    relief_flow(&mut w, n);
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
    let (base, entries) = history(4 * n);
    // Growth, printed once (not timed): the live state follows the open
    // items, the history (kept outside memory by the server) the log.
    for k in [n / 4, n, 2 * n, 4 * n] {
        let s = apply_all(&base, &entries[..k]);
        eprintln!(
            "after {k} entries: live state ~{} bytes {:?}; history ~{} bytes {:?}",
            s.approx_bytes(),
            s.sizes(),
            s.history().approx_bytes(),
            s.history().sizes()
        );
    }
    let entries = &entries[..n];
    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Elements(entries.len() as u64));
    g.sample_size(10);
    g.bench_function("apply_100k_verified", |b| {
        b.iter(|| black_box(apply_all(&base, entries)))
    });
    g.finish();
}

criterion_group!(benches, bench_rules);
criterion_main!(benches);
