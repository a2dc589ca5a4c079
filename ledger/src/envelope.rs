//! DSSE envelopes: the signed form of every statement (SPEC 4.2.3).
//!
//! A statement is signed as a [DSSE] envelope, so that signers sign exact bytes
//! and nobody needs JSON canonicalization. Each signature is an Ed25519
//! signature over the pre-authentication encoding ([`pae`], DSSE
//! `protocol.md`, "Signature Definition") of the payload type and the payload.
//! Several signers may sign the same envelope ("Multi-signature Verification").
//!
//! The JSON form (DSSE `envelope.md`, "Standard JSON envelope") is
//!
//! ```text
//! {"payloadType":"…","payload":"<base64>","signatures":[{"keyid":"<hex>","sig":"<base64>"}]}
//! ```
//!
//! What this module adds to DSSE, and why:
//! - `keyid` is **required** and is the lowercase hex of the first 16 bytes of
//!   SHA-256 of the signer's 32-byte Ed25519 public key (SPEC 4.1.2). It only
//!   selects the key; the signature is what authenticates.
//! - An envelope carries 1 to [`MAX_SIGNATURES`] signatures, with no keyid twice.
//! - Verification requires **every** signature to come from a known key and to
//!   verify under the rule of [`crate::ed25519`]: the cofactored Ed25519
//!   equation with strict encodings (no small-order keys or `R` points,
//!   canonical `s`), the same for single and batch verification, so a verdict
//!   never depends on how an envelope was checked.
//! - Parsing is strict: unknown or duplicate fields are rejected and base64 must
//!   be canonical and padded. DSSE `protocol.md` says verifiers must accept both
//!   the standard and the URL-safe alphabet, so both are accepted; output always
//!   uses the standard alphabet.
//!
//! What it does **not** do: it does not parse the payload or check the payload
//! type against [`STATEMENT_PAYLOAD_TYPE`]; the caller decides what to accept.
//!
//! [DSSE]: https://github.com/secure-systems-lab/dsse
//!
//! ```
//! use ed25519_dalek::SigningKey;
//! use minhbach_ledger::envelope::{Envelope, KeyId, STATEMENT_PAYLOAD_TYPE};
//!
//! let treasurer = SigningKey::from_bytes(&[1; 32]);
//! let auditor = SigningKey::from_bytes(&[2; 32]);
//! let statement = br#"{"type":"donation","id":"d-1","time":"2026-11-23T09:15:02Z"}"#;
//!
//! let mut envelope = Envelope::sign(STATEMENT_PAYLOAD_TYPE, statement.to_vec(), &treasurer);
//! envelope.add_signature(&auditor)?;
//!
//! let json = envelope.to_json();
//! let parsed = Envelope::from_json(&json)?;
//! let keys = [treasurer.verifying_key(), auditor.verifying_key()];
//! let signers = parsed.verify(|id| keys.iter().find(|k| KeyId::of(k) == *id).copied())?;
//! assert_eq!(signers, vec![KeyId::of(&keys[0]), KeyId::of(&keys[1])]);
//! # Ok::<(), minhbach_ledger::envelope::EnvelopeError>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::ed25519::{CheckedKey, Decoded};

/// The DSSE payload type of a minhbach statement (SPEC 4.2.3).
pub const STATEMENT_PAYLOAD_TYPE: &str = "application/vnd.minhbach.statement.v1+json";

/// The most signatures one envelope may carry.
pub const MAX_SIGNATURES: usize = 16;

/// Length in bytes of a [`KeyId`].
const KEY_ID_LEN: usize = 16;

/// Errors from parsing, signing and verifying envelopes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// A signature did not verify against its key (HTTP 400, `bad_signature`).
    #[error("signature by key {keyid} does not verify")]
    BadSignature {
        /// The keyid of the failing signature.
        keyid: KeyId,
    },
    /// Two signatures carry the same keyid (HTTP 400, `malformed`).
    #[error("key {keyid} signs the envelope more than once")]
    DuplicateKeyId {
        /// The repeated keyid.
        keyid: KeyId,
    },
    /// A field is not canonical, padded base64 (HTTP 400, `malformed`).
    #[error("field {field:?} is not valid base64")]
    InvalidBase64 {
        /// The JSON field: `"payload"` or `"sig"`.
        field: &'static str,
    },
    /// A keyid is not exactly 32 lowercase hexadecimal digits (HTTP 400, `malformed`).
    #[error("a keyid must be 32 lowercase hexadecimal digits")]
    InvalidKeyId,
    /// A signature does not decode to exactly 64 bytes (HTTP 400, `malformed`).
    #[error("an Ed25519 signature is 64 bytes, not {length}")]
    InvalidSignatureLength {
        /// The decoded length.
        length: usize,
    },
    /// The input is not a JSON envelope: syntax, missing, unknown or repeated
    /// fields, wrong types, trailing data (HTTP 400, `malformed`).
    #[error("malformed envelope JSON")]
    Json(#[source] serde_json::Error),
    /// The key lookup returned a key whose keyid is not the one asked for: a
    /// bug in the caller's key registry (HTTP 500).
    #[error("the key returned for keyid {keyid} has a different keyid")]
    KeyMismatch {
        /// The keyid that was looked up.
        keyid: KeyId,
    },
    /// The envelope has no signature (HTTP 400, `malformed`).
    #[error("the envelope has no signature")]
    NoSignatures,
    /// The envelope has more than [`MAX_SIGNATURES`] signatures (HTTP 400, `malformed`).
    #[error("{count} signatures, at most {max} allowed")]
    TooManySignatures {
        /// The number of signatures the envelope would have.
        count: usize,
        /// The limit, [`MAX_SIGNATURES`].
        max: usize,
    },
    /// A signature's keyid is not known to the verifier (HTTP 400, `unknown_key`).
    #[error("unknown key {keyid}")]
    UnknownKey {
        /// The unknown keyid.
        keyid: KeyId,
    },
}

