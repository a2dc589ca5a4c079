//! The object-storage replica against a real S3 API (a local moto server):
//! `minhbach-server replicate` killed mid-way and resumed, with no gap and
//! nothing written twice; the bucket audited through its public URL alone by
//! the auditor; buckets of another log, of a fork or of a larger tree refused
//! and left as they were; and `serve --replica` following the log as it grows.

use crate::load;
use crate::s3;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeZone as _, Utc};
use ed25519_dalek::SigningKey;
use minhbach_auditor::check::{CheckOutcome, check};
use minhbach_auditor::full::{FullOptions, full};
use minhbach_auditor::report::Thresholds;
use minhbach_auditor::{Fetcher, load_policy};
use minhbach_ledger::checkpoint::{Checkpoint, open_checkpoint, sign_checkpoint};
use minhbach_ledger::merkle::Hash;
use minhbach_ledger::note::{Signer, VerifierKey};
use minhbach_ledger::tile::{entry_bundles_for_size, tiles_for_size};
use minhbach_server::datadir::DataDir;

use load::{Server, agent, donation, get_bytes, get_json, intake_key, post_batch};
use s3::{CREDENTIALS, S3};

const BUCKET: &str = "minhbach-replica";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `minhbach-server replicate` with the test bucket's credentials.
fn replicate_command(data: &Path, config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_minhbach-server"));
    cmd.args(["replicate", "--data"])
        .arg(data)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .envs(CREDENTIALS);
    cmd
}

fn replicate(data: &Path, config: &Path) -> Output {
    replicate_command(data, config)
        .output()
        .expect("run minhbach-server replicate")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A config file replicating to `prefix` of the test bucket.
fn replica_config(
    dir: &Path,
    name: &str,
    s3: &S3,
    prefix: &str,
    extra: &str,
) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "[replica]\nurl = \"s3://{BUCKET}/{prefix}\"\nendpoint = \"{}\"\n{extra}",
            s3.endpoint
        ),
    )
    .unwrap();
    path
}

/// `(written, bytes, already there)` from replicate's summary line.
fn summary(stdout: &str) -> (u64, u64, u64) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Replicated entries"))
        .unwrap_or_else(|| panic!("no summary in {stdout:?}"));
    let number_before = |word: &str| -> u64 {
        let head = &line[..line
            .find(word)
            .unwrap_or_else(|| panic!("{word} in {line}"))];
        head.trim_end().rsplit(' ').next().unwrap().parse().unwrap()
    };
    (
        number_before(" objects,"),
        number_before(" bytes written"),
        number_before(" already there"),
    )
}

/// The objects a checkpoint of `size` needs besides itself.
fn tile_objects(size: u64) -> BTreeSet<String> {
    tiles_for_size(size)
        .chain(entry_bundles_for_size(size))
        .map(|p| p.to_string())
        .collect()
}

fn verifier_of(data: &Path) -> VerifierKey {
    VerifierKey::parse(
        std::fs::read_to_string(DataDir::new(data).log_vkey_path())
            .unwrap()
            .trim(),
    )
    .unwrap()
}

fn audit_options(out: &Path, state: &Path) -> FullOptions {
    FullOptions {
        out: out.to_owned(),
        jobs: 4,
        state: Some(state.to_owned()),
        thresholds: Thresholds {
            unacked_days: 30,
            as_of: Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).single().unwrap(),
        },
        progress: false,
    }
}

/// Grows the demo log by `n` donations of run `run` through the server.
fn grow(server: &Server, data: &Path, run: u16, n: u64) {
    let key = intake_key(data);
    let agent = agent(Duration::from_secs(60));
    for start in (0..n).step_by(500) {
        let batch: Vec<Vec<u8>> = (start..(start + 500).min(n))
            .map(|s| donation(&key, run, s))
            .collect();
        post_batch(&agent, &server.url, &batch, "").expect("the server accepts the donations");
    }
}

