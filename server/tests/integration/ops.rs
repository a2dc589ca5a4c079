//! `init`, `reindex` and `backup` over real RocksDB data directories: each
//! does its job, and each refuses the wrong input without writing anything.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::SigningKey;
use minhbach_ledger::checkpoint::open_checkpoint;
use minhbach_ledger::envelope::{Envelope, STATEMENT_PAYLOAD_TYPE};
use minhbach_ledger::store::LogStore as _;
use minhbach_ledger::store::rocks::RocksStore;
use minhbach_server::datadir::DataDir;
use minhbach_server::demo::{self, DemoOptions};
use minhbach_server::ops::{self, OpsError};
use serde_json::json;

fn now() -> DateTime<Utc> {
    DateTime::from(std::time::SystemTime::now())
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// A genesis for `origin` naming governance keys 1..=3 with threshold 2,
/// signed by `signers`.
fn genesis(origin: &str, signers: &[u8], time: DateTime<Utc>) -> Vec<u8> {
    let keys: Vec<_> = (1..=3u8)
        .map(|s| {
            json!({
                "public_key": BASE64.encode(key(s).verifying_key().as_bytes()),
                "name": format!("Ban Thường trực {s}"),
            })
        })
        .collect();
    let payload = json!({
        "type": "genesis",
        "id": "0193a5c2-0000-7000-8000-000000000001",
        "time": time.to_rfc3339_opts(SecondsFormat::Secs, true),
        "origin": origin,
        "governance": {"keys": keys, "threshold": 2},
        "assets": [{"code": "VND", "name": "Đồng Việt Nam"}],
    });
    let mut envelope = Envelope::sign(
        STATEMENT_PAYLOAD_TYPE,
        serde_json::to_vec(&payload).unwrap(),
        &key(signers[0]),
    );
    for s in &signers[1..] {
        envelope.add_signature(&key(*s)).unwrap();
    }
    envelope.to_json()
}

#[test]
fn init_creates_a_log_whose_entry_zero_is_the_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let t = now();
    let done = ops::init(
        &data,
        &genesis("mttq.example/log", &[1, 3], t),
        t,
        &mut rand_core::OsRng,
    )
    .unwrap();
    assert_eq!(done.origin, "mttq.example/log");
    assert!(done.key_created);
    assert_eq!(done.verifier.name().as_str(), "mttq.example/log");

    let (store, signer) = DataDir::new(&data).open_existing().unwrap();
    assert_eq!(store.tree_size().unwrap(), 1);
    let signed = store.checkpoint().unwrap().unwrap();
    let opened = open_checkpoint(&signed, &done.verifier, &[]).unwrap();
    assert_eq!(opened.checkpoint().size(), 1);
    assert_eq!(signer.verifier().to_string(), done.verifier.to_string());
    let leaf = store.read_leaves(0, 1).unwrap().pop().unwrap();
    assert_eq!(minhbach_ledger::merkle::leaf_hash(&leaf), done.leaf_hash);
    // The verifier key is on disk for everyone.
    let vkey = std::fs::read_to_string(DataDir::new(&data).log_vkey_path()).unwrap();
    assert_eq!(vkey.trim(), done.verifier.to_string());

    // A second init refuses and leaves the log alone.
    drop(store);
    let err = ops::init(
        &data,
        &genesis("mttq.example/log", &[1, 2], t),
        t,
        &mut rand_core::OsRng,
    )
    .unwrap_err();
    assert!(
        matches!(err, OpsError::AlreadyInitialised { size: 1, .. }),
        "{err}"
    );
    let (store, _) = DataDir::new(&data).open_existing().unwrap();
    assert_eq!(store.tree_size().unwrap(), 1);
}

#[test]
fn init_refuses_a_bad_genesis_and_creates_nothing() {
    let t = now();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "one signature of a 2-of-3 quorum",
            genesis("a.example/log", &[1], t),
            "refused",
        ),
        (
            "a stranger's signature",
            genesis("a.example/log", &[1, 9], t),
            "refused",
        ),
        ("not JSON", b"{not json".to_vec(), "envelope"),
        (
            "a statement that is not a genesis",
            {
                let payload = json!({"type": "feedback.resolve", "id": "0193a5c2-0000-7000-8000-000000000002",
                "time": t.to_rfc3339_opts(SecondsFormat::Secs, true), "feedback": 3,
                "resolution_hash": "sha256:0000000000000000000000000000000000000000000000000000000000000000"});
                Envelope::sign(
                    STATEMENT_PAYLOAD_TYPE,
                    serde_json::to_vec(&payload).unwrap(),
                    &key(1),
                )
                .to_json()
            },
            "any",
        ),
        (
            "a genesis signed long ago",
            genesis("a.example/log", &[1, 2], t - chrono::Duration::days(3)),
            "refused",
        ),
    ];
    for (what, bytes, expect) in cases {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let err = ops::init(&data, &bytes, t, &mut rand_core::OsRng).unwrap_err();
        match expect {
            "refused" => assert!(matches!(err, OpsError::Refused { .. }), "{what}: {err}"),
            "envelope" => assert!(matches!(err, OpsError::Envelope(_)), "{what}: {err}"),
            _ => assert!(
                matches!(err, OpsError::Refused { .. } | OpsError::NotGenesis(_)),
                "{what}: {err}"
            ),
        }
        assert!(!data.exists(), "{what}: nothing may be created");
    }
}

