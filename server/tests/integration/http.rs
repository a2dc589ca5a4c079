//! HTTP tests of the read path and the JSON API, with no socket:
//! `app(state).oneshot(request)` over a temporary RocksDB log seeded with the
//! demo history (600 donations and the rest of the demo: full level-0
//! tiles, a partial one, and a partial level-1 tile).

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::TimeZone as _;
use minhbach_ledger::checkpoint::{Checkpoint, open_checkpoint};
use minhbach_ledger::envelope::KeyId;
use minhbach_ledger::leaf::Leaf;
use minhbach_ledger::merkle::{self, Hash, HashReader as _, NodeId};
use minhbach_ledger::note::{KeyName, Signer, VerifierKey};
use minhbach_ledger::store::LogStore as _;
use minhbach_ledger::store::rocks::RocksStore;
use minhbach_ledger::tile::{
    TileKind, TilePath, entry_bundles_for_size, parse_entry_bundle_exact, parse_tile,
    tiles_for_size,
};
use minhbach_server::datadir::DataDir;
use minhbach_server::demo::{self, DemoOptions, Prepared};
use minhbach_server::{AppState, app};
use serde_json::Value;
use tower::ServiceExt as _;

struct Fixture {
    _dir: tempfile::TempDir,
    prepared: Prepared,
    app: Router,
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc
        .with_ymd_and_hms(2026, 11, 23, 9, 15, 2)
        .unwrap()
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let prepared = demo::prepare(
        dir.path(),
        DemoOptions { donations: 600 },
        now(),
        &mut rand_core::OsRng,
    )
    .unwrap();
    assert!(
        prepared.size > 600,
        "the test demo has {} leaves",
        prepared.size
    );
    let app = app(prepared.state.clone());
    Fixture {
        _dir: dir,
        prepared,
        app,
    }
}

impl Fixture {
    fn store(&self) -> &RocksStore {
        self.prepared.state.store()
    }

    fn verifier(&self) -> VerifierKey {
        self.prepared.state.verifier().clone()
    }
}

struct Answer {
    status: StatusCode,
    content_type: String,
    cache_control: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

async fn get(app: &Router, uri: &str) -> Answer {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|v: &header::HeaderValue| v.to_str().unwrap().to_owned())
    };
    let content_type = header(header::CONTENT_TYPE).unwrap_or_default();
    let cache_control = header(header::CACHE_CONTROL);
    let status = response.status();
    let body = to_bytes(response.into_body(), 16 << 20)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        content_type,
        cache_control,
        body,
    }
}

