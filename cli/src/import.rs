//! From a bank statement to donation statements, and the reconciliation
//! summary (`minhbach import bank-statement`).
//!
//! Each credit line becomes one `donation` (channel `bank`), with the memo
//! masked and the counterparty's name shown as the campaign's policy says.
//! The statement id is derived from (campaign, channel, reference), so
//! importing the same or an overlapping file again gives the same ids and
//! the server recognises what it already holds. Lines without a bank
//! reference get one derived from their date, amount, memo and how many
//! identical lines came before in the file.
//!
//! What it does **not** do: sign or send (the caller does, and reports
//! each outcome with [`Outcome`]).

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use minhbach_ledger::statement::{MAX_TEXT_BYTES, Statement};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::bank::mask::{NameDisplay, display_name, hide_name, mask_memo, memo_name};
use crate::bank::{Credit, Malformed, Parsed};
use crate::explain::amount;

/// One donation ready to sign, with the line it came from.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The line in the file.
    pub line: u64,
    /// The amount in ₫.
    pub amount: u64,
    /// The statement.
    pub statement: Statement,
    /// The statement's JSON bytes (what gets signed).
    pub json: Vec<u8>,
}

/// The deterministic statement id of a bank donation.
#[must_use]
pub fn donation_id(campaign: &str, reference: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"minhbach/import/v1\0");
    h.update(campaign.as_bytes());
    h.update(b"\0bank\0");
    h.update(reference.as_bytes());
    format!("bank-{}", hex::encode(&h.finalize()[..16]))
}

/// Builds the donations of `parsed`'s credits. Lines the ledger would refuse
/// (or that repeat a reference seen earlier in the file) are added to
/// `rejected` with their line numbers.
#[must_use]
pub fn prepare(
    parsed: &Parsed,
    campaign: &str,
    account: &str,
    names: NameDisplay,
    now: DateTime<Utc>,
    rejected: &mut Vec<Malformed>,
) -> Vec<Prepared> {
    let mut seen_refs: HashMap<String, u64> = HashMap::new();
    let mut identical: HashMap<String, u32> = HashMap::new();
    let mut out = Vec::new();
    for credit in &parsed.credits {
        let reference = credit.reference.clone().unwrap_or_else(|| {
            let key = format!(
                "{}\0{}\0{}",
                credit.received_at.to_rfc3339(),
                credit.amount,
                credit.memo
            );
            let n = identical.entry(key.clone()).or_insert(0);
            *n += 1;
            let digest = Sha256::digest(format!("{key}\0{n}").as_bytes());
            format!("h{}", &hex::encode(digest)[..24])
        });
        if let Some(first) = seen_refs.get(&reference) {
            rejected.push(Malformed {
                line: credit.line,
                reason: format!("reference {reference} already on line {first} of this file"),
            });
            continue;
        }
        seen_refs.insert(reference.clone(), credit.line);
        match build(credit, &reference, campaign, account, names, now) {
            Ok(p) => out.push(p),
            Err(reason) => rejected.push(Malformed {
                line: credit.line,
                reason,
            }),
        }
    }
    out
}

fn build(
    credit: &Credit,
    reference: &str,
    campaign: &str,
    account: &str,
    names: NameDisplay,
    now: DateTime<Utc>,
) -> Result<Prepared, String> {
    let mut memo = mask_memo(&credit.memo);
    let counterparty = credit.counterparty.clone().or_else(|| memo_name(&memo));
    let shown = counterparty.as_deref().and_then(|n| display_name(n, names));
    if let Some(name) = &counterparty
        && names != NameDisplay::Full
    {
        memo = hide_name(&memo, name, shown.as_deref());
    }
    let memo = truncate(memo.trim(), MAX_TEXT_BYTES);
    let mut v = json!({
        "type": "donation",
        "id": donation_id(campaign, reference),
        "time": now.to_rfc3339_opts(SecondsFormat::Secs, true),
        "campaign": campaign,
        "account": account,
        "amount": credit.amount,
        "asset": "VND",
        "channel": "bank",
        "external_ref": reference,
        "received_at": credit.received_at.to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    if let Some(name) = shown {
        v["donor_name"] = json!(name);
    }
    if !memo.is_empty() {
        v["memo"] = json!(memo);
    }
    let json = serde_json::to_vec(&v).map_err(|e| e.to_string())?;
    let statement =
        Statement::from_json(&json).map_err(|e| format!("not a valid donation: {e}"))?;
    Ok(Prepared {
        line: credit.line,
        amount: credit.amount,
        statement,
        json,
    })
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max - 3;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// What happened to one prepared donation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Logged now, at this index.
    Imported(u64),
    /// Already in the log, at this index.
    AlreadyPresent(u64),
    /// Refused: the code and a plain explanation.
    Rejected(String),
}

/// The fields that say where money went: a logged donation that differs
/// from the file in any of them is not the same gift.
const MONEY_FIELDS: [&str; 7] = [
    "type",
    "campaign",
    "account",
    "amount",
    "asset",
    "channel",
    "external_ref",
];

/// The outcome of a line whose statement id (or reference) is already on
/// the log at `index`, where `logged` is that entry's statement: already
/// present when it records the same gift (the masking of the memo or the
/// shown name may differ), otherwise a conflict that is reported, never
/// counted as imported or present.
#[must_use]
pub fn compare_logged(p: &Prepared, index: u64, logged: &serde_json::Value) -> Outcome {
    let here: serde_json::Value = serde_json::from_slice(&p.json).unwrap_or_default();
    let differences: Vec<String> = MONEY_FIELDS
        .iter()
        .filter(|f| logged[**f] != here[**f])
        .map(|f| {
            format!(
                "{f} {} on the log, {} here",
                plain(&logged[*f]),
                plain(&here[*f])
            )
        })
        .collect();
    if differences.is_empty() {
        Outcome::AlreadyPresent(index)
    } else {
        Outcome::Rejected(format!(
            "conflict: entry {index} already records reference {} differently ({}); the log keeps its entry",
            plain(&here["external_ref"]),
            differences.join("; ")
        ))
    }
}

/// A JSON value as a reader would write it (strings without quotes).
fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "nothing".to_owned(),
        other => other.to_string(),
    }
}

