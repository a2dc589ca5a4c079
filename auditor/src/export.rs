//! `minhbach-audit export`: every statement of the log as JSON Lines
//! (`statements.jsonl`) and as one CSV file per statement type
//! (`<type>.csv`), for spreadsheets and notebooks.
//!
//! The export checks that the leaves hash to the signed root, so the rows are
//! exactly what the log committed to; it does not replay the rules (that is
//! `full`), so a journalist can still export a log that breaks them.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::Path;

use minhbach_ledger::checkpoint::Checkpoint;
use minhbach_ledger::leaf::Leaf;
use minhbach_ledger::merkle::{Tree, leaf_hash};
use minhbach_ledger::note::Note;
use minhbach_ledger::policy::Policy;
use minhbach_ledger::tile::{entry_bundles_for_size, parse_entry_bundle_exact};
use serde_json::{Map, Value};

use crate::AuditError;
use crate::fetch::Fetcher;
use crate::full::download;
use crate::replay::ReplayError;

/// What was exported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportOutcome {
    /// Entries exported.
    pub entries: u64,
    /// Rows per statement type.
    pub by_type: BTreeMap<String, u64>,
}

/// One exported entry: where it is in the log and what it says.
fn row(index: u64, bytes: &[u8]) -> Value {
    let mut out = Map::new();
    out.insert("index".into(), index.into());
    out.insert("leaf_hash".into(), leaf_hash(bytes).to_hex().into());
    match Leaf::parse(bytes) {
        Ok(leaf) => {
            out.insert(
                "logged_at".into(),
                leaf.logged_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                    .into(),
            );
            let keyids: Vec<Value> = leaf
                .envelope
                .signatures()
                .iter()
                .map(|s| s.keyid.to_string().into())
                .collect();
            out.insert("keyids".into(), keyids.into());
            let statement = serde_json::from_slice::<Value>(leaf.envelope.payload())
                .unwrap_or_else(|_| Value::String("(payload is not JSON)".into()));
            out.insert("statement".into(), statement);
        }
        Err(e) => {
            out.insert("error".into(), format!("not a leaf: {e}").into());
        }
    }
    Value::Object(out)
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Exports the log at `fetcher` into `out`. With a policy, the checkpoint
/// is verified under it; without one, only its root is checked against the
/// leaves (the export then says what the server holds, not that the log
/// signed it).
///
/// # Errors
/// The checkpoint does not verify, the leaves do not hash to its root, or
/// network and I/O errors.
pub fn export(
    fetcher: &Fetcher,
    policy: Option<&Policy>,
    out: &Path,
    jobs: usize,
) -> Result<ExportOutcome, AuditError> {
    let signed = fetcher.checkpoint()?;
    let cp = match policy {
        Some(policy) => policy
            .verify_checkpoint(&signed)
            .map_err(AuditError::Checkpoint)?
            .checkpoint()
            .clone(),
        None => Note::parse(&signed)
            .ok()
            .and_then(|n| Checkpoint::parse(n.text().as_bytes()).ok())
            .ok_or_else(|| AuditError::NotFound {
                what: "a well-formed checkpoint".into(),
            })?,
    };
    std::fs::create_dir_all(out).map_err(|e| AuditError::io(out, e))?;
    let downloaded = download(fetcher, cp.size(), Some(&out.join("cache")), jobs, false)?;
    let mut tree = Tree::new();
    let mut nodes = Vec::new();
    let mut rows: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let jsonl_path = out.join("statements.jsonl");
    let mut jsonl = std::io::BufWriter::new(
        std::fs::File::create(&jsonl_path).map_err(|e| AuditError::io(&jsonl_path, e))?,
    );
    let mut index = 0u64;
    for p in entry_bundles_for_size(cp.size()) {
        let bytes = downloaded.bytes(&p)?;
        let entries =
            parse_entry_bundle_exact(&bytes, p.width()).map_err(|source| ReplayError::Bundle {
                bundle: p.index(),
                source,
            })?;
        for e in entries {
            nodes.clear();
            tree.append(leaf_hash(e), &mut nodes);
            let r = row(index, e);
            serde_json::to_writer(&mut jsonl, &r)
                .map_err(|e| AuditError::io(&jsonl_path, e.into()))?;
            jsonl
                .write_all(b"\n")
                .map_err(|e| AuditError::io(&jsonl_path, e))?;
            let kind = r
                .get("statement")
                .and_then(|s| s.get("type"))
                .and_then(Value::as_str)
                .unwrap_or("invalid")
                .to_owned();
            rows.entry(kind).or_default().push(r);
            index += 1;
        }
    }
    jsonl.flush().map_err(|e| AuditError::io(&jsonl_path, e))?;
    if tree.root() != cp.root() {
        return Err(ReplayError::RootMismatch {
            size: cp.size(),
            expected: cp.root(),
            computed: tree.root(),
        }
        .into());
    }
    let mut by_type = BTreeMap::new();
    for (kind, rows) in &rows {
        let fields: BTreeSet<&str> = rows
            .iter()
            .filter_map(|r| r.get("statement").and_then(Value::as_object))
            .flat_map(|m| m.keys().map(String::as_str))
            .filter(|k| !matches!(*k, "type" | "id" | "time"))
            .collect();
        let mut header = vec!["index", "logged_at", "leaf_hash", "keyids", "id", "time"];
        header.extend(fields.iter().copied());
        let path = out.join(format!("{kind}.csv"));
        let err = |e: csv::Error| AuditError::io(&path, std::io::Error::other(e));
        let mut w = csv::Writer::from_path(&path).map_err(err)?;
        w.write_record(&header).map_err(err)?;
        for r in rows {
            let s = r.get("statement");
            let record: Vec<String> = header
                .iter()
                .enumerate()
                .map(|(i, h)| match i {
                    0..=2 => r.get(*h).map(cell).unwrap_or_default(),
                    3 => r
                        .get("keyids")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().map(cell).collect::<Vec<_>>().join(" "))
                        .unwrap_or_default(),
                    _ => s.and_then(|s| s.get(*h)).map(cell).unwrap_or_default(),
                })
                .collect();
            w.write_record(&record).map_err(err)?;
        }
        w.flush().map_err(|e| AuditError::io(&path, e))?;
        by_type.insert(kind.clone(), rows.len() as u64);
    }
    Ok(ExportOutcome {
        entries: index,
        by_type,
    })
}
