//! The real `minhbach-server` binary under load, killed and restarted: with
//! SIGKILL (nothing may be finished) and with SIGTERM (the batch in flight
//! must be finished). Clients keep resubmitting each batch until it is
//! acknowledged. Afterwards every acknowledged entry is in the log at the
//! index and with the leaf hash it was acknowledged with, no statement was
//! logged twice, and every checkpoint seen during the run is consistent with
//! the final one.

use crate::load;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use minhbach_ledger::checkpoint::open_checkpoint;
use minhbach_ledger::merkle::{Hash, verify_consistency};
use minhbach_ledger::note::VerifierKey;
use minhbach_server::datadir::DataDir;

use load::{Acked, Server, agent, donation, get_bytes, get_json, intake_key, post_batch};

const CLIENTS: u16 = 4;
const BATCH: u64 = 25;

/// The signed checkpoint at `url`, opened: (size, root).
fn checkpoint(url: &str, verifier: &VerifierKey) -> Option<(u64, Hash)> {
    let bytes = get_bytes(&agent(Duration::from_secs(5)), url, "/checkpoint").ok()?;
    let opened = open_checkpoint(&bytes, verifier, &[]).expect("the served checkpoint verifies");
    Some((opened.checkpoint().size(), opened.checkpoint().root()))
}

