//! Writes the seed corpora of the fuzz targets into `fuzz/corpus/<target>/`.
//!
//! Run from `fuzz/`: `cargo run -p minhbach-fuzz-seedgen`. Every key is a fixed
//! test key, so the output is the same on every run. Seeds named `valid-*`
//! parse; seeds named `invalid-*` are near misses that must be rejected.

use std::fs;
use std::path::Path;

use chrono::{TimeZone as _, Utc};
use ed25519_dalek::SigningKey;
use minhbach_ledger::checkpoint::Checkpoint;
use minhbach_ledger::cosignature::Cosigner;
use minhbach_ledger::envelope::{Envelope, STATEMENT_PAYLOAD_TYPE};
use minhbach_ledger::leaf::Leaf;
use minhbach_ledger::merkle::{leaf_hash, node_hash, Hash};
use minhbach_ledger::note::{KeyName, Note, Signer};
use minhbach_ledger::policy::Policy;
use minhbach_ledger::receipt::TlogProof;
use minhbach_ledger::tile::{encode_entry_bundle, parse_entry_bundle, TilePath};

const ORIGIN: &str = "ledger.minhbach.example/2026";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn name(s: &str) -> KeyName {
    KeyName::new(s).expect("a valid key name")
}

fn write(target: &str, seed: &str, bytes: impl AsRef<[u8]>) {
    let dir = Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../corpus")
        .join(target);
    fs::create_dir_all(&dir).expect("create the corpus directory");
    fs::write(dir.join(seed), bytes).expect("write a seed");
}

fn statements() -> Vec<Vec<u8>> {
    [
        r#"{"type":"donation","id":"019a4f3e-0000-7000-8000-000000000001","time":"2026-11-23T09:15:02Z","campaign":"lu-mien-trung-2026","account":"vcb-0011","amount":500000,"asset":"VND","channel":"bank","ref":"FT26327000001","donor":"N.V.A."}"#,
        r#"{"type":"donation","id":"019a4f3e-0000-7000-8000-000000000002","time":"2026-11-23T09:16:40Z","campaign":"lu-mien-trung-2026","account":"vcb-0011","amount":2000000,"asset":"VND","channel":"bank","ref":"FT26327000002","donor":"anonymous"}"#,
        r#"{"type":"disbursement","id":"019a4f3e-0000-7000-8000-000000000003","time":"2026-11-24T02:00:00Z","campaign":"lu-mien-trung-2026","amount":100000000,"asset":"VND","recipient":"c:4f1d","region":"46","purpose":"rebuild house"}"#,
        r#"{"type":"acknowledgment","id":"019a4f3e-0000-7000-8000-000000000004","time":"2026-11-25T07:30:00Z","disbursement":2,"amount":100000000}"#,
        r#"{"type":"feedback.open","id":"019a4f3e-0000-7000-8000-000000000005","time":"2026-11-26T10:00:00Z","category":"late","region":"46"}"#,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

fn envelopes() -> Vec<Envelope> {
    statements()
        .into_iter()
        .enumerate()
        .map(|(i, statement)| {
            let mut envelope = Envelope::sign(STATEMENT_PAYLOAD_TYPE, statement, &key(10));
            if i == 2 {
                // A disbursement needs two approvers.
                envelope.add_signature(&key(11)).expect("a second signer");
                envelope.add_signature(&key(12)).expect("a third signer");
            }
            envelope
        })
        .collect()
}

fn leaves() -> Vec<Vec<u8>> {
    let start = Utc.timestamp_millis_opt(1_795_425_302_123).unwrap();
    envelopes()
        .into_iter()
        .enumerate()
        .map(|(i, envelope)| {
            let logged_at = start + chrono::Duration::milliseconds(97_001 * i as i64);
            Leaf::new(logged_at, envelope)
                .encode()
                .expect("a small leaf")
        })
        .collect()
}

/// Checks that the seeds of `target` parse when named `valid-*` and fail
/// when named `invalid-*`.
fn check(target: &str, parses: impl Fn(&[u8]) -> bool) {
    let dir = Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../corpus")
        .join(target);
    for entry in fs::read_dir(&dir).expect("the corpus directory") {
        let path = entry.expect("a directory entry").path();
        let seed = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = fs::read(&path).expect("a seed");
        if seed.starts_with("valid-") || seed.starts_with("invalid-") {
            assert_eq!(
                parses(&bytes),
                seed.starts_with("valid-"),
                "{target}/{seed}"
            );
        }
    }
}

/// The statement examples of the public contract (`schemas/examples/`):
/// `valid/statement.*` must parse, `invalid/statement.*` must not.
fn statement_examples() {
    let examples = Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../../schemas/examples");
    for (dir, valid) in [("valid", true), ("invalid", false)] {
        let mut files: Vec<_> = fs::read_dir(examples.join(dir))
            .expect("the schema examples")
            .map(|e| e.expect("a directory entry").path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("statement."))
            })
            .collect();
        files.sort();
        for path in files {
            let bytes = fs::read(&path).expect("read an example");
            let parsed = minhbach_ledger::statement::Statement::from_json(&bytes);
            assert_eq!(parsed.is_ok(), valid, "{}: {parsed:?}", path.display());
            let stem = path
                .file_stem()
                .and_then(|n| n.to_str())
                .expect("a UTF-8 name")
                .trim_start_matches("statement.");
            write("statement", &format!("{dir}-{stem}"), bytes);
        }
    }
}

