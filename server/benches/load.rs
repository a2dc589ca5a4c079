//! The server under load over loopback (issue 4, "Speed"): the real
//! `minhbach-server` binary as a child process (`demo` seeds the history,
//! then `serve` serves it with no per-client write limit, since every
//! client here is 127.0.0.1), driven over HTTP/1.1
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
//! - inclusion-proof and tile requests/s at the final log size, after a
//!   first period of the same kind of reads (reported too);
//! - the server's peak resident memory (VmHWM).
//!
//! Run: `cargo bench -p minhbach-server --bench load` (MINHBACH_LOAD_SCALE
//! scales the statement counts, default 1.0; MINHBACH_LOAD_LOG=10000000
//! fills the log to 10 million entries before the reads, with donations and
//! one disbursement per 99 of them paying them out, and restarts the server
//! there; MINHBACH_LOAD_DATA=DIR keeps the data directory). What the
//! donations of the timed phases bring in is paid out after them, untimed,
//! so that a kept directory's live state does not grow from run to run.

#[path = "../tests/support/load.rs"]
mod load;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer as _, SigningKey};
use load::{Server, batch_body, donation, intake_key};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

fn scale() -> f64 {
    std::env::var("MINHBACH_LOAD_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Signs statements `0..n` on every core, `sign(s)` being statement `s`.
fn sign_on_every_core(
    n: u64,
    sign: impl Fn(u64) -> Vec<u8> + Clone + Send + 'static,
) -> Vec<Vec<u8>> {
    let threads = cores() as u64;
    let per = n.div_ceil(threads);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let sign = sign.clone();
            std::thread::spawn(move || {
                (t * per..((t + 1) * per).min(n))
                    .map(&sign)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().expect("signer thread"))
        .collect()
}

/// Signs `n` donations of run `run` on every core.
fn presign(key: &SigningKey, run: u16, n: u64) -> Vec<Vec<u8>> {
    let key = key.clone();
    sign_on_every_core(n, move |s| donation(&key, run, s))
}

/// Signs statements `0..n` of run `run` on every core as a relief appeal
/// runs: donations, and after every 99 of them one disbursement paying out
/// what they brought in (so the unspent money, and with it the live state,
/// does not grow with the log).
fn presign_relief(intake: &SigningKey, approver: &SigningKey, run: u16, n: u64) -> Vec<Vec<u8>> {
    let (intake, approver) = (intake.clone(), approver.clone());
    sign_on_every_core(n, move |s| {
        if s % 100 == 99 {
            let paid = (s - 99..s).map(load::donation_amount).sum();
            load::disbursement(&approver, run, s, paid)
        } else {
            donation(&intake, run, s)
        }
    })
}

/// Signs disbursements paying out donations `0..n` of run `run`, one per
/// hundred of them (their sum), on every core.
fn presign_payouts(approver: &SigningKey, run: u16, n: u64) -> Vec<Vec<u8>> {
    let approver = approver.clone();
    sign_on_every_core(n.div_ceil(100), move |c| {
        let seqs = c * 100..((c + 1) * 100).min(n);
        let paid = seqs.clone().map(load::donation_amount).sum();
        load::disbursement(&approver, run, seqs.start, paid)
    })
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

/// The size of the log's current checkpoint.
fn log_size(addr: &str) -> u64 {
    let addr = addr.to_owned();
    client(async move {
        let (status, bytes) = Conn::open(&addr)
            .await
            .call("GET", "/checkpoint", b"")
            .await;
        assert_eq!(status, 200);
        String::from_utf8_lossy(&bytes)
            .lines()
            .nth(1)
            .and_then(|l| l.parse::<u64>().ok())
            .expect("a size line")
    })
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

/// One keep-alive HTTP/1.1 connection of the bench's client.
///
/// The clients share the server's two cores, so they must cost little: all
/// connections are driven by one thread (a single-threaded Tokio runtime),
/// each request is written whole and each answer read by its
/// `Content-Length`. The server sees ordinary HTTP/1.1 keep-alive clients.
struct Conn {
    stream: BufReader<TcpStream>,
    request: Vec<u8>,
}

impl Conn {
    async fn open(addr: &str) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Self {
            stream: BufReader::with_capacity(64 << 10, stream),
            request: Vec::with_capacity(1 << 20),
        }
    }

    /// Sends one request and returns the status and the body.
    async fn call(&mut self, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        self.request.clear();
        self.request.extend_from_slice(
            format!(
                "{method} {path} HTTP/1.1\r\nhost: loopback\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        self.request.extend_from_slice(body);
        self.stream
            .get_mut()
            .write_all(&self.request)
            .await
            .expect("send");
        let mut line = String::new();
        self.stream.read_line(&mut line).await.expect("status line");
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {line:?}"));
        let mut length = None;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await.expect("header");
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>().ok();
                }
                assert!(
                    !name.eq_ignore_ascii_case("transfer-encoding"),
                    "chunked answers are not expected"
                );
            }
        }
        let mut answer = vec![0; length.expect("a content-length")];
        self.stream.read_exact(&mut answer).await.expect("body");
        (status, answer)
    }
}

/// Runs `f` on the client's thread (a single-threaded runtime).
fn client<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// `connections` connections, each calling `work(conn, thread, i)` in turn
/// for `duration` (the call hands the connection back); returns completed
/// calls per second.
fn hammer<F, Fut>(addr: &str, connections: usize, duration: Duration, work: F) -> f64
where
    F: Fn(Conn, usize, u64) -> Fut + 'static,
    Fut: std::future::Future<Output = Conn> + 'static,
{
    let addr = addr.to_owned();
    client(async move {
        let work = Rc::new(work);
        let done = Rc::new(std::cell::Cell::new(0u64));
        let local = tokio::task::LocalSet::new();
        let started = Instant::now();
        for t in 0..connections {
            let (work, done, addr) = (work.clone(), done.clone(), addr.clone());
            local.spawn_local(async move {
                let mut conn = Conn::open(&addr).await;
                let mut i = 0;
                while started.elapsed() < duration {
                    conn = work(conn, t, i).await;
                    i += 1;
                    done.set(done.get() + 1);
                }
            });
        }
        local.await;
        done.get() as f64 / started.elapsed().as_secs_f64()
    })
}

/// Sends `statements` from `connections` connections, each taking the next
/// `per_request` in turn; returns statements per second. Every answer must
/// be 200.
fn submit_all(
    addr: &str,
    connections: usize,
    per_request: usize,
    statements: &Arc<Vec<Vec<u8>>>,
) -> f64 {
    let addr = addr.to_owned();
    let statements = statements.clone();
    client(async move {
        let next = Rc::new(std::cell::Cell::new(0usize));
        let local = tokio::task::LocalSet::new();
        let started = Instant::now();
        for _ in 0..connections {
            let (next, addr, statements) = (next.clone(), addr.clone(), statements.clone());
            local.spawn_local(async move {
                let mut conn = Conn::open(&addr).await;
                loop {
                    let at = next.get();
                    if at >= statements.len() {
                        break;
                    }
                    let end = (at + per_request).min(statements.len());
                    next.set(end);
                    let body = if per_request == 1 {
                        statements[at].clone()
                    } else {
                        batch_body(&statements[at..end])
                    };
                    let (status, answer) = conn.call("POST", "/api/v1/entries", &body).await;
                    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
                }
            });
        }
        local.await;
        statements.len() as f64 / started.elapsed().as_secs_f64()
    })
}

/// Sends statement `i` at `i / rate` seconds (open loop: a late answer does
/// not delay the next request) with `?wait=checkpoint`, each on an idle
/// connection of a pool; returns each statement's time from when it was due
/// to the answer (a wait for a free connection counts), and the rate
/// reached.
fn paced(
    addr: &str,
    pool: usize,
    rate: f64,
    statements: &Arc<Vec<Vec<u8>>>,
) -> (Vec<Duration>, f64) {
    let addr = addr.to_owned();
    let statements = statements.clone();
    client(async move {
        let (idle_tx, idle_rx) = tokio::sync::mpsc::unbounded_channel::<Conn>();
        for _ in 0..pool {
            idle_tx.send(Conn::open(&addr).await).expect("pool");
        }
        let idle_rx = Rc::new(tokio::sync::Mutex::new(idle_rx));
        let latencies = Rc::new(RefCell::new(Vec::with_capacity(statements.len())));
        let local = tokio::task::LocalSet::new();
        let started = Instant::now();
        local
            .run_until(async {
                let mut tasks = Vec::with_capacity(statements.len());
                for i in 0..statements.len() {
                    let due = started + Duration::from_secs_f64(i as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                    let (idle_rx, idle_tx, latencies, statements) = (
                        idle_rx.clone(),
                        idle_tx.clone(),
                        latencies.clone(),
                        statements.clone(),
                    );
                    tasks.push(tokio::task::spawn_local(async move {
                        let mut conn = idle_rx.lock().await.recv().await.expect("a connection");
                        let (status, answer) = conn
                            .call("POST", "/api/v1/entries?wait=checkpoint", &statements[i])
                            .await;
                        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
                        latencies.borrow_mut().push(due.elapsed());
                        let _ = idle_tx.send(conn);
                    }));
                }
                for t in tasks {
                    t.await.expect("request");
                }
            })
            .await;
        let achieved = statements.len() as f64 / started.elapsed().as_secs_f64();
        let l = latencies.borrow().clone();
        (l, achieved)
    })
}

fn main() {
    let scale = scale();
    let dir = tempfile::tempdir().expect("tempdir");
    // MINHBACH_LOAD_DATA keeps the log in a directory of one's choosing
    // (to profile the reads of a large log again without filling it again).
    let data = std::env::var_os("MINHBACH_LOAD_DATA")
        .map_or_else(|| dir.path().join("data"), std::path::PathBuf::from);
    let data_arg = data.to_str().expect("utf-8 path").to_owned();
    println!("machine: {} cores", cores());

    let limit = ed25519_limit();
    println!("ed25519 batch verification limit (all cores, no HTTP): {limit:.0}/s");

    // Seed the demo history, then serve it without the per-client write
    // limit: every client of this bench comes from 127.0.0.1.
    let seeded = Server::start(&["demo", "--data", &data_arg]);
    assert!(seeded.terminate(), "the demo server stops cleanly");
    let config = dir.path().join("load.toml");
    std::fs::write(&config, "[write]\nrate_per_client = 0\n").expect("write the config");
    let config_arg = config.to_str().expect("utf-8 path").to_owned();
    let server = Server::start(&["serve", "--data", &data_arg, "--config", &config_arg]);
    let addr = server.url.trim_start_matches("http://").to_owned();
    let pid = server.child.id();
    let key = intake_key(&data);

    // Run numbers (part of every reference) start at a value of these five
    // seconds, 64 apart (a run and its fill use fewer), so that a kept data
    // directory can be driven again, by runs back to back too: a run takes
    // longer than five seconds, and the values come round again after 83
    // minutes.
    let runs = u16::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 5 % 1000 * 64),
    )
    .unwrap_or(0);

    // 1. Batched submission.
    let signed = Arc::new(presign(&key, runs, (120_000.0 * scale) as u64));
    let batched = submit_all(&addr, 4, 1000, &signed);
    println!(
        "batched submission (1,000 per request, 4 connections): {batched:.0} statements/s = {:.2} of the ed25519 limit (target 30,000/s)",
        batched / limit
    );

    // 2. Single-statement requests from 64 keep-alive connections.
    let singles = Arc::new(presign(&key, runs + 1, (60_000.0 * scale) as u64));
    let single = submit_all(&addr, 64, 1, &singles);
    println!(
        "single-statement requests (64 connections): {single:.0}/s = {:.2} of the ed25519 limit (target 8,000/s)",
        single / limit
    );

    // 3. Latency to a published checkpoint at a paced 5,000 statements/s.
    let rate = 5_000.0;
    let seconds = (10.0 * scale).max(2.0);
    let statements = Arc::new(presign(&key, runs + 2, (rate * seconds) as u64));
    let (mut l, achieved) = paced(&addr, 512, rate, &statements);
    l.sort();
    println!(
        "submission to published checkpoint at {achieved:.0} statements/s (open loop, up to 512 connections): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target p99 <= 250 ms at 5,000/s)",
        percentile(&l, 0.5).as_secs_f64() * 1e3,
        percentile(&l, 0.99).as_secs_f64() * 1e3,
        percentile(&l, 1.0).as_secs_f64() * 1e3,
    );

    // What phases 1 to 3 brought in is paid out (not timed), so that the
    // live state does not grow from run to run on a kept directory.
    let approver = load::approver_key(&data);
    for (run, n) in [
        (runs, signed.len()),
        (runs + 1, singles.len()),
        (runs + 2, statements.len()),
    ] {
        submit_all(
            &addr,
            4,
            1000,
            &Arc::new(presign_payouts(&approver, run, n as u64)),
        );
    }

    // 4. Optionally, fill the log to MINHBACH_LOAD_LOG entries (batched
    // submissions, signed a chunk at a time), then restart the server there:
    // the start loads the books' snapshot instead of replaying the log.
    let mut size = log_size(&addr);
    let mut server = server;
    let mut pid = pid;
    let mut addr = addr;
    let fill_to = std::env::var("MINHBACH_LOAD_LOG")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0);
    if fill_to > size {
        let started = Instant::now();
        let initial = size;
        let mut run = runs + 10;
        let mut reported = size;
        while size < fill_to {
            let n = (fill_to - size).min(250_000);
            let signed = Arc::new(presign_relief(&key, &approver, run, n));
            submit_all(&addr, 4, 1000, &signed);
            size += n;
            run += 1;
            if size - reported >= 1_000_000 || size == fill_to {
                reported = size;
                eprintln!(
                    "  filled to {size} entries, {:.0} s, server peak {:.0} MiB",
                    started.elapsed().as_secs_f64(),
                    peak_rss_mib(pid)
                );
            }
        }
        assert_eq!(log_size(&addr), size, "every statement was logged");
        println!(
            "filled the log to {size} entries in {:.0} s ({:.0} statements/s, signing included); server peak resident memory while filling: {:.0} MiB (target < 512 MiB)",
            started.elapsed().as_secs_f64(),
            (size - initial) as f64 / started.elapsed().as_secs_f64(),
            peak_rss_mib(pid)
        );
        assert!(server.terminate(), "the server stops cleanly");
        let started = Instant::now();
        server = Server::start(&["serve", "--data", &data_arg, "--config", &config_arg]);
        println!(
            "restart at {size} entries: serving after {:.2} s",
            started.elapsed().as_secs_f64()
        );
        addr = server.url.trim_start_matches("http://").to_owned();
        pid = server.child.id();
    }

    // 5. Reads at the final size, two periods of each kind: the first from
    // whatever the page cache holds then (after a fill, little of the
    // proofs' data; after a restart of the machine, nothing), the second
    // measured. Each period asks for other entries, so the second is not
    // served from the answers of the first, only from the pages it read.
    let duration = Duration::from_secs_f64((5.0 * scale).max(2.0));
    let proofs = |period: u64| {
        hammer(&addr, 32, duration, move |mut conn, t, i| async move {
            let index = (period * 15_485_863 + t as u64 * 7919 + i * 104_729) % size;
            let path = format!("/api/v1/proofs/inclusion?index={index}");
            let (status, _) = conn.call("GET", &path, b"").await;
            assert_eq!(status, 200);
            conn
        })
    };
    let full_tiles = size / 256;
    let tiles = |period: u64| {
        hammer(&addr, 32, duration, move |mut conn, t, i| async move {
            let n = (period * 7919 + t as u64 * 31 + i * 17) % full_tiles.max(1);
            let path = minhbach_ledger::tile::TilePath::hashes(0, n, 256)
                .expect("a full tile")
                .to_string();
            let (status, _) = conn.call("GET", &format!("/{path}"), b"").await;
            assert_eq!(status, 200);
            conn
        })
    };
    let (proofs_first, proofs) = (proofs(0), proofs(1));
    let (tiles_first, tiles) = (tiles(0), tiles(1));
    println!(
        "at a {size}-entry log: {proofs:.0} inclusion proofs/s, {tiles:.0} level-0 tiles/s (32 connections; targets 30,000/s and 20,000/s at 10 million entries); in the first {:.0} s of each: {proofs_first:.0} and {tiles_first:.0}/s",
        duration.as_secs_f64()
    );
    println!(
        "server peak resident memory: {:.0} MiB (target < 512 MiB)",
        peak_rss_mib(pid)
    );
    assert!(server.terminate(), "the server stops cleanly");
}
