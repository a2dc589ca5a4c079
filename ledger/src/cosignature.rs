//! C2SP tlog-cosignature v1 (<https://c2sp.org/tlog-cosignature>), Ed25519
//! only: timestamped witness cosignatures on checkpoints.
//!
//! A cosignature is a signed-note signature line whose key has signature type
//! `0x04`; its key ID is `SHA-256(name || "\n" || 0x04 || pubkey)[:4]`
//! ("Format"). The signature bytes after the key ID are a
//! `timestamped_signature`: a big-endian `u64` POSIX timestamp and a 64-byte
//! Ed25519 signature over the message of "Ed25519 signed message":
//!
//! ```text
//! cosignature/v1
//! time <timestamp>
//! <checkpoint body, including its final newline>
//! ```
//!
//! Cosigner verifier keys are [`VerifierKey`]s of type
//! [`SignatureType::CosignatureV1`]; they verify cosignature lines in the
//! ordinary note verification loop ([`crate::note::Note::verify`]), which
//! reports each cosignature's timestamp.
//!
//! What this module does **not** do: it keeps no witness state and checks no
//! consistency (a witness does that before calling [`Cosigner::cosign`]), and
//! it reads no clock, so it cannot refuse timestamps in the future; callers
//! that care compare the returned timestamps with their own notion of now.
//! The ML-DSA-44 (`0x06`, `subtree/v1`) type is not supported.
//!
//! ```
//! use ed25519_dalek::SigningKey;
//! use minhbach_ledger::cosignature::Cosigner;
//! use minhbach_ledger::note::{KeyName, Note};
//!
//! let body = "example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
//! let witness = Cosigner::new(KeyName::new("witness.example/w1")?, SigningKey::from_bytes(&[9u8; 32]));
//! let line = witness.cosign(body, 1_700_000_000)?;
//! let note = Note::new(body, vec![line])?;
//! let verified = note.verify(&[witness.verifier()])?;
//! assert_eq!(verified[0].timestamp, Some(1_700_000_000));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;

use crate::note::{KeyId, KeyName, NamedKey, NoteError, NoteSignature, SignatureType, VerifierKey};

/// The header line of the v1 signed message, with its newline.
pub const COSIGNATURE_V1_HEADER: &str = "cosignature/v1\n";

/// The largest allowed timestamp, `2^63 - 1` ("Format").
pub const MAX_TIMESTAMP: u64 = (1 << 63) - 1;

/// Length of a `timestamped_signature` for Ed25519: 8 + 64 bytes.
pub const COSIGNATURE_LEN: usize = 8 + 64;

/// Errors from cosigning and checking cosignatures.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CosignatureError {
    /// The Ed25519 signature does not verify over the signed message.
    #[error("cosignature does not verify")]
    InvalidSignature,
    /// A cosigner key string is malformed or of the wrong type.
    #[error("cosigner key: {0}")]
    Key(#[from] NoteError),
    /// The signature bytes are not a 72-byte `timestamped_signature`.
    #[error("cosignature is {len} bytes, expected {COSIGNATURE_LEN}")]
    MalformedSignature {
        /// The length found.
        len: usize,
    },
    /// The timestamp exceeds `2^63 - 1`.
    #[error("timestamp {timestamp} exceeds 2^63 - 1")]
    TimestampOutOfRange {
        /// The timestamp.
        timestamp: u64,
    },
}

/// A decoded `timestamped_signature` (Ed25519 case).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cosignature {
    /// POSIX timestamp, in seconds, at which the cosigner signed.
    pub timestamp: u64,
    /// The Ed25519 signature over [`signed_message`].
    pub signature: Signature,
}

