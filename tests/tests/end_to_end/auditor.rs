//! End-to-end tests of the auditor (`minhbach-auditor`): real logs in RocksDB,
//! served by the real server over real HTTP on 127.0.0.1, audited through
//! the public read path only; copies are directories holding that read path.
//!
//! The histories are signed with the test world of `minhbach_demo::world`
//! (the same one the ledger's rules tests use), so every entry passes the
//! rules unless a test breaks one on purpose.
#![allow(missing_docs, clippy::unwrap_used)]

use minhbach_demo::world as support;

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{TimeZone, Utc};
use ed25519_dalek::SigningKey;
use minhbach_auditor::check::{CheckOutcome, Evidence, check};
use minhbach_auditor::full::{FullOptions, Selector, full, trace};
use minhbach_auditor::report::Thresholds;
use minhbach_auditor::tiles::TilesError;
use minhbach_auditor::{AuditError, Fetcher, ReplayError, load_policy, verify_receipt_online};
use minhbach_ledger::checkpoint::{Checkpoint, add_cosignatures, open_checkpoint, sign_checkpoint};
use minhbach_ledger::cosignature::Cosigner;
use minhbach_ledger::log::Log;
use minhbach_ledger::merkle::{Hash, verify_consistency};
use minhbach_ledger::note::{KeyName, NoteSignature, Signer};
use minhbach_ledger::policy::Policy;
use minhbach_ledger::receipt::{ReceiptBundle, TlogProof};
use minhbach_ledger::store::rocks::RocksStore;
use minhbach_ledger::summary;
use minhbach_ledger::tile::{entry_bundles_for_size, tiles_for_size};
use minhbach_ledger::witness::add_checkpoint_body;
use minhbach_server::AppState;
use minhbach_witness::Witness;
use support::{World, YAGI, disbursement};

const ORIGIN: &str = "audit.e2e.test/log";

fn log_signer(seed: u8) -> Signer {
    Signer::new(
        KeyName::new(ORIGIN).unwrap(),
        SigningKey::from_bytes(&[seed; 32]),
    )
}

fn policy_for(signer: &Signer) -> Policy {
    load_policy(format!("log {}\nquorum none\n", signer.verifier()).as_bytes()).unwrap()
}

/// A history of the test world: its base entries, then `n` donations whose
/// references carry `tag` (two worlds with the same tags have the same leaves).
fn world(n: u64, tag: &str) -> World {
    let mut w = World::build(true);
    grow(&mut w, n, tag);
    w
}

fn grow(w: &mut World, n: u64, tag: &str) {
    let start = w.leaves.len() as u64;
    for i in 0..n {
        w.donation(100_000 + i, &format!("FT{tag}{:08}", start + i));
    }
}

/// A log in RocksDB, served over HTTP.
struct Served {
    url: String,
    store: Arc<RocksStore>,
    _dir: tempfile::TempDir,
}

impl Served {
    fn fetcher(&self) -> Fetcher {
        Fetcher::new(&self.url)
    }
    fn checkpoint(&self) -> Vec<u8> {
        self.fetcher().checkpoint().unwrap()
    }
    fn proof(&self, m: u64, n: u64) -> Vec<Hash> {
        Log::open(&*self.store)
            .unwrap()
            .consistency_proof(m, n)
            .unwrap()
    }
}

/// Appends `leaves` in batches of 100 (one signed checkpoint each) and
/// serves the log on 127.0.0.1:0.
fn serve(leaves: &[Vec<u8>], signer: &Signer) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let store = RocksStore::open(&dir.path().join("db")).unwrap();
    {
        let mut log = Log::open(&store).unwrap();
        for batch in leaves.chunks(100) {
            log.append(batch, &[], |size, root| {
                sign_checkpoint(
                    &Checkpoint::new(ORIGIN, size, *root, vec![]).unwrap(),
                    signer,
                )
            })
            .unwrap();
        }
    }
    let store = Arc::new(store);
    let state = AppState::new(Arc::clone(&store), signer.verifier()).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, minhbach_server::app(state))
                .await
                .unwrap();
        });
    });
    Served {
        url: format!("http://{addr}"),
        store,
        _dir: dir,
    }
}

