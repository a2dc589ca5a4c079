//! What donors and recipients do: find a donation and save its receipt,
//! verify a receipt offline, see where a gift went, and compute their own
//! commitment.

use std::path::Path;

use anyhow::{Context as _, bail};
use minhbach_ledger::policy::Policy;
use minhbach_ledger::receipt::ReceiptBundle;
use minhbach_ledger::rules::FlowKind;
use minhbach_ledger::trace::{AckStatus, Trace};
use serde_json::json;

use super::{Refused, Target, client, print_json, read, write_out};
use crate::client::{Client, ClientError};
use crate::explain::amount;

/// `not_found` answers become [`Refused`] with `what` and the server's
/// detail; other errors pass through.
fn not_found(e: ClientError, what: impl FnOnce() -> String) -> anyhow::Error {
    match e {
        ClientError::Problem(p) if p.status == 404 => {
            let detail = p
                .detail
                .filter(|d| !d.is_empty())
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            Refused(format!("{}{detail}", what())).into()
        }
        e => e.into(),
    }
}

fn resolve(client: &Client, target: &Target) -> anyhow::Result<u64> {
    match (&target.reference, target.index) {
        (_, Some(i)) => Ok(i),
        (Some(r), None) => client
            .lookup_ref(r)
            .map(|found| found.index)
            .map_err(|e| not_found(e, || format!("no donation with reference {r} in the log"))),
        (None, None) => bail!("give --ref or --index"),
    }
}

pub(super) fn receipt_get(
    server: &str,
    target: &Target,
    out: Option<&Path>,
    json: bool,
) -> anyhow::Result<()> {
    let client = client(server, 60);
    let index = resolve(&client, target)?;
    let bytes = client
        .receipt(index)
        .map_err(|e| not_found(e, || format!("no receipt for entry {index}")))?;
    ReceiptBundle::from_json(&bytes)
        .context("the server sent something that is not a receipt bundle")?;
    write_out(out, &bytes)?;
    if let Some(p) = out {
        if json {
            print_json(&json!({"index": index, "file": p}))?;
        } else {
            eprintln!("saved the receipt of entry {index} to {}", p.display());
        }
    }
    Ok(())
}

pub(super) fn receipt_verify(file: &Path, policy: &Path, json: bool) -> anyhow::Result<()> {
    let policy_bytes = read(policy)?;
    let policy = Policy::parse(&policy_bytes).context("the policy file is invalid")?;
    let bytes = read(file)?;
    let bundle = ReceiptBundle::from_json(&bytes).context("not a receipt bundle")?;
    match bundle.verify(&policy) {
        Ok(v) => {
            if json {
                return print_json(&json!({
                    "verified": true,
                    "index": v.index(),
                    "tree_size": v.tree_size(),
                    "leaf_hash": v.leaf_hash().to_string(),
                }));
            }
            println!(
                "verified: entry {} is in the log at size {} (leaf hash {})",
                v.index(),
                v.tree_size(),
                v.leaf_hash()
            );
            Ok(())
        }
        Err(e) => {
            if json {
                print_json(&json!({"verified": false, "error": e.to_string()}))?;
            }
            Err(Refused(format!("the receipt does NOT verify: {e}")).into())
        }
    }
}

pub(super) fn trace(server: &str, target: &Target, json: bool) -> anyhow::Result<()> {
    let client = client(server, 60);
    let index = resolve(&client, target)?;
    let t = client
        .trace(index)
        .map_err(|e| not_found(e, || format!("no gift to trace at entry {index}")))?;
    if json {
        return print_json(&serde_json::to_value(&t)?);
    }
    println!("{}", render_trace(&t));
    Ok(())
}

pub(super) fn commitment(id: &str, salt: &str, json: bool) -> anyhow::Result<()> {
    let c = crate::commitment(id, salt)?.to_hex();
    if json {
        return print_json(&json!({ "commitment": c }));
    }
    println!("{c}");
    Ok(())
}

/// Puts a trace (`GET /api/v1/donations/{index}/trace`) into plain words.
#[must_use]
pub fn render_trace(t: &Trace) -> String {
    let asset = t.asset.as_str();
    let money = |v: u64| amount(v, asset);
    let mut lines = vec![format!(
        "Gift at entry {} of {} to campaign {}.",
        t.donation,
        money(t.amount),
        t.campaign.as_str()
    )];
    if let Some(r) = t.reversed_by {
        lines.push(format!("It was reversed (bounced) by entry {r}."));
    }
    if t.steps.is_empty() {
        lines.push("None of it has been spent yet.".into());
    }
    for s in &t.steps {
        let (at, how, campaign) = (s.at, money(s.amount), s.campaign.as_str());
        let line = match &s.kind {
            FlowKind::Disbursed => {
                let ack = match s.ack {
                    Some(AckStatus::Acknowledged) => "the recipient acknowledged it".to_owned(),
                    Some(AckStatus::Unacknowledged) => "not acknowledged yet".to_owned(),
                    Some(AckStatus::Partial { acknowledged, of }) => format!(
                        "partly acknowledged ({} of {})",
                        money(acknowledged),
                        money(of)
                    ),
                    Some(AckStatus::Reversed { by }) => {
                        format!("that payment was reversed by entry {by}")
                    }
                    _ => "acknowledgment unknown".to_owned(),
                };
                format!("{how} went out in disbursement {at} of {campaign}: {ack}.")
            }
            FlowKind::Transferred { to } => format!(
                "{how} moved from {campaign} to campaign {} by transfer {at}.",
                to.as_str()
            ),
            FlowKind::CoveredReversal { donation } => {
                format!("{how} covered the reversal of gift {donation} (entry {at}).")
            }
            FlowKind::DonationReversed => {
                format!("{how} was removed when the gift bounced (entry {at}).")
            }
            FlowKind::Restored { disbursement } => format!(
                "{how} came back when disbursement {disbursement} was reversed (entry {at})."
            ),
            _ => format!("{how} moved at entry {at}."),
        };
        lines.push(format!("- {line}"));
    }
    lines.push(format!("Still unspent: {}.", money(t.unspent)));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_in_plain_words() {
        let t: Trace = serde_json::from_value(serde_json::json!({
            "donation": 14, "campaign": "yagi-2024", "asset": "VND", "amount": 1_000_000,
            "reversed_by": null, "unspent": 200_000,
            "steps": [
                {"at": 24, "campaign": "yagi-2024", "amount": 500_000, "kind": {"type": "disbursed"}, "ack": {"status": "acknowledged"}},
                {"at": 29, "campaign": "yagi-2024", "amount": 300_000, "kind": {"type": "transferred", "to": "hanoi-fund"}}
            ]
        }))
        .unwrap();
        let text = render_trace(&t);
        assert!(
            text.contains("Gift at entry 14 of 1.000.000 ₫ to campaign yagi-2024."),
            "{text}"
        );
        assert!(
            text.contains(
                "500.000 ₫ went out in disbursement 24 of yagi-2024: the recipient acknowledged it."
            ),
            "{text}"
        );
        assert!(
            text.contains("300.000 ₫ moved from yagi-2024 to campaign hanoi-fund by transfer 29."),
            "{text}"
        );
        assert!(text.ends_with("Still unspent: 200.000 ₫."), "{text}");
    }
}