impl Cosignature {
    /// Decodes the signature bytes that follow the key ID in a note
    /// signature line.
    ///
    /// # Errors
    /// [`CosignatureError::MalformedSignature`] for a wrong length and
    /// [`CosignatureError::TimestampOutOfRange`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CosignatureError> {
        let raw: &[u8; COSIGNATURE_LEN] = bytes
            .try_into()
            .map_err(|_| CosignatureError::MalformedSignature { len: bytes.len() })?;
        let (ts, sig) = raw.split_at(8);
        let mut ts_bytes = [0u8; 8];
        ts_bytes.copy_from_slice(ts);
        let timestamp = u64::from_be_bytes(ts_bytes);
        if timestamp > MAX_TIMESTAMP {
            return Err(CosignatureError::TimestampOutOfRange { timestamp });
        }
        let signature = Signature::from_slice(sig)
            .map_err(|_| CosignatureError::MalformedSignature { len: bytes.len() })?;
        Ok(Self {
            timestamp,
            signature,
        })
    }

    /// Encodes `timestamp (u64 big-endian) || signature`.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; COSIGNATURE_LEN] {
        let mut out = [0u8; COSIGNATURE_LEN];
        out[..8].copy_from_slice(&self.timestamp.to_be_bytes());
        out[8..].copy_from_slice(&self.signature.to_bytes());
        out
    }
}

/// The v1 signed message: `cosignature/v1\ntime <timestamp>\n` followed by
/// the checkpoint body ("Ed25519 signed message").
#[must_use]
pub fn signed_message(checkpoint_body: &str, timestamp: u64) -> Vec<u8> {
    let header = format!("{COSIGNATURE_V1_HEADER}time {timestamp}\n");
    let mut msg = Vec::with_capacity(header.len() + checkpoint_body.len());
    msg.extend_from_slice(header.as_bytes());
    msg.extend_from_slice(checkpoint_body.as_bytes());
    msg
}

/// Verifies a cosignature's bytes (after the key ID) over a checkpoint body
/// and returns its timestamp.
///
/// # Errors
/// [`CosignatureError::MalformedSignature`],
/// [`CosignatureError::TimestampOutOfRange`] and
/// [`CosignatureError::InvalidSignature`].
pub fn verify_cosignature(
    key: &VerifyingKey,
    checkpoint_body: &str,
    signature: &[u8],
) -> Result<u64, CosignatureError> {
    let cosig = Cosignature::from_bytes(signature)?;
    let msg = signed_message(checkpoint_body, cosig.timestamp);
    key.verify_strict(&msg, &cosig.signature)
        .map_err(|_| CosignatureError::InvalidSignature)?;
    Ok(cosig.timestamp)
}

/// An Ed25519 cosigner (signature type `0x04`), such as a witness.
///
/// Its [`Debug`] output shows the name and key ID, never the secret.
#[derive(Clone, Debug)]
pub struct Cosigner(NamedKey);

impl Cosigner {
    /// Wraps a signing key under a cosigner name.
    #[must_use]
    pub fn new(name: KeyName, key: SigningKey) -> Self {
        Self(NamedKey::new(name, SignatureType::CosignatureV1, key))
    }

    /// Generates a fresh key from the given random number generator.
    #[must_use]
    pub fn generate(name: KeyName, rng: &mut impl CryptoRngCore) -> Self {
        Self::new(name, SigningKey::generate(rng))
    }

    /// Parses a signer key string `PRIVATE+KEY+<name>+<id>+<base64(0x04 || seed)>`.
    ///
    /// # Errors
    /// [`CosignatureError::Key`] with the [`NoteError`] of the key parser, or
    /// [`NoteError::WrongKeyType`] if the key is not of type `0x04`.
    pub fn parse(s: &str) -> Result<Self, CosignatureError> {
        Ok(Self(NamedKey::parse(s, SignatureType::CosignatureV1)?))
    }

    /// Encodes the signer key string. The result contains the private key:
    /// write it only to protected storage and never log it.
    #[must_use]
    pub fn to_private_key_string(&self) -> String {
        self.0.to_private_key_string()
    }

    /// The cosigner name.
    #[must_use]
    pub fn name(&self) -> &KeyName {
        &self.0.name
    }

