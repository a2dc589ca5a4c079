//! Merkle log benchmarks, with peers measured in the same run.
//!
//! - append throughput of 600-byte leaves, batches of 1, 100 and 1000: our log
//!   in memory and (feature `rocksdb`) durable, fsync'd per batch; the crates
//!   ct-merkle and rs_merkle doing the same work in memory (hash the leaves,
//!   extend the tree, compute the root once per batch);
//! - inclusion and consistency proof generation and verification at 1,048,576
//!   leaves (the RocksDB store compacted after it is loaded, so that its
//!   reads do not compete with the background work of the bulk load).
//!
//! Run: `cargo bench -p minhbach-ledger --features rocksdb --bench merkle`.
//! `MINHBACH_BENCH_LEAVES` overrides the tree size for quick runs.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use minhbach_ledger::log::Log;
use minhbach_ledger::merkle::{self, Hash, HashReader as _, NodeId};
use minhbach_ledger::store::memory::MemoryStore;
use rs_merkle::algorithms::Sha256 as RsSha256;
use rs_merkle::{Hasher as _, MerkleTree};

const LEAF_SIZE: usize = 600;

fn tree_leaves() -> u64 {
    std::env::var("MINHBACH_BENCH_LEAVES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1 << 20)
}

fn leaf(i: u64) -> Vec<u8> {
    let mut l =
        format!("{{\"v\":1,\"logged_at\":\"2026-11-23T09:00:00.000Z\",\"n\":{i},\"envelope\":\"")
            .into_bytes();
    l.resize(LEAF_SIZE - 2, b'A');
    l.extend_from_slice(b"\"}");
    l
}

fn sign(size: u64, root: &Hash) -> Vec<u8> {
    format!("bench.example/log\n{size}\n{}\n", root.to_base64()).into_bytes()
}

/// A cheap deterministic index stream (xorshift), so every contender gets
/// the same indexes.
struct Indexes(u64);
impl Indexes {
    fn next_below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn bench_append(c: &mut Criterion) {
    let mut g = c.benchmark_group("append_600B");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(3));
    g.warm_up_time(Duration::from_millis(500));
    for batch in [1u64, 100, 1000] {
        let batches: Vec<Vec<Vec<u8>>> = (0..16)
            .map(|b| (0..batch).map(|i| leaf(b * batch + i)).collect())
            .collect();
        g.throughput(Throughput::Elements(batch));

        g.bench_with_input(
            BenchmarkId::new("minhbach/memory", batch),
            &batch,
            |b, _| {
                let mut log = Log::open(MemoryStore::new()).expect("open");
                let mut n = 0;
                b.iter(|| {
                    n += 1;
                    black_box(
                        log.append(&batches[n % batches.len()], &[], sign)
                            .expect("append"),
                    );
                });
            },
        );

        #[cfg(feature = "rocksdb")]
        g.bench_with_input(
            BenchmarkId::new("minhbach/rocksdb-fsync", batch),
            &batch,
            |b, _| {
                use minhbach_ledger::store::rocks::RocksStore;
                let dir = tempfile::tempdir().expect("tempdir");
                let mut log = Log::open(RocksStore::open(dir.path()).expect("open")).expect("log");
                let mut n = 0;
                b.iter(|| {
                    n += 1;
                    black_box(
                        log.append(&batches[n % batches.len()], &[], sign)
                            .expect("append"),
                    );
                });
            },
        );

        g.bench_with_input(
            BenchmarkId::new("ct-merkle/memory", batch),
            &batch,
            |b, _| {
                let mut tree = MemoryBackedTree::<sha2::Sha256, Vec<u8>>::new();
                let mut n = 0;
                b.iter(|| {
                    n += 1;
                    for l in &batches[n % batches.len()] {
                        tree.push(l.clone());
                    }
                    black_box(tree.root());
                });
            },
        );

        // rs_merkle rebuilds its tree on every commit, so it is measured on a
        // tree kept small (restarted every 64 batches) to stay comparable.
        g.bench_with_input(
            BenchmarkId::new("rs_merkle/memory", batch),
            &batch,
            |b, _| {
                let mut tree = MerkleTree::<RsSha256>::new();
                let mut n = 0;
                b.iter(|| {
                    n += 1;
                    if n % 64 == 0 {
                        tree = MerkleTree::<RsSha256>::new();
                    }
                    let mut hashes: Vec<[u8; 32]> = batches[n % batches.len()]
                        .iter()
                        .map(|l| RsSha256::hash(l))
                        .collect();
                    tree.append(&mut hashes).commit();
                    black_box(tree.root());
                });
            },
        );
    }
    g.finish();
}

/// The machine's own limits for the same work, measured in the same run:
/// SHA-256 over 600-byte leaves (the hashing every contender must do);
/// appending the same bytes to a plain file with `fdatasync` per batch (the
/// durability floor of a log that grows its file: each sync also commits the
/// new file size to the filesystem journal); and writing them over an
/// already allocated file with `fdatasync` per batch (the floor of a log
/// that reuses its files, as the RocksDB store's recycled WAL does).
fn bench_machine_limits(c: &mut Criterion) {
    let mut g = c.benchmark_group("machine_limit_600B");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(3));
    g.warm_up_time(Duration::from_millis(500));
    for batch in [1u64, 100, 1000] {
        let leaves: Vec<Vec<u8>> = (0..batch).map(leaf).collect();
        g.throughput(Throughput::Elements(batch));
        g.bench_with_input(
            BenchmarkId::new("sha256-leaf-hash", batch),
            &batch,
            |b, _| {
                b.iter(|| {
                    for l in &leaves {
                        black_box(merkle::leaf_hash(l));
                    }
                });
            },
        );
        g.bench_with_input(
            BenchmarkId::new("file-append-fdatasync", batch),
            &batch,
            |b, _| {
                use std::io::Write as _;
                let dir = tempfile::tempdir().expect("tempdir");
                let mut f = std::fs::File::create(dir.path().join("raw.log")).expect("create");
                b.iter(|| {
                    for l in &leaves {
                        f.write_all(l).expect("write");
                    }
                    f.sync_data().expect("fdatasync");
                });
            },
        );
        g.bench_with_input(
            BenchmarkId::new("file-overwrite-fdatasync", batch),
            &batch,
            |b, _| {
                use std::os::unix::fs::FileExt as _;
                const FILE: u64 = 64 << 20;
                let dir = tempfile::tempdir().expect("tempdir");
                let path = dir.path().join("recycled.log");
                let f = std::fs::File::create(&path).expect("create");
                // Allocate the file for real (zeros written and synced), as
                // a recycled WAL file is.
                let zeros = vec![0u8; 1 << 20];
                for at in (0..FILE).step_by(zeros.len()) {
                    f.write_all_at(&zeros, at).expect("preallocate");
                }
                f.sync_all().expect("fsync");
                let mut at = 0u64;
                b.iter(|| {
                    for l in &leaves {
                        if at + l.len() as u64 > FILE {
                            at = 0;
                        }
                        f.write_all_at(l, at).expect("write");
                        at += l.len() as u64;
                    }
                    f.sync_data().expect("fdatasync");
                });
            },
        );
    }
    g.finish();
}

