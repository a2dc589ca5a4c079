//! The `minhbach-audit` binary's contract with cron and scripts: exit codes
//! (0 verified, 1 misbehaviour, 2 usage or network), quiet success, evidence
//! files. The log here is a directory copy of a read path (a
//! mirror), built with the ledger; the end-to-end tests in `tests/` use a
//! real server.

use std::path::Path;
use std::process::{Command, Output};

use minhbach_ledger::checkpoint::{Checkpoint, sign_checkpoint};
use minhbach_ledger::log::Log;
use minhbach_ledger::merkle::HashReader as _;
use minhbach_ledger::note::{KeyName, Signer};
use minhbach_ledger::store::memory::MemoryStore;
use minhbach_ledger::tile::{encode_tile, tiles_for_size};

const ORIGIN: &str = "cli.test/log";

fn signer() -> Signer {
    Signer::new(
        KeyName::new(ORIGIN).unwrap(),
        ed25519_dalek::SigningKey::from_bytes(&[12; 32]),
    )
}

/// Writes the checkpoint and hash tiles of a log of `leaves` into `dir`.
fn mirror(dir: &Path, leaves: &[Vec<u8>]) {
    let s = signer();
    let mut log = Log::open(MemoryStore::new()).unwrap();
    let out = log
        .append(leaves, &[], |size, root| {
            sign_checkpoint(&Checkpoint::new(ORIGIN, size, *root, vec![]).unwrap(), &s)
        })
        .unwrap();
    let _ = std::fs::remove_dir_all(dir.join("tile"));
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("checkpoint"), &out.checkpoint).unwrap();
    for p in tiles_for_size(leaves.len() as u64) {
        let hashes = log.store().read_hashes(&p.node_ids()).unwrap();
        let file = dir.join(p.to_string());
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, encode_tile(&hashes).unwrap()).unwrap();
    }
}

fn leaves(n: usize, tag: &str) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("{tag}-{i}").into_bytes()).collect()
}

fn audit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_minhbach-audit"))
        .args(args)
        .env_remove("MINHBACH_POLICY")
        .output()
        .unwrap()
}

#[test]
fn check_exit_codes_for_cron() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let policy = dir.path().join("policy");
    std::fs::write(
        &policy,
        format!("log {}\nquorum none\n", signer().verifier()),
    )
    .unwrap();
    let state = dir.path().join("state.json");
    let args = |url: &Path| {
        vec![
            "check".to_owned(),
            "--url".into(),
            url.to_str().unwrap().into(),
            "--policy".into(),
            policy.to_str().unwrap().into(),
            "--state".into(),
            state.to_str().unwrap().into(),
        ]
    };
    let run = |url: &Path| {
        let a = args(url);
        audit(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };

    mirror(&log, &leaves(300, "a"));
    let o = run(&log);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.stdout.is_empty() && o.stderr.is_empty(),
        "quiet on success"
    );
    mirror(&log, &leaves(700, "a"));
    assert_eq!(run(&log).status.code(), Some(0));

    // Rolled back: exit 1, evidence next to the state, state kept.
    let kept = std::fs::read(&state).unwrap();
    mirror(&log, &leaves(500, "a"));
    let o = run(&log);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("rollback"));
    let evidence: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("state.json.evidence.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(evidence["kind"], "rollback");
    assert_eq!(std::fs::read(&state).unwrap(), kept);

    // Forked (same key, other leaves): exit 1, evidence where asked.
    let mut forked = leaves(400, "a");
    forked.extend(leaves(400, "b"));
    mirror(&log, &forked);
    let mut a = args(&log);
    let ev = dir.path().join("fork.json");
    a.extend(["--evidence".to_owned(), ev.to_str().unwrap().to_owned()]);
    let o = audit(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(1));
    let evidence: serde_json::Value = serde_json::from_slice(&std::fs::read(&ev).unwrap()).unwrap();
    assert_eq!(evidence["kind"], "fork");
    assert_eq!(evidence["proof"]["from"], 700);

    // Unreachable: exit 2. A bad policy: exit 2.
    assert_eq!(run(Path::new("http://127.0.0.1:9")).status.code(), Some(2));
    std::fs::write(&policy, "quorum nobody\n").unwrap();
    mirror(&log, &leaves(700, "a"));
    assert_eq!(run(&log).status.code(), Some(2));
}