/// Appends `leaves` like [`serve`] but publishes the read path with a bare
/// HTTP server over the store, past the rules: the real server replays the
/// rules at start and refuses to serve a log that breaks them, which is what
/// the auditor must catch when someone else serves one.
fn serve_unchecked(leaves: &[Vec<u8>], signer: &Signer) -> Served {
    use minhbach_ledger::merkle::HashReader as _;
    use minhbach_ledger::store::LogStore as _;
    use minhbach_ledger::tile::{TileKind, TilePath, encode_entry_bundle, encode_tile};
    let dir = tempfile::tempdir().unwrap();
    let store = RocksStore::open(&dir.path().join("db")).unwrap();
    {
        let mut log = Log::open(&store).unwrap();
        log.append(leaves, &[], |size, root| {
            sign_checkpoint(
                &Checkpoint::new(ORIGIN, size, *root, vec![]).unwrap(),
                signer,
            )
        })
        .unwrap();
    }
    let store = Arc::new(store);
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.server_addr().to_ip().unwrap());
    let read = Arc::clone(&store);
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let path = request.url().to_owned();
            let body = if path == "/checkpoint" {
                read.checkpoint().unwrap().unwrap_or_default()
            } else {
                match TilePath::parse(&path) {
                    Ok(tile) => {
                        let range = tile.leaf_range();
                        match tile.kind() {
                            TileKind::Entries => {
                                let leaves = read.read_leaves(range.start, range.end).ok();
                                leaves.map(|l| {
                                    let refs: Vec<&[u8]> = l.iter().map(Vec::as_slice).collect();
                                    encode_entry_bundle(&refs).unwrap()
                                })
                            }
                            TileKind::Hashes { .. } => read
                                .read_hashes(&tile.node_ids())
                                .ok()
                                .map(|h| encode_tile(&h).unwrap()),
                        }
                    }
                    Err(_) => None,
                }
                .unwrap_or_default()
            };
            let status = if body.is_empty() { 404 } else { 200 };
            let _ = request.respond(tiny_http::Response::from_data(body).with_status_code(status));
        }
    });
    Served {
        url,
        store,
        _dir: dir,
    }
}

/// Copies a served log's whole read path into a directory.
fn copy_read_path(served: &Served, dir: &Path) {
    let f = served.fetcher();
    let cp = f.checkpoint().unwrap();
    std::fs::write(dir.join("checkpoint"), &cp).unwrap();
    let size = Checkpoint::parse(
        minhbach_ledger::note::Note::parse(&cp)
            .unwrap()
            .text()
            .as_bytes(),
    )
    .unwrap()
    .size();
    for p in entry_bundles_for_size(size).chain(tiles_for_size(size)) {
        let file = dir.join(p.to_string().trim_start_matches('/'));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, f.tile(&p).unwrap()).unwrap();
    }
}

fn flip(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[at] ^= 1;
    std::fs::write(path, b).unwrap();
}

fn options(out: &Path) -> FullOptions {
    FullOptions {
        out: out.to_owned(),
        jobs: 4,
        state: None,
        thresholds: Thresholds {
            unacked_days: 30,
            as_of: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single().unwrap(),
        },
        progress: false,
    }
}

fn evidence_checks_out(e: &Evidence, signer: &Signer) {
    // Both checkpoints are signed by the log: the evidence needs no trust.
    let old = open_checkpoint(e.old_checkpoint.as_bytes(), &signer.verifier(), &[]).unwrap();
    let new = open_checkpoint(e.new_checkpoint.as_bytes(), &signer.verifier(), &[]).unwrap();
    if let Some(p) = &e.proof {
        let hashes: Vec<Hash> = p
            .hashes
            .iter()
            .map(|h| Hash::from_base64(h).unwrap())
            .collect();
        let prefix = Hash::from_base64(&p.prefix_root).unwrap();
        let (old, new) = (old.checkpoint(), new.checkpoint());
        verify_consistency(p.from, p.to, &hashes, &prefix, &new.root()).unwrap();
        assert_ne!(prefix, old.root());
        assert!(verify_consistency(p.from, p.to, &hashes, &old.root(), &new.root()).is_err());
    }
}