/// The identifier of an Ed25519 signing key: the first 16 bytes of SHA-256 of
/// its 32-byte public key, written as 32 lowercase hexadecimal digits (SPEC 4.1.2).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId([u8; KEY_ID_LEN]);

impl KeyId {
    /// The keyid of `key`.
    #[must_use]
    pub fn of(key: &VerifyingKey) -> Self {
        let digest = Sha256::digest(key.as_bytes());
        let mut id = [0; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        Self(id)
    }

    /// A keyid from its 16 raw bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; KEY_ID_LEN]) -> Self {
        Self(bytes)
    }

    /// The 16 raw bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; KEY_ID_LEN] {
        &self.0
    }

    /// Parses exactly 32 lowercase hexadecimal digits.
    ///
    /// # Errors
    ///
    /// [`EnvelopeError::InvalidKeyId`] for any other string, including
    /// uppercase digits.
    pub fn parse(s: &str) -> Result<Self, EnvelopeError> {
        let digits = s.as_bytes();
        if digits.len() != 2 * KEY_ID_LEN {
            return Err(EnvelopeError::InvalidKeyId);
        }
        let mut id = [0; KEY_ID_LEN];
        for (byte, pair) in id.iter_mut().zip(digits.chunks_exact(2)) {
            *byte = (lower_hex_digit(pair[0])? << 4) | lower_hex_digit(pair[1])?;
        }
        Ok(Self(id))
    }
}

/// The value of one lowercase hexadecimal digit.
fn lower_hex_digit(c: u8) -> Result<u8, EnvelopeError> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        _ => Err(EnvelopeError::InvalidKeyId),
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl FromStr for KeyId {
    type Err = EnvelopeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for KeyId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// DSSE's pre-authentication encoding (DSSE `protocol.md`, "Signature Definition"):
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, where `LEN` is the
/// byte length in ASCII decimal with no leading zeros.
///
/// ```
/// use minhbach_ledger::envelope::pae;
///
/// assert_eq!(
///     pae("http://example.com/HelloWorld", b"hello world"),
///     b"DSSEv1 29 http://example.com/HelloWorld 11 hello world",
/// );
/// ```
#[must_use]
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let type_len = payload_type.len().to_string();
    let payload_len = payload.len().to_string();
    let mut out = Vec::with_capacity(
        6 + 4 + type_len.len() + payload_type.len() + payload_len.len() + payload.len(),
    );
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(type_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// One signature of an [`Envelope`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeSignature {
    /// Which key signed.
    pub keyid: KeyId,
    /// The Ed25519 signature over the envelope's [`pae`].
    pub sig: Signature,
}

/// A DSSE envelope with 1 to [`MAX_SIGNATURES`] Ed25519 signatures, no keyid
/// twice.
///
/// The invariants hold for every value: the only ways to build one are
/// [`Envelope::sign`] and the parsers. Signatures are not verified until
/// [`Envelope::verify`] is called.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    payload_type: String,
    payload: Vec<u8>,
    signatures: Vec<EnvelopeSignature>,
}

impl Envelope {
    /// Signs `payload` of type `payload_type` with `key`.
    #[must_use]
    pub fn sign(
        payload_type: impl Into<String>,
        payload: impl Into<Vec<u8>>,
        key: &SigningKey,
    ) -> Self {
        let payload_type = payload_type.into();
        let payload = payload.into();
        let sig = key.sign(&pae(&payload_type, &payload));
        Self {
            payload_type,
            payload,
            signatures: vec![EnvelopeSignature {
                keyid: KeyId::of(&key.verifying_key()),
                sig,
            }],
        }
    }