/// A benchmark group of one element per iteration, sized for a 2-core machine.
fn group<'a>(
    c: &'a mut Criterion,
    name: &str,
    samples: usize,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(samples);
    g.measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(1));
    g
}

struct Trees {
    size: u64,
    leaves: Vec<Vec<u8>>,
    log: Log<MemoryStore>,
    #[cfg(feature = "rocksdb")]
    durable: (
        tempfile::TempDir,
        Log<minhbach_ledger::store::rocks::RocksStore>,
    ),
    ct: MemoryBackedTree<sha2::Sha256, Vec<u8>>,
    rs: MerkleTree<RsSha256>,
}

fn build_trees() -> Trees {
    let size = tree_leaves();
    let started = Instant::now();
    let leaves: Vec<Vec<u8>> = (0..size).map(leaf).collect();
    let mut log = Log::open(MemoryStore::new()).expect("open");
    for chunk in leaves.chunks(4096) {
        log.append(chunk, &[], sign).expect("append");
    }
    #[cfg(feature = "rocksdb")]
    let durable = {
        use minhbach_ledger::store::rocks::RocksStore;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut d = Log::open(RocksStore::open(dir.path()).expect("open")).expect("log");
        for chunk in leaves.chunks(1000) {
            d.append(chunk, &[], sign).expect("append");
        }
        // Proofs are measured on a settled store, not against the
        // compactions of the bulk load that just ended.
        d.store().compact().expect("compact");
        (dir, d)
    };
    let mut ct = MemoryBackedTree::<sha2::Sha256, Vec<u8>>::new();
    for l in &leaves {
        ct.push(l.clone());
    }
    let hashes: Vec<[u8; 32]> = leaves.iter().map(|l| RsSha256::hash(l)).collect();
    let rs = MerkleTree::<RsSha256>::from_leaves(&hashes);
    eprintln!("built {size}-leaf trees in {:?}", started.elapsed());
    Trees {
        size,
        leaves,
        log,
        #[cfg(feature = "rocksdb")]
        durable,
        ct,
        rs,
    }
}