/// The reconciliation summary of an import.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// The layout used.
    pub layout: String,
    /// Data lines read.
    pub lines_read: usize,
    /// Credit lines and their total.
    pub credits: (usize, u64),
    /// Imported and their total.
    pub imported: (usize, u64),
    /// Already present and their total.
    pub already: (usize, u64),
    /// Rejected lines (line, reason), including malformed ones.
    pub rejected: Vec<(u64, String)>,
    /// Total of rejected credit lines whose amount is known.
    pub rejected_total: u64,
    /// Debit lines skipped and their total (fees and payments out).
    pub debits: (usize, u64),
}

impl Summary {
    /// Starts a summary from what was read.
    #[must_use]
    pub fn new(parsed: &Parsed) -> Self {
        Self {
            layout: parsed.layout.clone(),
            lines_read: parsed.lines_read,
            credits: (
                parsed.credits.len(),
                parsed.credits.iter().map(|c| c.amount).sum(),
            ),
            debits: (parsed.debits.len(), parsed.debits.iter().map(|d| d.1).sum()),
            rejected: parsed
                .malformed
                .iter()
                .map(|m| (m.line, m.reason.clone()))
                .collect(),
            ..Self::default()
        }
    }

    /// Counts one outcome.
    pub fn record(&mut self, p: &Prepared, outcome: &Outcome) {
        match outcome {
            Outcome::Imported(_) => add(&mut self.imported, p.amount),
            Outcome::AlreadyPresent(_) => add(&mut self.already, p.amount),
            Outcome::Rejected(reason) => {
                self.rejected.push((p.line, reason.clone()));
                self.rejected_total += p.amount;
            }
        }
    }

    /// The summary for scripts (`--json`): counts and totals in ₫, and each
    /// rejected line with its reason.
    #[must_use]
    pub fn to_json(&self, dry_run: bool) -> serde_json::Value {
        let mut rejected = self.rejected.clone();
        rejected.sort();
        let pair = |(count, total): (usize, u64)| json!({"count": count, "total": total});
        let mut v = json!({
            "dry_run": dry_run,
            "layout": self.layout,
            "lines_read": self.lines_read,
            "credits": pair(self.credits),
            "rejected": rejected
                .iter()
                .map(|(line, reason)| json!({"line": line, "reason": reason}))
                .collect::<Vec<_>>(),
            "rejected_total": self.rejected_total,
            "debits": pair(self.debits),
        });
        if !dry_run {
            v["imported"] = pair(self.imported);
            v["already_present"] = pair(self.already);
        }
        v
    }

    /// The summary as text.
    #[must_use]
    pub fn render(&self, dry_run: bool) -> String {
        let mut rejected = self.rejected.clone();
        rejected.sort();
        let mut s = String::new();
        let _ = writeln!(s, "layout:            {}", self.layout);
        let _ = writeln!(s, "lines read:        {}", self.lines_read);
        let _ = writeln!(
            s,
            "credits:           {} ({})",
            self.credits.0,
            amount(self.credits.1, "VND")
        );
        if dry_run {
            let _ = writeln!(s, "(dry run: nothing signed or sent)");
        } else {
            let _ = writeln!(
                s,
                "imported:          {} ({})",
                self.imported.0,
                amount(self.imported.1, "VND")
            );
            let _ = writeln!(
                s,
                "already present:   {} ({})",
                self.already.0,
                amount(self.already.1, "VND")
            );
        }
        let _ = writeln!(s, "rejected:          {}", rejected.len());
        for (line, reason) in &rejected {
            let _ = writeln!(s, "  line {line}: {reason}");
        }
        let _ = write!(
            s,
            "debits skipped:    {} ({})",
            self.debits.0,
            amount(self.debits.1, "VND")
        );
        s
    }
}