    /// Adds `key`'s signature (co-signing) and returns its keyid.
    ///
    /// The existing signatures are not checked.
    ///
    /// # Errors
    ///
    /// [`EnvelopeError::DuplicateKeyId`] if `key` already signed, and
    /// [`EnvelopeError::TooManySignatures`] if the envelope already has
    /// [`MAX_SIGNATURES`]; the envelope is unchanged on error.
    pub fn add_signature(&mut self, key: &SigningKey) -> Result<KeyId, EnvelopeError> {
        let keyid = KeyId::of(&key.verifying_key());
        if self.signatures.iter().any(|s| s.keyid == keyid) {
            return Err(EnvelopeError::DuplicateKeyId { keyid });
        }
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(EnvelopeError::TooManySignatures {
                count: self.signatures.len() + 1,
                max: MAX_SIGNATURES,
            });
        }
        let sig = key.sign(&self.pae());
        self.signatures.push(EnvelopeSignature { keyid, sig });
        Ok(keyid)
    }

    /// The payload type, e.g. [`STATEMENT_PAYLOAD_TYPE`].
    #[must_use]
    pub fn payload_type(&self) -> &str {
        &self.payload_type
    }

    /// The signed payload bytes.
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The signatures, in envelope order (never empty).
    #[must_use]
    pub fn signatures(&self) -> &[EnvelopeSignature] {
        &self.signatures
    }

    /// The bytes every signature signs: `pae(payload_type, payload)`.
    #[must_use]
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// Verifies every signature and returns the signers' keyids in envelope order.
    ///
    /// `lookup` maps a keyid to the signer's key, or `None` if the key is not
    /// trusted. Each signature is checked with [`crate::ed25519::verify`].
    ///
    /// # Errors
    ///
    /// The first failing signature, in envelope order, gives
    /// [`EnvelopeError::UnknownKey`] (lookup returned `None`),
    /// [`EnvelopeError::KeyMismatch`] (lookup returned another keyid's key) or
    /// [`EnvelopeError::BadSignature`].
    pub fn verify(
        &self,
        lookup: impl Fn(&KeyId) -> Option<VerifyingKey>,
    ) -> Result<Vec<KeyId>, EnvelopeError> {
        let message = self.pae();
        let mut signers = Vec::with_capacity(self.signatures.len());
        for s in &self.signatures {
            let key = known_key(&s.keyid, &lookup)?;
            if !crate::ed25519::verify(&key, &message, &s.sig) {
                return Err(EnvelopeError::BadSignature { keyid: s.keyid });
            }
            signers.push(s.keyid);
        }
        Ok(signers)
    }

    /// Verifies many envelopes at once with Ed25519 batch verification and
    /// returns, for each envelope in order, what [`Envelope::verify`] returns.
    ///
    /// Every signature is decoded once ([`crate::ed25519::Decoded`]) and all
    /// go into one [`crate::ed25519::verify_decoded_batch`] call, which costs
    /// a fraction of single verification per signature and accepts exactly
    /// what single verification accepts. If the batch fails, it is split in
    /// halves until the failing envelopes are found, and those are verified
    /// one by one, so each error is exactly the one [`Envelope::verify`]
    /// gives.
    ///
    /// Envelopes with an unknown key, a small-order key or `R`, or a
    /// non-canonical `s` skip the batch and are verified alone.
    #[must_use]
    pub fn verify_batch<'a, F>(
        envelopes: impl IntoIterator<Item = &'a Envelope>,
        lookup: F,
    ) -> Vec<Result<Vec<KeyId>, EnvelopeError>>
    where
        F: Fn(&KeyId) -> Option<VerifyingKey>,
    {
        Self::verify_batch_with(envelopes, lookup, &mut rand_core::OsRng)
    }

    /// [`Envelope::verify_batch`] with the batch weights drawn from `rng`
    /// (see [`crate::ed25519`]): tests pass a seeded generator.
    #[must_use]
    pub fn verify_batch_with<'a, F, R>(
        envelopes: impl IntoIterator<Item = &'a Envelope>,
        lookup: F,
        rng: &mut R,
    ) -> Vec<Result<Vec<KeyId>, EnvelopeError>>
    where
        F: Fn(&KeyId) -> Option<VerifyingKey>,
        R: rand_core::RngCore + rand_core::CryptoRng + ?Sized,
    {
        let envelopes: Vec<&Envelope> = envelopes.into_iter().collect();
        let mut results: Vec<Option<Result<Vec<KeyId>, EnvelopeError>>> =
            envelopes.iter().map(|_| None).collect();
        // Each key is looked up and checked once per call: `None` sends its
        // envelopes to the single path (unknown, mismatched or small-order).
        let mut keys: HashMap<KeyId, Option<CheckedKey>> = HashMap::new();
        let mut checked = |keyid: &KeyId| {
            *keys.entry(*keyid).or_insert_with(|| {
                known_key(keyid, &lookup)
                    .ok()
                    .and_then(|k| CheckedKey::new(&k))
            })
        };
        let mut batch = Vec::new();
        for (i, envelope) in envelopes.iter().enumerate() {
            match BatchItem::prepare(i, envelope, &mut checked) {
                Some(item) => batch.push(item),
                None => results[i] = Some(envelope.verify(&lookup)),
            }
        }
        verify_group(&batch, &envelopes, &lookup, &mut results, rng);
        results
            .into_iter()
            .zip(&envelopes)
            // Every slot is filled above or by `verify_group`; verifying
            // again is only a fallback that cannot be reached.
            .map(|(result, envelope)| result.unwrap_or_else(|| envelope.verify(&lookup)))
            .collect()
    }

    /// Parses the JSON form strictly (see the module documentation).
    ///
    /// # Errors
    ///
    /// [`EnvelopeError::Json`] for JSON that is not an envelope object with
    /// exactly the fields `payloadType`, `payload` and `signatures` (each
    /// signature exactly `keyid` and `sig`); then the errors of the field
    /// checks: [`EnvelopeError::InvalidBase64`],
    /// [`EnvelopeError::InvalidKeyId`],
    /// [`EnvelopeError::InvalidSignatureLength`],
    /// [`EnvelopeError::NoSignatures`],
    /// [`EnvelopeError::TooManySignatures`],
    /// [`EnvelopeError::DuplicateKeyId`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let wire: WireEnvelope = serde_json::from_slice(bytes).map_err(EnvelopeError::Json)?;
        Self::try_from(wire)
    }

    /// The compact JSON form, with fields in the order `payloadType`,
    /// `payload`, `signatures` (`keyid`, `sig`) and standard padded base64.
    /// Equal envelopes give equal bytes.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            64 + self.payload_type.len() + self.payload.len() * 4 / 3 + 140 * self.signatures.len(),
        );
        self.write_json(&mut out);
        out
    }

    /// Appends the compact JSON form ([`Envelope::to_json`]) to `out`:
    /// written directly, byte for byte what serializing the wire form with
    /// `serde_json` gives (a test checks it), without the intermediate
    /// strings, because every leaf parsed is encoded again to check it is
    /// canonical.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"payloadType\":");
        // Writing a string to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &self.payload_type);
        out.extend_from_slice(b",\"payload\":\"");
        push_base64(out, &self.payload);
        out.extend_from_slice(b"\",\"signatures\":[");
        for (i, s) in self.signatures.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"keyid\":\"");
            let start = out.len();
            out.resize(start + 2 * KEY_ID_LEN, 0);
            // The buffer is exactly twice the keyid's length.
            let _ = hex::encode_to_slice(s.keyid.0, &mut out[start..]);
            out.extend_from_slice(b"\",\"sig\":\"");
            push_base64(out, &s.sig.to_bytes());
            out.extend_from_slice(b"\"}");
        }
        out.extend_from_slice(b"]}");
    }
}

