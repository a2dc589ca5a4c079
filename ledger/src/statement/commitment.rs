//! Salted commitments to people (SPEC 6.9).
//!
//! `commitment = hex(SHA-256("minhbach/commitment/v1" ‖ 0x00 ‖ salt ‖ identifier))`
//! with a random 32-byte salt held by the Front and printed on the person's
//! support card. No personal data enters the log: only the commitment does.

use std::fmt;

use sha2::{Digest as _, Sha256};

/// The domain-separation label of commitments.
pub const COMMITMENT_LABEL: &[u8] = b"minhbach/commitment/v1";

/// A commitment to a beneficiary or donor: 64 lowercase hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Commitment(pub [u8; 32]);

impl Commitment {
    /// Computes the commitment of `identifier` under `salt` (SPEC 6.9).
    #[must_use]
    pub fn compute(salt: &[u8; 32], identifier: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(COMMITMENT_LABEL);
        h.update([0u8]);
        h.update(salt);
        h.update(identifier);
        Self(h.finalize().into())
    }

    /// Parses 64 lowercase hex digits.
    ///
    /// # Errors
    /// [`IdentError`](super::IdentError) when the text is not 64 lowercase hex digits.
    pub fn from_hex(s: &str) -> Result<Self, super::IdentError> {
        super::ident::parse_lower_hex::<32>(s)
            .map(Self)
            .ok_or_else(|| super::IdentError::Invalid {
                kind: "commitment",
                value: s.chars().take(80).collect(),
            })
    }

    /// The commitment as lowercase hex.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

super::string_serde!(Commitment, from_hex, to_hex);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compute_is_label_zero_salt_identifier() {
        let salt = [1u8; 32];
        let c = Commitment::compute(&salt, b"079123456789");
        let mut buf = Vec::new();
        buf.extend_from_slice(b"minhbach/commitment/v1\0");
        buf.extend_from_slice(&salt);
        buf.extend_from_slice(b"079123456789");
        assert_eq!(c.0, <[u8; 32]>::from(Sha256::digest(&buf)));
        assert_eq!(Commitment::from_hex(&c.to_hex()), Ok(c));
    }
}
