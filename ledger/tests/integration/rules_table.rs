//! The accept/reject table of the rules (SPEC 6): for every rule at least one
//! case accepted and one refused for exactly that reason, checked by its stable
//! code. Every refused case also checks that the state did not change.

use minhbach_demo::world as support;

use chrono::Duration;
use minhbach_ledger::rules::{CODES, Rejection};
use minhbach_ledger::statement::MAX_AMOUNT;
use serde_json::json;
use support::*;

struct Case {
    rule: &'static str,
    /// `None`: accepted; `Some(code)`: refused with that code.
    expect: Option<&'static str>,
    /// Sets the world up (every setup step must be accepted) and returns the step under test.
    run: fn(&mut World) -> Step,
}

fn ack(w: &World, d: u64, amount: u64) -> Step {
    step(
        json!({"type": "acknowledgment", "disbursement": w.entry_ref(d), "amount": amount,
               "evidence": ["ab".repeat(32)]}),
        &["field"],
    )
}

fn reversal(w: &World, target: u64, signers: &[&'static str]) -> Step {
    step(
        json!({"type": "reversal", "target": w.entry_ref(target), "reason": "Giao dịch bị hoàn trả"}),
        signers,
    )
}

fn revoke(w: &World, name: &str) -> Step {
    step(
        json!({"type": "key.revoke", "keyid": w.key(name).id.to_string(), "reason": "Nghỉ công tác"}),
        &["g1", "g2"],
    )
}

fn close_campaign(c: &str) -> Step {
    step(
        json!({"type": "campaign.close", "campaign": c, "reason": "Kết thúc đợt vận động"}),
        &["g1", "g2"],
    )
}

fn balance(date: &str, amount: u64) -> Step {
    step(
        json!({"type": "account.balance", "account": "vcb-1", "date": date, "balance": amount}),
        &["intake"],
    )
}

fn feedback_open(region: &str) -> Step {
    step(
        json!({"type": "feedback.open", "id": "fb-1", "category": "complaint", "region": region,
               "campaign": YAGI, "text_hash": "cd".repeat(32)}),
        &["field"],
    )
}

fn feedback_resolve(id: &str) -> Step {
    step(
        json!({"type": "feedback.resolve", "feedback": id, "outcome": "resolved", "response_hash": "ef".repeat(32)}),
        &["field"],
    )
}

fn transfer(to: &str, amount: u64) -> Step {
    step(
        json!({"type": "transfer", "from_campaign": YAGI, "to_campaign": to, "amount": amount, "asset": "VND",
               "purpose": "Phân bổ về quỹ địa phương"}),
        &["a1"],
    )
}

fn categorized(amount: u64, category: &str, signers: &[&'static str]) -> Step {
    let mut s = disbursement(YAGI, amount, 1, signers);
    s.json["category"] = json!(category);
    s
}

const CASES: &[Case] = &[
    // 6.1 entry 0 is genesis; no other genesis.
    Case {
        rule: "genesis first",
        expect: None,
        run: |w| {
            *w = World::empty(false);
            let mut b = World::new();
            b.entries.clear();
            genesis_of(w)
        },
    },
    Case {
        rule: "genesis first",
        expect: Some("not_genesis"),
        run: |w| {
            *w = World::empty(false);
            donation(YAGI, 1, "x")
        },
    },
    Case {
        rule: "one genesis",
        expect: Some("genesis_exists"),
        run: |w| genesis_of(w),
    },
    Case {
        rule: "genesis quorum",
        expect: Some("insufficient_approvals"),
        run: |w| {
            *w = World::empty(false);
            let mut s = genesis_of(w);
            s.signers = vec!["g1"];
            s
        },
    },
    Case {
        rule: "genesis keys",
        expect: Some("unknown_key"),
        run: |w| {
            *w = World::empty(false);
            let mut s = genesis_of(w);
            s.signers = vec!["g1", "g2", "stranger"];
            s
        },
    },
    // 6.1 signers: granted, not revoked, role, scope.
    Case {
        rule: "signer granted",
        expect: None,
        run: |_| donation(YAGI, 1_000, "FT-A"),
    },
    Case {
        rule: "signer granted",
        expect: Some("unknown_key"),
        run: |_| {
            let mut s = donation(YAGI, 1_000, "FT-A");
            s.signers = vec!["stranger"];
            s
        },
    },
    Case {
        rule: "signer not revoked",
        expect: None,
        run: |w| revoke(w, "intake"),
    },
    Case {
        rule: "signer not revoked",
        expect: Some("key_revoked"),
        run: |w| {
            let s_ = revoke(w, "intake");
            w.ok(s_);
            donation(YAGI, 1_000, "FT-A")
        },
    },
    Case {
        rule: "signer role",
        expect: Some("unauthorized"),
        run: |_| {
            let mut s = donation(YAGI, 1_000, "FT-A");
            s.signers = vec!["a1"];
            s
        },
    },
    Case {
        rule: "signer scope",
        expect: Some("out_of_scope"),
        run: |_| {
            let mut s = donation(YAGI, 1_000, "FT-A");
            s.signers = vec!["intake_hn"];
            s
        },
    },
    Case {
        rule: "signer scope",
        expect: None,
        run: |_| donation(HANOI, 1_000, "FT-HN"),
    },
    Case {
        rule: "region scope",
        expect: Some("out_of_scope"),
        run: |w| {
            let d = w.disburse(1_000, 1);
            let mut s = ack(w, d, 1_000);
            s.signers = vec!["field_hn"];
            s
        },
    },
    Case {
        rule: "region scope",
        expect: None,
        run: |w| {
            let d = w.disburse(1_000, 1);
            ack(w, d, 1_000)
        },
    },
    Case {
        rule: "governance quorum",
        expect: None,
        run: |_| close_campaign(HANOI),
    },
    Case {
        rule: "governance quorum",
        expect: Some("insufficient_approvals"),
        run: |_| {
            let mut s = close_campaign(HANOI);
            s.signers = vec!["g1"];
            s
        },
    },
    Case {
        rule: "governance quorum",
        expect: Some("unauthorized"),
        run: |_| {
            let mut s = close_campaign(HANOI);
            s.signers = vec!["a1", "a2"];
            s
        },
    },
    Case {
        rule: "key grant once",
        expect: Some("duplicate"),
        run: |w| {
            step(
                json!({"type": "key.grant", "public_key": w.pk("a1"), "name": "a1", "title": "x", "roles": ["approver"]}),
                &["g1", "g2"],
            )
        },
    },
    Case {
        rule: "revoked key stays revoked",
        expect: Some("key_revoked"),
        run: |w| {
            let s_ = revoke(w, "a3");
            w.ok(s_);
            step(
                json!({"type": "key.grant", "public_key": w.pk("a3"), "name": "a3", "title": "x", "roles": ["approver"]}),
                &["g1", "g2"],
            )
        },
    },
    Case {
        rule: "revoke a known key",
        expect: Some("unknown_key"),
        run: |_| {
            step(
                json!({"type": "key.revoke", "keyid": "00".repeat(16), "reason": "x"}),
                &["g1", "g2"],
            )
        },
    },
    Case {
        rule: "quorum stays reachable",
        expect: None,
        run: |w| revoke(w, "g3"),
    },
    Case {
        rule: "quorum stays reachable",
        expect: Some("quorum_unreachable"),
        run: |w| {
            let s_ = revoke(w, "g3");
            w.ok(s_);
            revoke(w, "g2")
        },
    },
    // 6.2 unique ids and (channel, external reference).
    Case {
        rule: "unique id",
        expect: Some("duplicate"),
        run: |w| {
            let mut s = donation(YAGI, 1_000, "FT-A");
            s.json["id"] = json!(w.entries[3].statement.id().as_str());
            s
        },
    },
    Case {
        // Before the time (SPEC 6): an envelope logged long ago and sent
        // again is a duplicate, answered with its entry, not `time_skew`.
        rule: "unique id",
        expect: Some("duplicate"),
        run: |w| {
            let mut s = donation(YAGI, 1_000, "FT-A");
            let long_ago =
                (w.now - Duration::days(30)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            s.json["id"] = json!(w.entries[3].statement.id().as_str());
            s.json["time"] = json!(long_ago);
            s.json["received_at"] = json!(long_ago);
            s
        },
    },
    Case {
        rule: "unique reference",
        expect: Some("duplicate"),
        run: |_| donation(YAGI, 1_000, "FT24254000000001"),
    },
    Case {
        rule: "unique reference",
        expect: None,
        run: |_| {
            let mut s = donation(YAGI, 1_000, "FT24254000000001");
            s.json["channel"] = json!("cash");
            s
        },
    },
    // 6.3 balances and closed campaigns.
    Case {
        rule: "no overspend",
        expect: None,
        run: |_| disbursement(YAGI, 10_000_000, 1, &["a1"]),
    },
    Case {
        rule: "no overspend",
        expect: Some("overspend"),
        run: |_| disbursement(YAGI, 10_000_001, 1, &["a1"]),
    },
    Case {
        rule: "no overspend (transfer)",
        expect: Some("overspend"),
        run: |_| transfer(HANOI, 10_000_001),
    },
    Case {
        rule: "no overspend (transfer)",
        expect: None,
        run: |_| transfer(HANOI, 10_000_000),
    },
    Case {
        rule: "no overspend (account)",
        expect: Some("overspend"),
        run: |w| {
            let mut t = transfer(HANOI, 10_000_000);
            t.json["from_account"] = json!("vcb-1");
            w.ok(t);
            w.ok(donation(YAGI, 5_000, "CASH-1").cash());
            let mut s = disbursement(YAGI, 5_000, 1, &["a1"]);
            s.json["account"] = json!("vcb-1");
            s
        },
    },
    Case {
        rule: "checked sums",
        expect: Some("overflow"),
        run: |_| donation(YAGI, MAX_AMOUNT, "FT-MAX"),
    },
    Case {
        rule: "checked sums",
        expect: None,
        run: |_| donation(YAGI, MAX_AMOUNT - 10_000_000, "FT-MAX"),
    },
    Case {
        rule: "closed campaign",
        expect: None,
        run: |w| {
            w.ok(close_campaign(YAGI));
            transfer(HANOI, 1_000)
        },
    },
    Case {
        rule: "closed campaign",
        expect: Some("campaign_closed"),
        run: |w| {
            w.ok(close_campaign(YAGI));
            donation(YAGI, 1_000, "FT-A")
        },
    },
    Case {
        rule: "closed campaign (transfer in)",
        expect: Some("campaign_closed"),
        run: |w| {
            w.ok(close_campaign(HANOI));
            transfer(HANOI, 1_000)
        },
    },
    Case {
        rule: "known campaign",
        expect: Some("unknown_campaign"),
        run: |_| transfer("nope", 1_000),
    },
    Case {
        rule: "campaign once",
        expect: Some("duplicate"),
        run: |_| {
            step(
                json!({"type": "campaign.open", "campaign": HANOI, "title": {"vi": "Trùng"}, "cause": {"kind": "other", "name": "x"}, "priority": 2, "assets": ["VND"], "approval_policy": {"VND": [{"from": 0, "approvals": 1}]}}),
                &["g1", "g2"],
            )
        },
    },
    Case {
        rule: "known asset",
        expect: Some("unknown_asset"),
        run: |_| {
            step(
                json!({"type": "campaign.open", "campaign": "usd-fund", "title": {"vi": "Quỹ"}, "cause": {"kind": "other", "name": "x"}, "priority": 2, "assets": ["USD"], "approval_policy": {"USD": [{"from": 0, "approvals": 1}]}}),
                &["g1", "g2"],
            )
        },
    },
    Case {
        rule: "known asset",
        expect: None,
        run: |_| {
            step(
                json!({"type": "donation", "campaign": YAGI, "amount": 500, "asset": "kg_rice", "channel": "in_kind", "external_ref": "PN-0001", "donor_name": "Công ty Lương thực", "received_at": "2024-09-10T00:00:00Z"}),
                &["intake"],
            )
        },
    },
    Case {
        rule: "asset of the account",
        expect: Some("unknown_asset"),
        run: |_| {
            step(
                json!({"type": "donation", "campaign": YAGI, "account": "vcb-1", "amount": 500, "asset": "kg_rice", "channel": "bank", "external_ref": "PN-0002", "received_at": "2024-09-10T00:00:00Z"}),
                &["intake"],
            )
        },
    },
    // 6.4 approvals.
    Case {
        rule: "approval policy",
        expect: None,
        run: |w| {
            w.donation(200_000_000, "FT-BIG");
            disbursement(YAGI, 100_000_000, 1, &["a1", "a2"])
        },
    },
    Case {
        rule: "approval policy",
        expect: Some("insufficient_approvals"),
        run: |w| {
            w.donation(200_000_000, "FT-BIG");
            disbursement(YAGI, 100_000_000, 1, &["a1"])
        },
    },
    Case {
        rule: "distinct approvers",
        expect: Some("insufficient_approvals"),
        run: |w| {
            w.donation(200_000_000, "FT-BIG");
            disbursement(YAGI, 100_000_000, 1, &["a1", "a1"])
        },
    },
    Case {
        rule: "approvers in scope",
        expect: Some("out_of_scope"),
        run: |w| {
            w.donation(200_000_000, "FT-BIG");
            disbursement(YAGI, 100_000_000, 1, &["a1", "a3"])
        },
    },
    Case {
        rule: "approver role",
        expect: Some("unauthorized"),
        run: |_| disbursement(YAGI, 1_000, 1, &["intake"]),
    },
    Case {
        rule: "unit rate",
        expect: None,
        run: |_| categorized(10_000_000, "house_repair", &["a1"]),
    },
    Case {
        rule: "unit rate",
        expect: Some("above_unit_rate"),
        run: |w| {
            w.donation(20_000_000, "FT-B");
            categorized(25_000_000, "house_repair", &["a1"])
        },
    },
    Case {
        rule: "unit rate with quorum",
        expect: None,
        run: |w| {
            w.donation(20_000_000, "FT-B");
            categorized(25_000_000, "house_repair", &["a1", "g1", "g2"])
        },
    },
    Case {
        rule: "published category",
        expect: Some("unknown_category"),
        run: |_| categorized(1_000, "boat", &["a1"]),
    },
    Case {
        rule: "enrolled recipient",
        expect: Some("unknown_beneficiary"),
        run: |_| disbursement(YAGI, 1_000, 2, &["a1"]),
    },
    Case {
        rule: "active recipient",
        expect: Some("unknown_beneficiary"),
        run: |w| {
            w.ok(step(json!({"type": "beneficiary.update", "beneficiary": person(1).to_hex(), "active": false}), &["field"]));
            disbursement(YAGI, 1_000, 1, &["a1"])
        },
    },
    Case {
        rule: "recipient's commune",
        expect: Some("region_mismatch"),
        run: |_| {
            let mut s = disbursement(YAGI, 1_000, 1, &["a1"]);
            s.json["region"] = json!(CAM_DUONG);
            s
        },
    },
    Case {
        rule: "organization recipient",
        expect: None,
        run: |_| {
            let mut s = disbursement(YAGI, 1_000, 1, &["a1"]);
            s.json["recipient"] = json!({"organization": "UBND phường Cam Đường"});
            s.json["region"] = json!(CAM_DUONG);
            s
        },
    },
    // 6.5 acknowledgments.
    Case {
        rule: "acknowledgment bounded",
        expect: None,
        run: |w| {
            let d = w.disburse(1_000, 1);
            let s_ = ack(w, d, 400);
            w.ok(s_);
            ack(w, d, 600)
        },
    },
    Case {
        rule: "acknowledgment bounded",
        expect: Some("over_acknowledged"),
        run: |w| {
            let d = w.disburse(1_000, 1);
            let s_ = ack(w, d, 400);
            w.ok(s_);
            ack(w, d, 601)
        },
    },
    Case {
        rule: "acknowledges a disbursement",
        expect: Some("unknown_disbursement"),
        run: |w| {
            let i = w.entries.len() as u64 - 1;
            ack(w, i, 1)
        },
    },
    Case {
        rule: "reference by leaf hash",
        expect: Some("leaf_hash_mismatch"),
        run: |w| {
            let d = w.disburse(1_000, 1);
            let mut s = ack(w, d, 1);
            s.json["disbursement"]["leaf_hash"] = json!("00".repeat(32));
            s
        },
    },
    Case {
        rule: "acknowledgment of reversed",
        expect: Some("already_reversed"),
        run: |w| {
            let d = w.disburse(1_000, 1);
            let s_ = reversal(w, d, &["a1"]);
            w.ok(s_);
            ack(w, d, 1)
        },
    },
    // Reversals.
    Case {
        rule: "donation reversal",
        expect: None,
        run: |w| reversal(w, w.entries.len() as u64 - 1, &["intake"]),
    },
    Case {
        rule: "donation reversal",
        expect: Some("already_reversed"),
        run: |w| {
            let d = w.entries.len() as u64 - 1;
            let s_ = reversal(w, d, &["intake"]);
            w.ok(s_);
            reversal(w, d, &["intake"])
        },
    },
    Case {
        rule: "reversal keeps balance",
        expect: Some("overspend"),
        run: |w| {
            let d = w.entries.len() as u64 - 1;
            w.disburse(5_000_000, 1);
            reversal(w, d, &["intake"])
        },
    },
    Case {
        rule: "reversal signer",
        expect: Some("unauthorized"),
        run: |w| reversal(w, w.entries.len() as u64 - 1, &["a1"]),
    },
    Case {
        rule: "disbursement reversal",
        expect: None,
        run: |w| {
            let d = w.disburse(1_000, 1);
            reversal(w, d, &["a1"])
        },
    },
    Case {
        rule: "disbursement reversal",
        expect: Some("not_reversible"),
        run: |w| {
            let d = w.disburse(1_000, 1);
            let s_ = ack(w, d, 1);
            w.ok(s_);
            reversal(w, d, &["a1"])
        },
    },
    Case {
        rule: "reversible types",
        expect: Some("not_reversible"),
        run: |w| reversal(w, 3, &["a1"]),
    },
    Case {
        rule: "reversal target",
        expect: Some("unknown_entry"),
        run: |w| {
            let mut s = reversal(w, 3, &["a1"]);
            s.json["target"]["index"] = json!(9999);
            s
        },
    },
    // 6.6 accounts and reconciliation.
    Case {
        rule: "registered account",
        expect: Some("unknown_account"),
        run: |_| {
            let mut s = donation(YAGI, 1_000, "FT-A");
            s.json["account"] = json!("vcb-hn");
            s
        },
    },
    Case {
        rule: "open account",
        expect: Some("account_closed"),
        run: |w| {
            w.ok(step(
                json!({"type": "account.close", "account": "vcb-1", "reason": "Đóng tài khoản"}),
                &["g1", "g2"],
            ));
            donation(YAGI, 1_000, "FT-A")
        },
    },
    Case {
        rule: "account once",
        expect: Some("duplicate"),
        run: |_| {
            step(
                json!({"type": "account.register", "account": "vcb-1", "campaign": YAGI, "kind": "bank", "institution": "BIDV", "number": "1", "holder": "x", "asset": "VND"}),
                &["g1", "g2"],
            )
        },
    },
    Case {
        rule: "bank balance",
        expect: None,
        run: |_| balance("2024-09-10", 10_000_000),
    },
    Case {
        rule: "bank balance mismatch is logged",
        expect: None,
        run: |_| balance("2024-09-10", 9_000_000),
    },
    Case {
        rule: "one balance per day",
        expect: Some("duplicate"),
        run: |w| {
            w.ok(balance("2024-09-10", 10_000_000));
            balance("2024-09-10", 10_000_000)
        },
    },
    Case {
        rule: "balance days increase",
        expect: Some("time_regression"),
        run: |w| {
            w.ok(balance("2024-09-10", 10_000_000));
            balance("2024-09-09", 10_000_000)
        },
    },
    Case {
        rule: "balance of a known account",
        expect: Some("unknown_account"),
        run: |_| {
            let mut s = balance("2024-09-10", 1);
            s.json["account"] = json!("nope");
            s
        },
    },
    // 6.7 time.
    Case {
        rule: "time skew",
        expect: None,
        run: |w| {
            let mut s = donation(YAGI, 1_000, "FT-A");
            s.json["time"] = json!(
                (w.now + Duration::seconds(601)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
            s
        },
    },
    Case {
        rule: "time skew",
        expect: Some("time_skew"),
        run: |w| {
            let mut s = donation(YAGI, 1_000, "FT-A");
            s.json["time"] = json!(
                (w.now - Duration::seconds(700)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
            s
        },
    },
    Case {
        rule: "monotonic logged_at",
        expect: None,
        run: |w| {
            let mut s = donation(YAGI, 1_000, "FT-A");
            s.logged_at = Some(w.now);
            s
        },
    },
    Case {
        rule: "monotonic logged_at",
        expect: Some("time_regression"),
        run: |w| {
            let mut s = donation(YAGI, 1_000, "FT-A");
            s.logged_at = Some(w.now - Duration::milliseconds(1));
            s.json["time"] = json!(w.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            s
        },
    },
    Case {
        rule: "entries in order",
        expect: Some("out_of_order"),
        run: |w| {
            let mut s = donation(YAGI, 1_000, "FT-A");
            s.index = Some(w.state.next_index() + 1);
            s
        },
    },
    // Statements on their own.
    Case {
        rule: "strict fields",
        expect: Some("malformed"),
        run: |_| {
            let mut s = donation(YAGI, 1_000, "FT-A");
            s.json["colour"] = json!("red");
            s
        },
    },
    Case {
        rule: "integer amounts",
        expect: Some("malformed"),
        run: |_| {
            let mut s = donation(YAGI, 1_000, "FT-A");
            s.json["amount"] = json!(1000.5);
            s
        },
    },
    Case {
        rule: "size limit",
        expect: Some("too_large"),
        run: |_| {
            let mut s = donation(YAGI, 1_000, "FT-A");
            s.raw = Some(vec![b' '; 40_000]);
            s
        },
    },
    Case {
        rule: "official regions",
        expect: Some("unknown_region"),
        run: |_| feedback_open("15-99999"),
    },
    Case {
        rule: "official regions",
        expect: None,
        run: |_| {
            let mut s = feedback_open(OLD_DUYEN_HAI);
            s.signers = vec!["intake"];
            s
        },
    },
    Case {
        rule: "editions do not mix in scopes",
        expect: Some("out_of_scope"),
        run: |_| feedback_open(OLD_DUYEN_HAI),
    },
    Case {
        rule: "masked memos",
        expect: Some("personal_data"),
        run: |_| {
            let mut s = donation(YAGI, 1_000, "FT-A");
            s.json["memo"] = json!("tu Viettel Money 84912345678");
            s
        },
    },
    // Beneficiaries.
    Case {
        rule: "enrollment",
        expect: None,
        run: |_| {
            step(
                json!({"type": "beneficiary.enroll", "beneficiary": person(2).to_hex(), "region": CAM_DUONG, "category": "poor_household", "priority": 2}),
                &["field"],
            )
        },
    },
    Case {
        rule: "enrollment",
        expect: Some("duplicate"),
        run: |_| {
            step(
                json!({"type": "beneficiary.enroll", "beneficiary": person(1).to_hex(), "region": CAM_DUONG, "category": "poor_household", "priority": 2}),
                &["field"],
            )
        },
    },
    Case {
        rule: "enrollment scope",
        expect: Some("out_of_scope"),
        run: |_| {
            step(
                json!({"type": "beneficiary.enroll", "beneficiary": person(2).to_hex(), "region": CAM_DUONG, "category": "poor_household", "priority": 2}),
                &["field_hn"],
            )
        },
    },
    Case {
        rule: "beneficiary update",
        expect: None,
        run: |_| {
            step(
                json!({"type": "beneficiary.update", "beneficiary": person(1).to_hex(), "region": CAM_DUONG}),
                &["field"],
            )
        },
    },
    Case {
        rule: "beneficiary update",
        expect: Some("unknown_beneficiary"),
        run: |_| {
            step(
                json!({"type": "beneficiary.update", "beneficiary": person(3).to_hex(), "priority": 2}),
                &["field"],
            )
        },
    },
    // Feedback.
    Case {
        rule: "feedback lifecycle",
        expect: None,
        run: |w| {
            w.ok(feedback_open(LAO_CAI_WARD));
            feedback_resolve("fb-1")
        },
    },
    Case {
        rule: "feedback lifecycle",
        expect: Some("already_resolved"),
        run: |w| {
            w.ok(feedback_open(LAO_CAI_WARD));
            w.ok(feedback_resolve("fb-1"));
            feedback_resolve("fb-1")
        },
    },
    Case {
        rule: "feedback lifecycle",
        expect: Some("unknown_feedback"),
        run: |_| feedback_resolve("fb-404"),
    },
    Case {
        rule: "feedback about an entry",
        expect: Some("unknown_entry"),
        run: |w| {
            let mut s = feedback_open(LAO_CAI_WARD);
            s.json["concerns"] = json!({"index": 999, "leaf_hash": "00".repeat(32)});
            let _ = w;
            s
        },
    },
];

trait StepExt {
    fn cash(self) -> Step;
}

impl StepExt for Step {
    fn cash(mut self) -> Step {
        self.json["channel"] = json!("cash");
        self.json.as_object_mut().unwrap().remove("account");
        self
    }
}

fn genesis_of(w: &mut World) -> Step {
    let full = World::build(false);
    let mut g = step(
        serde_json::from_slice(&full.entries[0].statement.to_json()).unwrap(),
        &["g1", "g2"],
    );
    g.json.as_object_mut().unwrap().remove("time");
    let _ = w;
    g
}

#[test]
fn every_case() {
    let mut failures = Vec::new();
    for (i, c) in CASES.iter().enumerate() {
        let mut w = World::new();
        let s = (c.run)(&mut w);
        let before = w.state.clone();
        let got = w.submit(s);
        let ok = match (&got, c.expect) {
            (Ok(_), None) => true,
            (Err(r), Some(code)) => {
                if w.state != before {
                    failures.push(format!("case {i} ({}): state changed on rejection", c.rule));
                }
                r.code() == code
            }
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "case {i} ({}): expected {:?}, got {:?}",
                c.rule,
                c.expect,
                got.as_ref()
                    .map(|_| ())
                    .map_err(|r| format!("{} ({r})", r.code()))
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_rule_has_both_sides_and_every_code_a_case() {
    use std::collections::{BTreeMap, BTreeSet};
    let mut sides: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
    for c in CASES {
        let e = sides.entry(c.rule).or_default();
        match c.expect {
            None => e.0 = true,
            Some(_) => e.1 = true,
        }
    }
    let codes: BTreeSet<&str> = CASES.iter().filter_map(|c| c.expect).collect();
    // Codes only the envelope layer can produce are covered in `envelope_rejections`.
    let missing: Vec<_> = CODES
        .iter()
        .filter(|c| !codes.contains(**c) && !["bad_signature"].contains(*c))
        .collect();
    assert!(missing.is_empty(), "codes without a case: {missing:?}");
    // Rules with a reject case whose accept side is another rule's accept case.
    let shared_accept = [
        "one genesis",
        "genesis quorum",
        "genesis keys",
        "signer role",
        "key grant once",
        "revoked key stays revoked",
        "revoke a known key",
        "unique id",
        "checked sums",
        "closed campaign (transfer in)",
        "known campaign",
        "campaign once",
        "asset of the account",
        "distinct approvers",
        "approvers in scope",
        "approver role",
        "published category",
        "enrolled recipient",
        "active recipient",
        "recipient's commune",
        "acknowledges a disbursement",
        "reference by leaf hash",
        "acknowledgment of reversed",
        "reversal keeps balance",
        "reversal signer",
        "reversible types",
        "reversal target",
        "registered account",
        "open account",
        "account once",
        "one balance per day",
        "balance days increase",
        "balance of a known account",
        "entries in order",
        "strict fields",
        "integer amounts",
        "size limit",
        "masked memos",
        "enrollment scope",
        "feedback about an entry",
        "no overspend (account)",
        "unit rate with quorum",
        "organization recipient",
        "bank balance mismatch is logged",
        "bank balance",
        "editions do not mix in scopes",
    ];
    for (rule, (acc, rej)) in &sides {
        if !shared_accept.contains(rule) {
            assert!(
                *acc && *rej,
                "rule {rule:?} needs an accepted and a refused case"
            );
        }
    }
}

#[test]
fn duplicate_reference_reports_the_existing_entry() {
    let mut w = World::new();
    let first = w.entries.len() as u64 - 1;
    let r = w
        .submit(donation(YAGI, 1_000, "FT24254000000001"))
        .unwrap_err();
    assert_eq!(r.code(), "duplicate");
    assert_eq!(
        r.rejection().and_then(Rejection::existing_index),
        Some(first)
    );
}

#[test]
fn mismatch_is_recorded_not_hidden() {
    let mut w = World::new();
    let e = w.submit(balance("2024-09-10", 9_000_000)).unwrap();
    let rec = e.reconciliation.unwrap();
    assert!(!rec.matches());
    assert_eq!(
        (rec.bank_balance, rec.ledger_balance),
        (9_000_000, 10_000_000)
    );
    assert_eq!(w.state.mismatches().len(), 1);
    let e = w.submit(balance("2024-09-11", 10_000_000)).unwrap();
    assert!(e.reconciliation.unwrap().matches());
    assert_eq!(w.state.mismatches().len(), 1);
}

#[test]
fn batch_is_all_or_nothing() {
    let mut w = World::new();
    let (a, _) = w.entry(&donation(YAGI, 1_000, "FT-B1")).unwrap();
    let mut b_step = donation(YAGI, 1_000, "FT-B1");
    b_step.index = Some(a.index + 1);
    let (b, _) = w.entry(&b_step).unwrap();
    let before = w.state.clone();
    let err = w.state.apply_batch(&[a.clone(), b]).unwrap_err();
    assert_eq!((err.position, err.error.code()), (1, "duplicate"));
    assert_eq!(w.state, before);
    w.state.check(&a).unwrap();
    assert_eq!(w.state, before);
    assert_eq!(w.state.apply_batch(&[a]).unwrap().len(), 1);
}

#[test]
fn out_of_scope_names_the_keys_and_counts_the_rest() {
    let mut w = World::new();
    w.donation(200_000_000, "FT-BIG");
    let err = w
        .submit(disbursement(YAGI, 100_000_000, 1, &["a1", "a3"]))
        .unwrap_err();
    let detail = err.to_string();
    assert_eq!(err.code(), "out_of_scope", "{detail}");
    assert!(
        detail.contains(&w.signers["a3"].id.to_string()),
        "names the key out of scope: {detail}"
    );
    assert!(
        !detail.contains(&w.signers["a1"].id.to_string()),
        "not the one in scope: {detail}"
    );
    assert!(detail.starts_with("1 of 2 required approver"), "{detail}");
}