/// Looks up `keyid` and checks the returned key really has that keyid.
fn known_key(
    keyid: &KeyId,
    lookup: &impl Fn(&KeyId) -> Option<VerifyingKey>,
) -> Result<VerifyingKey, EnvelopeError> {
    let key = lookup(keyid).ok_or(EnvelopeError::UnknownKey { keyid: *keyid })?;
    if KeyId::of(&key) != *keyid {
        return Err(EnvelopeError::KeyMismatch { keyid: *keyid });
    }
    Ok(key)
}

/// One envelope's share of a batch: its index and its decoded signatures.
struct BatchItem {
    index: usize,
    signatures: Vec<Decoded>,
}

impl BatchItem {
    /// Decodes what batch verification needs, or `None` if the envelope must
    /// be verified alone (unknown key, or an encoding that can never verify:
    /// the single path names the failing signature).
    fn prepare(
        index: usize,
        envelope: &Envelope,
        key: &mut impl FnMut(&KeyId) -> Option<CheckedKey>,
    ) -> Option<Self> {
        let message = envelope.pae();
        let mut signatures = Vec::with_capacity(envelope.signatures.len());
        for s in &envelope.signatures {
            let key = key(&s.keyid)?;
            signatures.push(Decoded::with_key(&key, &message, &s.sig)?);
        }
        Some(Self { index, signatures })
    }
}

/// Batch-verifies `group`, splitting it in halves on failure until each
/// failing envelope is verified alone.
fn verify_group<F, R>(
    group: &[BatchItem],
    envelopes: &[&Envelope],
    lookup: &F,
    results: &mut [Option<Result<Vec<KeyId>, EnvelopeError>>],
    rng: &mut R,
) where
    F: Fn(&KeyId) -> Option<VerifyingKey>,
    R: rand_core::RngCore + rand_core::CryptoRng + ?Sized,
{
    let signers = |item: &BatchItem| -> Vec<KeyId> {
        envelopes[item.index]
            .signatures
            .iter()
            .map(|s| s.keyid)
            .collect()
    };
    match group {
        [] => {}
        [item] => {
            // Alone: the decoded signatures verify one by one (no second
            // decoding); a failure is named by the single path.
            results[item.index] = Some(if item.signatures.iter().all(|d| d.verify()) {
                Ok(signers(item))
            } else {
                envelopes[item.index].verify(lookup)
            });
        }
        _ => {
            let decoded: Vec<&Decoded> = group.iter().flat_map(|item| &item.signatures).collect();
            if crate::ed25519::verify_decoded_batch_with(&decoded, rng) {
                for item in group {
                    results[item.index] = Some(Ok(signers(item)));
                }
            } else {
                let (left, right) = group.split_at(group.len() / 2);
                verify_group(left, envelopes, lookup, results, rng);
                verify_group(right, envelopes, lookup, results, rng);
            }
        }
    }
}

/// The JSON form of an envelope, before the field checks.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireEnvelope {
    #[serde(rename = "payloadType")]
    payload_type: String,
    payload: String,
    signatures: Vec<WireSignature>,
}

/// The JSON form of one signature, before the field checks.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireSignature {
    keyid: String,
    sig: String,
}

impl From<&Envelope> for WireEnvelope {
    fn from(envelope: &Envelope) -> Self {
        Self {
            payload_type: envelope.payload_type.clone(),
            payload: STANDARD.encode(&envelope.payload),
            signatures: envelope
                .signatures
                .iter()
                .map(|s| WireSignature {
                    keyid: s.keyid.to_string(),
                    sig: STANDARD.encode(s.sig.to_bytes()),
                })
                .collect(),
        }
    }
}