    /// The key ID.
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        self.0.key_id
    }

    /// The matching verifier key (type `0x04`).
    #[must_use]
    pub fn verifier(&self) -> VerifierKey {
        self.0.verifier()
    }

    /// Cosigns a checkpoint body (the note text, with its final newline and
    /// no signature lines) at `timestamp` and returns the signature line.
    ///
    /// The caller is responsible for the cosigner's promise: only cosign a
    /// checkpoint consistent with every one cosigned before.
    ///
    /// # Errors
    /// [`CosignatureError::TimestampOutOfRange`] if `timestamp > 2^63 - 1`.
    pub fn cosign(
        &self,
        checkpoint_body: &str,
        timestamp: u64,
    ) -> Result<NoteSignature, CosignatureError> {
        if timestamp > MAX_TIMESTAMP {
            return Err(CosignatureError::TimestampOutOfRange { timestamp });
        }
        let signature = self.0.key.sign(&signed_message(checkpoint_body, timestamp));
        let bytes = Cosignature {
            timestamp,
            signature,
        }
        .to_bytes();
        Ok(NoteSignature::new(
            self.0.name.clone(),
            self.0.key_id,
            bytes.to_vec(),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::note::{Note, Signer};

    const BODY: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    fn witness(seed: u8) -> Cosigner {
        Cosigner::new(
            KeyName::new("witness.example.com/w1").unwrap(),
            SigningKey::from_bytes(&[seed; 32]),
        )
    }

    #[test]
    fn known_answer_from_first_principles() {
        let ts = 1_679_315_147u64;
        let line = witness(7).cosign(BODY, ts).unwrap().to_line();

        let sk = SigningKey::from_bytes(&[7u8; 32]);
        let pk = sk.verifying_key();
        let mut h = Sha256::new();
        h.update(b"witness.example.com/w1\n\x04");
        h.update(pk.as_bytes());
        let id = h.finalize()[..4].to_vec();
        let msg = "cosignature/v1\ntime 1679315147\n\
                   example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let sig = ed25519_dalek::Signer::sign(&sk, msg.as_bytes());
        let mut raw = id.clone();
        raw.extend_from_slice(&ts.to_be_bytes());
        raw.extend_from_slice(&sig.to_bytes());
        assert_eq!(
            line,
            format!("\u{2014} witness.example.com/w1 {}\n", BASE64.encode(&raw))
        );

        let mut typed = vec![4u8];
        typed.extend_from_slice(pk.as_bytes());
        let vkey = format!(
            "witness.example.com/w1+{}+{}",
            hex::encode(&id),
            BASE64.encode(&typed)
        );
        assert_eq!(witness(7).verifier().to_string(), vkey);
    }

    #[test]
    fn signed_message_layout() {
        assert_eq!(
            signed_message("o\n1\nAAAA\n", 0),
            b"cosignature/v1\ntime 0\no\n1\nAAAA\n".to_vec()
        );
        assert_eq!(
            signed_message("x\n", MAX_TIMESTAMP),
            b"cosignature/v1\ntime 9223372036854775807\nx\n".to_vec()
        );
    }

    #[test]
    fn verify_in_note_loop_with_log_signature() {
        let log = Signer::new(
            KeyName::new("example.com/behind-the-sofa").unwrap(),
            SigningKey::from_bytes(&[1; 32]),
        );
        let w = witness(2);
        let note = Note::new(BODY, vec![log.sign(BODY), w.cosign(BODY, 42).unwrap()]).unwrap();
        let bytes = note.to_bytes();
        let parsed = Note::parse(&bytes).unwrap();
        let got = parsed.verify(&[log.verifier(), w.verifier()]).unwrap();
        assert_eq!(got[0].timestamp, None);
        assert_eq!(got[1].timestamp, Some(42));
        assert_eq!(got[1].verifier, 1);
    }

    #[test]
    fn cosignature_is_not_a_plain_signature() {
        // A 0x04 line never verifies under a 0x01 key of the same name and
        // key material: the key IDs differ, so it is simply unknown.
        let w = witness(2);
        let plain = VerifierKey::new(
            w.name().clone(),
            SignatureType::Ed25519,
            w.verifier().public_key().to_owned(),
        );
        let note = Note::new(BODY, vec![w.cosign(BODY, 1).unwrap()]).unwrap();
        assert_eq!(note.verify(&[plain]), Err(NoteError::NoKnownSignature));
    }

    #[test]
    fn rejections() {
        let w = witness(3);
        let pk = *w.verifier().public_key();
        let good = w.cosign(BODY, 5).unwrap();
        assert_eq!(verify_cosignature(&pk, BODY, good.signature()), Ok(5));

        assert_eq!(
            verify_cosignature(&pk, "other\n", good.signature()),
            Err(CosignatureError::InvalidSignature)
        );
        // Tampered timestamp.
        let mut bytes = good.signature().to_vec();
        bytes[7] ^= 1;
        assert_eq!(
            verify_cosignature(&pk, BODY, &bytes),
            Err(CosignatureError::InvalidSignature)
        );
        assert_eq!(
            verify_cosignature(&pk, BODY, &good.signature()[..71]),
            Err(CosignatureError::MalformedSignature { len: 71 })
        );
        let mut big = good.signature().to_vec();
        big[0] = 0x80;
        assert!(matches!(
            verify_cosignature(&pk, BODY, &big),
            Err(CosignatureError::TimestampOutOfRange { .. })
        ));
        assert_eq!(
            w.cosign(BODY, MAX_TIMESTAMP + 1),
            Err(CosignatureError::TimestampOutOfRange {
                timestamp: MAX_TIMESTAMP + 1
            })
        );
        assert!(w.cosign(BODY, MAX_TIMESTAMP).is_ok());

        // In the note loop a bad cosignature from a known witness rejects the note.
        let forged = NoteSignature::new(w.name().clone(), w.key_id(), bytes).unwrap();
        let note = Note::new(BODY, vec![forged]).unwrap();
        assert!(matches!(
            note.verify(&[w.verifier()]),
            Err(NoteError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn key_strings() {
        let w = witness(4);
        let s = w.to_private_key_string();
        assert!(s.starts_with("PRIVATE+KEY+witness.example.com/w1+"));
        let parsed = Cosigner::parse(&s).unwrap();
        assert_eq!(parsed.verifier(), w.verifier());
        assert_eq!(parsed.key_id(), w.key_id());
        assert!(!format!("{w:?}").contains(&BASE64.encode([4u8; 32])));

        let log = Signer::new(
            KeyName::new("log").unwrap(),
            SigningKey::from_bytes(&[1; 32]),
        );
        assert_eq!(
            Cosigner::parse(&log.to_private_key_string()).unwrap_err(),
            CosignatureError::Key(NoteError::WrongKeyType {
                expected: SignatureType::CosignatureV1,
                actual: SignatureType::Ed25519
            })
        );
        assert_eq!(
            Cosigner::parse("nonsense").unwrap_err(),
            CosignatureError::Key(NoteError::MalformedKey)
        );
    }

    #[test]
    fn cosignature_bytes_round_trip() {
        let w = witness(5);
        let line = w.cosign(BODY, 1234).unwrap();
        let c = Cosignature::from_bytes(line.signature()).unwrap();
        assert_eq!(c.timestamp, 1234);
        assert_eq!(c.to_bytes().as_slice(), line.signature());
    }

    proptest! {
        #[test]
        fn from_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = Cosignature::from_bytes(&bytes);
            let _ = verify_cosignature(witness(1).verifier().public_key(), BODY, &bytes);
        }

        #[test]
        fn cosign_verify_round_trip(ts in 0..=MAX_TIMESTAMP, seed in any::<u8>()) {
            let w = witness(seed);
            let line = w.cosign(BODY, ts).unwrap();
            prop_assert_eq!(verify_cosignature(w.verifier().public_key(), BODY, line.signature()), Ok(ts));
        }
    }
}
