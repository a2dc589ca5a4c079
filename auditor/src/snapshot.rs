//! The replay saved between runs of `full`, so that a rerun replays only
//! what the log grew by.
//!
//! After a successful audit, `full` saves in `OUT/replay.snapshot` what the
//! replay needs to go on: the rules' state, the trace index, the report's
//! observations, the tree's frontier, the upper tile nodes and the leaf
//! hashes of the last partial bundle, tied to the signed checkpoint it
//! audited. A rerun loads it only if it holds up:
//!
//! - the file is whole: a magic line, then SHA-256 of the body, then the body
//!   (CBOR, RFC 8949); written atomically ([`crate::durable`]);
//! - its checkpoint verifies under the policy's log key (so a snapshot of
//!   another log, or under another key, is refused) and has today's origin;
//! - the frontier hashes to that checkpoint's root, and the state, the tail
//!   and the upper nodes agree with its size.
//!
//! Otherwise [`load`] says why ([`Unusable`]) and the caller replays from
//! entry 0. The caller must still prove the new checkpoint consistent with
//! the saved one (the replay then recomputes the new root from the saved
//! frontier and the new leaves alone, which proves it again).
//!
//! What it does **not** do: it does not protect against someone who can
//! write the auditor's own files (they could also replace the auditor); the
//! digest catches corruption, not forgery.

use std::collections::HashMap;
use std::path::Path;

use minhbach_ledger::checkpoint::{Checkpoint, open_checkpoint};
use minhbach_ledger::merkle::{Hash, NodeId, Tree};
use minhbach_ledger::policy::Policy;
use minhbach_ledger::rules::{MemoryHistory, State};
use minhbach_ledger::tile::TILE_HEIGHT;
use minhbach_ledger::trace::TraceIndex;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use thiserror::Error;

use crate::AuditError;
use crate::replay::{Observer, Replay};

/// The file's first line: what it is and the format version.
const MAGIC: &[u8] = b"minhbach-audit replay snapshot v3\n";

/// The snapshot's file name in the report directory.
pub const FILE_NAME: &str = "replay.snapshot";

/// Entries in a full entry bundle.
const BUNDLE: u64 = 256;

/// Why a saved replay cannot be used (the audit then replays from entry 0).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Unusable {
    /// The file is damaged: truncated, a wrong digest, or a body that does
    /// not decode.
    #[error("it is damaged ({what})")]
    Corrupt {
        /// What is wrong.
        what: String,
    },
    /// Its parts do not agree with its checkpoint (frontier, sizes).
    #[error("its replay does not match its checkpoint ({what})")]
    Inconsistent {
        /// What disagrees.
        what: String,
    },
    /// Its checkpoint is of another log, or does not verify under the
    /// policy's key.
    #[error("it is of another log ({what})")]
    Foreign {
        /// Why.
        what: String,
    },
    /// The file cannot be read.
    #[error("it cannot be read ({0})")]
    Io(#[source] std::io::Error),
}

/// A replay loaded from a snapshot, with the checkpoint it was audited at.
#[derive(Debug)]
pub struct Resume {
    /// The replay, at the checkpoint's size.
    pub replay: Replay,
    /// The audited checkpoint (verified again under the policy).
    pub checkpoint: Checkpoint,
    /// The checkpoint as signed (a signed note).
    pub note: String,
}

/// The saved form.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Saved {
    /// The audited checkpoint, as signed.
    checkpoint: String,
    /// Its size (checked against the note).
    size: u64,
    frontier: Vec<[u8; 32]>,
    /// (level, index, hash) of the nodes at tile levels above 0.
    upper: Vec<(u8, u64, [u8; 32])>,
    tail: Vec<[u8; 32]>,
    state: State,
    /// The rules' history, which the state does not serialize.
    history: MemoryHistory,
    trace: TraceIndex,
    observer: Observer,
    signatures: u64,
    verified_alone: u64,
}

/// The saved form as written, borrowing the replay's parts (the same fields
/// as [`Saved`], so the same CBOR map).
#[derive(Serialize)]
struct SavedRef<'a> {
    checkpoint: &'a str,
    size: u64,
    frontier: Vec<[u8; 32]>,
    upper: Vec<(u8, u64, [u8; 32])>,
    tail: Vec<[u8; 32]>,
    state: &'a State,
    history: &'a MemoryHistory,
    trace: &'a TraceIndex,
    observer: &'a Observer,
    signatures: u64,
    verified_alone: u64,
}

