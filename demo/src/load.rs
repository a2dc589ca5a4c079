//! Statements for loading a server that holds the demo history: signed
//! donations to the storm campaign by the intake clerk ([`crate::INTAKE`])
//! and disbursements of what they brought in by the first approver
//! ([`crate::APPROVER`]), each unique per (run, sequence number) and stamped
//! with the time now, so the rules accept them on a live server.

use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::SigningKey;
use minhbach_ledger::envelope::{Envelope, STATEMENT_PAYLOAD_TYPE};
use serde_json::json;

use crate::{ACCOUNT_VCB, STORM};

/// A signed donation `seq` of run `run` (ids and references unique per
/// (run, seq)), as an envelope's JSON: [`donation_amount`] ₫ to the storm
/// campaign's Vietcombank account.
#[must_use]
pub fn donation(key: &SigningKey, run: u16, seq: u64) -> Vec<u8> {
    let (t, id) = stamp(8, run, seq);
    signed(
        key,
        &json!({
            "type": "donation", "id": id, "time": t, "campaign": STORM,
            "account": ACCOUNT_VCB, "amount": donation_amount(seq), "asset": "VND",
            "channel": "bank", "external_ref": format!("LOAD{run:04}{seq:012}"), "received_at": t,
        }),
    )
}

/// The amount of donation `seq` (of any run).
#[must_use]
pub fn donation_amount(seq: u64) -> u64 {
    10_000 + seq % 90_000
}

/// A signed disbursement `seq` of run `run`, as an envelope's JSON:
/// `amount` ₫ from the storm campaign to a commune's people's committee
/// (one approval suffices up to 100,000,000 ₫).
#[must_use]
pub fn disbursement(key: &SigningKey, run: u16, seq: u64, amount: u64) -> Vec<u8> {
    let (t, id) = stamp(9, run, seq);
    signed(
        key,
        &json!({
            "type": "disbursement", "id": id, "time": t, "campaign": STORM,
            "amount": amount, "asset": "VND",
            "recipient": {"organization": "Ủy ban nhân dân phường Cam Đường"},
            "region": "15-02671", "purpose": "Hỗ trợ các hộ bị ngập",
        }),
    )
}

/// The time now and a statement id unique per (`kind`, run, seq) and second.
fn stamp(kind: u8, run: u16, seq: u64) -> (String, String) {
    let now = DateTime::<Utc>::from(std::time::SystemTime::now());
    let id = format!(
        "{:08x}-{run:04x}-7000-{kind:x}000-{:012x}",
        now.timestamp(),
        seq & 0xffff_ffff_ffff
    );
    (now.to_rfc3339_opts(SecondsFormat::Secs, true), id)
}

/// `statement` signed by `key`, as an envelope's JSON.
fn signed(key: &SigningKey, statement: &serde_json::Value) -> Vec<u8> {
    let payload = serde_json::to_vec(statement).expect("a JSON value serialises");
    Envelope::sign(STATEMENT_PAYLOAD_TYPE, payload, key).to_json()
}