impl TryFrom<WireEnvelope> for Envelope {
    type Error = EnvelopeError;

    fn try_from(wire: WireEnvelope) -> Result<Self, Self::Error> {
        if wire.signatures.is_empty() {
            return Err(EnvelopeError::NoSignatures);
        }
        if wire.signatures.len() > MAX_SIGNATURES {
            return Err(EnvelopeError::TooManySignatures {
                count: wire.signatures.len(),
                max: MAX_SIGNATURES,
            });
        }
        let payload = decode_base64(&wire.payload, "payload")?;
        let mut signatures: Vec<EnvelopeSignature> = Vec::with_capacity(wire.signatures.len());
        for s in &wire.signatures {
            let keyid = KeyId::parse(&s.keyid)?;
            if signatures.iter().any(|seen| seen.keyid == keyid) {
                return Err(EnvelopeError::DuplicateKeyId { keyid });
            }
            let bytes = decode_base64(&s.sig, "sig")?;
            let sig = Signature::from_slice(&bytes).map_err(|_| {
                EnvelopeError::InvalidSignatureLength {
                    length: bytes.len(),
                }
            })?;
            signatures.push(EnvelopeSignature { keyid, sig });
        }
        Ok(Self {
            payload_type: wire.payload_type,
            payload,
            signatures,
        })
    }
}

impl Serialize for Envelope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        WireEnvelope::from(self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = WireEnvelope::deserialize(deserializer)?;
        Self::try_from(wire).map_err(serde::de::Error::custom)
    }
}

/// Appends the standard, padded base64 of `bytes` to `out`.
fn push_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + bytes.len().div_ceil(3) * 4, 0);
    // The buffer is exactly the padded encoded length.
    let _ = STANDARD.encode_slice(bytes, &mut out[start..]);
}

