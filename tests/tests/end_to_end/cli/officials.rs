//! Officials: the multi-official flow of a disbursement, a missing
//! co-signature, wrong passphrases, a revoked key, and resubmissions.

use std::collections::BTreeSet;

use serde_json::json;

use crate::cli::harness::{Ledger, WARD, YAGI};

/// The disbursement of the flow: above the amount that needs three approvers.
const AMOUNT: u64 = 150_000_000;

#[test]
fn one_official_proposes_two_cosign_and_the_log_takes_it_only_when_the_policy_is_met() {
    let l = Ledger::start();
    let gift = l.donation("gift", 200_000_000, "FT24254000000001");
    let gift_index = l.submit(&gift);

    // Anh (a1) proposes and signs.
    let amount = AMOUNT.to_string();
    l.new_statement(
        "d",
        &[
            "disbursement",
            "--campaign",
            YAGI,
            "--amount",
            &amount,
            "--asset",
            "VND",
            "--recipient-organization",
            "UBND xã Tân Lập",
            "--region",
            WARD,
            "--purpose",
            "Xây lại nhà văn hóa",
        ],
    );
    l.sign_as("a1", "d.json", "d.env.json");

    // Before the co-signatures: inspect says the policy is not met...
    let before = l
        .cli_with_server(&["inspect", "d.env.json"])
        .code(1)
        .says("policy: NOT MET: insufficient_approvals (HTTP 422): not enough distinct approvers")
        .says("Cán bộ a1, Trưởng ban cứu trợ [approver]")
        .says("(signature valid)");
    assert!(before.stdout.contains("UBND xã Tân Lập"), "{before}");
    let as_json = l
        .cli_with_server(&["--json", "inspect", "d.env.json"])
        .code(1)
        .json();
    assert_eq!(as_json["policy"]["checked"], json!(true));
    assert_eq!(as_json["policy"]["met"], json!(false));
    assert_eq!(
        as_json["policy"]["problem"]["code"],
        json!("insufficient_approvals")
    );
    assert_eq!(as_json["policy"]["problem"]["status"], json!(422));
    assert_eq!(as_json["statement"]["amount"], json!(AMOUNT));
    assert_eq!(
        as_json["signers"][0]["keyid"],
        json!(l.official("a1").keyid)
    );
    assert_eq!(as_json["signers"][0]["signature"], json!("valid"));
    assert_eq!(as_json["signers"][0]["roles"], json!(["approver"]));

    // ...and submitting it now is refused with the code and a plain
    // explanation, exit code 1, and nothing is appended.
    let size = l.size();
    l.cli_with_server(&["submit", "d.env.json"])
        .code(1)
        .says("d.env.json: refused: insufficient_approvals (HTTP 422): not enough distinct approvers signed for this amount: ask more officials to co-sign")
        .complains("1 of 1 refused");
    assert_eq!(l.size(), size);

    // The file travels to Bình (a2, an ssh-keygen key with a passphrase).
    let travel = l.path("binh");
    std::fs::create_dir(&travel).unwrap();
    std::fs::copy(l.path("d.env.json"), travel.join("d.env.json")).unwrap();
    std::fs::copy(l.path("a2"), travel.join("a2")).unwrap();
    let in_binh =
        |args: &[&str], pass: Option<&str>| crate::cli::harness::minhbach_in(&travel, args, pass);
    let a2_pass = l.official("a2").passphrase.clone();
    let url = l.server.url.clone();
    let unchanged = std::fs::read(travel.join("d.env.json")).unwrap();
    in_binh(
        &["cosign", "d.env.json", "--key", "a2", "--server", &url],
        Some("not the passphrase"),
    )
    .code(2)
    .complains("wrong passphrase for a2");
    assert_eq!(
        std::fs::read(travel.join("d.env.json")).unwrap(),
        unchanged,
        "a failed co-signature leaves the file as it was"
    );
    in_binh(
        &["cosign", "d.env.json", "--key", "a2", "--server", &url],
        a2_pass.as_deref(),
    )
    .ok()
    .says(&format!("as {}: 2 signatures", l.official("a2").keyid));
    // Two approvers are still one short.
    in_binh(&["inspect", "d.env.json", "--server", &url], None)
        .code(1)
        .says("signers (2):")
        .says("policy: NOT MET: insufficient_approvals");

    // Then to Chi (a3), who co-signs with --json.
    std::fs::copy(travel.join("d.env.json"), l.path("d.env.json")).unwrap();
    let chi = l
        .cli_with_server(&["--json", "cosign", "d.env.json", "--key", "a3"])
        .ok()
        .json();
    assert_eq!(chi["signatures"], json!(3));
    assert_eq!(chi["keyid"], json!(l.official("a3").keyid));
    assert_eq!(chi["type"], json!("disbursement"));

    // After: the policy is met.
    let after = l
        .cli_with_server(&["inspect", "d.env.json"])
        .ok()
        .says("signers (3):")
        .says("policy: met, the log would accept it now (3 signers count)");
    assert_eq!(
        after.stdout.matches("(signature valid)").count(),
        3,
        "{after}"
    );
    for who in ["a1", "a2", "a3"] {
        assert!(after.stdout.contains(&l.official(who).keyid), "{after}");
    }
    let met = l
        .cli_with_server(&["--json", "inspect", "d.env.json"])
        .ok()
        .json();
    assert_eq!(met["policy"]["met"], json!(true));
    assert_eq!(
        met["policy"]["counted_signers"].as_array().unwrap().len(),
        3
    );
    assert_eq!(l.size(), size, "inspect never logs anything");

    // One of them submits; the entry is on the log, signed by the three.
    let submitted = l
        .cli_with_server(&["--json", "submit", "d.env.json"])
        .ok()
        .json();
    assert_eq!(submitted["accepted"], json!(1));
    assert_eq!(submitted["refused"], json!(0));
    let item = &submitted["results"][0];
    let index = item["index"].as_u64().unwrap();
    assert_eq!(index, size);
    assert_eq!(item["existing"], json!(false));
    assert_eq!(item["type"], json!("disbursement"));
    assert_eq!(l.size(), size + 1);
    let entry = l.entry(index);
    assert_eq!(entry["statement"]["type"], json!("disbursement"));
    assert_eq!(entry["statement"]["amount"], json!(AMOUNT));
    assert_eq!(
        entry["statement"]["recipient"]["organization"],
        json!("UBND xã Tân Lập")
    );
    let signers: BTreeSet<String> = entry["signers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    let approvers: BTreeSet<String> = ["a1", "a2", "a3"]
        .iter()
        .map(|w| l.official(w).keyid.clone())
        .collect();
    assert_eq!(signers, approvers);
    let campaign = l.get(&format!("/api/v1/campaigns/{YAGI}"));
    assert_eq!(
        campaign["assets"][0]["total_out"],
        json!(AMOUNT),
        "{campaign}"
    );
    assert_eq!(
        campaign["assets"][0]["balance"],
        json!(200_000_000 - AMOUNT)
    );

    // Submitting the same file again is answered with the existing entry.
    l.cli_with_server(&["submit", "d.env.json"])
        .ok()
        .says(&format!("d.env.json: index {index} (already logged)"));
    assert_eq!(l.size(), size + 1);
    // So is the donation's envelope, sent once more.
    let again = l.cli_with_server(&["--json", "submit", &gift]).ok().json();
    assert_eq!(again["results"][0]["index"], json!(gift_index));
    assert_eq!(again["results"][0]["existing"], json!(true));
    assert_eq!(l.size(), size + 1);
}

#[test]
fn a_revoked_key_can_no_longer_sign() {
    let l = Ledger::start();
    let intake = l.official("intake").keyid.clone();
    let before = l.donation("before", 500_000, "FT24254000000011");
    let before_index = l.submit(&before);
    // Signed before the revocation, sent after it.
    let late = l.donation("late", 700_000, "FT24254000000012");

    let revoke = l.signed(
        "revoke",
        &["g1", "g2"],
        &[
            "key.revoke",
            "--keyid",
            &intake,
            "--reason",
            "Mất máy tính xách tay",
        ],
    );
    let revoked_at = l.submit(&revoke);
    let registry = l.get("/api/v1/keys");
    let key = registry["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["keyid"] == json!(intake))
        .unwrap()
        .clone();
    assert_eq!(key["revoked_at"], json!(revoked_at));

    let size = l.size();
    l.cli_with_server(&["submit", &late])
        .code(1)
        .says(&format!(
            "{late}: refused: key_revoked (HTTP 403): a signing key has been revoked"
        ))
        .complains("1 of 1 refused");
    assert_eq!(l.size(), size);
    let refused = l
        .cli_with_server(&["--json", "submit", &late])
        .code(1)
        .json();
    assert_eq!(refused["refused"], json!(1));
    assert_eq!(
        refused["results"][0]["problem"]["code"],
        json!("key_revoked")
    );
    assert_eq!(refused["results"][0]["problem"]["status"], json!(403));

    // inspect names the revocation and the rule.
    l.cli_with_server(&["inspect", &late])
        .code(1)
        .says(&format!("REVOKED at entry {revoked_at}"))
        .says("policy: NOT MET: key_revoked (HTTP 403)");
    // A statement signed with it now is refused as well.
    let after = l.donation("after", 300_000, "FT24254000000013");
    l.cli_with_server(&["submit", &after])
        .code(1)
        .says("key_revoked");
    assert_eq!(l.size(), size);
    // What it signed before stays on the log.
    assert_eq!(l.lookup_ref("FT24254000000011"), before_index);
}

#[test]
fn keys_with_passphrases_are_refused_clearly_with_the_wrong_one() {
    let l = Ledger::start();
    l.new_statement(
        "d",
        &[
            "disbursement",
            "--campaign",
            YAGI,
            "--amount",
            "1000000",
            "--asset",
            "VND",
            "--recipient-organization",
            "UBND xã Tân Lập",
            "--region",
            WARD,
            "--purpose",
            "Mua nước sạch",
        ],
    );
    // An ssh-keygen key (a2) and a `minhbach key new` key (a1).
    for who in ["a2", "a1"] {
        let out = crate::cli::harness::minhbach_in(
            l.dir.path(),
            &["sign", "d.json", "--key", who, "--out", "d.env.json"],
            Some("wrong"),
        )
        .code(2)
        .complains(&format!("wrong passphrase for {who}"));
        assert!(!out.stderr.contains("PRIVATE KEY"), "{out}");
        assert!(!l.path("d.env.json").exists());
        // No passphrase at all (no terminal): a clear error too.
        crate::cli::harness::minhbach_in(
            l.dir.path(),
            &["sign", "d.json", "--key", who, "--out", "d.env.json"],
            None,
        )
        .code(2)
        .complains("MINHBACH_PASSPHRASE");
    }
    // With the right one, one approver is enough below 100.000.000 ₫, but
    // the campaign holds nothing yet.
    l.sign_as("a2", "d.json", "d.env.json");
    l.cli_with_server(&["submit", "d.env.json"])
        .code(1)
        .says("overspend (HTTP 422): the campaign's balance is too small for this amount");
}