#[test]
fn check_follows_growth_then_proves_a_rollback_and_forks() {
    let signer = log_signer(7);
    let policy = policy_for(&signer);
    let mut w = world(300, "a");
    let small = w.leaves.clone();
    grow(&mut w, 300, "a");
    let full_leaves = w.leaves.clone();
    let (m, n) = (small.len() as u64, full_leaves.len() as u64);

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("audit.state");
    let early = serve(&small, &signer);
    let late = serve(&full_leaves, &signer);
    assert_eq!(
        check(&early.fetcher(), &policy, &state).unwrap(),
        CheckOutcome::First { size: m }
    );
    assert_eq!(
        check(&late.fetcher(), &policy, &state).unwrap(),
        CheckOutcome::Verified {
            old_size: m,
            new_size: n
        }
    );
    let remembered = std::fs::read(&state).unwrap();

    // Rollback: the same log, served from a smaller copy.
    let rolled = serve(&full_leaves[..500], &signer);
    let CheckOutcome::Misbehaviour(e) = check(&rolled.fetcher(), &policy, &state).unwrap() else {
        panic!("a rollback must be misbehaviour");
    };
    assert_eq!(e.kind, "rollback");
    evidence_checks_out(&e, &signer);
    assert_eq!(std::fs::read(&state).unwrap(), remembered, "state kept");

    // Fork: the same key and origin, the same first 400 leaves, then others.
    let mut f = world(0, "a");
    let mut fork_leaves = full_leaves[..400].to_vec();
    grow(&mut f, 700, "b");
    fork_leaves.extend_from_slice(&f.leaves[400..700]);
    let forked = serve(&fork_leaves, &signer);
    let CheckOutcome::Misbehaviour(e) = check(&forked.fetcher(), &policy, &state).unwrap() else {
        panic!("a fork must be misbehaviour");
    };
    assert_eq!(e.kind, "fork");
    let p = e.proof.as_ref().unwrap();
    assert_eq!((p.from, p.to), (n, 700));
    evidence_checks_out(&e, &signer);

    // Fork at the same size.
    let same = serve(&fork_leaves[..n as usize], &signer);
    let CheckOutcome::Misbehaviour(e) = check(&same.fetcher(), &policy, &state).unwrap() else {
        panic!("two roots for one size must be misbehaviour");
    };
    assert_eq!(e.kind, "fork_same_size");
    assert_eq!(std::fs::read(&state).unwrap(), remembered, "state kept");

    // The honest log still checks out.
    assert_eq!(
        check(&late.fetcher(), &policy, &state).unwrap(),
        CheckOutcome::Verified {
            old_size: n,
            new_size: n
        }
    );
}

#[test]
fn check_refuses_a_foreign_key_a_missing_quorum_and_tampered_tiles() {
    let signer = log_signer(7);
    let w = world(300, "a");
    let served = serve(&w.leaves, &signer);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s");

    let other = policy_for(&log_signer(8));
    let err = check(&served.fetcher(), &other, &state).unwrap_err();
    assert!(matches!(err, AuditError::Checkpoint(_)), "{err}");
    assert!(err.is_verification_failure());

    let witness = Cosigner::new(
        KeyName::new("w.e2e.test").unwrap(),
        SigningKey::from_bytes(&[40; 32]),
    );
    let quorum = load_policy(
        format!(
            "log {}\nwitness w1 {}\nquorum w1\n",
            signer.verifier(),
            witness.verifier()
        )
        .as_bytes(),
    )
    .unwrap();
    let err = check(&served.fetcher(), &quorum, &state).unwrap_err();
    assert!(
        err.to_string().contains("quorum") || matches!(err, AuditError::Checkpoint(_)),
        "{err}"
    );
    assert!(!state.exists(), "nothing remembered from a failed check");

    // A copy whose partial level-0 tile was altered.
    let m = tempfile::tempdir().unwrap();
    copy_read_path(&served, m.path());
    let size = w.leaves.len();
    flip(&m.path().join(format!("tile/0/001.p/{}", size - 256)), 3);
    let err = check(
        &Fetcher::new(m.path().to_str().unwrap()),
        &policy_for(&signer),
        &state,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            AuditError::Tiles(TilesError::TilesDoNotMatchRoot { .. })
        ),
        "{err}"
    );
    assert!(err.is_verification_failure());

    // An unreachable server is a network error (exit code 2), not a verdict.
    let err = check(
        &Fetcher::new("http://127.0.0.1:9"),
        &policy_for(&signer),
        &state,
    )
    .unwrap_err();
    assert!(!err.is_verification_failure(), "{err}");
}

