//! Errors as a user meets them: a server that does not answer, a reference
//! that is not in the log, duplicates, and an envelope edited after signing.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use minhbach_ledger::cosignature::Cosigner;
use minhbach_ledger::note::KeyName;
use minhbach_server::WriteConfig;
use minhbach_server::witness::{WitnessPolicy, WitnessSpec};
use serde_json::json;

use crate::cli::harness::{ACCOUNT, Ledger, YAGI, dead_server};

#[test]
fn an_unreachable_server_is_a_clear_network_error_with_exit_code_2() {
    let l = Ledger::start();
    let gift = l.donation("gift", 500_000, "FT24254000000201");
    let dead = dead_server();
    let commands: [&[&str]; 6] = [
        &["submit", &gift],
        &["inspect", &gift],
        &["receipt", "get", "--ref", "FT24254000000201"],
        &["trace", "--index", "8"],
        &["cosign", &gift, "--key", "a3"],
        &[
            "import",
            "bank-statement",
            "unused.csv",
            "--campaign",
            YAGI,
            "--account",
            ACCOUNT,
            "--key",
            "a3",
        ],
    ];
    std::fs::write(
        l.path("unused.csv"),
        "Ngày GD / TNX Date,Số CT / Doc No,Ghi nợ / Debit,Ghi có / Credit,Số dư / Balance,Nội dung chi tiết / Transactions in detail\n\
         12/09/2024,7001.00001,,250.000,,ung ho\n",
    )
    .unwrap();
    for args in commands {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--server", &dead]);
        l.cli(&all)
            .code(2)
            .complains(&format!("cannot reach {dead}"));
    }
    // Nothing reached the real server either.
    assert_eq!(l.size(), 8);
}

#[test]
fn unknown_references_and_entries_are_explained_with_exit_code_1() {
    let l = Ledger::start();
    l.cli_with_server(&["receipt", "get", "--ref", "FT24999999999999"])
        .code(1)
        .complains("no donation with reference FT24999999999999 in the log");
    l.cli_with_server(&["trace", "--ref", "FT24999999999999"])
        .code(1)
        .complains("no donation with reference FT24999999999999 in the log");
    l.cli_with_server(&["receipt", "get", "--index", "999", "--out", "r.json"])
        .code(1)
        .complains("no receipt for entry 999");
    assert!(!l.path("r.json").exists());
    // Entry 0 is the genesis, not a gift.
    l.cli_with_server(&["trace", "--index", "0"])
        .code(1)
        .complains("no gift to trace at entry 0 (entry 0 is not a donation)");
}

#[test]
fn duplicates_are_answered_with_the_existing_entry() {
    let l = Ledger::start();
    let gift = l.donation("gift", 500_000, "FT24254000000301");
    let index = l.submit(&gift);
    let size = l.size();

    // The same envelope again: the existing entry, exit 0, nothing added.
    l.cli_with_server(&["submit", &gift])
        .ok()
        .says(&format!("{gift}: index {index} (already logged)"));
    // The same bank transfer entered a second time (another statement):
    // refused as a duplicate naming the entry that holds it.
    let twice = l.donation("twice", 500_000, "FT24254000000301");
    l.cli_with_server(&["submit", &twice])
        .code(1)
        .says(&format!(
            "{twice}: refused: duplicate (HTTP 409): already in the log (same id, or same channel and bank reference)"
        ))
        .says(&format!("[entry {index}]"));
    let as_json = l
        .cli_with_server(&["--json", "submit", &twice])
        .code(1)
        .json();
    let problem = &as_json["results"][0]["problem"];
    assert_eq!(problem["code"], json!("duplicate"));
    assert_eq!(problem["status"], json!(409));
    assert_eq!(problem["existing_index"], json!(index));
    assert_eq!(l.size(), size);

    // An envelope edited after it was signed: a bad signature, nothing added.
    let mut envelope: serde_json::Value =
        serde_json::from_slice(&std::fs::read(l.path(&twice)).unwrap()).unwrap();
    let statement = String::from_utf8(
        BASE64
            .decode(envelope["payload"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap()
    .replace("FT24254000000301", "FT24254000000302");
    envelope["payload"] = json!(BASE64.encode(statement));
    std::fs::write(l.path("edited.json"), envelope.to_string()).unwrap();
    l.cli_with_server(&["submit", "edited.json"])
        .code(1)
        .says("refused: bad_signature (HTTP 401): a signature does not match the statement");
    assert_eq!(l.size(), size);
}

#[test]
fn submit_wait_says_so_when_no_published_checkpoint_covers_the_entries() {
    // The one witness the server needs is down: entries are logged, but no
    // checkpoint is published, so no receipt can come back.
    let witness = Cosigner::new(
        KeyName::new("down.witness.e2e.test").unwrap(),
        SigningKey::from_bytes(&[42; 32]),
    );
    let spec = WitnessSpec::new(&dead_server(), witness.verifier()).unwrap();
    let config = WriteConfig {
        witnesses: WitnessPolicy::new(vec![spec], 1, Duration::from_millis(200)).unwrap(),
        ..WriteConfig::default()
    };
    let l = Ledger::start_with(config);
    let gift = l.donation("gift", 500_000, "FT24254000000401");
    let index = l.size();
    l.cli_with_server(&["submit", &gift, "--wait", "--receipts", "receipts"])
        .ok()
        .says(&format!(
            "{gift}: index {index}, no receipt yet (no published checkpoint covers it; later: minhbach receipt get --index {index})"
        ));
    assert!(!l.path(&format!("receipts/{index}.receipt.json")).exists());
    assert_eq!(l.size(), index + 1);
    // Asking for it now is answered plainly.
    let i = index.to_string();
    l.cli_with_server(&["receipt", "get", "--index", &i])
        .code(1)
        .complains(&format!("no receipt for entry {index}"));
}