fn main() {
    let envelopes = envelopes();
    let leaves = leaves();

    // statement
    statement_examples();

    // envelope
    write("envelope", "valid-one-signature", envelopes[0].to_json());
    write("envelope", "valid-three-signatures", envelopes[2].to_json());
    let spaced = String::from_utf8(envelopes[0].to_json())
        .unwrap()
        .replace(",\"", ",\n  \"")
        .replacen('{', "{ ", 1);
    write("envelope", "valid-whitespace", spaced);
    let json = String::from_utf8(envelopes[0].to_json()).unwrap();
    write(
        "envelope",
        "invalid-unknown-field",
        json.replacen("{\"payloadType\"", "{\"extra\":true,\"payloadType\"", 1),
    );
    write(
        "envelope",
        "invalid-no-signatures",
        br#"{"payloadType":"application/vnd.minhbach.statement.v1+json","payload":"e30=","signatures":[]}"#,
    );
    let sig_start = json.find("\"sig\":\"").unwrap() + 7;
    write(
        "envelope",
        "invalid-short-signature",
        format!("{}AAAA{}", &json[..sig_start], &json[json.len() - 4..]),
    );
    let one = &json[json.find("[{").unwrap() + 1..json.len() - 2];
    write(
        "envelope",
        "invalid-duplicate-keyid",
        json.replacen(one, &format!("{one},{one}"), 1),
    );

    // leaf
    write("leaf", "valid-donation", &leaves[0]);
    write("leaf", "valid-cosigned-disbursement", &leaves[2]);
    let text = String::from_utf8(leaves[0].clone()).unwrap();
    write(
        "leaf",
        "invalid-version",
        text.replacen("\"v\":1", "\"v\":2", 1),
    );
    write(
        "leaf",
        "invalid-whitespace",
        text.replacen(",\"envelope\"", ", \"envelope\"", 1),
    );
    write(
        "leaf",
        "invalid-seconds-only",
        text.replacen(".123Z", "Z", 1),
    );

    // entry_bundle
    let refs: Vec<&[u8]> = leaves.iter().map(Vec::as_slice).collect();
    let bundle = encode_entry_bundle(&refs).unwrap();
    write("entry_bundle", "valid-five-leaves", &bundle);
    write(
        "entry_bundle",
        "valid-one-leaf",
        encode_entry_bundle(&refs[..1]).unwrap(),
    );
    write(
        "entry_bundle",
        "valid-full-256",
        encode_entry_bundle(&vec![&b"x"[..]; 256]).unwrap(),
    );
    write(
        "entry_bundle",
        "invalid-truncated",
        &bundle[..bundle.len() - 1],
    );
    write("entry_bundle", "invalid-half-prefix", [0u8]);

    // tile_path
    for (seed, path) in [
        ("valid-level-0", "tile/0/000"),
        ("valid-partial", "/tile/1/x001/x234/067.p/8"),
        ("valid-entries", "tile/entries/x001/000.p/255"),
        ("valid-top", "tile/7/000.p/255"),
        ("invalid-short-group", "tile/0/5"),
        ("invalid-width-256", "tile/0/000.p/256"),
        ("invalid-level-zero-padded", "tile/00/000"),
        ("invalid-leading-group", "tile/0/x000/005"),
    ] {
        write("tile_path", seed, path);
    }

    // A tree of the five leaves, its root, and the inclusion proof of leaf 3.
    let h: Vec<Hash> = leaves.iter().map(|l| leaf_hash(l)).collect();
    let root = node_hash(
        &node_hash(&node_hash(&h[0], &h[1]), &node_hash(&h[2], &h[3])),
        &h[4],
    );
    let proof = [h[2], node_hash(&h[0], &h[1]), h[4]];

    let log = Signer::new(name(ORIGIN), key(1));
    let witnesses = [
        Cosigner::new(name("witness.example.org"), key(2)),
        Cosigner::new(name("witness.example.net"), key(3)),
    ];
    let body = format!("{ORIGIN}\n5\n{}\n", root.to_base64());
    let signed = Note::new(body.clone(), vec![log.sign(&body)]).unwrap();
    let mut cosigned = signed.clone();
    for (i, w) in witnesses.iter().enumerate() {
        cosigned
            .push_signature(w.cosign(&body, 1_795_425_400 + i as u64).unwrap())
            .unwrap();
    }
    let extension = format!("{body}minhbach-period 2026\n");
    let with_extension = Note::new(extension.clone(), vec![log.sign(&extension)]).unwrap();

    // note
    write("note", "valid-checkpoint", signed.to_bytes());
    write("note", "valid-cosigned", cosigned.to_bytes());
    let hello = "Hello, minhbach!\n";
    write(
        "note",
        "valid-text",
        Note::new(hello, vec![log.sign(hello)]).unwrap().to_bytes(),
    );
    write("note", "invalid-no-blank-line", body.as_bytes());
    let note_text = String::from_utf8(signed.to_bytes()).unwrap();
    write(
        "note",
        "invalid-dash",
        note_text.replacen('\u{2014}', "-", 1),
    );
    write("note", "invalid-no-final-newline", note_text.trim_end());

    // checkpoint (the note text; the signed note is a seed of `note`)
    write("checkpoint", "valid-body", &body);
    write("checkpoint", "valid-extension", &extension);
    write(
        "checkpoint",
        "valid-largest-size",
        body.replacen("\n5\n", &format!("\n{}\n", u64::MAX), 1),
    );
    write("checkpoint", "invalid-signed-note", signed.to_bytes());
    write(
        "checkpoint",
        "invalid-size-leading-zero",
        body.replacen("\n5\n", "\n05\n", 1),
    );
    write(
        "checkpoint",
        "invalid-size-not-decimal",
        body.replacen("\n5\n", "\n+5\n", 1),
    );
    write(
        "checkpoint",
        "invalid-root",
        body.replacen(&root.to_base64(), "AAAA", 1),
    );
    write("checkpoint", "invalid-no-final-newline", body.trim_end());

    // tlog_proof
    let hashes: String = proof
        .iter()
        .map(|p| format!("{}\n", p.to_base64()))
        .collect();
    let cosigned_text = String::from_utf8(cosigned.to_bytes()).unwrap();
    let tlog_proof = format!("c2sp.org/tlog-proof@v1\nindex 3\n{hashes}\n{cosigned_text}");
    write("tlog_proof", "valid-index-3", &tlog_proof);
    write(
        "tlog_proof",
        "valid-extra",
        tlog_proof.replacen("index 3", "extra bWluaGJhY2g=\nindex 3", 1),
    );
    let one_body = format!("{ORIGIN}\n1\n{}\n", h[0].to_base64());
    let one = Note::new(one_body.clone(), vec![log.sign(&one_body)]).unwrap();
    write(
        "tlog_proof",
        "valid-single-leaf",
        format!(
            "c2sp.org/tlog-proof@v1\nindex 0\n\n{}",
            String::from_utf8(one.to_bytes()).unwrap()
        ),
    );
    write(
        "tlog_proof",
        "invalid-header",
        tlog_proof.replacen("@v1", "@v2", 1),
    );
    write(
        "tlog_proof",
        "invalid-index",
        tlog_proof.replacen("index 3", "index 03", 1),
    );
    write(
        "tlog_proof",
        "invalid-hash",
        tlog_proof.replacen(&proof[0].to_base64(), "bm90IGEgaGFzaA==", 1),
    );

    // policy
    let [w1, w2] = &witnesses;
    let policy = format!(
        "# minhbach: the 2026 log and its witnesses\nlog {}\n\nwitness w1 {} https://witness.example.org/\nwitness w2 {}\ngroup both all w1 w2\nquorum both\n",
        log.verifier(),
        w1.verifier(),
        w2.verifier()
    );
    write("policy", "valid-two-witnesses", &policy);
    write(
        "policy",
        "valid-no-witnesses",
        format!("log {}\nquorum none\n", log.verifier()),
    );
    write(
        "policy",
        "valid-threshold",
        policy
            .replace("group both all w1 w2", "\tgroup  one 1 w1 w2 \t")
            .replace("quorum both", "quorum one"),
    );
    write(
        "policy",
        "invalid-undefined-member",
        policy.replace("all w1 w2", "all w1 w3"),
    );
    write(
        "policy",
        "invalid-threshold",
        policy.replace("all w1 w2", "3 w1 w2"),
    );
    write(
        "policy",
        "invalid-no-quorum",
        policy.replace("quorum both\n", ""),
    );

    check("envelope", |b| Envelope::from_json(b).is_ok());
    check("leaf", |b| Leaf::parse(b).is_ok());
    check("entry_bundle", |b| parse_entry_bundle(b).is_ok());
    check("note", |b| Note::parse(b).is_ok());
    check("checkpoint", |b| Checkpoint::parse(b).is_ok());
    check("tlog_proof", |b| TlogProof::parse(b).is_ok());
    check("policy", |b| Policy::parse(b).is_ok());
    check("tile_path", |b| {
        std::str::from_utf8(b).is_ok_and(|s| TilePath::parse(s).is_ok())
    });
}