/// Decodes canonical, padded base64 in the standard or the URL-safe alphabet.
fn decode_base64(s: &str, field: &'static str) -> Result<Vec<u8>, EnvelopeError> {
    STANDARD
        .decode(s)
        .or_else(|_| URL_SAFE.decode(s))
        .map_err(|_| EnvelopeError::InvalidBase64 { field })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Seeded batch weights (see [`crate::ed25519`]): no verdict here depends
    /// on luck.
    fn weights() -> rand::rngs::StdRng {
        use rand::SeedableRng as _;
        rand::rngs::StdRng::seed_from_u64(0x656e_7665_6c6f_7065)
    }

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    /// A lookup that knows the keys with these seeds.
    fn registry(seeds: &[u8]) -> impl Fn(&KeyId) -> Option<VerifyingKey> + use<> {
        let keys: Vec<VerifyingKey> = seeds.iter().map(|s| key(*s).verifying_key()).collect();
        move |id| keys.iter().find(|k| KeyId::of(k) == *id).copied()
    }

    fn statement() -> Vec<u8> {
        br#"{"type":"donation","id":"01890000-0000-7000-8000-000000000001","time":"2026-11-23T09:15:02Z","amount":500000}"#.to_vec()
    }

    fn signed(seeds: &[u8]) -> Envelope {
        let mut envelope = Envelope::sign(STATEMENT_PAYLOAD_TYPE, statement(), &key(seeds[0]));
        for s in &seeds[1..] {
            envelope.add_signature(&key(*s)).unwrap();
        }
        envelope
    }

    /// Replaces the first occurrence of `from` in the JSON form.
    fn edit(envelope: &Envelope, from: &str, to: &str) -> Vec<u8> {
        let json = String::from_utf8(envelope.to_json()).unwrap();
        assert!(json.contains(from), "{json} lacks {from}");
        json.replacen(from, to, 1).into_bytes()
    }

    #[test]
    fn pae_known_answer() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
        // Lengths are byte lengths, not character counts.
        assert_eq!(
            pae("é", "ß".as_bytes()),
            "DSSEv1 2 é 2 ß".as_bytes().to_vec()
        );
    }

    #[test]
    fn keyid_is_truncated_sha256_of_the_public_key() {
        let vk = key(1).verifying_key();
        let digest = Sha256::digest(vk.as_bytes());
        let id = KeyId::of(&vk);
        assert_eq!(id.to_string(), hex::encode(&digest[..16]));
        assert_eq!(id.to_string().len(), 32);
        assert_eq!(KeyId::parse(&id.to_string()).unwrap(), id);
        assert_eq!(id.to_string().parse::<KeyId>().unwrap(), id);
        assert_eq!(KeyId::from_bytes(*id.as_bytes()), id);
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{id}\""));
        assert_eq!(
            serde_json::from_str::<KeyId>(&format!("\"{id}\"")).unwrap(),
            id
        );
    }

    #[test]
    fn keyid_parse_rejects_bad_hex() {
        let good = KeyId::of(&key(1).verifying_key()).to_string();
        let bad = [
            String::new(),
            good[..31].to_string(),
            format!("{good}0"),
            good.to_uppercase(),
            format!("{}g", &good[..31]),
            format!("+{}", &good[1..]),
            format!(" {}", &good[1..]),
            "é".repeat(16),
        ];
        for s in bad {
            assert!(
                matches!(KeyId::parse(&s), Err(EnvelopeError::InvalidKeyId)),
                "{s:?}"
            );
        }
    }

    #[test]
    fn sign_and_verify() {
        let envelope = signed(&[1]);
        assert_eq!(envelope.payload_type(), STATEMENT_PAYLOAD_TYPE);
        assert_eq!(envelope.payload(), statement().as_slice());
        assert_eq!(envelope.signatures().len(), 1);
        assert_eq!(
            envelope.verify(registry(&[1, 2])).unwrap(),
            vec![KeyId::of(&key(1).verifying_key())]
        );
        // Ed25519 signing is deterministic: fixed seeds give fixed bytes.
        assert_eq!(signed(&[1]).to_json(), envelope.to_json());
    }

    #[test]
    fn cosign_and_verify_in_order() {
        let envelope = signed(&[3, 1, 2]);
        let ids: Vec<KeyId> = [3, 1, 2]
            .iter()
            .map(|s| KeyId::of(&key(*s).verifying_key()))
            .collect();
        assert_eq!(envelope.verify(registry(&[1, 2, 3])).unwrap(), ids);
        let parsed = Envelope::from_json(&envelope.to_json()).unwrap();
        assert_eq!(parsed, envelope);
        assert_eq!(parsed.verify(registry(&[1, 2, 3])).unwrap(), ids);
    }

    #[test]
    fn add_signature_rejects_a_duplicate_and_leaves_the_envelope_alone() {
        let mut envelope = signed(&[1, 2]);
        let before = envelope.clone();
        let err = envelope.add_signature(&key(2)).unwrap_err();
        assert!(
            matches!(err, EnvelopeError::DuplicateKeyId { keyid } if keyid == KeyId::of(&key(2).verifying_key()))
        );
        assert_eq!(envelope, before);
    }

    #[test]
    fn add_signature_stops_at_the_limit() {
        let seeds: Vec<u8> = (1..=16).collect();
        let mut envelope = signed(&seeds);
        assert_eq!(envelope.signatures().len(), MAX_SIGNATURES);
        let err = envelope.add_signature(&key(17)).unwrap_err();
        assert!(matches!(
            err,
            EnvelopeError::TooManySignatures { count: 17, max: 16 }
        ));
        assert_eq!(envelope.verify(registry(&seeds)).unwrap().len(), 16);
    }

    #[test]
    fn verify_rejects_an_unknown_key() {
        let envelope = signed(&[1, 2]);
        let err = envelope.verify(registry(&[1])).unwrap_err();
        assert!(
            matches!(err, EnvelopeError::UnknownKey { keyid } if keyid == KeyId::of(&key(2).verifying_key()))
        );
    }

    #[test]
    fn verify_rejects_a_lookup_that_returns_the_wrong_key() {
        let envelope = signed(&[1]);
        let err = envelope
            .verify(|_| Some(key(2).verifying_key()))
            .unwrap_err();
        assert!(matches!(err, EnvelopeError::KeyMismatch { .. }));
    }

    #[test]
    fn verify_rejects_a_bad_signature() {
        // A signature by key 2 filed under key 1's keyid.
        let by_two = signed(&[2]);
        let mut envelope = signed(&[1]);
        envelope.signatures[0].sig = by_two.signatures[0].sig;
        let err = envelope.verify(registry(&[1, 2])).unwrap_err();
        assert!(
            matches!(err, EnvelopeError::BadSignature { keyid } if keyid == KeyId::of(&key(1).verifying_key()))
        );

        // A changed payload breaks every signature; the first is reported.
        let mut envelope = signed(&[1, 2]);
        envelope.payload.push(b' ');
        assert!(matches!(
            envelope.verify(registry(&[1, 2])),
            Err(EnvelopeError::BadSignature { keyid }) if keyid == KeyId::of(&key(1).verifying_key())
        ));

        // So does a changed payload type.
        let mut envelope = signed(&[1]);
        envelope.payload_type.push('x');
        assert!(matches!(
            envelope.verify(registry(&[1])),
            Err(EnvelopeError::BadSignature { .. })
        ));
    }

    #[test]
    fn verify_reports_the_first_failure_in_order() {
        let mut envelope = signed(&[1, 2]);
        envelope.signatures[0].sig = Signature::from_bytes(&[0; 64]);
        // Key 2 unknown, but signature 1 fails first.
        assert!(matches!(
            envelope.verify(registry(&[1])),
            Err(EnvelopeError::BadSignature { keyid }) if keyid == KeyId::of(&key(1).verifying_key())
        ));
    }

    #[test]
    fn json_shape_is_exact() {
        let envelope = Envelope::sign("http://example.com/HelloWorld", *b"hello world", &key(1));
        let json = String::from_utf8(envelope.to_json()).unwrap();
        let keyid = KeyId::of(&key(1).verifying_key());
        let sig = STANDARD.encode(envelope.signatures()[0].sig.to_bytes());
        assert_eq!(
            json,
            format!(
                r#"{{"payloadType":"http://example.com/HelloWorld","payload":"aGVsbG8gd29ybGQ=","signatures":[{{"keyid":"{keyid}","sig":"{sig}"}}]}}"#
            )
        );
        assert_eq!(serde_json::to_string(&envelope).unwrap(), json);
        assert_eq!(serde_json::from_str::<Envelope>(&json).unwrap(), envelope);
    }

    #[test]
    fn from_json_accepts_whitespace_field_order_and_url_safe_base64() {
        let envelope = signed(&[1]);
        let keyid = envelope.signatures()[0].keyid;
        let sig = envelope.signatures()[0].sig.to_bytes();
        let json = format!(
            "{{ \"signatures\" : [ {{ \"sig\": \"{}\", \"keyid\": \"{keyid}\" }} ],\n \"payload\": \"{}\", \"payloadType\": \"{STATEMENT_PAYLOAD_TYPE}\" }}\n",
            URL_SAFE.encode(sig),
            URL_SAFE.encode(statement()),
        );
        assert_eq!(Envelope::from_json(json.as_bytes()).unwrap(), envelope);
    }

    #[test]
    fn from_json_rejects_unknown_missing_and_repeated_fields() {
        let envelope = signed(&[1]);
        let cases = [
            edit(
                &envelope,
                "{\"payloadType\"",
                "{\"extra\":1,\"payloadType\"",
            ),
            edit(&envelope, "\"keyid\"", "\"extra\":null,\"keyid\""),
            edit(&envelope, "\"payloadType\"", "\"payloadtype\""),
            edit(
                &envelope,
                "{\"payloadType\"",
                "{\"payload\":\"\",\"payloadType\"",
            ),
            edit(&envelope, "\"signatures\":[", "\"signatures\":null,\"x\":["),
            br#"{"payloadType":"t","signatures":[]}"#.to_vec(),
            b"[]".to_vec(),
            b"".to_vec(),
            b"null".to_vec(),
            [envelope.to_json(), b"{}".to_vec()].concat(),
        ];
        for json in cases {
            assert!(
                matches!(Envelope::from_json(&json), Err(EnvelopeError::Json(_))),
                "{}",
                String::from_utf8_lossy(&json)
            );
        }
    }

    #[test]
    fn from_json_rejects_bad_base64() {
        let envelope = Envelope::sign("t", *b"hello world", &key(1));
        let sig = STANDARD.encode(envelope.signatures()[0].sig.to_bytes());
        for (from, to, field) in [
            ("aGVsbG8gd29ybGQ=", "aGVsbG8gd29ybGQ", "payload"), // missing padding
            ("aGVsbG8gd29ybGQ=", "aGVsbG8gd29ybGR=", "payload"), // non-zero trailing bits
            ("aGVsbG8gd29ybGQ=", "aGVsbG8g d29ybGQ=", "payload"), // whitespace
            ("aGVsbG8gd29ybGQ=", "aGVsbG8gd29ybGQ==", "payload"), // extra padding
            ("aGVsbG8gd29ybGQ=", "aGVsbG8*d29ybGQ=", "payload"), // not an alphabet
            (&sig[..], "!!!!", "sig"),
        ] {
            let json = edit(&envelope, from, to);
            assert!(
                matches!(Envelope::from_json(&json), Err(EnvelopeError::InvalidBase64 { field: f }) if f == field),
                "{to}"
            );
        }
        // Mixed alphabets are rejected.
        let json = edit(
            &envelope,
            "\"payload\":\"aGVsbG8gd29ybGQ=\"",
            "\"payload\":\"+-==\"",
        );
        assert!(matches!(
            Envelope::from_json(&json),
            Err(EnvelopeError::InvalidBase64 { field: "payload" })
        ));
    }

    #[test]
    fn from_json_rejects_wrong_signature_lengths() {
        let envelope = signed(&[1]);
        let sig = STANDARD.encode(envelope.signatures()[0].sig.to_bytes());
        for length in [0, 1, 63, 65, 128] {
            let json = edit(&envelope, &sig, &STANDARD.encode(vec![7; length]));
            assert!(
                matches!(Envelope::from_json(&json), Err(EnvelopeError::InvalidSignatureLength { length: l }) if l == length),
                "{length}"
            );
        }
    }

    #[test]
    fn from_json_rejects_bad_keyids() {
        let envelope = signed(&[1]);
        let keyid = envelope.signatures()[0].keyid.to_string();
        for bad in [keyid.to_uppercase(), keyid[..30].to_string(), String::new()] {
            let json = edit(&envelope, &keyid, &bad);
            assert!(matches!(
                Envelope::from_json(&json),
                Err(EnvelopeError::InvalidKeyId)
            ));
        }
    }

    #[test]
    fn from_json_rejects_no_duplicate_and_too_many_signatures() {
        let json = br#"{"payloadType":"t","payload":"","signatures":[]}"#;
        assert!(matches!(
            Envelope::from_json(json),
            Err(EnvelopeError::NoSignatures)
        ));

        let envelope = signed(&[1]);
        let json = String::from_utf8(envelope.to_json()).unwrap();
        let start = json.find("[{").unwrap() + 1;
        let one = &json[start..json.len() - 2];
        let twice = json.replacen(one, &format!("{one},{one}"), 1);
        assert!(matches!(
            Envelope::from_json(twice.as_bytes()),
            Err(EnvelopeError::DuplicateKeyId { keyid }) if keyid == envelope.signatures()[0].keyid
        ));

        let seeds: Vec<u8> = (1..=16).collect();
        let full = signed(&seeds);
        let json = String::from_utf8(full.to_json()).unwrap();
        let extra = String::from_utf8(signed(&[17]).to_json()).unwrap();
        let start = extra.find("[{").unwrap() + 1;
        let one = &extra[start..extra.len() - 2];
        let seventeen = json.replacen("\"signatures\":[", &format!("\"signatures\":[{one},"), 1);
        assert!(matches!(
            Envelope::from_json(seventeen.as_bytes()),
            Err(EnvelopeError::TooManySignatures { count: 17, max: 16 })
        ));
    }

    #[test]
    fn batch_verification_matches_single_verification() {
        let good: Vec<Envelope> = (1..=6).map(|s| signed(&[s, s + 10])).collect();
        let lookup = registry(&(1..=20).collect::<Vec<u8>>());
        let results = Envelope::verify_batch_with(&good, &lookup, &mut weights());
        for (envelope, result) in good.iter().zip(&results) {
            assert_eq!(result.as_ref().unwrap(), &envelope.verify(&lookup).unwrap());
        }
        assert!(
            Envelope::verify_batch_with(std::iter::empty(), &lookup, &mut weights()).is_empty()
        );

        // Break some: a bad signature, an unknown key, a zero R, a changed payload.
        let mut mixed = good.clone();
        mixed[1].signatures[1].sig = mixed[2].signatures[1].sig;
        mixed[3] = signed(&[4, 30]);
        mixed[4].signatures[0].sig = Signature::from_bytes(&[0; 64]);
        mixed[5].payload.push(b'!');
        let results = Envelope::verify_batch_with(&mixed, &lookup, &mut weights());
        for (envelope, result) in mixed.iter().zip(&results) {
            assert_eq!(
                format!("{result:?}"),
                format!("{:?}", envelope.verify(&lookup))
            );
        }
        assert!(results[0].is_ok() && results[2].is_ok());
        assert!(matches!(
            results[1],
            Err(EnvelopeError::BadSignature { .. })
        ));
        assert!(matches!(results[3], Err(EnvelopeError::UnknownKey { .. })));
        assert!(matches!(
            results[4],
            Err(EnvelopeError::BadSignature { .. })
        ));
        assert!(matches!(
            results[5],
            Err(EnvelopeError::BadSignature { .. })
        ));
    }

    #[test]
    fn batch_verification_finds_every_culprit_in_a_large_batch() {
        let lookup = registry(&[1, 2, 3]);
        let mut envelopes: Vec<Envelope> = (0..40u32)
            .map(|i| {
                let mut e = Envelope::sign("t", i.to_be_bytes(), &key(1));
                e.add_signature(&key(2)).unwrap();
                e
            })
            .collect();
        for i in [0, 17, 18, 39] {
            envelopes[i].payload.push(0);
        }
        let results = Envelope::verify_batch_with(&envelopes, &lookup, &mut weights());
        for (i, result) in results.iter().enumerate() {
            assert_eq!(result.is_err(), [0, 17, 18, 39].contains(&i), "{i}");
        }
    }

    proptest! {
        /// The hand-written JSON is exactly the serde form of the wire
        /// struct, whatever the payload type holds (quotes, controls, any
        /// Unicode) and however many signatures.
        #[test]
        fn write_json_is_the_serde_form(
            payload_type in "\\PC{0,20}|[\"\\\\\u{0}-\u{1f}\u{7f}é]{0,8}",
            payload in proptest::collection::vec(any::<u8>(), 0..100),
            signers in 1u8..4,
        ) {
            let mut e = Envelope::sign(payload_type, payload, &key(1));
            for seed in 2..=signers {
                e.add_signature(&key(seed)).unwrap();
            }
            let serde_form = serde_json::to_vec(&WireEnvelope::from(&e)).unwrap();
            prop_assert_eq!(&e.to_json(), &serde_form);
            prop_assert_eq!(Envelope::from_json(&serde_form).unwrap(), e);
        }

        #[test]
        fn from_json_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Envelope::from_json(&bytes);
        }

        #[test]
        fn from_json_never_panics_on_near_envelopes(
            payload_type in ".{0,20}",
            payload in "[A-Za-z0-9+/=_-]{0,20}",
            keyid in "[0-9a-fA-F]{30,34}",
            sig in "[A-Za-z0-9+/=_-]{0,100}",
        ) {
            let json = serde_json::json!({
                "payloadType": payload_type,
                "payload": payload,
                "signatures": [{"keyid": keyid, "sig": sig}],
            });
            let _ = Envelope::from_json(json.to_string().as_bytes());
        }

        #[test]
        fn json_round_trip_is_identity(
            payload_type in ".{0,40}",
            payload in proptest::collection::vec(any::<u8>(), 0..300),
            seeds in proptest::collection::btree_set(1u8..=255, 1..5),
        ) {
            let seeds: Vec<u8> = seeds.into_iter().collect();
            let mut envelope = Envelope::sign(payload_type, payload, &key(seeds[0]));
            for s in &seeds[1..] {
                envelope.add_signature(&key(*s)).unwrap();
            }
            let json = envelope.to_json();
            let parsed = Envelope::from_json(&json).unwrap();
            prop_assert_eq!(&parsed, &envelope);
            prop_assert_eq!(parsed.to_json(), json);
            prop_assert_eq!(parsed.verify(registry(&seeds)).unwrap().len(), seeds.len());
        }
    }
}