fn bench_proofs(c: &mut Criterion) {
    let t = build_trees();
    let n = t.size;
    let root = t.log.root();
    let label = format!("{n}");

    let mut g = group(c, "inclusion_proof_generate", 20);
    g.bench_function(BenchmarkId::new("minhbach/memory", &label), |b| {
        let mut ix = Indexes(0x9e37_79b9_7f4a_7c15);
        b.iter(|| black_box(t.log.inclusion_proof(ix.next_below(n), n).expect("proof")));
    });
    #[cfg(feature = "rocksdb")]
    g.bench_function(BenchmarkId::new("minhbach/rocksdb", &label), |b| {
        let mut ix = Indexes(0x9e37_79b9_7f4a_7c15);
        b.iter(|| {
            black_box(
                t.durable
                    .1
                    .inclusion_proof(ix.next_below(n), n)
                    .expect("proof"),
            )
        });
    });
    g.bench_function(BenchmarkId::new("ct-merkle/memory", &label), |b| {
        let mut ix = Indexes(0x9e37_79b9_7f4a_7c15);
        b.iter(|| black_box(t.ct.prove_inclusion(ix.next_below(n) as usize)));
    });
    g.bench_function(BenchmarkId::new("rs_merkle/memory", &label), |b| {
        let mut ix = Indexes(0x9e37_79b9_7f4a_7c15);
        b.iter(|| black_box(t.rs.proof(&[ix.next_below(n) as usize])));
    });
    g.finish();

    let mut g = group(c, "inclusion_proof_verify", 20);
    g.bench_function(BenchmarkId::new("minhbach", &label), |b| {
        let mut ix = Indexes(7);
        b.iter_batched(
            || {
                let i = ix.next_below(n);
                let p = t.log.inclusion_proof(i, n).expect("proof");
                (i, merkle::leaf_hash(&t.leaves[i as usize]), p)
            },
            |(i, h, p)| merkle::verify_inclusion(&h, i, n, &p, &root).expect("verifies"),
            BatchSize::SmallInput,
        );
    });
    g.bench_function(BenchmarkId::new("ct-merkle", &label), |b| {
        let mut ix = Indexes(7);
        let ct_root = t.ct.root();
        b.iter_batched(
            || {
                let i = ix.next_below(n);
                (i, t.ct.prove_inclusion(i as usize))
            },
            |(i, p)| {
                ct_root
                    .verify_inclusion(&t.leaves[i as usize], i, &p)
                    .expect("verifies")
            },
            BatchSize::SmallInput,
        );
    });
    g.bench_function(BenchmarkId::new("rs_merkle", &label), |b| {
        let mut ix = Indexes(7);
        let rs_root = t.rs.root().expect("root");
        b.iter_batched(
            || {
                let i = ix.next_below(n) as usize;
                (i, t.rs.proof(&[i]))
            },
            |(i, p)| {
                // The leaf is hashed inside the measured work, as for the others.
                let h = RsSha256::hash(&t.leaves[i]);
                assert!(p.verify(rs_root, &[i], &[h], n as usize));
            },
            BatchSize::SmallInput,
        );
    });
    g.finish();

    let mut g = group(c, "consistency_proof_generate", 20);
    g.bench_function(BenchmarkId::new("minhbach/memory", &label), |b| {
        let mut ix = Indexes(11);
        b.iter(|| {
            black_box(
                t.log
                    .consistency_proof(1 + ix.next_below(n - 1), n)
                    .expect("proof"),
            )
        });
    });
    #[cfg(feature = "rocksdb")]
    g.bench_function(BenchmarkId::new("minhbach/rocksdb", &label), |b| {
        let mut ix = Indexes(11);
        b.iter(|| {
            black_box(
                t.durable
                    .1
                    .consistency_proof(1 + ix.next_below(n - 1), n)
                    .expect("proof"),
            )
        });
    });
    g.bench_function(BenchmarkId::new("ct-merkle/memory", &label), |b| {
        let mut ix = Indexes(11);
        b.iter(|| {
            let old = 1 + ix.next_below(n - 1);
            black_box(t.ct.prove_consistency((n - old) as usize))
        });
    });
    g.finish();

    let mut g = group(c, "consistency_proof_verify", 20);
    g.bench_function(BenchmarkId::new("minhbach", &label), |b| {
        let mut ix = Indexes(11);
        b.iter_batched(
            || {
                let old = 1 + ix.next_below(n - 1);
                let root1 = merkle::root_at(t.log.store(), old).expect("root");
                (old, root1, t.log.consistency_proof(old, n).expect("proof"))
            },
            |(old, root1, p)| merkle::verify_consistency(old, n, &p, &root1, &root).expect("ok"),
            BatchSize::SmallInput,
        );
    });
    g.bench_function(BenchmarkId::new("ct-merkle", &label), |b| {
        let mut ix = Indexes(11);
        let new_root = t.ct.root();
        b.iter_batched(
            || {
                let old = 1 + ix.next_below(n - 1);
                let root1 = merkle::root_at(t.log.store(), old).expect("root");
                let old_root = ct_merkle::RootHash::<sha2::Sha256>::new(root1.0.into(), old);
                (old_root, t.ct.prove_consistency((n - old) as usize))
            },
            |(old_root, p)| new_root.verify_consistency(&old_root, &p).expect("ok"),
            BatchSize::SmallInput,
        );
    });
    g.finish();
    bench_tiles(c, &t);
}

