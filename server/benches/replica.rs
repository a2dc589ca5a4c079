//! Replicating a log to object storage (issue 8, "Numbers"): a log of one
//! million 600-byte entries in RocksDB, replicated with `Replica::round`
//!
//! - to a real S3 API (a local moto server, the test suite's), and
//! - to an in-memory object store in the same process: the machine's limit
//!   for our side of the work (tile reads, encoding, the request pipeline),
//!   with no network and no storage server;
//!
//! then grown by 1,000 entries and replicated again (the steady state: what
//! each new checkpoint costs). Reported: objects written, bytes per entry,
//! objects per second, and what one reader fetches to verify one entry.
//!
//! Run: `cargo bench -p minhbach-server --bench replica` (with
//! `MINHBACH_SETUP_S3=1 source scripts/setup.sh` first, for the S3 server;
//! MINHBACH_REPLICA_ENTRIES sets the size, default 1,000,000).

#[path = "../tests/support/s3.rs"]
mod s3;

use std::sync::Arc;
use std::time::Instant;

use ed25519_dalek::SigningKey;
use minhbach_ledger::checkpoint::{Checkpoint, LogSigner, sign_checkpoint};
use minhbach_ledger::log::Log;
use minhbach_ledger::note::KeyName;
use minhbach_ledger::store::rocks::RocksStore;
use minhbach_ledger::tile::{TilePath, entry_bundles_for_size, tiles_for_size};
use minhbach_server::replica::{Replica, ReplicaConfig, RoundReport};
use object_store::memory::InMemory;

const ORIGIN: &str = "bench.minhbach.example/replica";
const LEAF: usize = 600;

fn entries() -> u64 {
    std::env::var("MINHBACH_REPLICA_ENTRIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000)
}

/// Appends `n` distinct 600-byte leaves in batches of 10,000, one signed
/// checkpoint each; returns the last signed checkpoint.
fn grow(store: &RocksStore, signer: &LogSigner, from: u64, n: u64) -> Vec<u8> {
    let mut log = Log::open(store).expect("open the log");
    let mut signed = Vec::new();
    let mut i = from;
    while i < from + n {
        let end = (i + 10_000).min(from + n);
        let leaves: Vec<Vec<u8>> = (i..end)
            .map(|k| {
                let mut leaf = vec![0u8; LEAF];
                leaf[..8].copy_from_slice(&k.to_be_bytes());
                leaf[8..].iter_mut().enumerate().for_each(|(j, b)| {
                    *b = (k as usize).wrapping_mul(31).wrapping_add(j) as u8;
                });
                leaf
            })
            .collect();
        log.append(&leaves, &[], |size, root| {
            signed = sign_checkpoint(
                &Checkpoint::new(ORIGIN, size, *root, vec![]).expect("checkpoint"),
                signer,
            );
            signed.clone()
        })
        .expect("append");
        i = end;
    }
    signed
}

fn round(
    runtime: &tokio::runtime::Runtime,
    replica: &mut Replica,
    store: &Arc<RocksStore>,
    signed: &[u8],
) -> (RoundReport, f64) {
    let started = Instant::now();
    let report = runtime
        .block_on(replica.round(store, signed, b"{}"))
        .expect("replica round");
    (report, started.elapsed().as_secs_f64())
}

fn line(what: &str, n: u64, r: &RoundReport, secs: f64) -> String {
    let (objects, bytes, entries) = (r.written as f64, r.bytes as f64, n as f64);
    format!(
        "{what}: {} objects, {} bytes ({:.1} bytes/entry), {:.2} s, {:.0} objects/s, {:.0} entries/s",
        r.written,
        r.bytes,
        bytes / entries,
        secs,
        objects / secs,
        entries / secs
    )
}

/// The bytes a reader fetches to check one entry's inclusion in a tree of
/// `size` (the tiles on its path; the checkpoint is counted apart).
fn proof_tiles_bytes(size: u64) -> u64 {
    let index = size / 3;
    let mut bytes = 0;
    let mut level = 0u8;
    let mut span = 1u64;
    while span < size {
        let tile = index / (span * 256);
        let width = ((size / span) - tile * 256).min(256);
        if let Ok(p) = TilePath::hashes(level, tile, u16::try_from(width.max(1)).unwrap_or(256)) {
            bytes += 32 * u64::from(p.width());
        }
        level += 1;
        span *= 256;
    }
    bytes
}

fn main() {
    // The S3 client reads its credentials from the environment (as the
    // server does): the bench runs as a child with the test server's
    // credentials set, instead of changing its own environment.
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        let status = std::process::Command::new(std::env::current_exe().expect("own path"))
            .args(std::env::args_os().skip(1))
            .envs(s3::CREDENTIALS)
            .status()
            .expect("run the bench with the S3 credentials");
        std::process::exit(status.code().unwrap_or(1));
    }
    let n = entries();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(RocksStore::open(&dir.path().join("db")).expect("open RocksDB"));
    let signer = LogSigner::new(
        KeyName::new(ORIGIN).expect("name"),
        SigningKey::from_bytes(&[5; 32]),
    );
    let verifier = signer.verifier();
    let started = Instant::now();
    let signed = grow(&store, &signer, 0, n);
    println!(
        "log: {n} entries of {LEAF} bytes appended in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let objects = tiles_for_size(n).count() + entry_bundles_for_size(n).count();
    println!(
        "read path of the checkpoint: {objects} tiles and bundles, the checkpoint and api/v1/log"
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    // The limit of our side: an in-memory object store.
    let memory = Arc::new(InMemory::new());
    let mut mem = Replica::new(memory, "log", verifier.clone(), 16);
    let (r, secs) = round(&runtime, &mut mem, &store, &signed);
    let mem_rate = r.written as f64 / secs;
    println!(
        "{}",
        line("in-memory object store (our side's limit)", n, &r, secs)
    );

    // A real S3 API.
    let server = s3::S3::start();
    server.create_public_bucket("bench");
    let mut config = ReplicaConfig::new("s3://bench/log");
    config.endpoint = Some(server.endpoint.clone());
    let mut s3_replica = Replica::s3(&config, verifier.clone()).expect("S3 client");
    let (r, secs) = round(&runtime, &mut s3_replica, &store, &signed);
    let s3_rate = r.written as f64 / secs;
    println!(
        "{}",
        line(
            "S3 API (local moto server, 16 uploads at once)",
            n,
            &r,
            secs
        )
    );
    println!(
        "S3 / in-memory: {:.3} of our side's limit (the S3 server, written in Python, is the bottleneck)",
        s3_rate / mem_rate
    );

    // The steady state: 1,000 more entries, one more round.
    let signed = grow(&store, &signer, n, 1_000);
    let (r, secs) = round(&runtime, &mut s3_replica, &store, &signed);
    println!(
        "one more checkpoint (+1,000 entries): {} objects, {} bytes, {:.3} s",
        r.written, r.bytes, secs
    );
    let (r, secs) = round(&runtime, &mut s3_replica, &store, &signed);
    println!(
        "same checkpoint again: {} objects written, {:.3} s (one GET of the checkpoint)",
        r.written, secs
    );

    // What readers fetch.
    let proof = proof_tiles_bytes(n + 1_000);
    println!(
        "one reader verifying one entry: the checkpoint (~{} bytes) and {} bytes of hash tiles (its bundle: ~{} bytes)",
        signed.len(),
        proof,
        256 * (LEAF + 2)
    );
}
