//! # minhbach-auditor
//!
//! The independent verifier of a minhbach log. It trusts only a C2SP
//! `tlog-policy` (the log's key, the witnesses' keys, the quorum) and
//! recomputes everything else with the ledger core.
//!
//! What it does today: verify a receipt bundle (DESIGN 4.5) or a signed
//! checkpoint offline, under a policy. What it does **not** do: it never links
//! RocksDB, axum or the server, and never trusts the operator's storage; the
//! log audit over the public read path builds on this crate.

use minhbach_ledger::policy::{Policy, PolicyError, VerifiedCheckpoint};
use minhbach_ledger::receipt::{ReceiptBundle, ReceiptError, VerifiedReceipt};
use thiserror::Error;

/// Why an artefact did not verify.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The policy file does not parse.
    #[error("the policy is invalid: {0}")]
    Policy(#[source] PolicyError),
    /// The checkpoint does not verify under the policy.
    #[error("the checkpoint does not verify: {0}")]
    Checkpoint(#[source] PolicyError),
    /// The receipt does not parse or does not verify.
    #[error("the receipt does not verify: {0}")]
    Receipt(#[from] ReceiptError),
}

impl AuditError {
    /// Whether the error proves something wrong with the artefact (exit code
    /// 1) rather than with how the auditor was called (exit code 2).
    #[must_use]
    pub fn is_verification_failure(&self) -> bool {
        !matches!(self, AuditError::Policy(_))
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

#[cfg(test)]
mod tests {
    use minhbach_ledger::checkpoint::{sign_checkpoint, Checkpoint};
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