#[test]
fn killed_replicate_resumes_the_bucket_audits_forks_are_refused_and_serve_follows() {
    let s3 = S3::start();
    s3.create_public_bucket(BUCKET);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap().to_owned();

    // A demo log, grown so that replicating it takes many objects.
    let server = Server::start(&["demo", "--data", &data_arg]);
    grow(&server, &data, 1, 20_000);
    let served = get_bytes(&agent(Duration::from_secs(10)), &server.url, "/checkpoint").unwrap();
    assert!(server.terminate(), "the server stops cleanly");
    let verifier = verifier_of(&data);
    let n = open_checkpoint(&served, &verifier, &[])
        .unwrap()
        .checkpoint()
        .size();
    let expected = tile_objects(n);
    assert!(expected.len() > 150, "{} objects", expected.len());

    // 1. Killed mid-way: one upload at a time, killed once 20 objects are in.
    let slow = replica_config(dir.path(), "slow.toml", &s3, "demo", "jobs = 1\n");
    let mut child = replicate_command(&data, &slow)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while s3.list(BUCKET, "demo").len() < 20 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "replicate finished before it could be killed"
        );
        assert!(Instant::now() < deadline, "replicate wrote nothing");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // An upload whose body was sent before the kill may still land: take the
    // bucket once two listings a moment apart agree.
    let mut left = s3.list(BUCKET, "demo");
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let again = s3.list(BUCKET, "demo");
        if again == left {
            break;
        }
        left = again;
    }
    let left_tiles: BTreeSet<String> = left
        .iter()
        .map(|(k, _)| k.clone())
        .filter(|k| k.starts_with("tile/"))
        .collect();
    assert!(left_tiles.len() >= 20 && left_tiles.len() < expected.len());
    assert!(
        s3.get(BUCKET, "demo/checkpoint").is_none(),
        "the checkpoint is written last: none may exist while tiles are missing"
    );

    // 2. Resumed: what is there is not written again, and nothing is missing.
    let config = replica_config(dir.path(), "replica.toml", &s3, "demo", "");
    let out = replicate(&data, &config);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (written, bytes, skipped) = summary(&text(&out.stdout));
    assert_eq!(skipped, left_tiles.len() as u64, "{}", text(&out.stdout));
    assert_eq!(
        written,
        (expected.len() - left_tiles.len()) as u64 + 2,
        "the missing tiles, the metadata and the checkpoint"
    );
    let listed = s3.list(BUCKET, "demo");
    let keys: BTreeSet<String> = listed.iter().map(|(k, _)| k.clone()).collect();
    let mut want = expected.clone();
    want.insert("checkpoint".into());
    want.insert("api/v1/log".into());
    assert_eq!(
        keys, want,
        "exactly the read path of the checkpoint, no gap"
    );
    let stored: u64 = listed.iter().map(|(_, s)| s).sum();
    assert!(bytes < stored, "{bytes} written of {stored} stored");
    assert!(
        stored / n > 500,
        "about a leaf per entry: {} bytes",
        stored / n
    );

    // The bucket serves the server's checkpoint and bytes, with cache rules.
    let cp = s3.get(BUCKET, "demo/checkpoint").unwrap();
    assert_eq!(cp.body, served);
    assert_eq!(cp.cache_control.as_deref(), Some("no-cache"));
    assert!(cp.content_type.unwrap().starts_with("text/plain"));
    let full_tile = s3.get(BUCKET, "demo/tile/0/000").unwrap();
    assert_eq!(full_tile.cache_control.as_deref(), Some(IMMUTABLE));
    assert_eq!(full_tile.body.len(), 256 * 32);
    let partial = expected
        .iter()
        .find(|p| p.contains(".p/"))
        .expect("a partial tile");
    let partial = s3.get(BUCKET, &format!("demo/{partial}")).unwrap();
    assert_eq!(partial.cache_control.as_deref(), Some("public, max-age=5"));
    let info: serde_json::Value =
        serde_json::from_slice(&s3.get(BUCKET, "demo/api/v1/log").unwrap().body).unwrap();
    assert_eq!(info["verifier_key"], verifier.to_string());
    assert_eq!(info["tree_size"], n);

    // Again: the bucket is up to date, nothing is written.
    let again = replicate(&data, &config);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains("nothing written"),
        "{}",
        text(&again.stdout)
    );

    // 3. The auditor, from the bucket's public URL alone.
    let public = s3.url(BUCKET, "demo");
    let policy = load_policy(format!("log {verifier}\nquorum none\n").as_bytes()).unwrap();
    let state = dir.path().join("audit.state");
    assert_eq!(
        check(&Fetcher::new(&public), &policy, &state).unwrap(),
        CheckOutcome::First { size: n }
    );
    let audit_dir = dir.path().join("audit");
    let outcome = full(
        &Fetcher::new(&public),
        &policy,
        &audit_options(&audit_dir, &state),
    )
    .unwrap();
    assert!(!outcome.is_misbehaviour(), "{:?}", outcome.report.rejection);
    assert_eq!(outcome.report.tree_size, n);
    let root = open_checkpoint(&served, &verifier, &[])
        .unwrap()
        .checkpoint()
        .root();
    assert_eq!(outcome.report.root, root.to_base64());

    // A tampered object in the bucket is caught by the auditor.
    s3.put(BUCKET, "tampered/checkpoint", &served);
    let mut bad = s3.get(BUCKET, "demo/tile/entries/000").unwrap().body;
    bad[40] ^= 1;
    for key in &expected {
        let body = if key == "tile/entries/000" {
            bad.clone()
        } else {
            s3.get(BUCKET, &format!("demo/{key}")).unwrap().body
        };
        s3.put(BUCKET, &format!("tampered/{key}"), &body);
    }
    let tampered = full(
        &Fetcher::new(&s3.url(BUCKET, "tampered")),
        &policy,
        &audit_options(
            &dir.path().join("audit-tampered"),
            &dir.path().join("t.state"),
        ),
    );
    // The flipped bit lands in the first leaf's timestamp: the leaf no
    // longer matches its tile, or (depending on the digit) it is replayed
    // first and breaks the time order. Either way the audit fails.
    match tampered {
        Err(err) => assert!(err.is_verification_failure(), "{err}"),
        Ok(outcome) => assert!(
            outcome.is_misbehaviour(),
            "a flipped bit in an entry bundle must fail the audit: {outcome:?}"
        ),
    }

    refusals(&s3, dir.path(), &data, &verifier, n);

    // 4. `serve --replica`: the bucket follows the log as it grows.
    let following = replica_config(
        dir.path(),
        "follow.toml",
        &s3,
        "demo",
        "interval_ms = 100\n",
    );
    let server = {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_minhbach-server"));
        cmd.args(["serve", "--data", &data_arg, "--config"])
            .arg(&following)
            .envs(CREDENTIALS);
        Server::spawn(cmd)
    };
    grow(&server, &data, 2, 1_000);
    let now = get_bytes(&agent(Duration::from_secs(10)), &server.url, "/checkpoint").unwrap();
    let n2 = open_checkpoint(&now, &verifier, &[])
        .unwrap()
        .checkpoint()
        .size();
    assert!(n2 >= n + 1_000);
    let deadline = Instant::now() + Duration::from_secs(60);
    while s3.get(BUCKET, "demo/checkpoint").unwrap().body != now {
        assert!(Instant::now() < deadline, "the replica did not catch up");
        std::thread::sleep(Duration::from_millis(50));
    }
    let metrics = get_json_text(&server.url, "/metrics");
    assert!(
        metrics.contains(&format!("minhbach_replica_size {n2}")),
        "{metrics}"
    );
    assert!(metrics.contains("minhbach_replica_errors_total 0"));
    let keys: BTreeSet<String> = s3
        .list(BUCKET, "demo")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert!(tile_objects(n2).is_subset(&keys), "no gap after growing");
    assert_eq!(
        check(&Fetcher::new(&public), &policy, &state).unwrap(),
        CheckOutcome::Verified {
            old_size: n,
            new_size: n2
        },
        "the grown bucket is consistent with what was audited"
    );
    let outcome = full(
        &Fetcher::new(&public),
        &policy,
        &audit_options(&audit_dir, &state),
    )
    .unwrap();
    assert!(!outcome.is_misbehaviour());
    assert_eq!(outcome.report.tree_size, n2);
    assert_eq!(
        outcome.resumed_from,
        Some(n),
        "the second audit resumes where the first ended: {:?}",
        outcome.not_resumed
    );
    assert!(
        outcome.fetched < tile_objects(n2).len(),
        "only what the log grew by is fetched: {}",
        outcome.fetched
    );
    let info = get_json(&agent(Duration::from_secs(5)), &server.url, "/api/v1/log").unwrap();
    let bucket_info: serde_json::Value =
        serde_json::from_slice(&s3.get(BUCKET, "demo/api/v1/log").unwrap().body).unwrap();
    assert_eq!(bucket_info["root"], info["root"]);
    assert!(server.terminate());
}

