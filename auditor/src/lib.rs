//! # minhbach-auditor
//!
//! The independent verifier of a minhbach log. It trusts only a C2SP
//! `tlog-policy` (the log's key, the witnesses' keys, the quorum) and
//! recomputes everything else with the ledger core, reading only the public
//! C2SP read path (`/checkpoint`, tiles, entry bundles), so a server, a mirror
//! or a CDN copy are audited alike.
//!
//! What it does:
//! - verify a receipt bundle (SPEC 4.5.2) or a signed checkpoint offline;
//! - [`check`]: prove a log consistent with the last checkpoint it saw (cron);
//! - [`full`]: download every tile and entry bundle, recompute the root,
//!   verify every signature, replay every rule ([`replay`]) and write reports
//!   with anomalies ([`report`]); [`full::trace`] and [`export`] build on it.
//!
//! The C2SP tlog-witness is a deployable of its own (`minhbach-witness`); it
//! shares this crate's durable file replacement ([`durable`]).
//!
//! What it does **not** do: it never links RocksDB, axum or the server, never
//! trusts the operator's storage or proof endpoints (proofs are computed from
//! tiles, [`tiles`]), and never logs keys or personal data.

use std::path::{Path, PathBuf};

use minhbach_ledger::policy::{Policy, PolicyError, VerifiedCheckpoint};
use minhbach_ledger::receipt::{ReceiptBundle, ReceiptError, VerifiedReceipt};
use thiserror::Error;

pub mod check;
pub mod durable;
pub mod export;
pub mod fetch;
pub mod full;
pub mod replay;
pub mod report;
pub mod snapshot;
pub mod tiles;

pub use fetch::{FetchError, Fetcher};
pub use replay::ReplayError;
pub use tiles::TilesError;

