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

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signer as _, SigningKey};
use minhbach_auditor::full::BUNDLES_PER_STEP;
use minhbach_auditor::replay::Replay;
use minhbach_ledger::ed25519::{Decoded, verify_decoded_batch};
use minhbach_ledger::merkle::Hash;
use minhbach_ledger::tile::{encode_entry_bundle, parse_entry_bundle};

const N: usize = 50_000;

fn history(n: usize) -> (Vec<Vec<u8>>, Hash) {
    let w = common::history(n);
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
    // In the steps `full` uses (the pipeline fills and drains once a step).
    let mut r = Replay::new(threads);
    for step in leaves.chunks(BUNDLES_PER_STEP * 256) {
        r.replay(step).unwrap();
    }
    r.root()
}

fn env(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
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

/// Signatures by `keys` distinct keys over 600-byte messages, decoded for
/// the ledger's batch check.
fn signatures(n: usize, keys: usize) -> Vec<Decoded> {
    let signers: Vec<SigningKey> = (0..keys)
        .map(|i| SigningKey::from_bytes(&[u8::try_from(i % 250).unwrap() + 1; 32]))
        .collect();
    (0..n)
        .map(|i| {
            let key = &signers[i % keys];
            let mut msg = [0x5a_u8; 600];
            msg[..8].copy_from_slice(&(i as u64).to_le_bytes());
            Decoded::new(&key.verifying_key(), &msg, &key.sign(&msg)).unwrap()
        })
        .collect()
}

/// Runs `work` on `threads` threads at once, `rounds` times each, and
/// returns (wall seconds, CPU seconds).
fn timed(threads: usize, rounds: usize, work: impl Fn() + Sync) -> (f64, f64) {
    let (cpu0, t0) = (cpu_seconds(), std::time::Instant::now());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..rounds {
                    work();
                }
            });
        }
    });
    (t0.elapsed().as_secs_f64(), cpu_seconds() - cpu0)
}

fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn bench(c: &mut Criterion) {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    // `REPLAY_PROFILE=<entries>`: replays only (`REPLAY_RUNS` times on
    // `REPLAY_THREADS` threads), for `perf record` or
    // `valgrind --tool=callgrind --toggle-collect='*replay_all*'`.
    if let Some(n) = env("REPLAY_PROFILE") {
        let (bundles, root) = history(n);
        let (runs, threads) = (
            env("REPLAY_RUNS").unwrap_or(1),
            env("REPLAY_THREADS").unwrap_or(1),
        );
        let (wall, cpu) = timed(1, runs, || assert_eq!(replay_all(&bundles, threads), root));
        let entries = (n * runs) as f64;
        eprintln!(
            "replay {threads} thread(s): {:.0} entries/s wall, {:.1} µs CPU per entry",
            entries / wall,
            cpu / entries * 1e6
        );
        return;
    }
    let (bundles, root) = history(N);
    let entries: usize = bundles
        .iter()
        .map(|b| parse_entry_bundle(b).unwrap().len())
        .sum();
    assert_eq!(replay_all(&bundles, cores), root);
    eprintln!(
        "history: {entries} entries in {} bundles, {cores} cores",
        bundles.len()
    );

    // The machine's limit, measured in this run under the same load: the
    // ledger's batch check alone (signatures already decoded, so this is a
    // ceiling above what any replay can do), one thread and on every core.
    let one_key = signatures(1024, 1);
    let refs: Vec<&Decoded> = one_key.iter().collect();
    let mut batch_cpu = 0.0;
    for threads in [1, cores] {
        let load = load_average();
        let rounds = 40;
        let (wall, cpu) = timed(threads, rounds, || {
            assert!(verify_decoded_batch(black_box(&refs)))
        });
        let n = (refs.len() * rounds * threads) as f64;
        batch_cpu = cpu / n;
        eprintln!(
            "limit: batch check of 1024 decoded signatures (one key), {threads} thread(s): \
             {:.0} signatures/s wall, {:.1} µs CPU each; load average before: {load}",
            n / wall,
            cpu / n * 1e6,
        );
    }
    let sizes = [(256, 1), (256, 250), (1024, 1), (1024, 8)];
    for (n, keys) in sizes {
        let sigs = signatures(n, keys);
        let refs: Vec<&Decoded> = sigs.iter().collect();
        // CPU time is counted in 10 ms ticks: 40,000 signatures per figure.
        let rounds = 40_000 / n;
        let (_, cpu) = timed(1, rounds, || {
            assert!(verify_decoded_batch(black_box(&refs)))
        });
        eprintln!(
            "limit: batch check of {n} decoded signatures by {keys} key(s), 1 thread: {:.1} µs CPU each",
            cpu / (n * rounds) as f64 * 1e6
        );
    }
    let sigs = signatures(256, 1);
    let (_, cpu) = timed(1, 16, || {
        for d in &sigs {
            assert!(black_box(d).verify());
        }
    });
    eprintln!(
        "limit: single check, 1 thread: {:.1} µs CPU each (decoding excluded)",
        cpu / (256.0 * 16.0) * 1e6
    );
    let key = SigningKey::from_bytes(&[7; 32]);
    let (vk, msg) = (key.verifying_key(), [0x5a_u8; 600]);
    let sig = key.sign(&msg);
    let (_, cpu) = timed(1, 1, || {
        for _ in 0..40_000 {
            assert!(black_box(Decoded::new(&vk, &msg, &sig)).is_some());
        }
    });
    let decode_cpu = cpu / 40_000.0;
    let ceiling = cores as f64 / (decode_cpu + batch_cpu);
    eprintln!(
        "limit: decoding a signature (R decompressed, k hashed), 1 thread: {:.1} µs CPU each",
        decode_cpu * 1e6
    );
    eprintln!(
        "limit: decoding + batch check = {:.1} µs CPU per signature: at most {:.0} signatures/s \
         on {cores} idle cores, before any parsing, rules or hashing",
        (decode_cpu + batch_cpu) * 1e6,
        ceiling
    );

    // Wall-clock and CPU time of whole replays, with the machine's load: the
    // two cores are shared, so CPU time per entry says what an idle machine
    // would do (entries/s ≈ cores / CPU-seconds per entry).
    for threads in [cores, 1] {
        let load = load_average();
        let runs = 3;
        let (wall, cpu) = timed(1, runs, || {
            black_box(replay_all(&bundles, threads));
        });
        let n = (entries * runs) as f64;
        eprintln!(
            "replay {threads} thread(s): {:.0} entries/s wall ({:.0}% of the signature ceiling {:.0}/s), \
             {:.1} µs CPU per entry (≈ {:.0} entries/s on {cores} idle cores); load average before: {load}",
            n / wall,
            100.0 * n / wall / ceiling,
            ceiling,
            cpu / n * 1e6,
            cores as f64 * n / cpu,
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
