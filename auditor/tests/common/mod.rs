//! Shared by the auditor's tests: a realistic signed history (the ledger's
//! test world and a relief campaign's mix) and a mirror of its read path on
//! disk, built with the ledger alone.
#![allow(dead_code, missing_docs, unreachable_pub)]

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use minhbach_ledger::checkpoint::{Checkpoint, sign_checkpoint};
use minhbach_ledger::log::Log;
use minhbach_ledger::merkle::HashReader as _;
use minhbach_ledger::note::{KeyName, Signer};
use minhbach_ledger::store::memory::MemoryStore;
use minhbach_ledger::tile::{
    encode_entry_bundle, encode_tile, entry_bundles_for_size, tiles_for_size,
};
use serde_json::json;

pub use minhbach_demo::world as support;

use support::*;

/// A world of at least `n` accepted, signed entries: the test world, 98
/// enrolled households, then donations, disbursements and acknowledgments.
pub fn history(n: usize) -> World {
    let mut w = World::build(true);
    grow(&mut w, n);
    w
}

/// Appends relief entries to `w` until it holds at least `n`.
pub fn grow(w: &mut World, n: usize) {
    if w.state.beneficiary(&person(2)).is_none() {
        for p in 2..100 {
            w.ok(step(
                json!({"type": "beneficiary.enroll", "beneficiary": person(p).to_hex(), "region": LAO_CAI_WARD,
                       "category": "disaster_affected", "priority": 2}),
                &["field"],
            ));
        }
    }
    let mut i = w.leaves.len() as u64;
    let mut last = None;
    while w.leaves.len() < n {
        i += 1;
        match i % 10 {
            0..=6 => {
                w.donation(1_000_000 + i % 977, &format!("FT24{i:012}"));
            }
            7 | 8 => last = Some(w.disburse(500_000, 1 + (i % 99) as u32)),
            _ => {
                if let Some(d) = last.take() {
                    let r = w.entry_ref(d);
                    w.ok(step(
                        json!({"type": "acknowledgment", "disbursement": r, "amount": 500_000}),
                        &["field"],
                    ));
                }
            }
        }
    }
}

/// The leaf with its first signature's bit `bit` of `s` flipped (still a
/// canonical leaf and a canonical `s`: bits of the low bytes only).
pub fn with_bad_signature(leaf: &[u8], bit: usize) -> Vec<u8> {
    let text = std::str::from_utf8(leaf).unwrap();
    let start = text.find("\"sig\":\"").unwrap() + 7;
    let end = start + text[start..].find('"').unwrap();
    let mut sig = STANDARD.decode(&text[start..end]).unwrap();
    sig[32 + (bit % 128) / 8] ^= 1 << (bit % 8);
    let mut out = leaf[..start].to_vec();
    out.extend_from_slice(STANDARD.encode(sig).as_bytes());
    out.extend_from_slice(&leaf[end..]);
    out
}

/// The log's signer.
pub fn log_signer(origin: &str, seed: u8) -> Signer {
    Signer::new(
        KeyName::new(origin).unwrap(),
        ed25519_dalek::SigningKey::from_bytes(&[seed; 32]),
    )
}

/// Writes the read path of a log of `leaves` signed by `signer` into `dir`
/// (replacing what was there): checkpoint, hash tiles, entry bundles.
pub fn mirror(dir: &Path, leaves: &[Vec<u8>], signer: &Signer) {
    let origin = signer.name().as_str().to_owned();
    let mut log = Log::open(MemoryStore::new()).unwrap();
    let out = log
        .append(leaves, &[], |size, root| {
            sign_checkpoint(
                &Checkpoint::new(&origin, size, *root, vec![]).unwrap(),
                signer,
            )
        })
        .unwrap();
    let _ = std::fs::remove_dir_all(dir.join("tile"));
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("checkpoint"), &out.checkpoint).unwrap();
    let size = leaves.len() as u64;
    for p in tiles_for_size(size) {
        let hashes = log.store().read_hashes(&p.node_ids()).unwrap();
        write(dir, &p.to_string(), &encode_tile(&hashes).unwrap());
    }
    for p in entry_bundles_for_size(size) {
        let start = usize::try_from(p.index() * 256).unwrap();
        let entries: Vec<&[u8]> = leaves[start..start + usize::from(p.width())]
            .iter()
            .map(Vec::as_slice)
            .collect();
        write(dir, &p.to_string(), &encode_entry_bundle(&entries).unwrap());
    }
}

fn write(dir: &Path, path: &str, bytes: &[u8]) {
    let file = dir.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, bytes).unwrap();
}