/// Asserts a problem answer with `status` and `code`, in the RFC 9457 shape.
async fn expect_problem(app: &Router, uri: &str, status: StatusCode, code: &str) {
    let answer = get(app, uri).await;
    assert_eq!(answer.status, status, "{uri}");
    assert_eq!(answer.content_type, "application/problem+json", "{uri}");
    let problem = answer.json();
    assert_eq!(problem["code"], code, "{uri}: {problem}");
    assert_eq!(problem["status"], status.as_u16(), "{uri}");
    assert_eq!(problem["type"], format!("/api/v1/problems/{code}"), "{uri}");
    assert!(
        problem["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{uri}"
    );
    assert!(problem["detail"].as_str().is_some(), "{uri}");
}

/// RFC 9162 MTH, computed naively from leaf hashes: an independent reference.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => merkle::empty_root(),
        1 => leaves[0],
        n => {
            let k = n.next_power_of_two() / 2;
            merkle::node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

fn all_leaf_hashes(store: &RocksStore) -> Vec<Hash> {
    store
        .read_leaves(0, store.tree_size().unwrap())
        .unwrap()
        .iter()
        .map(|l| merkle::leaf_hash(l))
        .collect()
}

fn hashes(json: &Value) -> Vec<Hash> {
    json.as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_base64(h.as_str().unwrap()).unwrap())
        .collect()
}

async fn served_checkpoint(f: &Fixture) -> Checkpoint {
    let answer = get(&f.app, "/checkpoint").await;
    assert_eq!(answer.status, StatusCode::OK);
    let opened = open_checkpoint(&answer.body, &f.verifier(), &[]).unwrap();
    opened.checkpoint().clone()
}

#[tokio::test]
async fn checkpoint_opens_with_the_log_key_and_matches_the_tree() {
    let f = fixture();
    let size = f.prepared.size;
    let answer = get(&f.app, "/checkpoint").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type, "text/plain; charset=utf-8");
    assert_eq!(answer.cache_control.as_deref(), Some("no-cache"));
    assert_eq!(Some(answer.body.clone()), f.store().checkpoint().unwrap());
    let checkpoint = served_checkpoint(&f).await;
    assert_eq!(checkpoint.origin(), demo::DEMO_ORIGIN);
    assert_eq!(checkpoint.size(), size);
    assert_eq!(checkpoint.root(), mth(&all_leaf_hashes(f.store())));
    // Another key does not open it.
    let other = Signer::generate(
        KeyName::new(demo::DEMO_ORIGIN).unwrap(),
        &mut rand_core::OsRng,
    );
    assert!(open_checkpoint(&answer.body, &other.verifier(), &[]).is_err());

    let log = get(&f.app, "/api/v1/log").await.json();
    assert_eq!(log["origin"], demo::DEMO_ORIGIN);
    assert_eq!(
        VerifierKey::parse(log["verifier_key"].as_str().unwrap()).unwrap(),
        f.verifier()
    );
    assert_eq!(log["witnesses"], serde_json::json!([]));
    assert_eq!(log["tree_size"], size);
    assert_eq!(log["root"], checkpoint.root().to_base64());

    let health = get(&f.app, "/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
}

/// RFC 9162 MTH of leaves `[start, end)`, taking every aligned run of 256
/// leaves from its level-1 hash: the root from the tiles alone.
fn root_from_tiles(level0: &[Hash], level1: &[Hash], start: usize, end: usize) -> Hash {
    let n = end - start;
    if n == 256 && start.is_multiple_of(256) {
        return level1[start / 256];
    }
    if n == 1 {
        return level0[start];
    }
    let k = 1 << (usize::BITS - 1 - (n - 1).leading_zeros());
    merkle::node_hash(
        &root_from_tiles(level0, level1, start, start + k),
        &root_from_tiles(level0, level1, start + k, end),
    )
}

#[tokio::test]
async fn every_tile_matches_the_stored_hashes_and_rebuilds_the_root() {
    let f = fixture();
    let size = f.prepared.size;
    let store = f.store();
    let checkpoint = served_checkpoint(&f).await;
    let leaf_hashes = all_leaf_hashes(store);

    let paths: Vec<TilePath> = tiles_for_size(size).collect();
    let names: Vec<String> = paths.iter().map(ToString::to_string).collect();
    // Full level-0 tiles, one partial level-0 tile and a partial level-1
    // tile, as the fixture promises.
    let (full, rest) = (size / 256, size % 256);
    assert!(full >= 2 && rest > 0, "size {size}");
    let mut expected: Vec<String> = (0..full).map(|n| format!("tile/0/{n:03}")).collect();
    expected.push(format!("tile/0/{full:03}.p/{rest}"));
    expected.push(format!("tile/1/000.p/{full}"));
    assert_eq!(names, expected);
    let mut level0 = Vec::new();
    let mut level1 = Vec::new();
    for path in &paths {
        let answer = get(&f.app, &format!("/{path}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_eq!(answer.content_type, "application/octet-stream");
        let cache = answer.cache_control.unwrap();
        if path.is_full() {
            assert_eq!(cache, "public, max-age=31536000, immutable");
        } else {
            assert!(cache.starts_with("public, max-age=") && !cache.contains("immutable"));
        }
        let tile = parse_tile(&answer.body, path.width()).unwrap();
        assert_eq!(tile, store.read_hashes(&path.node_ids()).unwrap(), "{path}");
        match path.kind() {
            TileKind::Hashes { level: 0 } => level0.extend(tile),
            TileKind::Hashes { level: 1 } => level1.extend(tile),
            kind => panic!("unexpected {kind:?}"),
        }
    }
    // Level 0 is the leaf hashes; each level-1 hash is the root of a full
    // level-0 tile; and the tiles alone give the checkpoint's root.
    assert_eq!(level0, leaf_hashes);
    let tiles: Vec<Hash> = level0.chunks_exact(256).map(mth).collect();
    assert_eq!(level1, tiles);
    assert_eq!(
        root_from_tiles(&level0, &level1, 0, level0.len()),
        checkpoint.root()
    );

    // Entry bundles hold the stored leaves, which hash to the level-0 tiles.
    let bundles: Vec<TilePath> = entry_bundles_for_size(size).collect();
    assert_eq!(bundles.len() as u64, size.div_ceil(256));
    let mut leaves = Vec::new();
    for path in &bundles {
        let answer = get(&f.app, &format!("/{path}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_eq!(answer.content_type, "application/octet-stream");
        let entries = parse_entry_bundle_exact(&answer.body, path.width()).unwrap();
        let range = path.leaf_range();
        assert_eq!(
            entries,
            store
                .read_leaves(range.start, range.end)
                .unwrap()
                .iter()
                .map(Vec::as_slice)
                .collect::<Vec<_>>()
        );
        leaves.extend(entries.iter().map(|e| merkle::leaf_hash(e)));
    }
    assert_eq!(leaves, leaf_hashes);

    // A narrower partial tile is the prefix of the wider one (what the tile
    // was when the tree was smaller); a wider one does not exist yet.
    let last = usize::try_from(size / 256).unwrap();
    let narrow = get(&f.app, &format!("/tile/0/{last:03}.p/10")).await;
    assert_eq!(narrow.status, StatusCode::OK);
    assert_eq!(
        parse_tile(&narrow.body, 10).unwrap(),
        leaf_hashes[last * 256..last * 256 + 10]
    );
    let narrow = get(&f.app, "/tile/entries/001.p/3").await;
    assert_eq!(parse_entry_bundle_exact(&narrow.body, 3).unwrap().len(), 3);
    let narrow = get(&f.app, "/tile/1/000.p/1").await;
    assert_eq!(parse_tile(&narrow.body, 1).unwrap(), level1[..1]);
}

#[tokio::test]
async fn proofs_verify_against_the_checkpoint() {
    let f = fixture();
    let size = f.prepared.size;
    let checkpoint = served_checkpoint(&f).await;
    let leaf_hashes = all_leaf_hashes(f.store());
    let mut indexes: Vec<u64> = (0..size).step_by(37).collect();
    indexes.extend([1, 255, 256, 511, 512, size - 1]);
    for index in indexes {
        // The default size is the checkpoint's.
        let json = get(&f.app, &format!("/api/v1/proofs/inclusion?index={index}"))
            .await
            .json();
        assert_eq!(json["tree_size"], size);
        assert_eq!(json["index"], index);
        let leaf_hash = leaf_hashes[index as usize];
        assert_eq!(json["leaf_hash"], leaf_hash.to_base64());
        let proof = hashes(&json["proof"]);
        merkle::verify_inclusion(&leaf_hash, index, size, &proof, &checkpoint.root()).unwrap();
        // And in a smaller tree, against its independently computed root.
        let size = index + 1 + (index * 7) % (size - index);
        let json = get(
            &f.app,
            &format!("/api/v1/proofs/inclusion?index={index}&size={size}"),
        )
        .await
        .json();
        let proof = hashes(&json["proof"]);
        let root = mth(&leaf_hashes[..size as usize]);
        merkle::verify_inclusion(&leaf_hash, index, size, &proof, &root).unwrap();
        // A different leaf does not verify with that proof.
        let other = leaf_hashes[(index as usize + 1) % leaf_hashes.len()];
        assert!(merkle::verify_inclusion(&other, index, size, &proof, &root).is_err());
    }
    for from in [1, 2, 3, 100, 255, 256, 257, 511, 512, 599, size] {
        let json = get(&f.app, &format!("/api/v1/proofs/consistency?from={from}"))
            .await
            .json();
        assert_eq!(
            (json["from"].as_u64(), json["to"].as_u64()),
            (Some(from), Some(size))
        );
        let proof = hashes(&json["proof"]);
        let old_root = mth(&leaf_hashes[..from as usize]);
        merkle::verify_consistency(from, size, &proof, &old_root, &checkpoint.root()).unwrap();
        let to = from + (size - from) / 2;
        let json = get(
            &f.app,
            &format!("/api/v1/proofs/consistency?from={from}&to={to}"),
        )
        .await
        .json();
        let proof = hashes(&json["proof"]);
        let new_root = mth(&leaf_hashes[..to as usize]);
        merkle::verify_consistency(from, to, &proof, &old_root, &new_root).unwrap();
    }
}

#[tokio::test]
async fn entries_are_decoded_leaves() {
    let f = fixture();
    let size = f.prepared.size;
    let store = f.store();
    for index in [0, 1, 7, 300, size - 2, size - 1] {
        let json = get(&f.app, &format!("/api/v1/entries/{index}"))
            .await
            .json();
        let stored = store.read_leaves(index, index + 1).unwrap().remove(0);
        let leaf = Leaf::parse(&stored).unwrap();
        assert_eq!(json["index"], index);
        assert_eq!(
            BASE64.decode(json["leaf"].as_str().unwrap()).unwrap(),
            stored
        );
        let hash = merkle::leaf_hash(&stored);
        assert_eq!(json["leaf_hash"], hash.to_base64());
        assert_eq!(json["leaf_hash_hex"], hash.to_hex());
        let hashes = store.read_hashes(&[NodeId { level: 0, index }]).unwrap();
        assert_eq!(hashes, vec![hash]);
        assert_eq!(
            json["payload_type"],
            "application/vnd.minhbach.statement.v1+json"
        );
        let signers: Vec<String> = leaf
            .envelope
            .signatures()
            .iter()
            .map(|s| s.keyid.to_string())
            .collect();
        assert_eq!(json["signers"], serde_json::json!(signers));
        let statement: Value = serde_json::from_slice(leaf.envelope.payload()).unwrap();
        assert_eq!(json["statement"], statement);
        assert!(json["logged_at"].as_str().unwrap().ends_with('Z'));
    }
    // The history: genesis first (2 of 3 governance keys), then grants.
    let first = get(&f.app, "/api/v1/entries/0").await.json();
    assert_eq!(first["statement"]["type"], "genesis");
    assert_eq!(first["signers"].as_array().unwrap().len(), 2);
    // Somewhere, commune support co-signed by two distinct approvers.
    let mut co_signed = 0;
    for index in 0..size {
        let e = get(&f.app, &format!("/api/v1/entries/{index}"))
            .await
            .json();
        if e["statement"]["type"] == "disbursement" && e["signers"].as_array().unwrap().len() == 2 {
            let signers = e["signers"].as_array().unwrap();
            assert_ne!(signers[0], signers[1]);
            assert!(
                signers
                    .iter()
                    .all(|s| KeyId::parse(s.as_str().unwrap()).is_ok())
            );
            assert!(e["statement"]["amount"].as_u64().unwrap() >= 50_000_000);
            co_signed += 1;
        }
    }
    assert_eq!(co_signed, 2);
}

#[tokio::test]
async fn every_error_is_a_problem_with_a_stable_code() {
    let f = fixture();
    let size = f.prepared.size;
    let app = &f.app;
    let nf = StatusCode::NOT_FOUND;
    let bad = StatusCode::BAD_REQUEST;
    // Not tile paths (tlog-tiles spelling is strict).
    for uri in [
        "/tile/0/1",
        "/tile/0/0001",
        "/tile/00/000",
        "/tile/0/x000/001",
        "/tile/0/000.p/0",
        "/tile/0/000.p/256",
        "/tile/0/000.p/010",
        "/tile/0/abc",
        "/tile/x/000",
        "/tile/64/000",
        "/tile/9/000",
        "/tile/entries/",
        "/tile/entries/000.p/",
        "/tile/0/000/",
        "/tile/0/x001/x002/x003/x004/x005/x006/x007/000",
    ] {
        expect_problem(app, uri, nf, "not_found").await;
    }
    // Tiles past the end of the tree.
    let (full, rest) = (size / 256, size % 256);
    for uri in [
        format!("/tile/0/{full:03}"),
        format!("/tile/0/{:03}", full + 1),
        format!("/tile/0/{full:03}.p/{}", rest + 1),
        format!("/tile/0/{full:03}.p/255"),
        "/tile/1/000".to_owned(),
        format!("/tile/1/000.p/{}", full + 1),
        "/tile/1/001.p/1".to_owned(),
        "/tile/2/000.p/1".to_owned(),
        format!("/tile/entries/{full:03}"),
        format!("/tile/entries/{full:03}.p/{}", rest + 1),
        format!("/tile/entries/{:03}.p/1", full + 1),
        "/tile/entries/x999/x999/x999/x999/x999/x999/999.p/1".to_owned(),
        "/tile/7/x072/x057/x594/x037/x927/935.p/1".to_owned(),
    ] {
        expect_problem(app, &uri, nf, "not_found").await;
    }
    // Entries.
    expect_problem(app, &format!("/api/v1/entries/{size}"), nf, "not_found").await;
    expect_problem(app, "/api/v1/entries/18446744073709551615", nf, "not_found").await;
    expect_problem(app, "/api/v1/entries/abc", bad, "malformed").await;
    expect_problem(app, "/api/v1/entries/-1", bad, "malformed").await;
    expect_problem(
        app,
        "/api/v1/entries/18446744073709551616",
        bad,
        "malformed",
    )
    .await;
    // Inclusion proofs.
    let inclusion = "/api/v1/proofs/inclusion";
    expect_problem(
        app,
        &format!("{inclusion}?index={size}"),
        bad,
        "out_of_range",
    )
    .await;
    expect_problem(
        app,
        &format!("{inclusion}?index=5&size=5"),
        bad,
        "out_of_range",
    )
    .await;
    expect_problem(
        app,
        &format!("{inclusion}?index=0&size=0"),
        bad,
        "out_of_range",
    )
    .await;
    expect_problem(
        app,
        &format!("{inclusion}?index=0&size={}", size + 1),
        bad,
        "out_of_range",
    )
    .await;
    expect_problem(
        app,
        &format!("{inclusion}?index=0&size=18446744073709551615"),
        bad,
        "out_of_range",
    )
    .await;
    expect_problem(app, inclusion, bad, "malformed").await;
    expect_problem(app, &format!("{inclusion}?index=abc"), bad, "malformed").await;
    expect_problem(app, &format!("{inclusion}?index=1.5"), bad, "malformed").await;
    expect_problem(app, &format!("{inclusion}?index=-1"), bad, "malformed").await;
    expect_problem(
        app,
        &format!("{inclusion}?index=1&size=x"),
        bad,
        "malformed",
    )
    .await;
    expect_problem(app, &format!("{inclusion}?index=1&size="), bad, "malformed").await;
    // Consistency proofs.
    let consistency = "/api/v1/proofs/consistency";
    expect_problem(
        app,
        &format!("{consistency}?from=10&to=5"),
        bad,
        "out_of_range",
    )
    .await;
    expect_problem(
        app,
        &format!("{consistency}?from={}", size + 1),
        bad,
        "out_of_range",
    )
    .await;
    expect_problem(
        app,
        &format!("{consistency}?from=1&to={}", size + 1),
        bad,
        "out_of_range",
    )
    .await;
    expect_problem(app, consistency, bad, "malformed").await;
    expect_problem(app, &format!("{consistency}?from=ten"), bad, "malformed").await;
    expect_problem(
        app,
        &format!("{consistency}?from=1&to=99999999999999999999"),
        bad,
        "malformed",
    )
    .await;
    // Unknown routes.
    expect_problem(app, "/nope", nf, "not_found").await;
    expect_problem(
        app,
        "/api/v1/entries",
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    // Edge cases that are fine.
    let json = get(app, &format!("{consistency}?from=0")).await.json();
    assert_eq!(json["proof"], serde_json::json!([]));
    let json = get(app, &format!("{consistency}?from=600&to=600"))
        .await
        .json();
    assert_eq!(json["proof"], serde_json::json!([]));
}

#[tokio::test]
async fn an_empty_log_answers_not_found_until_its_first_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let store = RocksStore::open(dir.path()).unwrap();
    let signer = Signer::generate(
        KeyName::new("test.example/log").unwrap(),
        &mut rand_core::OsRng,
    );
    let app = app(AppState::new(Arc::new(store), signer.verifier()).unwrap());
    expect_problem(&app, "/checkpoint", StatusCode::NOT_FOUND, "not_found").await;
    expect_problem(&app, "/tile/0/000.p/1", StatusCode::NOT_FOUND, "not_found").await;
    expect_problem(
        &app,
        "/tile/entries/000.p/1",
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        &app,
        "/api/v1/entries/0",
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        &app,
        "/api/v1/proofs/inclusion?index=0",
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let log = get(&app, "/api/v1/log").await.json();
    assert_eq!(log["tree_size"], 0);
    assert_eq!(log["root"], merkle::empty_root().to_base64());
    assert_eq!(log["origin"], "test.example/log");
}

#[test]
fn the_demo_seeds_once_and_keeps_its_keys() {
    let dir = tempfile::tempdir().unwrap();
    let first = demo::prepare(
        dir.path(),
        DemoOptions::default(),
        now(),
        &mut rand_core::OsRng,
    )
    .unwrap();
    let size = first.size;
    assert!(size > 3_000, "thousands of donations and more");
    assert_eq!(first.seeded, size);
    let checkpoint = first.state.store().checkpoint().unwrap();
    let log_key = std::fs::read_to_string(dir.path().join("log.key")).unwrap();
    assert!(log_key.starts_with("PRIVATE+KEY+demo.minhbach.vn/log+"));
    let officials: Vec<_> = std::fs::read_dir(dir.path().join("officials"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(officials.len(), 18, "nine keys and their .pub files");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("log.key")), 0o600);
        for p in officials
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "key"))
        {
            assert_eq!(mode(p), 0o600, "{}", p.display());
        }
        assert_eq!(mode(&dir.path().join("officials")), 0o700);
    }
    let keys_before: Vec<String> = officials
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    drop(first);

    // A second start, later: nothing appended, same keys, same checkpoint.
    let later = now() + chrono::Duration::days(1);
    let second = demo::prepare(
        dir.path(),
        DemoOptions::default(),
        later,
        &mut rand_core::OsRng,
    )
    .unwrap();
    assert_eq!((second.seeded, second.size), (0, size));
    assert_eq!(second.state.store().checkpoint().unwrap(), checkpoint);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("log.key")).unwrap(),
        log_key
    );
    let keys_after: Vec<String> = officials
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert_eq!(keys_after, keys_before);
    drop(second);

    // `serve` opens the same directory without seeding.
    let (store, signer) = DataDir::new(dir.path()).open_existing().unwrap();
    assert_eq!(store.tree_size().unwrap(), size);
    assert_eq!(signer.to_private_key_string(), log_key.trim_end());
    drop(store);

    // A log whose key is gone is refused, not re-keyed.
    std::fs::remove_file(dir.path().join("log.key")).unwrap();
    assert!(
        demo::prepare(
            dir.path(),
            DemoOptions::default(),
            later,
            &mut rand_core::OsRng
        )
        .is_err()
    );
    assert!(DataDir::new(dir.path()).open_existing().is_err());
}

#[test]
fn serve_refuses_a_key_that_does_not_match_the_log() {
    let dir = tempfile::tempdir().unwrap();
    drop(
        demo::prepare(
            dir.path(),
            DemoOptions { donations: 3 },
            now(),
            &mut rand_core::OsRng,
        )
        .unwrap(),
    );
    let other = Signer::generate(
        KeyName::new(demo::DEMO_ORIGIN).unwrap(),
        &mut rand_core::OsRng,
    );
    std::fs::write(
        dir.path().join("log.key"),
        format!("{}\n", other.to_private_key_string()),
    )
    .unwrap();
    assert!(DataDir::new(dir.path()).open_existing().is_err());
    std::fs::write(dir.path().join("log.key"), "not a key\n").unwrap();
    assert!(DataDir::new(dir.path()).open_existing().is_err());
}