#[test]
fn init_keeps_an_existing_key_of_the_same_origin_and_refuses_another() {
    let t = now();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = DataDir::new(&data);
    d.create().unwrap();
    let existing = d
        .create_log_signer("b.example/log", &mut rand_core::OsRng)
        .unwrap();
    let err = ops::init(
        &data,
        &genesis("c.example/log", &[1, 2], t),
        t,
        &mut rand_core::OsRng,
    )
    .unwrap_err();
    assert!(matches!(err, OpsError::OriginMismatch { .. }), "{err}");
    assert_eq!(
        RocksStore::open(&d.log_dir()).unwrap().tree_size().unwrap(),
        0
    );

    let done = ops::init(
        &data,
        &genesis("b.example/log", &[2, 3], t),
        t,
        &mut rand_core::OsRng,
    )
    .unwrap();
    assert!(!done.key_created);
    assert_eq!(done.verifier.to_string(), existing.verifier().to_string());
}

#[test]
fn reindex_rebuilds_the_indexes_of_a_demo_log_and_backup_copies_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (size, root) = {
        let prepared = demo::prepare(
            &data,
            DemoOptions { donations: 100 },
            now(),
            &mut rand_core::OsRng,
        )
        .unwrap();
        let store = prepared.state.store();
        let size = store.tree_size().unwrap();
        (
            size,
            minhbach_ledger::merkle::root_at(store.as_ref(), size).unwrap(),
        )
    };
    // The demo's sequencer thread has stopped with `prepared`.
    let done = ops::reindex(&data).unwrap();
    assert_eq!(done.size, size);
    assert_eq!(done.root, root);
    assert_eq!(done.replayed, size);

    let copy = dir.path().join("copy");
    let backed = ops::backup(&data, &copy, false).unwrap();
    assert_eq!(backed.size, size);
    assert!(backed.checkpoint_verified);
    assert!(!DataDir::new(&copy).log_key_path().exists());
    let restored = RocksStore::open(&DataDir::new(&copy).log_dir()).unwrap();
    assert_eq!(restored.tree_size().unwrap(), size);
    assert_eq!(
        minhbach_ledger::merkle::root_at(&restored, size).unwrap(),
        root
    );
    drop(restored);

    // Refusals: an existing destination, a directory that is not a log.
    let err = ops::backup(&data, &copy, true).unwrap_err();
    assert!(matches!(err, OpsError::DestinationExists(_)), "{err}");
    let with_key = dir.path().join("copy-with-key");
    assert!(ops::backup(&data, &with_key, true).unwrap().with_key);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(DataDir::new(&with_key).log_key_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the copied key is private");
    }
    let empty = tempfile::tempdir().unwrap();
    assert!(ops::reindex(empty.path()).is_err());
    assert!(ops::backup(empty.path(), &dir.path().join("x"), false).is_err());
    assert!(!dir.path().join("x").exists());
}

#[test]
fn reindex_refuses_a_log_whose_leaves_were_altered() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(
        demo::prepare(
            &data,
            DemoOptions { donations: 20 },
            now(),
            &mut rand_core::OsRng,
        )
        .unwrap(),
    );
    // Replace leaf 5 with leaf 6's bytes behind the store's back, with
    // RocksDB itself, as a damaged disk or a careless operator would.
    let log = DataDir::new(&data).log_dir();
    let six = RocksStore::open(&log)
        .unwrap()
        .read_leaves(6, 7)
        .unwrap()
        .pop()
        .unwrap();
    {
        let db = rocksdb::DB::open_cf(
            &rocksdb::Options::default(),
            &log,
            ["leaves", "tiles", "hashes", "paths", "meta"],
        )
        .unwrap();
        db.put_cf(db.cf_handle("leaves").unwrap(), 5u64.to_be_bytes(), &six)
            .unwrap();
    }
    let err = ops::reindex(&data).unwrap_err();
    assert!(
        matches!(
            err,
            OpsError::Store(minhbach_ledger::store::StoreError::Corrupt { .. })
        ),
        "{err}"
    );
}
