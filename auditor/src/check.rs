//! `minhbach-audit check`: the cron job of an auditor. Fetch the log's
//! checkpoint, verify it under the policy (log signature, witness quorum),
//! check that the read path's tiles reproduce its root, and prove it
//! consistent with the last checkpoint remembered in a state file, from tiles
//! only. A rollback or a fork is proven misbehaviour, returned with evidence
//! that anyone can check with the log's public key alone.

use std::path::Path;

use minhbach_ledger::checkpoint::{Checkpoint, open_checkpoint};
use minhbach_ledger::merkle::Hash;
use minhbach_ledger::policy::Policy;
use serde::{Deserialize, Serialize};

use crate::AuditError;
use crate::durable::write_atomic;
use crate::fetch::Fetcher;
use crate::tiles::{Consistency, check_root, prove_consistency};

/// What the state file remembers: the last checkpoint verified, as signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckState {
    /// The log's origin.
    pub origin: String,
    /// The signed checkpoint (a signed note, UTF-8).
    pub checkpoint: String,
}

/// A consistency proof as evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofEvidence {
    /// The older size.
    pub from: u64,
    /// The newer size.
    pub to: u64,
    /// The proof hashes (base64), computed from the newer tree's tiles.
    pub hashes: Vec<String>,
    /// The root the newer tree gives its prefix of size `from` (base64): the
    /// proof verifies from this root to the newer root, so the newer tree
    /// does not extend the older checkpoint, whose root differs.
    pub prefix_root: String,
}

/// Proof that the log misbehaved: two checkpoints it signed that cannot both
/// be honest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// `rollback`, `fork` or `fork_same_size`.
    pub kind: String,
    /// The log.
    pub origin: String,
    /// The earlier checkpoint, as signed.
    pub old_checkpoint: String,
    /// The later checkpoint, as signed.
    pub new_checkpoint: String,
    /// For `fork`: the failed consistency proof.
    pub proof: Option<ProofEvidence>,
    /// A one-line explanation.
    pub explanation: String,
}

/// The result of one check.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckOutcome {
    /// No state before: the checkpoint is now remembered.
    First {
        /// Its size.
        size: u64,
    },
    /// Consistent with the remembered checkpoint; the state moved forward.
    Verified {
        /// The remembered size.
        old_size: u64,
        /// The new size.
        new_size: u64,
    },
    /// Proven misbehaviour; the state is left as it was.
    Misbehaviour(Box<Evidence>),
}

/// Loads the state file; `None` if it does not exist. The remembered
/// checkpoint is verified again with the log key of the policy.
///
/// # Errors
/// [`AuditError::State`] for an unreadable or invalid state.
pub fn load_state(path: &Path, policy: &Policy) -> Result<Option<Checkpoint>, AuditError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AuditError::state(path, e)),
    };
    let state: CheckState =
        serde_json::from_slice(&bytes).map_err(|e| AuditError::state(path, e))?;
    let key = policy
        .logs()
        .iter()
        .find(|l| l.key.name().as_str() == state.origin)
        .ok_or_else(|| AuditError::state(path, "its log is not in the policy"))?;
    let signed = open_checkpoint(state.checkpoint.as_bytes(), &key.key, &[])
        .map_err(|e| AuditError::state(path, e))?;
    Ok(Some(signed.checkpoint().clone()))
}

/// Remembers `signed` (verified) durably.
///
/// # Errors
/// [`AuditError::State`] if it cannot be written.
pub fn save_state(path: &Path, checkpoint: &Checkpoint, signed: &[u8]) -> Result<(), AuditError> {
    let state = CheckState {
        origin: checkpoint.origin().to_owned(),
        checkpoint: String::from_utf8_lossy(signed).into_owned(),
    };
    let json = serde_json::to_vec_pretty(&state).map_err(|e| AuditError::state(path, e))?;
    write_atomic(path, &json).map_err(|e| AuditError::state(path, e))
}

fn remembered_note(path: &Path) -> String {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<CheckState>(&b).ok())
        .map(|s| s.checkpoint)
        .unwrap_or_default()
}

/// Builds the evidence of a misbehaviour found between `old` (remembered as
/// `old_note`) and `new` (signed as `new_note`).
#[must_use]
pub fn evidence(
    consistency: &Consistency,
    old: &Checkpoint,
    old_note: &str,
    new: &Checkpoint,
    new_note: &[u8],
) -> Option<Evidence> {
    let (kind, proof, explanation) = match consistency {
        Consistency::Consistent { .. } => return None,
        Consistency::Rollback => (
            "rollback",
            None,
            format!(
                "the log signed size {} after size {}: an append-only log never shrinks",
                new.size(),
                old.size()
            ),
        ),
        Consistency::ForkSameSize => (
            "fork_same_size",
            None,
            format!(
                "the log signed two different roots for size {}: two histories",
                new.size()
            ),
        ),
        Consistency::Fork { proof, prefix_root } => (
            "fork",
            Some(ProofEvidence {
                from: old.size(),
                to: new.size(),
                hashes: proof.iter().map(Hash::to_base64).collect(),
                prefix_root: prefix_root.to_base64(),
            }),
            format!(
                "the tree of size {} (whose tiles reproduce its signed root) begins with root {} at size {}, not the signed {}",
                new.size(),
                prefix_root.to_base64(),
                old.size(),
                old.root().to_base64()
            ),
        ),
    };
    Some(Evidence {
        kind: kind.to_owned(),
        origin: new.origin().to_owned(),
        old_checkpoint: old_note.to_owned(),
        new_checkpoint: String::from_utf8_lossy(new_note).into_owned(),
        proof,
        explanation,
    })
}

/// Runs one check of the log at `fetcher` against the state at `state_path`.
///
/// # Errors
/// [`AuditError::Fetch`] (network), [`AuditError::Checkpoint`] (the
/// checkpoint does not verify), [`AuditError::Tiles`] (the tiles do not
/// reproduce the root), [`AuditError::State`].
pub fn check(
    fetcher: &Fetcher,
    policy: &Policy,
    state_path: &Path,
) -> Result<CheckOutcome, AuditError> {
    let signed = fetcher.checkpoint()?;
    let verified = policy
        .verify_checkpoint(&signed)
        .map_err(AuditError::Checkpoint)?;
    let new = verified.checkpoint().clone();
    let old = load_state(state_path, policy)?;
    if let Some(old) = &old
        && old.origin() != new.origin()
    {
        return Err(AuditError::state(
            state_path,
            format!("it remembers log {}, not {}", old.origin(), new.origin()),
        ));
    }
    let consistency = match &old {
        Some(old) => prove_consistency(fetcher, old, &new)?,
        None => Consistency::Consistent { proof: Vec::new() },
    };
    if let Some(old) = &old
        && let Some(e) = evidence(
            &consistency,
            old,
            &remembered_note(state_path),
            &new,
            &signed,
        )
    {
        return Ok(CheckOutcome::Misbehaviour(Box::new(e)));
    }
    check_root(fetcher, &new)?;
    save_state(state_path, &new, &signed)?;
    Ok(match old {
        None => CheckOutcome::First { size: new.size() },
        Some(old) => CheckOutcome::Verified {
            old_size: old.size(),
            new_size: new.size(),
        },
    })
}
