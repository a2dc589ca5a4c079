//! Sending to the log: envelope files (`submit`) and bank statements
//! (`import bank-statement`), in batches, with one outcome per envelope.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use minhbach_ledger::envelope::{Envelope, STATEMENT_PAYLOAD_TYPE};
use serde_json::{Value, json};

use super::{BATCH, Refused, client, print_json, problem_json, problem_line, read, replace_file};
use crate::bank::mask::NameDisplay;
use crate::bank::{self, Format, Layout};
use crate::client::ItemResult;
use crate::import::{self, Outcome, Summary, compare_logged};
use crate::keys;

/// The envelopes of a file: one envelope, or a JSON array of them.
fn envelopes_in(path: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let bytes = read(path)?;
    let value: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not JSON", path.display()))?;
    let items = match value {
        Value::Array(items) => items
            .iter()
            .map(|v| serde_json::to_vec(v).unwrap_or_default())
            .collect(),
        _ => vec![bytes],
    };
    for (i, e) in items.iter().enumerate() {
        Envelope::from_json(e)
            .with_context(|| format!("{} item {i} is not a DSSE envelope", path.display()))?;
    }
    Ok(items)
}

pub(super) fn submit(
    files: &[PathBuf],
    server: &str,
    wait: bool,
    receipts: Option<&Path>,
    json: bool,
) -> anyhow::Result<()> {
    let mut labelled = Vec::new();
    for f in files {
        let items = envelopes_in(f)?;
        let many = items.len() > 1;
        for (i, e) in items.into_iter().enumerate() {
            let label = if many {
                format!("{}[{i}]", f.display())
            } else {
                f.display().to_string()
            };
            labelled.push((label, e));
        }
    }
    if let Some(dir) = receipts {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let client = client(server, if wait { 600 } else { 60 });
    let mut refused = 0;
    let mut reports = Vec::new();
    for chunk in labelled.chunks(BATCH) {
        let bodies: Vec<Vec<u8>> = chunk.iter().map(|(_, e)| e.clone()).collect();
        let results = client.submit(&bodies, wait)?;
        for ((label, _), result) in chunk.iter().zip(results) {
            match result {
                ItemResult::Accepted(a) => {
                    let mut saved = None;
                    if let (Some(dir), Some(r)) = (receipts, &a.receipt) {
                        let path = dir.join(format!("{}.receipt.json", a.index));
                        replace_file(&path, &serde_json::to_vec_pretty(r)?)?;
                        saved = Some(path);
                    }
                    if json {
                        reports.push(json!({
                            "file": label, "index": a.index, "existing": a.existing,
                            "type": a.kind, "statement_id": a.statement_id,
                            "leaf_hash": a.leaf_hash, "receipt_file": saved,
                        }));
                        continue;
                    }
                    let mut note = String::new();
                    if a.existing {
                        note.push_str(" (already logged)");
                    }
                    if let Some(p) = &saved {
                        note.push_str(&format!(", receipt saved to {}", p.display()));
                    } else if wait && a.receipt.is_none() {
                        // The server logged it but no published checkpoint
                        // covers it yet (witnesses slow or down).
                        note.push_str(&format!(
                            ", no receipt yet (no published checkpoint covers it; later: minhbach receipt get --index {})",
                            a.index
                        ));
                    }
                    println!("{label}: index {}{note}", a.index);
                }
                ItemResult::Refused(p) => {
                    refused += 1;
                    if json {
                        reports.push(json!({"file": label, "problem": problem_json(&p)}));
                        continue;
                    }
                    let at = p
                        .existing_index
                        .map(|i| format!(" [entry {i}]"))
                        .unwrap_or_default();
                    println!("{label}: refused: {}{at}", problem_line(&p));
                }
            }
        }
    }
    if json {
        print_json(&json!({
            "accepted": labelled.len() - refused,
            "refused": refused,
            "results": reports,
        }))?;
    }
    if refused > 0 {
        return Err(Refused(format!("{refused} of {} refused", labelled.len())).into());
    }
    Ok(())
}

/// The flags of `import bank-statement`.
#[derive(Debug, clap::Args)]
pub(super) struct BankImport {
    /// The bank's export (CSV or .xlsx).
    pub(super) file: PathBuf,
    /// The campaign the money is for.
    #[arg(long)]
    pub(super) campaign: String,
    /// The registered receiving account (its slug, e.g. vcb-1).
    #[arg(long)]
    pub(super) account: String,
    /// An intake key (required unless --dry-run).
    #[arg(long, env = "MINHBACH_KEY")]
    pub(super) key: Option<PathBuf>,
    /// The server (required unless --dry-run).
    #[arg(long, env = "MINHBACH_SERVER")]
    pub(super) server: Option<String>,
    /// The bank's layout.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub(super) format: Format,
    /// A TOML or JSON file naming the columns of any other layout.
    #[arg(long, conflicts_with = "format")]
    pub(super) mapping: Option<PathBuf>,
    /// How to show counterparty names.
    #[arg(long, value_enum, default_value_t = NameDisplay::Initials)]
    pub(super) names: NameDisplay,
    /// Read and print the summary and statements; sign and send nothing.
    #[arg(long)]
    pub(super) dry_run: bool,
}

pub(super) fn import_bank(a: &BankImport, json: bool) -> anyhow::Result<()> {
    let layouts = match &a.mapping {
        Some(m) => vec![Layout::from_file(m)?],
        None => Layout::builtin(a.format),
    };
    // Check the key and server before reading a large file.
    let (signing, client) = if a.dry_run {
        (None, None)
    } else {
        let key = a
            .key
            .as_deref()
            .context("--key is required (or use --dry-run)")?;
        let server = a
            .server
            .as_deref()
            .context("--server is required (or use --dry-run)")?;
        (Some(keys::load(key)?), Some(client(server, 120)))
    };
    let parsed = bank::parse_file(&a.file, &layouts)?;
    let mut summary = Summary::new(&parsed);
    let mut rejected = Vec::new();
    let prepared = import::prepare(
        &parsed,
        &a.campaign,
        &a.account,
        a.names,
        chrono::Utc::now(),
        &mut rejected,
    );
    summary
        .rejected
        .extend(rejected.into_iter().map(|m| (m.line, m.reason)));
    let (Some(signing), Some(client)) = (signing, client) else {
        if json {
            let mut v = summary.to_json(true);
            v["statements"] = prepared
                .iter()
                .map(|p| serde_json::from_slice(&p.json).unwrap_or(Value::Null))
                .collect();
            print_json(&v)?;
        } else {
            for p in &prepared {
                println!("{}", String::from_utf8_lossy(&p.json));
            }
            println!("{}", summary.render(true));
        }
        return finish(&summary);
    };
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(prepared.len() as u64),
        if std::io::stderr().is_terminal() {
            indicatif::ProgressDrawTarget::stderr()
        } else {
            indicatif::ProgressDrawTarget::hidden()
        },
    );
    for chunk in prepared.chunks(BATCH) {
        let bodies: Vec<Vec<u8>> = chunk
            .iter()
            .map(|p| Envelope::sign(STATEMENT_PAYLOAD_TYPE, p.json.clone(), &signing).to_json())
            .collect();
        let results = client.submit(&bodies, false).map_err(|e| {
            bar.abandon();
            anyhow::Error::new(e).context(format!(
                "submitting lines {}..={} failed (nothing later was sent; importing again is safe)",
                chunk.first().map_or(0, |p| p.line),
                chunk.last().map_or(0, |p| p.line)
            ))
        })?;
        for (p, result) in chunk.iter().zip(results) {
            let outcome = match result {
                ItemResult::Accepted(x) if x.existing => Outcome::AlreadyPresent(x.index),
                ItemResult::Accepted(x) => Outcome::Imported(x.index),
                // The same id with another payload (a later import, another
                // masking): the same gift only if the money fields agree.
                ItemResult::Refused(pr) if pr.code == "duplicate" => match pr.existing_index {
                    Some(index) => {
                        let entry = client.entry(index).map_err(|e| {
                            bar.abandon();
                            anyhow::Error::new(e).context(format!(
                                "reading entry {index}, which line {} repeats, failed (importing again is safe)",
                                p.line
                            ))
                        })?;
                        compare_logged(p, index, &entry.statement.unwrap_or_default())
                    }
                    None => Outcome::Rejected(problem_line(&pr)),
                },
                ItemResult::Refused(pr) => Outcome::Rejected(problem_line(&pr)),
            };
            summary.record(p, &outcome);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    if json {
        print_json(&summary.to_json(false))?;
    } else {
        println!("{}", summary.render(false));
    }
    finish(&summary)
}

fn finish(summary: &Summary) -> anyhow::Result<()> {
    if summary.rejected.is_empty() {
        Ok(())
    } else {
        Err(Refused(format!("{} lines rejected", summary.rejected.len())).into())
    }
}
