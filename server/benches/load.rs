//! The server under load over loopback (issue 4, "Speed"): the real
//! `minhbach-server demo` binary as a child process, driven over HTTP/1.1
//! keep-alive connections. Statements are signed before the clock starts,
//! so the figures measure the server, not the clients' signing.
//!
//! Reported, each with the machine's limit measured in the same run:
//! - the Ed25519 verification limit of this machine (the ledger's batch
//!   verification on every core, no HTTP, no rules, no disk);
//! - batched submission: statements/s end to end (1,000 per request);
//! - single-statement requests from 64 keep-alive connections: requests/s;
//! - latency from submission to a published checkpoint (`?wait=checkpoint`)
//!   at a paced 5,000 statements/s: p50, p99;
//! - inclusion-proof and tile requests/s at the final log size;
//! - the server's peak resident memory (VmHWM).
//!
//! Run: `cargo bench -p minhbach-server --bench load` (MINHBACH_LOAD_SCALE
//! scales the statement counts, default 1.0).

#[path = "../tests/support/load.rs"]
mod load;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer as _, SigningKey};
use load::{agent, donation, get_bytes, intake_key, post_batch, Server};

fn scale() -> f64 {
    std::env::var("MINHBACH_LOAD_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Signs `n` donations of run `run` on every core.
fn presign(key: &SigningKey, run: u16, n: u64) -> Vec<Vec<u8>> {
    let threads = cores() as u64;
    let per = n.div_ceil(threads);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let key = key.clone();
            std::thread::spawn(move || {
                (t * per..((t + 1) * per).min(n))
                    .map(|s| donation(&key, run, s))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().expect("signer thread"))
        .collect()
}

/// Ed25519 verifications per second with the ledger's batch verification
/// (batches of 256) on every core: the ceiling for accepting statements.
fn ed25519_limit() -> f64 {
    let key = SigningKey::from_bytes(&[7; 32]);
    let vk = key.verifying_key();
    let messages: Vec<Vec<u8>> = (0..256u32)
        .map(|i| {
            format!(
                "statement {i} of a batch, about as long as a PAE of a donation: {}",
                "x".repeat(300)
            )
            .into_bytes()
        })
        .collect();
    let sigs: Vec<_> = messages.iter().map(|m| key.sign(m)).collect();
    let rounds = 60;
    let started = Instant::now();
    let handles: Vec<_> = (0..cores())
        .map(|_| {
            let (messages, sigs) = (messages.clone(), sigs.clone());
            std::thread::spawn(move || {
                for _ in 0..rounds {
                    let items: Vec<_> = messages
                        .iter()
                        .zip(&sigs)
                        .map(|(m, s)| (&vk, m.as_slice(), s))
                        .collect();
                    assert!(minhbach_ledger::ed25519::verify_batch(&items));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("verifier thread");
    }
    (cores() * rounds * 256) as f64 / started.elapsed().as_secs_f64()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Runs `threads` workers calling `work(thread, i)` for `duration`; returns
/// completed calls per second.
fn hammer(
    threads: usize,
    duration: Duration,
    work: impl Fn(usize, u64) + Send + Sync + 'static,
) -> f64 {
    let work = Arc::new(work);
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (work, done) = (work.clone(), done.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                while started.elapsed() < duration {
                    work(t, i);
                    i += 1;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("worker");
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let scale = scale();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let data_arg = data.to_str().expect("utf-8 path").to_owned();
    println!("machine: {} cores", cores());

    let limit = ed25519_limit();
    println!("ed25519 batch verification limit (all cores, no HTTP): {limit:.0}/s");

    let server = Server::start(&["demo", "--data", &data_arg]);
    let url = server.url.clone();
    let pid = server.child.id();
    let key = intake_key(&data);

    // 1. Batched submission.
    let n_batched = (120_000.0 * scale) as u64;
    let signed = Arc::new(presign(&key, 1, n_batched));
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (signed, next, url) = (signed.clone(), next.clone(), url.clone());
            std::thread::spawn(move || {
                let agent = agent(Duration::from_secs(60));
                loop {
                    let at = next.fetch_add(1000, Ordering::Relaxed);
                    if at >= signed.len() {
                        break;
                    }
                    let end = (at + 1000).min(signed.len());
                    let acked =
                        post_batch(&agent, &url, &signed[at..end], "").expect("batch accepted");
                    assert_eq!(acked.len(), end - at);
                }
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client");
    }
    let batched = n_batched as f64 / started.elapsed().as_secs_f64();
    println!(
        "batched submission (1,000 per request, 4 connections): {batched:.0} statements/s = {:.2} of the ed25519 limit (target 30,000/s)",
        batched / limit
    );

    // 2. Single-statement requests from 64 keep-alive connections.
    let n_single = (60_000.0 * scale) as u64;
    let singles = Arc::new(presign(&key, 2, n_single));
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let clients: Vec<_> = (0..64)
        .map(|_| {
            let (singles, next, url) = (singles.clone(), next.clone(), url.clone());
            std::thread::spawn(move || {
                let agent = agent(Duration::from_secs(60));
                loop {
                    let at = next.fetch_add(1, Ordering::Relaxed);
                    if at >= singles.len() {
                        break;
                    }
                    let mut response = agent
                        .post(&format!("{url}/api/v1/entries"))
                        .header("content-type", "application/json")
                        .send(&singles[at][..])
                        .expect("request");
                    let status = response.status().as_u16();
                    let _ = response.body_mut().read_to_vec();
                    assert_eq!(status, 200);
                }
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client");
    }
    let single = n_single as f64 / started.elapsed().as_secs_f64();
    println!(
        "single-statement requests (64 connections): {single:.0}/s = {:.2} of the ed25519 limit (target 8,000/s)",
        single / limit
    );

    // 3. Latency to a published checkpoint at a paced 5,000 statements/s.
    let rate = 5_000.0;
    let seconds = (10.0 * scale).max(2.0);
    let n_paced = (rate * seconds) as u64;
    let paced = Arc::new(presign(&key, 3, n_paced));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(n_paced as usize)));
    let senders = 100;
    let started = Instant::now();
    let clients: Vec<_> = (0..senders)
        .map(|t| {
            let (paced, latencies, url) = (paced.clone(), latencies.clone(), url.clone());
            std::thread::spawn(move || {
                let agent = agent(Duration::from_secs(60));
                let mut mine = Vec::new();
                let mut i = t;
                while i < paced.len() {
                    // Statement i is due at i / rate seconds after the start.
                    let due = started + Duration::from_secs_f64(i as f64 / rate);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let sent = Instant::now();
                    let mut response = agent
                        .post(&format!("{url}/api/v1/entries?wait=checkpoint"))
                        .header("content-type", "application/json")
                        .send(&paced[i][..])
                        .expect("request");
                    let status = response.status().as_u16();
                    let _ = response.body_mut().read_to_vec();
                    assert_eq!(status, 200);
                    // Measured from when it was due, so a late sender counts.
                    mine.push(sent.max(due).duration_since(due) + sent.elapsed());
                    i += senders;
                }
                latencies.lock().expect("latencies").extend(mine);
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client");
    }
    let achieved = n_paced as f64 / started.elapsed().as_secs_f64();
    let mut l = latencies.lock().expect("latencies").clone();
    l.sort();
    println!(
        "submission to published checkpoint at {achieved:.0} statements/s: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target p99 <= 250 ms at 5,000/s)",
        percentile(&l, 0.5).as_secs_f64() * 1e3,
        percentile(&l, 0.99).as_secs_f64() * 1e3,
        percentile(&l, 1.0).as_secs_f64() * 1e3,
    );

    // 4. Reads at the final size.
    let size = {
        let bytes =
            get_bytes(&agent(Duration::from_secs(5)), &url, "/checkpoint").expect("checkpoint");
        String::from_utf8_lossy(&bytes)
            .lines()
            .nth(1)
            .and_then(|l| l.parse::<u64>().ok())
            .expect("a size line")
    };
    let duration = Duration::from_secs_f64((5.0 * scale).max(2.0));
    let u = url.clone();
    let proofs = hammer(32, duration, move |t, i| {
        thread_local!(static AGENT: ureq::Agent = agent(Duration::from_secs(10)));
        let index = (t as u64 * 7919 + i * 104_729) % size;
        AGENT.with(|a| {
            get_bytes(a, &u, &format!("/api/v1/proofs/inclusion?index={index}")).expect("proof");
        });
    });
    let full_tiles = size / 256;
    let u = url.clone();
    let tiles = hammer(32, duration, move |t, i| {
        thread_local!(static AGENT: ureq::Agent = agent(Duration::from_secs(10)));
        let n = (t as u64 * 31 + i * 17) % full_tiles.max(1);
        let path = minhbach_ledger::tile::TilePath::hashes(0, n, 256)
            .expect("a full tile")
            .to_string();
        AGENT.with(|a| {
            get_bytes(a, &u, &format!("/{path}")).expect("tile");
        });
    });
    println!("at a {size}-entry log: {proofs:.0} inclusion proofs/s, {tiles:.0} level-0 tiles/s (32 connections; targets 30,000/s and 20,000/s at 10 million entries)");
    println!(
        "server peak resident memory: {:.0} MiB (target < 512 MiB)",
        peak_rss_mib(pid)
    );
    assert!(server.terminate(), "the server stops cleanly");
}