/// A level-0 C2SP tile (the 256 leaf hashes of a complete tile), as the
/// server's `/tile/0/…` reads it.
fn bench_tiles(c: &mut Criterion, t: &Trees) {
    let tiles = t.size / 256;
    let label = format!("{}", t.size);
    let mut g = group(c, "level0_tile_read", 20);
    g.bench_function(BenchmarkId::new("minhbach/memory", &label), |b| {
        let mut ix = Indexes(0x9e37_79b9_7f4a_7c15);
        b.iter(|| {
            let start = ix.next_below(tiles) * 256;
            let ids: Vec<NodeId> = (start..start + 256)
                .map(|index| NodeId { level: 0, index })
                .collect();
            black_box(t.log.store().read_hashes(&ids).expect("tile"))
        });
    });
    #[cfg(feature = "rocksdb")]
    g.bench_function(BenchmarkId::new("minhbach/rocksdb", &label), |b| {
        let mut ix = Indexes(0x9e37_79b9_7f4a_7c15);
        b.iter(|| {
            let start = ix.next_below(tiles) * 256;
            black_box(
                t.durable
                    .1
                    .store()
                    .read_node_run(0, start, 256)
                    .expect("tile"),
            )
        });
    });
    g.finish();
}

criterion_group!(benches, bench_machine_limits, bench_append, bench_proofs);
criterion_main!(benches);