fn add(slot: &mut (usize, u64), amount: u64) {
    slot.0 += 1;
    slot.1 += amount;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credit(line: u64, reference: Option<&str>, memo: &str, who: Option<&str>) -> Credit {
        Credit {
            line,
            received_at: "2024-09-10T08:30:00Z".parse().unwrap(),
            reference: reference.map(str::to_owned),
            amount: 500_000,
            memo: memo.into(),
            counterparty: who.map(str::to_owned),
        }
    }

    #[test]
    fn a_logged_entry_is_the_same_gift_only_when_its_money_fields_match() {
        let parsed = Parsed {
            layout: "test".into(),
            credits: vec![credit(2, Some("FT1"), "ung ho", Some("NGUYEN VAN A"))],
            ..Parsed::default()
        };
        let now = "2024-09-12T08:00:00Z".parse().unwrap();
        let p = prepare(
            &parsed,
            "yagi-2024",
            "vcb-1",
            NameDisplay::Initials,
            now,
            &mut Vec::new(),
        )
        .pop()
        .unwrap();
        let mut logged: serde_json::Value = serde_json::from_slice(&p.json).unwrap();
        // Another masking of the memo and name, another time: the same gift.
        logged["memo"] = json!("ung ho (an)");
        logged["donor_name"] = json!("N.V.A.");
        logged["time"] = json!("2024-09-13T08:00:00Z");
        assert_eq!(compare_logged(&p, 7, &logged), Outcome::AlreadyPresent(7));
        // Another amount or campaign: a conflict naming both values.
        logged["amount"] = json!(p.amount + 100_000);
        logged["campaign"] = json!("bao-2024");
        let Outcome::Rejected(why) = compare_logged(&p, 7, &logged) else {
            panic!("a different amount was accepted as present");
        };
        assert!(
            why.starts_with("conflict: entry 7 already records reference FT1"),
            "{why}"
        );
        assert!(
            why.contains(&format!(
                "amount {} on the log, {} here",
                p.amount + 100_000,
                p.amount
            )),
            "{why}"
        );
        assert!(
            why.contains("campaign bao-2024 on the log, yagi-2024 here"),
            "{why}"
        );
        // An entry of another type is no donation at all.
        let Outcome::Rejected(why) = compare_logged(&p, 7, &json!({"type": "disbursement"})) else {
            panic!("a disbursement was taken for the donation");
        };
        assert!(
            why.contains("type disbursement on the log, donation here"),
            "{why}"
        );
    }

    #[test]
    fn ids_are_deterministic_and_depend_on_campaign_and_reference() {
        let a = donation_id("yagi-2024", "FT24254000000001");
        assert_eq!(a, donation_id("yagi-2024", "FT24254000000001"));
        assert_ne!(a, donation_id("yagi-2024", "FT24254000000002"));
        assert_ne!(a, donation_id("hanoi-fund", "FT24254000000001"));
        assert!(minhbach_ledger::statement::StatementId::new(&a).is_ok());
    }

    #[test]
    fn builds_masked_donations_and_rejects_repeats() {
        let parsed = Parsed {
            credits: vec![
                credit(
                    5,
                    Some("FT1"),
                    "MBVCB.1234567890.ung ho.CT tu 0123456789 NGUYEN VAN AN toi",
                    Some("Nguyễn Văn An"),
                ),
                credit(6, Some("FT1"), "again", None),
                credit(7, None, "ung ho", None),
                credit(8, None, "ung ho", None),
            ],
            ..Parsed::default()
        };
        let mut rejected = Vec::new();
        let out = prepare(
            &parsed,
            "yagi-2024",
            "vcb-1",
            NameDisplay::Initials,
            Utc::now(),
            &mut rejected,
        );
        assert_eq!(out.len(), 3);
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].line, 6);
        let Statement::Donation(d) = &out[0].statement else {
            panic!()
        };
        assert_eq!(d.donor_name.as_ref().unwrap().as_str(), "N.V.A.");
        assert_eq!(
            d.memo.as_ref().unwrap().as_str(),
            "MBVCB.******7890.ung ho.CT tu ******6789 N.V.A. toi"
        );
        assert_eq!(d.external_ref.as_str(), "FT1");
        assert_eq!(d.received_at.to_rfc3339(), "2024-09-10T08:30:00Z");
        // Two identical lines without a reference get two distinct references.
        let (Statement::Donation(a), Statement::Donation(b)) =
            (&out[1].statement, &out[2].statement)
        else {
            panic!()
        };
        assert_ne!(a.external_ref, b.external_ref);
        // And the same ones again on a re-import.
        let again = prepare(
            &parsed,
            "yagi-2024",
            "vcb-1",
            NameDisplay::Initials,
            Utc::now(),
            &mut Vec::new(),
        );
        let ids: Vec<_> = again.iter().map(|p| p.statement.id().clone()).collect();
        assert_eq!(
            ids,
            out.iter()
                .map(|p| p.statement.id().clone())
                .collect::<Vec<_>>()
        );
    }
}
