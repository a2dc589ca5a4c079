//! `full` resumes from the replay it saved: a rerun after the log grew gives
//! the report a from-scratch run gives, replaying only the new entries; a
//! damaged or foreign snapshot is detected and the audit replays from entry
//! 0; a saved checkpoint the log no longer extends is proven misbehaviour;
//! an audited entry served with other bytes is named.

use crate::common;

use std::path::Path;

use chrono::{TimeZone as _, Utc};
use common::{grow, history, log_signer, mirror};
use minhbach_auditor::full::{FullOptions, FullOutcome, full};
use minhbach_auditor::report::Thresholds;
use minhbach_auditor::snapshot::FILE_NAME;
use minhbach_auditor::{AuditError, Fetcher, ReplayError};
use minhbach_ledger::note::Signer;
use minhbach_ledger::policy::Policy;

const ORIGIN: &str = "resume.test/log";

fn policy(signer: &Signer) -> Policy {
    Policy::parse(format!("log {}\nquorum none\n", signer.verifier()).as_bytes()).unwrap()
}

fn options(out: &Path) -> FullOptions {
    FullOptions {
        out: out.to_owned(),
        jobs: 2,
        state: None,
        thresholds: Thresholds {
            unacked_days: 30,
            as_of: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single().unwrap(),
        },
        progress: false,
    }
}

fn audit(log: &Path, signer: &Signer, out: &Path) -> Result<FullOutcome, AuditError> {
    full(
        &Fetcher::new(log.to_str().unwrap()),
        &policy(signer),
        &options(out),
    )
}

fn report(out: &Path) -> String {
    std::fs::read_to_string(out.join("report.json")).unwrap()
}

#[test]
fn a_resumed_audit_reports_what_a_fresh_one_does() {
    let dir = tempfile::tempdir().unwrap();
    let (log, out, fresh) = (
        dir.path().join("log"),
        dir.path().join("out"),
        dir.path().join("fresh"),
    );
    let signer = log_signer(ORIGIN, 21);
    let mut w = history(700);
    mirror(&log, &w.leaves, &signer);
    let first = audit(&log, &signer, &out).unwrap();
    assert!(!first.is_misbehaviour());
    assert_eq!(first.resumed_from, None);
    assert_eq!(first.not_resumed, None, "no snapshot yet: nothing to say");
    assert!(out.join(FILE_NAME).is_file());

    // Grown, from a partial bundle (700 = 2·256 + 188) to another.
    let audited = w.leaves.len() as u64;
    grow(&mut w, 1_500);
    mirror(&log, &w.leaves, &signer);
    let second = audit(&log, &signer, &out).unwrap();
    assert!(!second.is_misbehaviour());
    assert_eq!(second.resumed_from, Some(audited));
    assert_eq!(second.not_resumed, None);
    assert_eq!(second.report.tree_size, w.leaves.len() as u64);

    let scratch = audit(&log, &signer, &fresh).unwrap();
    assert_eq!(scratch.resumed_from, None);
    assert_eq!(report(&out), report(&fresh));
    assert_eq!(
        serde_json::to_value(&second.report).unwrap(),
        serde_json::to_value(&scratch.report).unwrap()
    );

    // Unchanged log: resumes at its own size, replays nothing, same report.
    let again = audit(&log, &signer, &out).unwrap();
    assert_eq!(again.resumed_from, Some(w.leaves.len() as u64));
    assert_eq!(report(&out), report(&fresh));
}

