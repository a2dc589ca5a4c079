//! Donors and recipients: receipts saved by `submit --wait` and by
//! `receipt get`, verified offline; where a gift went; a person's
//! commitment.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::SigningKey;
use minhbach_ledger::note::{KeyName, Signer};
use minhbach_ledger::statement::Commitment;
use serde_json::{Value, json};

use crate::cli::harness::{Ledger, ORIGIN, WARD, YAGI};
use crate::cli::import::{VCB_CREDITS, fixture, import};

fn read_json(l: &Ledger, name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(l.path(name)).unwrap()).unwrap()
}

/// The statement inside a receipt bundle's leaf.
fn statement_of(receipt: &Value) -> Value {
    let leaf: Value =
        serde_json::from_slice(&BASE64.decode(receipt["leaf"].as_str().unwrap()).unwrap()).unwrap();
    let payload = BASE64
        .decode(leaf["envelope"]["payload"].as_str().unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

/// `minhbach receipt verify FILE --policy policy`.
fn verify(l: &Ledger, file: &str) -> crate::cli::harness::Out {
    l.cli(&["receipt", "verify", file, "--policy", "policy"])
}

#[test]
fn a_batch_sent_with_wait_gets_receipts_that_verify_offline_and_tampering_is_caught() {
    let l = Ledger::start();
    let first = l.size();
    let d1 = l.donation("d1", 500_000, "FT24254000000101");
    let d2 = l.donation("d2", 1_999_999, "FT24254000000102");
    let d3 = l.donation("d3", 52_222, "FT24254000000103");
    let d4 = l.donation("d4", 10_000_000, "FT24254000000104");
    // Two envelopes in one file, as a JSON array.
    let many: Vec<Value> = [&d3, &d4].iter().map(|f| read_json(&l, f)).collect();
    std::fs::write(l.path("many.json"), serde_json::to_vec(&many).unwrap()).unwrap();

    let out = l
        .cli_with_server(&[
            "submit",
            &d1,
            &d2,
            "many.json",
            "--wait",
            "--receipts",
            "receipts",
        ])
        .ok();
    let labels = [
        d1.clone(),
        d2.clone(),
        "many.json[0]".into(),
        "many.json[1]".into(),
    ];
    for (i, label) in labels.iter().enumerate() {
        let index = first + i as u64;
        out.stdout
            .lines()
            .find(|line| {
                *line
                    == format!(
                        "{label}: index {index}, receipt saved to receipts/{index}.receipt.json"
                    )
            })
            .unwrap_or_else(|| panic!("no line for {label} at {index}\n{out}"));
        let file = format!("receipts/{index}.receipt.json");
        verify(&l, &file).ok().says(&format!(
            "verified: entry {index} is in the log at size {}",
            first + 4
        ));
        let receipt = read_json(&l, &file);
        assert!(
            receipt["proof"]
                .as_str()
                .unwrap()
                .starts_with("c2sp.org/tlog-proof@v1\nindex ")
        );
        assert_eq!(
            statement_of(&receipt)["external_ref"],
            json!(format!("FT2425400000010{}", i + 1))
        );
    }
    assert_eq!(l.size(), first + 4);

    // --json: the same facts for scripts.
    let d5 = l.donation("d5", 250_000, "FT24254000000105");
    let sent = l
        .cli_with_server(&["--json", "submit", &d5, "--wait", "--receipts", "receipts"])
        .ok()
        .json();
    let index = first + 4;
    assert_eq!(sent["results"][0]["index"], json!(index));
    assert_eq!(
        sent["results"][0]["receipt_file"],
        json!(format!("receipts/{index}.receipt.json"))
    );
    let checked = l
        .cli(&[
            "--json",
            "receipt",
            "verify",
            &format!("receipts/{index}.receipt.json"),
            "--policy",
            "policy",
        ])
        .ok()
        .json();
    assert_eq!(checked["verified"], json!(true));
    assert_eq!(checked["index"], json!(index));
    assert_eq!(checked["tree_size"], json!(index + 1));
    assert_eq!(checked["leaf_hash"], json!(l.entry(index)["leaf_hash_hex"]));

    // A receipt whose amount was inflated is refused...
    let mut forged = read_json(&l, &format!("receipts/{first}.receipt.json"));
    let leaf = String::from_utf8(BASE64.decode(forged["leaf"].as_str().unwrap()).unwrap()).unwrap();
    let payload: Value = serde_json::from_str(&leaf).unwrap();
    let statement = String::from_utf8(
        BASE64
            .decode(payload["envelope"]["payload"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let inflated = statement.replace("500000", "50000000");
    assert_ne!(inflated, statement);
    let leaf = leaf.replace(
        payload["envelope"]["payload"].as_str().unwrap(),
        &BASE64.encode(inflated),
    );
    forged["leaf"] = json!(BASE64.encode(leaf));
    std::fs::write(l.path("forged.json"), forged.to_string()).unwrap();
    verify(&l, "forged.json")
        .code(1)
        .complains("the receipt does NOT verify");
    let as_json = l
        .cli(&[
            "--json",
            "receipt",
            "verify",
            "forged.json",
            "--policy",
            "policy",
        ])
        .code(1)
        .json();
    assert_eq!(as_json["verified"], json!(false));
    // ...so is one moved to another index...
    let mut moved = read_json(&l, &format!("receipts/{first}.receipt.json"));
    let proof = moved["proof"].as_str().unwrap().replace(
        &format!("\nindex {first}\n"),
        &format!("\nindex {}\n", first + 1),
    );
    moved["proof"] = json!(proof);
    std::fs::write(l.path("moved.json"), moved.to_string()).unwrap();
    verify(&l, "moved.json")
        .code(1)
        .complains("the receipt does NOT verify");
    // ...and a good one under a policy naming another log key.
    let stranger = Signer::new(
        KeyName::new(ORIGIN).unwrap(),
        SigningKey::from_bytes(&[77; 32]),
    );
    std::fs::write(
        l.path("other.policy"),
        format!("log {}\nquorum none\n", stranger.verifier()),
    )
    .unwrap();
    l.cli(&[
        "receipt",
        "verify",
        &format!("receipts/{first}.receipt.json"),
        "--policy",
        "other.policy",
    ])
    .code(1)
    .complains("the receipt does NOT verify");
}

#[test]
fn donors_get_receipts_by_reference_and_index_and_trace_their_gift_to_a_household() {
    let l = Ledger::start();
    let first = l.size();
    import(&l, &fixture("vietcombank.csv"), false, &[]).code(1);
    let gift = |i: usize| first + i as u64;
    let (reference, _) = VCB_CREDITS[0];
    assert_eq!(l.lookup_ref(reference), gift(0));

    // By bank reference and by index: both verify offline.
    l.cli_with_server(&["receipt", "get", "--ref", reference, "--out", "gift.json"])
        .ok()
        .complains(&format!(
            "saved the receipt of entry {} to gift.json",
            gift(0)
        ));
    verify(&l, "gift.json")
        .ok()
        .says(&format!("verified: entry {} is in the log", gift(0)));
    assert_eq!(
        statement_of(&read_json(&l, "gift.json"))["external_ref"],
        json!(reference)
    );
    let index = gift(1).to_string();
    let saved = l
        .cli_with_server(&[
            "--json",
            "receipt",
            "get",
            "--index",
            &index,
            "--out",
            "second.json",
        ])
        .ok()
        .json();
    assert_eq!(saved, json!({"index": gift(1), "file": "second.json"}));
    verify(&l, "second.json")
        .ok()
        .says(&format!("verified: entry {} is in the log", gift(1)));
    // Without --out the bundle is printed.
    let printed = l
        .cli_with_server(&["receipt", "get", "--ref", VCB_CREDITS[3].0])
        .ok()
        .json();
    assert_eq!(statement_of(&printed)["amount"], json!(VCB_CREDITS[3].1));

    // A household enrolled under a commitment made by the Front from the
    // salt printed on its support card.
    let salt = [0x3c_u8; 32];
    let expected = Commitment::compute(&salt, b"079123456789").to_hex();
    let enroll = l.signed(
        "enroll",
        &["field"],
        &[
            "beneficiary.enroll",
            "--beneficiary",
            &expected,
            "--region",
            WARD,
            "--category",
            "disaster_affected",
            "--priority",
            "1",
        ],
    );
    let enrolled = l.submit(&enroll);
    // The person types the salt as printed (groups, capitals) and finds the
    // commitment the log uses.
    let printed_salt = hex_groups(&salt);
    let mine = l
        .cli(&[
            "commitment",
            "--id",
            " 079123456789 ",
            "--salt",
            &printed_salt,
        ])
        .ok();
    assert_eq!(mine.stdout.trim(), expected);
    assert_eq!(
        l.entry(enrolled)["statement"]["beneficiary"],
        json!(mine.stdout.trim())
    );
    let as_json = l
        .cli(&[
            "--json",
            "commitment",
            "--id",
            "079123456789",
            "--salt",
            &printed_salt,
        ])
        .ok()
        .json();
    assert_eq!(as_json, json!({ "commitment": expected }));
    let other = l
        .cli(&[
            "commitment",
            "--id",
            "079123456780",
            "--salt",
            &printed_salt,
        ])
        .ok();
    assert_ne!(other.stdout.trim(), expected);
    l.cli(&["commitment", "--id", "079123456789", "--salt", "abc"])
        .code(2)
        .complains("64 hexadecimal digits");

    // Before anything is spent.
    l.cli_with_server(&["trace", "--ref", reference])
        .ok()
        .says(&format!(
            "Gift at entry {} of 500.000 ₫ to campaign {YAGI}.",
            gift(0)
        ))
        .says("None of it has been spent yet.")
        .says("Still unspent: 500.000 ₫.");

    // 1.000.000 ₫ to the household: the first gift and half of the second.
    let paid = l.signed(
        "pay",
        &["a1"],
        &[
            "disbursement",
            "--campaign",
            YAGI,
            "--amount",
            "1.000.000",
            "--asset",
            "VND",
            "--recipient-beneficiary",
            mine.stdout.trim(),
            "--region",
            WARD,
            "--purpose",
            "Hỗ trợ khẩn cấp hộ bị thiệt hại",
        ],
    );
    let paid = l.submit(&paid);
    let trace = l
        .cli_with_server(&["trace", "--ref", reference])
        .ok()
        .says(&format!(
            "- 500.000 ₫ went out in disbursement {paid} of {YAGI}: not acknowledged yet."
        ))
        .says("Still unspent: 0 ₫.");
    assert!(!trace.stdout.contains("None of it"), "{trace}");
    let second = gift(1).to_string();
    l.cli_with_server(&["trace", "--index", &second])
        .ok()
        .says(&format!("- 500.000 ₫ went out in disbursement {paid}"))
        .says("Still unspent: 1.499.999 ₫.");
    l.cli_with_server(&["trace", "--ref", VCB_CREDITS[3].0])
        .ok()
        .says("None of it has been spent yet.")
        .says("Still unspent: 10.000.000 ₫.");

    // The household acknowledges it; the trace says so, and the CLI's
    // --json is exactly the server's answer.
    let leaf_hash = l.entry(paid)["leaf_hash_hex"].as_str().unwrap().to_owned();
    let ack = l.signed(
        "ack",
        &["field"],
        &[
            "acknowledgment",
            "--disbursement",
            &format!("{paid}:{leaf_hash}"),
            "--amount",
            "1000000",
        ],
    );
    l.submit(&ack);
    l.cli_with_server(&["trace", "--ref", reference])
        .ok()
        .says(&format!(
            "- 500.000 ₫ went out in disbursement {paid} of {YAGI}: the recipient acknowledged it."
        ));
    for (i, (r, _)) in VCB_CREDITS.iter().enumerate() {
        let cli = l
            .cli_with_server(&["--json", "trace", "--ref", r])
            .ok()
            .json();
        let server = l.get(&format!("/api/v1/donations/{}/trace", gift(i)));
        assert_eq!(cli, server, "{r}");
    }
    let t = l.get(&format!("/api/v1/donations/{}/trace", gift(0)));
    assert_eq!(t["steps"][0]["at"], json!(paid));
    assert_eq!(t["steps"][0]["amount"], json!(500_000));
    assert_eq!(t["steps"][0]["kind"]["type"], json!("disbursed"));
    assert_eq!(t["steps"][0]["ack"]["status"], json!("acknowledged"));
    assert_eq!(t["unspent"], json!(0));
}

/// A salt as a support card prints it: uppercase hex in groups of eight.
fn hex_groups(salt: &[u8; 32]) -> String {
    let hex: String = salt.iter().map(|b| format!("{b:02X}")).collect();
    hex.as_bytes()
        .chunks(8)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}