#[test]
fn full_audit_reports_the_ledgers_totals_and_anomalies() {
    let signer = log_signer(7);
    let mut w = world(290, "a");
    // Two payments to the same household in one campaign, never acknowledged.
    let first = w.disburse(500_000, 1);
    let second = w.disburse(700_000, 1);
    grow(&mut w, 20, "a");
    let served = serve(&w.leaves, &signer);
    let policy = policy_for(&signer);
    let out = tempfile::tempdir().unwrap();
    let state = out.path().join("state");
    let mut opts = options(out.path());
    opts.state = Some(state.clone());

    let outcome = full(&served.fetcher(), &policy, &opts).unwrap();
    assert!(!outcome.is_misbehaviour());
    let r = &outcome.report;
    assert_eq!(r.tree_size, w.leaves.len() as u64);
    assert_eq!(r.campaigns, summary::campaigns(&w.state));
    assert_eq!(
        r.coverage,
        summary::coverage(&w.state, summary::DEFAULT_MIN_CELL)
    );
    let signatures: usize = w.entries.iter().map(|e| e.signers.len()).sum();
    assert_eq!(r.signatures_verified, signatures as u64);
    let kinds: Vec<(&str, u64)> = r.anomalies.iter().map(|a| (a.kind, a.index)).collect();
    assert!(kinds.contains(&("double_payment", second)), "{kinds:?}");
    assert!(!kinds.contains(&("double_payment", first)), "{kinds:?}");
    assert!(kinds.contains(&("unacknowledged", first)), "{kinds:?}");
    assert!(kinds.contains(&("unacknowledged", second)), "{kinds:?}");

    let yagi = r
        .campaigns
        .iter()
        .find(|c| c.campaign.as_str() == YAGI)
        .unwrap();
    let csv = std::fs::read_to_string(out.path().join("campaigns.csv")).unwrap();
    let row = csv
        .lines()
        .find(|l| l.starts_with(YAGI))
        .unwrap()
        .to_owned();
    let a = &yagi.assets[0];
    assert!(
        row.contains(&format!(",{},{},{},", a.total_in, a.total_out, a.balance)),
        "{row}"
    );
    for f in [
        "report.txt",
        "report.json",
        "provinces.csv",
        "communes.csv",
        "coverage.csv",
        "feedback.csv",
        "anomalies.csv",
    ] {
        assert!(out.path().join(f).is_file(), "{f}");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(json["tree_size"], r.tree_size);
    assert!(state.is_file(), "the audited checkpoint is remembered");

    // Full bundles and tiles are cached; a second run reuses them and agrees.
    assert!(out.path().join("cache/tile/entries/000").is_file());
    assert_eq!(outcome.cached, 0);
    let again = full(&served.fetcher(), &policy, &opts).unwrap();
    assert_eq!(again.report.campaigns, r.campaigns);
    // The second run resumes from the replay the first one saved: only the
    // partial bundle and the partial tiles are fetched again, and of the
    // cached files only the full upper tiles are read (checked again).
    assert_eq!(again.resumed_from, Some(r.tree_size));
    assert_eq!(again.not_resumed, None);
    let partial = entry_bundles_for_size(r.tree_size)
        .chain(tiles_for_size(r.tree_size))
        .filter(|p| !p.is_full())
        .count();
    let full_upper = tiles_for_size(r.tree_size)
        .filter(|p| p.is_full() && p.kind() != minhbach_ledger::tile::TileKind::Hashes { level: 0 })
        .count();
    assert_eq!((again.fetched, again.cached), (partial, full_upper));
}

#[test]
fn full_names_the_entry_and_the_rule_a_log_breaks() {
    let signer = log_signer(7);
    let mut w = world(20, "a");
    // Signed by one approver, above the 2-approval tier: written straight
    // into storage, past the rules.
    let bad = disbursement(YAGI, 150_000_000, 1, &["a1"]);
    let (entry, leaf) = w.entry(&bad).unwrap();
    let expected = w.state.check(&entry).unwrap_err();
    let mut leaves = w.leaves.clone();
    let index = leaves.len() as u64;
    leaves.push(leaf.unwrap());
    let served = serve_unchecked(&leaves, &signer);
    let out = tempfile::tempdir().unwrap();
    let mut opts = options(out.path());
    opts.state = Some(out.path().join("state"));
    let outcome = full(&served.fetcher(), &policy_for(&signer), &opts).unwrap();
    assert!(outcome.is_misbehaviour());
    let rej = outcome.report.rejection.as_ref().unwrap();
    assert_eq!(rej.index, index);
    assert!(
        rej.detail.contains(&format!("rule {}", expected.code())),
        "{} vs {}",
        rej.detail,
        expected.code()
    );
    let txt = std::fs::read_to_string(out.path().join("report.txt")).unwrap();
    assert!(txt.contains("MISBEHAVIOUR"), "{txt}");
    assert!(
        !out.path().join("state").exists(),
        "a bad log is not remembered"
    );
}

#[test]
fn full_detects_tampering_in_a_copy_precisely() {
    let signer = log_signer(7);
    let policy = policy_for(&signer);
    let w = world(300, "a");
    let served = serve(&w.leaves, &signer);
    let fresh = || {
        let m = tempfile::tempdir().unwrap();
        copy_read_path(&served, m.path());
        m
    };
    let audit = |m: &Path| {
        let out = tempfile::tempdir().unwrap();
        full(
            &Fetcher::new(m.to_str().unwrap()),
            &policy,
            &options(out.path()),
        )
    };
    // The untouched copy audits clean.
    assert!(!audit(fresh().path()).unwrap().is_misbehaviour());

    // A key grant's payload altered: its signature no longer verifies.
    let m = fresh();
    let bundle = m.path().join("tile/entries/000");
    let bytes = std::fs::read(&bundle).unwrap();
    let grant = w
        .entries
        .iter()
        .position(|e| e.statement.kind().as_str() == "key.grant")
        .unwrap();
    let leaf = &w.leaves[grant];
    let start = bytes
        .windows(leaf.len())
        .position(|win| win == &leaf[..])
        .unwrap();
    // Re-encode the grant with one letter of the key's name changed: a
    // well-formed statement that its governance signatures do not cover.
    let text = std::str::from_utf8(leaf).unwrap();
    let b64_start = text.find("\"payload\":\"").unwrap() + 11;
    let b64_len = text[b64_start..].find('"').unwrap();
    let b64 = &text[b64_start..b64_start + b64_len];
    let payload = String::from_utf8(BASE64.decode(b64).unwrap()).unwrap();
    let name_at = payload.find("\"name\":\"").unwrap() + 8;
    let mut forged = payload.clone().into_bytes();
    forged[name_at] = if forged[name_at] == b'x' { b'y' } else { b'x' };
    let forged_b64 = BASE64.encode(&forged);
    assert_eq!(forged_b64.len(), b64.len());
    let mut altered = bytes.clone();
    altered[start + b64_start..start + b64_start + b64_len].copy_from_slice(forged_b64.as_bytes());
    std::fs::write(&bundle, altered).unwrap();
    let outcome = audit(m.path()).unwrap();
    let rej = outcome.report.rejection.unwrap();
    assert_eq!(rej.index, grant as u64);
    assert!(rej.detail.contains("rule bad_signature"), "{}", rej.detail);

    // A leaf's logged_at altered (not signed): its hash no longer matches
    // the tile the checkpoint commits to.
    let m = fresh();
    let bundle = m.path().join("tile/entries/000");
    let bytes = std::fs::read(&bundle).unwrap();
    let at = bytes
        .windows(11)
        .position(|x| x == b"logged_at\":")
        .unwrap()
        + 30;
    flip(&bundle, at);
    let err = audit(m.path()).unwrap_err();
    assert!(
        matches!(&err, AuditError::Replay(ReplayError::TileMismatch { path }) if path == "tile/0/000"),
        "{err}"
    );

    // A hash tile altered.
    let m = fresh();
    flip(&m.path().join("tile/0/000"), 100);
    let err = audit(m.path()).unwrap_err();
    assert!(
        matches!(&err, AuditError::Replay(ReplayError::TileMismatch { path }) if path == "tile/0/000"),
        "{err}"
    );

    // The checkpoint's signature altered.
    let m = fresh();
    let cp = std::fs::read(m.path().join("checkpoint")).unwrap();
    let at = cp.len() - 10;
    flip(&m.path().join("checkpoint"), at);
    let err = audit(m.path()).unwrap_err();
    assert!(matches!(err, AuditError::Checkpoint(_)), "{err}");
    assert!(err.is_verification_failure());
}

#[test]
fn receipts_are_proven_in_todays_tree_or_refused() {
    let signer = log_signer(7);
    let policy = policy_for(&signer);
    let mut w = world(100, "a");
    let then = serve(&w.leaves, &signer);
    let size = w.leaves.len() as u64;
    let index = 50u64;
    let bundle = ReceiptBundle {
        leaf: w.leaves[index as usize].clone(),
        proof: TlogProof {
            extra: None,
            index,
            hashes: Log::open(&*then.store)
                .unwrap()
                .inclusion_proof(index, size)
                .unwrap(),
            checkpoint: then.checkpoint(),
        },
    };
    let receipt = bundle.to_json().unwrap();
    grow(&mut w, 200, "a");
    let today = serve(&w.leaves, &signer);
    let (v, now) = verify_receipt_online(receipt.as_bytes(), &policy, &today.fetcher()).unwrap();
    assert_eq!(
        (v.index(), now.checkpoint().size()),
        (index, w.leaves.len() as u64)
    );

    // A log that rewrote history before the receipt's size.
    let mut f = world(0, "a");
    let mut leaves = w.leaves[..40].to_vec();
    grow(&mut f, 300, "z");
    leaves.extend_from_slice(&f.leaves[40..300]);
    let rewritten = serve(&leaves, &signer);
    let err = verify_receipt_online(receipt.as_bytes(), &policy, &rewritten.fetcher()).unwrap_err();
    assert!(
        matches!(err, AuditError::ReceiptNotInTree { what: "fork", .. }),
        "{err}"
    );
    assert!(err.is_verification_failure());
}

#[test]
fn trace_matches_the_servers_answer_and_flags_a_false_one() {
    let signer = log_signer(7);
    let policy = policy_for(&signer);
    let mut w = world(50, "a");
    let d = w.disburse(300_000, 1);
    let served = serve(&w.leaves, &signer);
    // A copy of the read path plus the server's trace answer, as files.
    let m = tempfile::tempdir().unwrap();
    copy_read_path(&served, m.path());
    let donation = w
        .entries
        .iter()
        .position(|e| e.statement.kind().as_str() == "donation")
        .unwrap() as u64;
    let expected = w.trace.trace(&w.state, donation).unwrap().unwrap();
    assert!(
        expected.steps.iter().any(|s| s.at == d),
        "the gift funded {d}"
    );
    let answer = m.path().join(format!("api/v1/donations/{donation}/trace"));
    std::fs::create_dir_all(answer.parent().unwrap()).unwrap();
    std::fs::write(&answer, serde_json::to_vec(&expected).unwrap()).unwrap();
    let fetcher = Fetcher::new(m.path().to_str().unwrap());
    let t = trace(&fetcher, &policy, &Selector::Index(donation), None, 2).unwrap();
    assert_eq!(t.trace, serde_json::to_value(&expected).unwrap());

    // The server claims the gift went elsewhere.
    let mut lie = serde_json::to_value(&expected).unwrap();
    lie["steps"][0]["at"] = serde_json::json!(d + 1);
    std::fs::write(&answer, serde_json::to_vec(&lie).unwrap()).unwrap();
    let err = trace(&fetcher, &policy, &Selector::Index(donation), None, 2).unwrap_err();
    assert!(
        matches!(err, AuditError::ServerDisagrees { what: "trace", .. }),
        "{err}"
    );
    assert!(err.is_verification_failure());
    // Not a donation: a usage error, not a verdict.
    let err = trace(&fetcher, &policy, &Selector::Index(0), None, 2).unwrap_err();
    assert!(!err.is_verification_failure(), "{err}");
}

#[test]
fn export_writes_every_statement() {
    let signer = log_signer(7);
    let w = world(30, "a");
    let served = serve(&w.leaves, &signer);
    let out = tempfile::tempdir().unwrap();
    let o = minhbach_auditor::export::export(
        &served.fetcher(),
        Some(&policy_for(&signer)),
        out.path(),
        2,
    )
    .unwrap();
    assert_eq!(o.entries, w.leaves.len() as u64);
    let lines = std::fs::read_to_string(out.path().join("statements.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), w.leaves.len());
    let donations = w
        .entries
        .iter()
        .filter(|e| e.statement.kind().as_str() == "donation")
        .count();
    assert_eq!(o.by_type["donation"], donations as u64);
    let csv = std::fs::read_to_string(out.path().join("donation.csv")).unwrap();
    assert_eq!(csv.lines().count(), donations + 1);
    assert!(csv.lines().next().unwrap().contains("external_ref"));
    assert!(csv.contains("FTa"), "references exported");
}

fn post(url: &str, body: &[u8]) -> (u16, String, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent
        .post(&format!("{url}/add-checkpoint"))
        .send(body)
        .unwrap();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        r.status().as_u16(),
        ct,
        r.body_mut().read_to_string().unwrap(),
    )
}

/// The `add-checkpoint` body, built by the core as the server builds it.
fn request_body(old: u64, proof: &[Hash], signed_checkpoint: &[u8]) -> Vec<u8> {
    add_checkpoint_body(old, proof, signed_checkpoint).unwrap()
}

fn start_witness(state: &Path, signer: &Signer) -> (String, Cosigner) {
    let cosigner = Cosigner::new(
        KeyName::new("witness.e2e.test").unwrap(),
        SigningKey::from_bytes(&[41; 32]),
    );
    let w = Witness::open(cosigner.clone(), vec![signer.verifier()], state).unwrap();
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.server_addr().to_ip().unwrap());
    std::thread::spawn(move || w.serve(&server));
    (url, cosigner)
}

#[test]
fn witness_cosigns_consistent_checkpoints_and_refuses_forks_across_restarts() {
    let signer = log_signer(7);
    let mut w = world(100, "a");
    let early = serve(&w.leaves, &signer);
    let m = w.leaves.len() as u64;
    grow(&mut w, 150, "a");
    let late = serve(&w.leaves, &signer);
    let n = w.leaves.len() as u64;
    let mut f = world(0, "a");
    let mut fork_leaves = w.leaves[..50].to_vec();
    grow(&mut f, 300, "q");
    fork_leaves.extend_from_slice(&f.leaves[50..300]);
    let forked = serve(&fork_leaves, &signer);

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("witness.json");
    let (url, cosigner) = start_witness(&state, &signer);

    let (status, _, body) = post(&url, &request_body(0, &[], &early.checkpoint()));
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = post(
        &url,
        &request_body(m, &late.proof(m, n), &late.checkpoint()),
    );
    assert_eq!(status, 200, "{body}");
    // The cosignature satisfies a policy that requires this witness.
    let line = NoteSignature::parse_line(body.trim_end()).unwrap();
    let cosigned = add_cosignatures(&late.checkpoint(), &[line]).unwrap();
    let quorum = load_policy(
        format!(
            "log {}\nwitness w1 {}\nquorum w1\n",
            signer.verifier(),
            cosigner.verifier()
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        quorum
            .verify_checkpoint(&cosigned)
            .unwrap()
            .checkpoint()
            .size(),
        n
    );

    // A tampered cosignature no longer satisfies the quorum.
    let mut bad = cosigned.clone();
    let at = bad.len() - 6;
    bad[at] = if bad[at] == b'A' { b'B' } else { b'A' };
    let err = quorum.verify_checkpoint(&bad).unwrap_err();
    assert!(!err.to_string().is_empty());

    // Stale `old`: 409 with the witness's size.
    let (status, ct, body) = post(
        &url,
        &request_body(m, &late.proof(m, n), &late.checkpoint()),
    );
    assert_eq!(
        (status, ct.as_str(), body.as_str()),
        (409, "text/x.tlog.size", &*format!("{n}\n"))
    );
    // The fork's own proof from n: 422.
    let fork_size = fork_leaves.len() as u64;
    let (status, _, _) = post(
        &url,
        &request_body(n, &forked.proof(n, fork_size), &forked.checkpoint()),
    );
    assert_eq!(status, 422);

    // Restart: a new process reloads the state and still refuses the fork.
    let (url2, _) = start_witness(&state, &signer);
    let (status, _, _) = post(
        &url2,
        &request_body(n, &forked.proof(n, fork_size), &forked.checkpoint()),
    );
    assert_eq!(status, 422);
    let (status, _, body) = post(&url2, &request_body(0, &[], &forked.checkpoint()));
    assert_eq!((status, body.as_str()), (409, &*format!("{n}\n")));
    // And still cosigns the honest checkpoint it already holds.
    let (status, _, _) = post(&url2, &request_body(n, &[], &late.checkpoint()));
    assert_eq!(status, 200);
    // Wrong route and method.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let r = agent.get(&format!("{url2}/add-checkpoint")).call().unwrap();
    assert_eq!(r.status().as_u16(), 405);
}