fn get_json_text(url: &str, path: &str) -> String {
    text(&get_bytes(&agent(Duration::from_secs(5)), url, path).unwrap())
}

/// Buckets that hold another log, a fork of this one, or a larger tree are
/// refused, and left exactly as they were.
fn refusals(s3: &S3, dir: &Path, data: &Path, verifier: &VerifierKey, n: u64) {
    let log_signer = DataDir::new(data).load_log_signer().unwrap().unwrap();
    let origin = verifier.name().as_str().to_owned();
    let stranger = Signer::new(verifier.name().clone(), SigningKey::from_bytes(&[9; 32]));
    let signed = |signer: &Signer, size: u64, root: Hash| {
        sign_checkpoint(
            &Checkpoint::new(&origin, size, root, vec![]).unwrap(),
            signer,
        )
    };
    for (prefix, checkpoint, want) in [
        (
            "other-log",
            signed(&stranger, n / 2, Hash([7; 32])),
            "does not verify with this log's key",
        ),
        ("fork", signed(&log_signer, n / 2, Hash([7; 32])), "a fork"),
        (
            "fork-same-size",
            signed(&log_signer, n, Hash([7; 32])),
            "a fork",
        ),
        (
            "ahead",
            signed(&log_signer, n + 100, Hash([7; 32])),
            "ahead of this log's",
        ),
    ] {
        s3.put(BUCKET, &format!("{prefix}/checkpoint"), &checkpoint);
        let config = replica_config(dir, &format!("{prefix}.toml"), s3, prefix, "");
        let out = replicate(data, &config);
        assert!(!out.status.success(), "{prefix}: replicate must refuse");
        assert!(
            text(&out.stderr).contains(want),
            "{prefix}: {}",
            text(&out.stderr)
        );
        assert_eq!(
            s3.get(BUCKET, &format!("{prefix}/checkpoint"))
                .unwrap()
                .body,
            checkpoint,
            "{prefix}: the bucket's checkpoint is left alone"
        );
        assert_eq!(
            s3.list(BUCKET, prefix).len(),
            1,
            "{prefix}: nothing else was written"
        );
    }
}
