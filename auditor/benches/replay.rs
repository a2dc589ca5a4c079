//! How fast the auditor replays a log (issue 5: at least 60,000 entries per
//! second on the 2-core machine): entry bundles in memory are split, every
//! signature verified (in batches, on every core), every rule applied, the
//! tree rebuilt and its root compared. The machine's single Ed25519 verify
//! rate is measured in the same run, for scale.
//!
//! The history is the ledger's test world (genesis, keys, campaigns), then a
//! relief campaign's mix: donations, disbursements to enrolled households,
//! their acknowledgments.
#![allow(missing_docs)]

#[path = "../../ledger/tests/support/mod.rs"]
mod support;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ed25519_dalek::{Signer as _, SigningKey};
use minhbach_auditor::replay::Replay;
use minhbach_ledger::merkle::Hash;
use minhbach_ledger::tile::{encode_entry_bundle, parse_entry_bundle};
use serde_json::json;
use support::*;

const N: usize = 50_000;

fn history(n: usize) -> (Vec<Vec<u8>>, Hash) {
    let mut w = World::build(true);
    for p in 2..100 {
        w.ok(step(
            json!({"type": "beneficiary.enroll", "beneficiary": person(p).to_hex(), "region": LAO_CAI_WARD,
                   "category": "disaster_affected", "priority": 2}),
            &["field"],
        ));
    }
    let mut i = 0u64;
    let mut last = None;
    while w.leaves.len() < n {
        i += 1;
        match i % 10 {
            0..=6 => {
                w.donation(1_000_000 + i % 977, &format!("FT24{i:012}"));
            }
            7 | 8 => last = Some(w.disburse(500_000, 1 + (i % 99) as u32)),
            _ => {
                if let Some(d) = last.take() {
                    let r = w.entry_ref(d);
                    w.ok(step(
                        json!({"type": "acknowledgment", "disbursement": r, "amount": 500_000}),
                        &["field"],
                    ));
                }
            }
        }
    }
    let bundles = w
        .leaves
        .chunks(256)
        .map(|c| encode_entry_bundle(&c.iter().map(Vec::as_slice).collect::<Vec<_>>()).unwrap())
        .collect();
    let mut tree = minhbach_ledger::merkle::Tree::new();
    let mut nodes = Vec::new();
    for l in &w.leaves {
        tree.append(minhbach_ledger::merkle::leaf_hash(l), &mut nodes);
    }
    (bundles, tree.root())
}

fn replay_all(bundles: &[Vec<u8>], threads: usize) -> Hash {
    let leaves: Vec<&[u8]> = bundles
        .iter()
        .flat_map(|b| parse_entry_bundle(b).unwrap())
        .collect();
    let mut r = Replay::new(threads);
    r.replay(&leaves).unwrap();
    r.root()
}

/// This process's user + system CPU time, in seconds (Linux, 100 ticks/s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which ends with ')'): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    f.iter().sum::<u64>() as f64 / 100.0
}

fn bench(c: &mut Criterion) {
    let (bundles, root) = history(N);
    let entries: usize = bundles
        .iter()
        .map(|b| parse_entry_bundle(b).unwrap().len())
        .sum();
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    assert_eq!(replay_all(&bundles, cores), root);
    eprintln!(
        "history: {entries} entries in {} bundles, {cores} cores",
        bundles.len()
    );

    // Wall-clock and CPU time of whole replays, with the machine's load: the
    // two cores are shared, so CPU time per entry says what an idle machine
    // would do (entries/s ≈ cores / CPU-seconds per entry).
    for threads in [cores, 1] {
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let (cpu0, t0) = (cpu_seconds(), std::time::Instant::now());
        let runs = 3;
        for _ in 0..runs {
            black_box(replay_all(&bundles, threads));
        }
        let (cpu, wall) = (cpu_seconds() - cpu0, t0.elapsed().as_secs_f64());
        let n = (entries * runs) as f64;
        eprintln!(
            "replay {threads} thread(s): {:.0} entries/s wall, {:.1} µs CPU per entry \
             (≈ {:.0} entries/s on {cores} idle cores); load average before: {}",
            n / wall,
            cpu / n * 1e6,
            cores as f64 * n / cpu,
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        );
    }

    let mut g = c.benchmark_group("audit_replay");
    g.sample_size(10);
    g.throughput(Throughput::Elements(entries as u64));
    g.bench_function(
        format!("verify_and_replay_{entries}/{cores}_threads"),
        |b| b.iter(|| black_box(replay_all(&bundles, cores))),
    );
    g.bench_function(format!("verify_and_replay_{entries}/1_thread"), |b| {
        b.iter(|| black_box(replay_all(&bundles, 1)))
    });
    g.finish();

    let mut g = c.benchmark_group("machine_limit");
    g.throughput(Throughput::Elements(1));
    let key = SigningKey::from_bytes(&[7; 32]);
    let msg = [0x5a_u8; 600];
    let sig = key.sign(&msg);
    let vk = key.verifying_key();
    g.bench_function("ed25519_verify_strict_600B", |b| {
        b.iter(|| black_box(vk.verify_strict(black_box(&msg), &sig)).unwrap())
    });
    // The ledger's batch check (cofactored, the rule the auditor applies).
    let items: Vec<_> = (0..256).map(|_| (&vk, &msg[..], &sig)).collect();
    g.throughput(Throughput::Elements(256));
    g.bench_function("ed25519_verify_batch_256x600B", |b| {
        b.iter(|| assert!(minhbach_ledger::ed25519::verify_batch(black_box(&items))))
    });
    g.finish();

    // Where a replay spends its time, one thread: parsing leaves and
    // statements alone.
    let leaves: Vec<&[u8]> = bundles
        .iter()
        .flat_map(|b| parse_entry_bundle(b).unwrap())
        .collect();
    let mut g = c.benchmark_group("audit_parts");
    g.sample_size(10);
    g.throughput(Throughput::Elements(leaves.len() as u64));
    g.bench_function("parse_leaf_and_statement", |b| {
        b.iter(|| {
            for l in &leaves {
                let leaf = minhbach_ledger::leaf::Leaf::parse(l).unwrap();
                black_box(
                    minhbach_ledger::statement::Statement::from_json(leaf.envelope.payload())
                        .unwrap(),
                );
            }
        })
    });
    let mut r = Replay::new(1);
    r.replay(&leaves).unwrap();
    let keys: std::collections::HashMap<_, _> = r
        .state
        .keys()
        .into_iter()
        .map(|(id, k)| {
            (
                *id,
                ed25519_dalek::VerifyingKey::from_bytes(&k.public_key.0).unwrap(),
            )
        })
        .collect();
    let envelopes: Vec<minhbach_ledger::envelope::Envelope> = leaves
        .iter()
        .map(|l| minhbach_ledger::leaf::Leaf::parse(l).unwrap().envelope)
        .collect();
    g.bench_function("envelope_verify_batch_1024", |b| {
        b.iter(|| {
            for chunk in envelopes.chunks(1024) {
                black_box(minhbach_ledger::envelope::Envelope::verify_batch(
                    chunk,
                    |k| keys.get(k).copied(),
                ));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