/// Why an audit did not succeed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The policy file does not parse (usage: exit code 2).
    #[error("the policy is invalid: {0}")]
    Policy(#[source] PolicyError),
    /// The checkpoint does not verify under the policy.
    #[error("the checkpoint does not verify: {0}")]
    Checkpoint(#[source] PolicyError),
    /// The receipt does not parse or does not verify.
    #[error("the receipt does not verify: {0}")]
    Receipt(#[from] ReceiptError),
    /// The receipt's tree is not a prefix of today's tree.
    #[error(
        "the receipt's checkpoint (size {receipt_size}) is not consistent with today's tree (size {size}): {what}"
    )]
    ReceiptNotInTree {
        /// The receipt checkpoint's size.
        receipt_size: u64,
        /// Today's size.
        size: u64,
        /// `rollback`, `fork` or `fork_same_size`.
        what: &'static str,
    },
    /// The read path could not be fetched (network: exit code 2).
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// Proofs from tiles failed.
    #[error(transparent)]
    Tiles(#[from] TilesError),
    /// The replay of the log failed: a bad bundle, a rejected entry, a root
    /// or tile mismatch.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The server's answer differs from what the auditor recomputed.
    #[error("the server's {what} differs from the recomputed one")]
    ServerDisagrees {
        /// What was compared.
        what: &'static str,
        /// The server's answer.
        server: Box<serde_json::Value>,
        /// The recomputed answer.
        local: Box<serde_json::Value>,
    },
    /// What was asked for is not in the log (exit code 2).
    #[error("not found in the log: {what}")]
    NotFound {
        /// What.
        what: String,
    },
    /// A state file is unreadable, invalid or cannot be written (exit code 2).
    #[error("state file {path}: {message}")]
    State {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read or written (exit code 2).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl AuditError {
    /// Whether the error proves something wrong with the artefact or the log
    /// (exit code 1) rather than with how the auditor was called or reached
    /// it (exit code 2).
    #[must_use]
    pub fn is_verification_failure(&self) -> bool {
        match self {
            Self::Policy(_)
            | Self::Fetch(_)
            | Self::NotFound { .. }
            | Self::State { .. }
            | Self::Io { .. } => false,
            Self::Tiles(e) => e.is_verification_failure(),
            Self::Replay(e) => e.is_verification_failure(),
            Self::Checkpoint(_)
            | Self::Receipt(_)
            | Self::ReceiptNotInTree { .. }
            | Self::ServerDisagrees { .. } => true,
        }
    }

    pub(crate) fn state(path: &Path, message: impl std::fmt::Display) -> Self {
        Self::State {
            path: path.to_owned(),
            message: message.to_string(),
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Parses a C2SP policy file.
///
/// # Errors
/// [`AuditError::Policy`] when it does not parse.
pub fn load_policy(bytes: &[u8]) -> Result<Policy, AuditError> {
    Policy::parse(bytes).map_err(AuditError::Policy)
}

/// Verifies a receipt bundle (JSON) offline under `policy`.
///
/// # Errors
/// [`AuditError::Receipt`] when it does not parse or verify.
pub fn verify_receipt(receipt_json: &[u8], policy: &Policy) -> Result<VerifiedReceipt, AuditError> {
    let bundle = ReceiptBundle::from_json(receipt_json)?;
    Ok(bundle.verify(policy)?)
}

/// Verifies a signed checkpoint under `policy`: the log's signature and the
/// witness quorum.
///
/// # Errors
/// [`AuditError::Checkpoint`] when it does not verify.
pub fn verify_checkpoint(bytes: &[u8], policy: &Policy) -> Result<VerifiedCheckpoint, AuditError> {
    policy
        .verify_checkpoint(bytes)
        .map_err(AuditError::Checkpoint)
}

/// Verifies a receipt offline, then proves with tiles from `fetcher` that
/// its checkpoint is a prefix of today's tree (so the entry is still there).
/// Returns the receipt and today's verified checkpoint.
///
/// # Errors
/// Those of [`verify_receipt`] and [`verify_checkpoint`],
/// [`AuditError::ReceiptNotInTree`], and fetch or tile errors.
pub fn verify_receipt_online(
    receipt_json: &[u8],
    policy: &Policy,
    fetcher: &Fetcher,
) -> Result<(VerifiedReceipt, VerifiedCheckpoint), AuditError> {
    let receipt = verify_receipt(receipt_json, policy)?;
    let today = verify_checkpoint(&fetcher.checkpoint()?, policy)?;
    let then = receipt.checkpoint().checkpoint();
    let now = today.checkpoint();
    let what = match tiles::prove_consistency(fetcher, then, now)? {
        tiles::Consistency::Consistent { .. } => return Ok((receipt, today)),
        tiles::Consistency::Rollback => "rollback",
        tiles::Consistency::ForkSameSize => "fork_same_size",
        _ => "fork",
    };
    Err(AuditError::ReceiptNotInTree {
        receipt_size: then.size(),
        size: now.size(),
        what,
    })
}

#[cfg(test)]
mod tests {
    use minhbach_ledger::checkpoint::{Checkpoint, sign_checkpoint};
    use minhbach_ledger::log::Log;
    use minhbach_ledger::note::{KeyName, Signer};
    use minhbach_ledger::receipt::TlogProof;
    use minhbach_ledger::store::memory::MemoryStore;

    use super::*;

    fn fixture() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let signer = Signer::new(
            KeyName::new("audit.test/log").unwrap(),
            ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]),
        );
        let mut log = Log::open(MemoryStore::new()).unwrap();
        let leaves: Vec<Vec<u8>> = (0..9u8).map(|i| vec![b'L', i]).collect();
        let out = log
            .append(&leaves, &[], |size, root| {
                let cp = Checkpoint::new("audit.test/log", size, *root, vec![]).unwrap();
                sign_checkpoint(&cp, &signer)
            })
            .unwrap();
        let proof = log.inclusion_proof(4, 9).unwrap();
        let bundle = ReceiptBundle {
            leaf: leaves[4].clone(),
            proof: TlogProof {
                extra: None,
                index: 4,
                hashes: proof,
                checkpoint: out.checkpoint.clone(),
            },
        };
        let policy = format!("log {}\nquorum none\n", signer.verifier());
        (
            bundle.to_json().unwrap().into_bytes(),
            policy.into_bytes(),
            out.checkpoint,
        )
    }

    #[test]
    fn verifies_a_receipt_and_rejects_a_tampered_one() {
        let (receipt, policy, checkpoint) = fixture();
        let policy = load_policy(&policy).unwrap();
        let v = verify_receipt(&receipt, &policy).unwrap();
        assert_eq!((v.index(), v.tree_size()), (4, 9));
        assert_eq!(
            verify_checkpoint(&checkpoint, &policy)
                .unwrap()
                .checkpoint()
                .size(),
            9
        );

        let mut bundle = ReceiptBundle::from_json(&receipt).unwrap();
        bundle.leaf[1] ^= 1;
        let err = verify_receipt(bundle.to_json().unwrap().as_bytes(), &policy).unwrap_err();
        assert!(err.is_verification_failure(), "{err}");

        let mut forged = checkpoint.clone();
        forged[15] ^= 1;
        let err = verify_checkpoint(&forged, &policy).unwrap_err();
        assert!(matches!(err, AuditError::Checkpoint(_)));
    }

    #[test]
    fn a_bad_policy_is_a_usage_error() {
        let err = load_policy(b"quorum nobody\n").unwrap_err();
        assert!(!err.is_verification_failure());
        let (receipt, _, _) = fixture();
        let other = Signer::new(
            KeyName::new("audit.test/log").unwrap(),
            ed25519_dalek::SigningKey::from_bytes(&[4u8; 32]),
        );
        let wrong_key =
            load_policy(format!("log {}\nquorum none\n", other.verifier()).as_bytes()).unwrap();
        assert!(verify_receipt(&receipt, &wrong_key).is_err());
    }
}
