//! Golden vectors: a realistic small signed log (Typhoon Yagi relief) and what
//! the rules derive from it, in `ledger/testdata/golden/`, and the schema
//! examples in `schemas/examples/`. Later issues (server, auditor, CLI) reuse them.
//!
//! Regenerate with:
//! `MINHBACH_REGENERATE=1 cargo test -p minhbach-ledger --test integration golden`
//! Without the variable the test checks that the files are up to date, and that
//! replaying `leaves.txt` from bytes gives the recorded results.

use minhbach_demo::world as support;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use minhbach_ledger::rules::State;
use minhbach_ledger::statement::{Slug, StatementKind};
use minhbach_ledger::summary;
use minhbach_ledger::trace::TraceIndex;
use serde_json::{Value, json};
use support::*;

const REGEN: &str = "MINHBACH_REGENERATE=1 cargo test -p minhbach-ledger --test golden";

fn root() -> PathBuf {
    Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The golden history: the base world, then every other statement type.
pub(crate) fn golden_world() -> World {
    let mut w = World::build(true);
    let d_extra = w.donation(250_000_000, "FT24254607609791");
    w.ok(step(
        json!({"type": "donation", "campaign": YAGI, "account": "vcb-1", "amount": 52_222, "asset": "VND",
               "channel": "e_wallet", "external_ref": "MSE2409100001", "received_at": "2024-09-10T00:30:00Z",
               "memo": "tu Viettel Money 849****5678 ung ho"}),
        &["intake"],
    ));
    w.ok(step(
        json!({"type": "donation", "campaign": YAGI, "amount": 2_000, "asset": "kg_rice", "channel": "in_kind",
               "external_ref": "PNK-2024-0001", "donor_name": "Công ty Lương thực miền Bắc",
               "received_at": "2024-09-10T00:45:00Z"}),
        &["intake"],
    ));
    let bounced = w.donation(1_999_999, "123456.100924.153012");
    w.ok(step(
        json!({"type": "key.grant", "public_key": w.pk("stranger"), "name": "Tình nguyện viên", "title": "Cộng tác viên",
               "roles": ["field"], "scope": {"regions": [CAM_DUONG]}}),
        &["g1", "g2"],
    ));
    w.ok(step(
        json!({"type": "key.revoke", "keyid": w.key("stranger").id.to_string(), "reason": "Mất điện thoại"}),
        &["g2", "g3"],
    ));
    w.ok(step(
        json!({"type": "campaign.update", "campaign": YAGI,
               "title": {"vi": "Ủng hộ đồng bào bị thiệt hại do bão số 3 (Yagi)", "en": "Typhoon Yagi (No. 3) relief"}}),
        &["g1", "g2"],
    ));
    w.ok(step(
        json!({"type": "beneficiary.enroll", "beneficiary": person(2).to_hex(), "region": CAM_DUONG,
               "category": "elderly_alone", "priority": 2}),
        &["field"],
    ));
    w.ok(step(
        json!({"type": "beneficiary.update", "beneficiary": person(2).to_hex(), "priority": 1}),
        &["field"],
    ));
    let mut rebuild = disbursement(YAGI, 100_000_000, 1, &["a1", "a2"]);
    rebuild.json["category"] = json!("house_rebuild");
    rebuild.json["account"] = json!("vcb-1");
    rebuild.json["purpose"] = json!("Xây lại nhà bị sập");
    let d1 = w.ok(rebuild);
    let mut repair = disbursement(YAGI, 20_000_000, 2, &["a1"]);
    repair.json["region"] = json!(CAM_DUONG);
    repair.json["category"] = json!("house_repair");
    let d2 = w.ok(repair);
    w.ok(step(
        json!({"type": "acknowledgment", "disbursement": w.entry_ref(d1), "amount": 100_000_000,
               "evidence": ["5f".repeat(32)]}),
        &["field"],
    ));
    w.ok(step(
        json!({"type": "reversal", "target": w.entry_ref(d2), "reason": "Trùng danh sách, chi lại đợt sau"}),
        &["a1"],
    ));
    w.ok(step(
        json!({"type": "reversal", "target": w.entry_ref(bounced), "reason": "Giao dịch bị ngân hàng hoàn trả"}),
        &["intake"],
    ));
    w.ok(step(
        json!({"type": "transfer", "from_campaign": YAGI, "to_campaign": HANOI, "amount": 30_000_000, "asset": "VND",
               "from_account": "vcb-1", "to_account": "vcb-hn", "purpose": "Phân bổ cho Quỹ Cứu trợ Hà Nội"}),
        &["a1"],
    ));
    w.ok(step(
        json!({"type": "disbursement", "campaign": HANOI, "amount": 5_000_000, "asset": "VND",
               "recipient": {"organization": "UBND phường Ba Đình"}, "region": BA_DINH,
               "purpose": "Hỗ trợ đoàn cứu trợ lên Lào Cai", "account": "vcb-hn"}),
        &["a2"],
    ));
    // The bank's balance of vcb-1: 10,000,000 + 250,000,000 + 52,222 + 1,999,999
    // − 1,999,999 − 100,000,000 − 30,000,000 = 130,052,222.
    w.ok(step(json!({"type": "account.balance", "account": "vcb-1", "date": "2024-09-10", "balance": 130_052_222u64}), &["intake"]));
    // The next day the bank reports a 55,000 ₫ SMS fee the ledger does not know: a mismatch, logged.
    let mut next = step(
        json!({"type": "account.balance", "account": "vcb-1", "date": "2024-09-11", "balance": 129_997_222u64}),
        &["intake"],
    );
    next.logged_at = Some(w.now + chrono::Duration::hours(20));
    w.ok(next);
    w.ok(step(
        json!({"type": "feedback.open", "id": "fb-2024-0001", "category": "complaint", "region": CAM_DUONG,
               "campaign": YAGI, "concerns": w.entry_ref(d2), "text_hash": "a1".repeat(32)}),
        &["field"],
    ));
    w.ok(step(
        json!({"type": "feedback.resolve", "feedback": "fb-2024-0001", "outcome": "resolved", "response_hash": "b2".repeat(32)}),
        &["field"],
    ));
    w.ok(step(json!({"type": "account.close", "account": "vcb-hn", "reason": "Chuyển sang tài khoản mới"}), &["g1", "g3"]));
    w.ok(step(
        json!({"type": "campaign.close", "campaign": HANOI, "reason": "Kết thúc đợt hỗ trợ"}),
        &["g1", "g2"],
    ));
    let _ = d_extra;
    w
}

fn expected(state: &State, trace: &TraceIndex, n: u64) -> Value {
    let traces: Vec<Value> = (0..n)
        .filter_map(|i| trace.trace(state, i).expect("a history in memory"))
        .map(|t| serde_json::to_value(t).unwrap())
        .collect();
    let mismatches: Vec<Value> = state
        .mismatches()
        .iter()
        .map(|m| {
            json!({"index": m.index, "account": m.account, "date": m.date.to_string(),
                        "bank_balance": m.bank_balance, "ledger_balance": m.ledger_balance})
        })
        .collect();
    let as_of = chrono::DateTime::parse_from_rfc3339("2024-09-30T00:00:00Z")
        .unwrap()
        .to_utc();
    json!({
        "@generated": format!("by `{REGEN}` -- do not edit by hand"),
        "entries": n,
        "campaigns": summary::campaigns(state),
        "traces": traces,
        "coverage_min_cell_1": summary::coverage(state, 1),
        "feedback_as_of_2024_09_30": summary::feedback(state, as_of),
        "mismatches": mismatches,
    })
}

fn check_or_write(path: &Path, content: &str, failures: &mut Vec<String>) {
    if std::env::var_os("MINHBACH_REGENERATE").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    } else {
        match std::fs::read_to_string(path) {
            Ok(old) if old == content => {}
            _ => failures.push(format!("{} is out of date: run {REGEN}", path.display())),
        }
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap() + "\n"
}

fn invalid_examples(valid: &std::collections::BTreeMap<String, Value>) -> Vec<(String, Value)> {
    let get = |k: &str| valid[k].clone();
    let mut out = Vec::new();
    let mut m = |name: &str, base: &str, f: &dyn Fn(&mut Value)| {
        let mut v = get(base);
        f(&mut v);
        out.push((name.to_owned(), v));
    };
    m(
        "statement.donation.unknown-field",
        "statement.donation",
        &|v| v["colour"] = json!("red"),
    );
    m(
        "statement.donation.float-amount",
        "statement.donation",
        &|v| v["amount"] = json!(500000.5),
    );
    m(
        "statement.donation.zero-amount",
        "statement.donation",
        &|v| v["amount"] = json!(0),
    );
    m(
        "statement.donation.amount-above-2^53",
        "statement.donation",
        &|v| v["amount"] = json!(9007199254740992u64),
    );
    m(
        "statement.donation.bank-without-account",
        "statement.donation",
        &|v| {
            v.as_object_mut().unwrap().remove("account");
        },
    );
    m(
        "statement.donation.time-with-offset",
        "statement.donation",
        &|v| v["time"] = json!("2024-09-10T08:00:00+07:00"),
    );
    m("statement.donation.bad-id", "statement.donation", &|v| {
        v["id"] = json!("-bad id")
    });
    m(
        "statement.donation.unknown-channel",
        "statement.donation",
        &|v| v["channel"] = json!("crypto"),
    );
    m(
        "statement.genesis.missing-governance",
        "statement.genesis",
        &|v| {
            v.as_object_mut().unwrap().remove("governance");
        },
    );
    m(
        "statement.key.grant.empty-roles",
        "statement.key.grant",
        &|v| v["roles"] = json!([]),
    );
    m(
        "statement.key.grant.unknown-role",
        "statement.key.grant",
        &|v| v["roles"] = json!(["admin"]),
    );
    m(
        "statement.campaign.open.priority-5",
        "statement.campaign.open",
        &|v| v["priority"] = json!(5),
    );
    m(
        "statement.campaign.update.changes-nothing",
        "statement.campaign.update",
        &|v| {
            v.as_object_mut().unwrap().remove("title");
        },
    );
    m(
        "statement.disbursement.two-recipients",
        "statement.disbursement",
        &|v| {
            v["recipient"]["organization"] = json!("UBND");
        },
    );
    m(
        "statement.disbursement.region-malformed",
        "statement.disbursement",
        &|v| v["region"] = json!("15-2647"),
    );
    m(
        "statement.beneficiary.enroll.province-level",
        "statement.beneficiary.enroll",
        &|v| v["region"] = json!("15"),
    );
    m(
        "statement.acknowledgment.uppercase-hash",
        "statement.acknowledgment",
        &|v| {
            v["disbursement"]["leaf_hash"] = json!("AB".repeat(32));
        },
    );
    m(
        "statement.reversal.missing-reason",
        "statement.reversal",
        &|v| {
            v.as_object_mut().unwrap().remove("reason");
        },
    );
    m(
        "statement.feedback.open.unknown-category",
        "statement.feedback.open",
        &|v| v["category"] = json!("praise"),
    );
    m(
        "statement.account.balance.negative",
        "statement.account.balance",
        &|v| v["balance"] = json!(-1),
    );
    m("statement.unknown-type", "statement.reversal", &|v| {
        v["type"] = json!("refund")
    });
    m("envelope.extra-field", "envelope", &|v| {
        v["extra"] = json!(1)
    });
    m("envelope.no-signatures", "envelope", &|v| {
        v["signatures"] = json!([])
    });
    m("envelope.uppercase-keyid", "envelope", &|v| {
        let k = v["signatures"][0]["keyid"].as_str().unwrap().to_uppercase();
        v["signatures"][0]["keyid"] = json!(k);
    });
    m("leaf.version-2", "leaf", &|v| v["v"] = json!(2));
    m("leaf.logged-at-seconds", "leaf", &|v| {
        v["logged_at"] = json!("2024-09-10T01:00:01Z")
    });
    m("receipt.bad-proof-header", "receipt", &|v| {
        v["proof"] = json!("tlog-proof\nindex 1\n")
    });
    m("receipt.leaf-not-base64", "receipt", &|v| {
        v["leaf"] = json!("not base64!")
    });
    m(
        "api.entries.request.empty-batch",
        "api.entries.request",
        &|v| *v = json!([]),
    );
    out
}

#[test]
fn golden_vectors_are_up_to_date_and_replay() {
    let w = golden_world();
    let n = w.entries.len() as u64;
    let mut failures = Vec::new();
    let golden = root().join("ledger/testdata/golden");

    // leaves.txt: one leaf per line, exactly the logged bytes.
    let mut leaves = format!(
        "# @generated by `{REGEN}` -- do not edit by hand.\n# One leaf per line (SPEC 4.3), entry 0 first.\n"
    );
    for l in &w.leaves {
        leaves.push_str(std::str::from_utf8(l).unwrap());
        leaves.push('\n');
    }
    check_or_write(&golden.join("leaves.txt"), &leaves, &mut failures);
    let keys: Vec<Value> = SIGNERS
        .iter()
        .map(|(name, seed)| {
            let s = Signer::new(*seed);
            json!({"name": name, "seed_hex_TEST_ONLY": hex::encode([*seed; 32]), "public_key": s.pk.to_base64(), "keyid": s.id.to_string()})
        })
        .collect();
    check_or_write(
        &golden.join("keys.json"),
        &pretty(
            &json!({"@generated": format!("by `{REGEN}` -- test keys only, never use them"), "keys": keys}),
        ),
        &mut failures,
    );
    let exp = expected(&w.state, &w.trace, n);
    check_or_write(&golden.join("expected.json"), &pretty(&exp), &mut failures);

    // Replay from the bytes alone: the auditor's path.
    let mut state = State::new();
    let mut trace = TraceIndex::new();
    for l in &w.leaves {
        let (_, fx) = state.apply_leaf(l).unwrap();
        trace.record(&fx);
    }
    assert_eq!(state, w.state);
    assert_eq!(expected(&state, &trace, n), exp);

    // Schema examples: one valid statement of every type, envelope, leaf, bodies.
    let mut valid = std::collections::BTreeMap::new();
    for e in &w.entries {
        let name = format!("statement.{}", e.statement.kind().as_str());
        valid
            .entry(name)
            .or_insert_with(|| serde_json::from_slice::<Value>(&e.statement.to_json()).unwrap());
    }
    for k in StatementKind::ALL {
        assert!(
            valid.contains_key(&format!("statement.{}", k.as_str())),
            "golden log lacks {}",
            k.as_str()
        );
    }
    let leaf: Value = serde_json::from_slice(&w.leaves[12]).unwrap();
    valid.insert("leaf".into(), leaf.clone());
    valid.insert("envelope".into(), leaf["envelope"].clone());
    valid.insert(
        "api.entries.request".into(),
        json!([
            leaf["envelope"],
            serde_json::from_slice::<Value>(&w.leaves[13]).unwrap()["envelope"]
        ]),
    );
    valid.insert(
        "receipt".into(),
        json!({"leaf": base64::engine::general_purpose::STANDARD.encode(&w.leaves[12]),
               "proof": "c2sp.org/tlog-proof@v1\nindex 12\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\nminhbach.example/log\n13\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— minhbach.example/log AAAAAA==\n"}),
    );
    valid.insert(
        "api.problem".into(),
        json!({"type": "https://minhbach.example/problems/duplicate", "title": "Duplicate", "status": 409,
               "code": "duplicate", "detail": "FT24254000000001 is already logged", "existing_index": 12}),
    );
    let ex = root().join("schemas/examples");
    for (name, v) in &valid {
        check_or_write(
            &ex.join("valid").join(format!("{name}.json")),
            &pretty(v),
            &mut failures,
        );
    }
    for (name, v) in invalid_examples(&valid) {
        check_or_write(
            &ex.join("invalid").join(format!("{name}.json")),
            &pretty(&v),
            &mut failures,
        );
    }
    let _ = Slug::new(YAGI);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