#[test]
fn a_damaged_or_foreign_snapshot_is_detected_and_the_audit_starts_over() {
    let dir = tempfile::tempdir().unwrap();
    let (log, out, other_log, other_out) = (
        dir.path().join("log"),
        dir.path().join("out"),
        dir.path().join("other-log"),
        dir.path().join("other-out"),
    );
    let signer = log_signer(ORIGIN, 22);
    let w = history(600);
    mirror(&log, &w.leaves, &signer);
    audit(&log, &signer, &out).unwrap();
    let expected = report(&out);
    let snapshot = out.join(FILE_NAME);
    let good = std::fs::read(&snapshot).unwrap();

    let rerun = |what: &str| {
        let o = audit(&log, &signer, &out).unwrap();
        assert!(!o.is_misbehaviour(), "{what}");
        assert_eq!(o.resumed_from, None, "{what}");
        assert_eq!(report(&out), expected, "{what}");
        o.not_resumed.unwrap_or_else(|| panic!("{what}: not said"))
    };

    // A flipped bit anywhere: the digest.
    for at in [0, 40, good.len() / 2, good.len() - 1] {
        let mut b = good.clone();
        b[at] ^= 0x10;
        std::fs::write(&snapshot, &b).unwrap();
        let why = rerun(&format!("bit flipped at {at}"));
        assert!(why.contains("damaged"), "{why}");
    }
    // Truncated, empty.
    for len in [good.len() - 7, 20, 0] {
        std::fs::write(&snapshot, &good[..len]).unwrap();
        let why = rerun(&format!("truncated to {len}"));
        assert!(why.contains("damaged"), "{why}");
    }
    // After a rerun, the snapshot is whole again and is used.
    std::fs::write(&snapshot, b"garbage").unwrap();
    rerun("garbage");
    let o = audit(&log, &signer, &out).unwrap();
    assert_eq!(o.resumed_from, Some(600));

    // Another log's snapshot (another origin and key): foreign.
    let other = log_signer("other.test/log", 23);
    mirror(&other_log, &w.leaves, &other);
    audit(&other_log, &other, &other_out).unwrap();
    std::fs::copy(other_out.join(FILE_NAME), &snapshot).unwrap();
    let why = rerun("another log's snapshot");
    assert!(why.contains("another log"), "{why}");
}

#[test]
fn a_snapshot_the_log_no_longer_extends_is_evidence_of_a_fork() {
    let dir = tempfile::tempdir().unwrap();
    let (log, out) = (dir.path().join("log"), dir.path().join("out"));
    let signer = log_signer(ORIGIN, 24);
    let w = history(600);
    mirror(&log, &w.leaves, &signer);
    audit(&log, &signer, &out).unwrap();

    // The same key signs a history that differs from entry 500 on.
    let mut forked = history(500);
    forked.now += chrono::Duration::hours(1);
    grow(&mut forked, 900);
    mirror(&log, &forked.leaves, &signer);
    let o = audit(&log, &signer, &out).unwrap();
    assert!(o.is_misbehaviour());
    let e = o.evidence.as_ref().unwrap();
    assert_eq!(e.kind, "fork");
    assert!(out.join("evidence.json").is_file());
    assert_eq!(o.resumed_from, None);
    assert!(o.not_resumed.unwrap().contains("not consistent"));
}

#[test]
fn an_audited_entry_served_with_other_bytes_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (log, out) = (dir.path().join("log"), dir.path().join("out"));
    let signer = log_signer(ORIGIN, 25);
    let mut w = history(600);
    mirror(&log, &w.leaves, &signer);
    audit(&log, &signer, &out).unwrap();
    grow(&mut w, 700);
    mirror(&log, &w.leaves, &signer);
    // Entry 520 (in the bundle the last audit ended in) changes in the
    // bundle only; the checkpoint and tiles are the honest ones.
    let bundle = log.join("tile/entries/002.p/188");
    let mut b = std::fs::read(&bundle).unwrap();
    let mut at = 0;
    for _ in 0..8 {
        at += 2 + usize::from(u16::from_be_bytes([b[at], b[at + 1]]));
    }
    b[at + 10] ^= 1;
    std::fs::write(&bundle, b).unwrap();
    match audit(&log, &signer, &out) {
        Err(AuditError::Replay(ReplayError::ChangedEntry { index })) => assert_eq!(index, 520),
        other => panic!("{other:?}"),
    }
}
