//! From envelope or leaf bytes to a [`VerifiedEntry`]: the convenience that
//! checks signatures against the state's key registry before the rules run.
//! The server may instead verify many envelopes at once
//! ([`Envelope::verify_batch`] with [`State::public_key`]) and build the
//! [`VerifiedEntry`] itself.

use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;

use super::{ApplyError, Effects, Rejection, State, VerifiedEntry};
use crate::envelope::{Envelope, EnvelopeError, KeyId, STATEMENT_PAYLOAD_TYPE};
use crate::leaf::{Leaf, LeafError};
use crate::merkle::leaf_hash;
use crate::statement::{Digest, Statement};

/// A failed envelope check as the rules report it (the server's batch
/// verification and the single check below map errors identically).
impl From<EnvelopeError> for Rejection {
    fn from(e: EnvelopeError) -> Self {
        match e {
            EnvelopeError::BadSignature { keyid } => Rejection::BadSignature { keyid },
            EnvelopeError::UnknownKey { keyid } => Rejection::UnknownKey { keyid },
            _ => Rejection::MalformedEnvelope { what: "envelope" },
        }
    }
}

/// A leaf that cannot be encoded or parsed, as the rules report it.
impl From<LeafError> for Rejection {
    fn from(e: LeafError) -> Self {
        match e {
            LeafError::TooLarge { size, max } => Rejection::LeafTooLarge { size, max },
            _ => Rejection::MalformedEnvelope { what: "leaf" },
        }
    }
}

impl<H> State<H> {
    /// The Ed25519 key of a key id, for envelope verification (revoked keys
    /// included: the rules then answer `key_revoked`).
    #[must_use]
    pub fn verifying_key(&self, keyid: &KeyId) -> Option<VerifyingKey> {
        self.public_key(keyid)
            .and_then(|pk| VerifyingKey::from_bytes(&pk.0).ok())
    }

    /// Checks the payload type, parses the statement and verifies every
    /// signature against the registry at this point of the log (for a genesis
    /// statement, against the keys it names).
    ///
    /// # Errors
    /// `malformed`, `too_large`, `unknown_region`, `personal_data`,
    /// `unknown_key` or `bad_signature` rejections.
    pub fn verify_envelope(
        &self,
        envelope: &Envelope,
    ) -> Result<(Statement, Vec<KeyId>), Rejection> {
        if envelope.payload_type() != STATEMENT_PAYLOAD_TYPE {
            return Err(Rejection::MalformedEnvelope {
                what: "payload type",
            });
        }
        let statement = Statement::from_json(envelope.payload())?;
        let signers = match (&self.config, &statement) {
            (None, Statement::Genesis(g)) => envelope.verify(|k| {
                g.governance
                    .keys
                    .iter()
                    .find(|gk| gk.public_key.key_id() == *k)
                    .and_then(|gk| VerifyingKey::from_bytes(&gk.public_key.0).ok())
            }),
            _ => envelope.verify(|k| self.verifying_key(k)),
        }
        .map_err(Rejection::from)?;
        Ok((statement, signers))
    }

    /// Parses leaf bytes, verifies the envelope and returns the entry for
    /// [`State::apply`] at `index`.
    ///
    /// # Errors
    /// As [`State::verify_envelope`], plus `too_large` and `malformed` for the leaf.
    pub fn verify_leaf(&self, index: u64, bytes: &[u8]) -> Result<VerifiedEntry, Rejection> {
        let leaf = Leaf::parse(bytes)?;
        let (statement, signers) = self.verify_envelope(&leaf.envelope)?;
        Ok(VerifiedEntry {
            index,
            leaf_hash: leaf_hash(bytes).into(),
            logged_at: leaf.logged_at,
            statement,
            signers,
        })
    }
}

impl<H: super::HistoryMut> State<H> {
    /// Verifies and applies leaf bytes as the next entry (the auditor's replay).
    ///
    /// # Errors
    /// Any rejection of [`State::verify_leaf`], or error of [`State::apply`].
    pub fn apply_leaf(&mut self, bytes: &[u8]) -> Result<(VerifiedEntry, Effects), ApplyError> {
        let entry = self.verify_leaf(self.next_index, bytes)?;
        let effects = self.apply(&entry)?;
        Ok((entry, effects))
    }

    /// Wraps a verified envelope as the next entry, logged at `logged_at`, and
    /// applies it (the server's path once it has built the leaf).
    ///
    /// # Errors
    /// As [`State::apply`].
    pub fn apply_verified(
        &mut self,
        leaf_hash: Digest,
        logged_at: DateTime<Utc>,
        statement: Statement,
        signers: Vec<KeyId>,
    ) -> Result<Effects, ApplyError> {
        let entry = VerifiedEntry {
            index: self.next_index,
            leaf_hash,
            logged_at,
            statement,
            signers,
        };
        self.apply(&entry)
    }
}