/// Saves `replay`, which stands at `checkpoint` (signed as `note`),
/// atomically and durably.
///
/// # Errors
/// [`AuditError::Io`] when it cannot be written; the previous snapshot, if
/// any, is then unchanged.
pub fn save(
    path: &Path,
    replay: &Replay,
    checkpoint: &Checkpoint,
    note: &[u8],
) -> Result<(), AuditError> {
    let mut upper: Vec<(u8, u64, [u8; 32])> = replay
        .upper
        .iter()
        .map(|(id, h)| (id.level, id.index, h.0))
        .collect();
    upper.sort_unstable();
    let note = String::from_utf8_lossy(note);
    let saved = SavedRef {
        checkpoint: &note,
        size: checkpoint.size(),
        frontier: replay.tree.frontier().iter().map(|h| h.0).collect(),
        upper,
        tail: replay.tail.iter().map(|h| h.0).collect(),
        state: &replay.state,
        history: replay.state.history(),
        trace: &replay.trace,
        observer: &replay.observer,
        signatures: replay.signatures,
        verified_alone: replay.verified_alone,
    };
    let mut body = Vec::new();
    ciborium::into_writer(&saved, &mut body)
        .map_err(|e| AuditError::io(path, std::io::Error::other(e.to_string())))?;
    let mut bytes = Vec::with_capacity(MAGIC.len() + 32 + body.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&Sha256::digest(&body));
    bytes.extend_from_slice(&body);
    crate::durable::write_atomic(path, &bytes).map_err(|e| AuditError::io(path, e))
}

/// Loads the snapshot at `path` for a log whose checkpoint today is
/// `current`: `Ok(None)` if there is none, the reason if it cannot be used.
///
/// # Errors
/// [`Unusable`] (the caller replays from entry 0).
pub fn load(
    path: &Path,
    policy: &Policy,
    current: &Checkpoint,
    threads: usize,
) -> Result<Option<Resume>, Unusable> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Unusable::Io(e)),
    };
    let corrupt = |what: &str| Unusable::Corrupt {
        what: what.to_owned(),
    };
    let rest = bytes
        .strip_prefix(MAGIC)
        .ok_or_else(|| corrupt("not a replay snapshot of this version"))?;
    if rest.len() < 32 {
        return Err(corrupt("truncated"));
    }
    let (digest, body) = rest.split_at(32);
    if Sha256::digest(body).as_slice() != digest {
        return Err(corrupt("its digest does not match its contents"));
    }
    let saved: Saved =
        ciborium::from_reader(body).map_err(|e| corrupt(&format!("does not decode: {e}")))?;

    let foreign = |what: String| Unusable::Foreign { what };
    let log = policy
        .logs()
        .iter()
        .find(|l| l.key.name().as_str() == current.origin())
        .ok_or_else(|| foreign(format!("the policy has no key for {}", current.origin())))?;
    let checkpoint = open_checkpoint(saved.checkpoint.as_bytes(), &log.key, &[])
        .map_err(|e| foreign(format!("its checkpoint does not verify: {e}")))?
        .checkpoint()
        .clone();
    if checkpoint.origin() != current.origin() {
        return Err(foreign(format!("origin {}", checkpoint.origin())));
    }

    let inconsistent = |what: String| Unusable::Inconsistent { what };
    let size = checkpoint.size();
    let tree = Tree::from_frontier(size, saved.frontier.into_iter().map(Hash).collect())
        .map_err(|e| inconsistent(e.to_string()))?;
    if saved.size != size || tree.root() != checkpoint.root() {
        return Err(inconsistent(format!(
            "its frontier does not hash to the root of size {size}"
        )));
    }
    if saved.state.next_index() != size {
        return Err(inconsistent(format!(
            "its rules state is at entry {}, not {size}",
            saved.state.next_index()
        )));
    }
    if saved.tail.len() as u64 != size % BUNDLE {
        return Err(inconsistent(format!(
            "{} tail hashes for size {size}",
            saved.tail.len()
        )));
    }
    let mut upper = HashMap::with_capacity(saved.upper.len());
    for (level, index, h) in saved.upper {
        let complete = level > 0
            && level % TILE_HEIGHT == 0
            && u32::from(level) < u64::BITS
            && (index + 1)
                .checked_shl(u32::from(level))
                .is_some_and(|end| end <= size);
        if !complete {
            return Err(inconsistent(format!(
                "node ({level}, {index}) is not in a tree of size {size}"
            )));
        }
        upper.insert(NodeId { level, index }, Hash(h));
    }
    let history = saved.history;
    let replay = Replay::resume(
        saved.state.map_history(|_| history),
        saved.trace,
        saved.observer,
        (saved.signatures, saved.verified_alone),
        tree,
        upper,
        saved.tail.into_iter().map(Hash).collect(),
        threads,
    );
    Ok(Some(Resume {
        replay,
        checkpoint,
        note: saved.checkpoint,
    }))
}