#[test]
fn acknowledged_entries_survive_kill_and_restart_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap().to_owned();

    let server = Server::start(&["demo", "--data", &data_arg]);
    let verifier = VerifierKey::parse(
        std::fs::read_to_string(DataDir::new(&data).log_vkey_path())
            .unwrap()
            .trim(),
    )
    .unwrap();
    let (seeded, _) = checkpoint(&server.url, &verifier).expect("a checkpoint after seeding");
    let key = Arc::new(intake_key(&data));

    let url = Arc::new(RwLock::new(server.url.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let seen: Arc<Mutex<Vec<(u64, Hash)>>> = Arc::default();
    let mut clients = Vec::new();
    for run in 0..CLIENTS {
        let (url, stop, acked, key) = (url.clone(), stop.clone(), acked.clone(), key.clone());
        clients.push(std::thread::spawn(move || {
            let agent = agent(Duration::from_secs(10));
            let mut seq = 0u64;
            let mut generated = 0u64;
            let mut retries = 0u64;
            while !stop.load(Ordering::Acquire) {
                let batch: Vec<Vec<u8>> =
                    (seq..seq + BATCH).map(|s| donation(&key, run, s)).collect();
                seq += BATCH;
                generated += BATCH;
                // Resubmit the very same envelopes until they are acknowledged.
                loop {
                    let base = url.read().unwrap().clone();
                    match post_batch(&agent, &base, &batch, "") {
                        Ok(answers) => {
                            assert_eq!(answers.len(), batch.len());
                            acked.lock().unwrap().extend(answers);
                            break;
                        }
                        Err(e) => {
                            assert!(
                                e.starts_with("network")
                                    || e.starts_with("HTTP 503")
                                    || e.starts_with("reading"),
                                "only an unavailable server may fail a batch: {e}"
                            );
                            retries += 1;
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
            }
            (generated, retries)
        }));
    }
    let watcher = {
        let (url, stop, seen, verifier) =
            (url.clone(), stop.clone(), seen.clone(), verifier.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Acquire) {
                let base = url.read().unwrap().clone();
                if let Some(c) = checkpoint(&base, &verifier) {
                    seen.lock().unwrap().push(c);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };

    let grown = |at_least: u64| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while acked.lock().unwrap().len() < at_least as usize {
            assert!(Instant::now() < deadline, "the load made no progress");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    grown(400);
    server.kill();
    let server = Server::start(&["serve", "--data", &data_arg]);
    *url.write().unwrap() = server.url.clone();
    let before = acked.lock().unwrap().len() as u64;
    grown(before + 400);
    assert!(server.terminate(), "a graceful stop exits 0");
    let server = Server::start(&["serve", "--data", &data_arg]);
    *url.write().unwrap() = server.url.clone();
    let before = acked.lock().unwrap().len() as u64;
    grown(before + 200);
    stop.store(true, Ordering::Release);
    let mut generated = 0;
    let mut retries = 0;
    for c in clients {
        let (g, r) = c.join().unwrap();
        generated += g;
        retries += r;
    }
    watcher.join().unwrap();
    assert!(retries > 0, "the restarts interrupted some batches");

    let base = server.url.clone();
    let (size, root) = checkpoint(&base, &verifier).unwrap();
    // Nothing lost, nothing doubled: every statement was acknowledged, and
    // the log grew by exactly the number of distinct statements.
    let acked = acked.lock().unwrap().clone();
    let mut by_id: HashMap<&str, &Acked> = HashMap::new();
    for a in &acked {
        if let Some(first) = by_id.insert(&a.statement_id, a) {
            assert_eq!(
                (first.index, &first.leaf_hash),
                (a.index, &a.leaf_hash),
                "{} acknowledged at two places",
                a.statement_id
            );
            assert!(
                a.existing || first.existing,
                "a repeat is answered as existing"
            );
        }
    }
    assert_eq!(by_id.len() as u64, generated);
    assert_eq!(
        size,
        seeded + generated,
        "the log holds each statement once"
    );

    // Every acknowledgment is what the log holds.
    let http = agent(Duration::from_secs(10));
    let mut indexes: BTreeMap<u64, &str> = BTreeMap::new();
    for a in by_id.values() {
        assert!(
            indexes.insert(a.index, &a.leaf_hash).is_none(),
            "two statements at {}",
            a.index
        );
    }
    for (index, leaf_hash) in indexes.iter().step_by(7) {
        let entry = get_json(&http, &base, &format!("/api/v1/entries/{index}")).unwrap();
        assert_eq!(
            entry["leaf_hash"].as_str(),
            Some(*leaf_hash),
            "entry {index}"
        );
    }

    // Every checkpoint seen along the way is a prefix of the final tree.
    let mut seen = seen.lock().unwrap().clone();
    seen.sort_by_key(|(s, _)| *s);
    seen.dedup();
    assert!(seen.len() >= 2, "the watcher saw the log grow: {seen:?}");
    for (old_size, old_root) in seen {
        assert!(old_size <= size);
        let proof = get_json(
            &http,
            &base,
            &format!("/api/v1/proofs/consistency?from={old_size}&to={size}"),
        )
        .unwrap();
        let proof: Vec<Hash> = proof["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| Hash::from_slice(&BASE64.decode(h.as_str().unwrap()).unwrap()).unwrap())
            .collect();
        verify_consistency(old_size, size, &proof, &old_root, &root)
            .unwrap_or_else(|e| panic!("checkpoint {old_size} is not a prefix: {e}"));
    }
    assert!(server.terminate());
}

/// A SIGTERM that comes as soon as the server has said where it listens is
/// a graceful stop (exit 0), never the default action: the signal handlers
/// are installed before the address is printed.
#[test]
fn a_sigterm_right_after_the_address_is_printed_stops_the_server_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap().to_owned();
    // The first start seeds the demo; the rest serve it at once.
    for start in 0..8 {
        let server = Server::start(&["demo", "--data", &data_arg]);
        assert!(
            server.terminate(),
            "start {start}: a SIGTERM right after the address stops the server with exit 0"
        );
    }
}

/// A graceful stop settles the store once the writer is done: the log says
/// so after the sequencer stopped, and the store opens again with the
/// same tree.
#[test]
fn a_graceful_stop_settles_the_store_after_the_writer_stops() {
    use std::io::{BufRead as _, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_minhbach-server"))
        .args(["demo", "--data", data.to_str().unwrap()])
        .args(["--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "minhbach_server=info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The log goes to standard output, after the address.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("an address").unwrap();
        if let Some(rest) = line.split(" at http://").nth(1) {
            break format!("http://{}", rest.trim_end_matches('/'));
        }
    };
    let rest =
        std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>().join("\n"));
    let info = get_json(&agent(Duration::from_secs(10)), &url, "/api/v1/log").unwrap();
    let size = info["committed_size"].as_u64().expect("a committed size");
    assert!(size > 0, "the demo is seeded");
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(child.wait().unwrap().success());
    let log = rest.join().unwrap();
    let at = |what: &str| {
        log.find(what)
            .unwrap_or_else(|| panic!("{what:?} is not in the server's log:\n{log}"))
    };
    assert!(at("sequencer stopped") < at("store flushed and compacted"));

    let store = DataDir::new(&data).open_store().unwrap();
    assert_eq!(
        minhbach_ledger::store::LogStore::tree_size(&store),
        Ok(size)
    );
}
