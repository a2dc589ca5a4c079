//! Identifiers: statement ids, slugs, digests, references to log entries,
//! signer keys, external (bank) references.

use std::fmt;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Why an identifier is rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentError {
    /// The value does not have the shape its kind requires.
    #[error("invalid {kind}: {value:?}")]
    Invalid {
        /// What kind of identifier was expected (`statement id`, `slug`, ...).
        kind: &'static str,
        /// The rejected value (truncated to 80 characters).
        value: String,
    },
}

fn invalid(kind: &'static str, value: &str) -> IdentError {
    IdentError::Invalid {
        kind,
        value: value.chars().take(80).collect(),
    }
}

/// A statement's client-chosen unique id (e.g. a UUIDv7): 1 to 64 characters
/// from `A–Z a–z 0–9 . _ : -`, starting with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatementId(Box<str>);

impl StatementId {
    /// Validates a statement id.
    ///
    /// # Errors
    /// [`IdentError`] when the id has the wrong shape.
    pub fn new(s: &str) -> Result<Self, IdentError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.as_bytes()[0].is_ascii_alphanumeric()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if ok {
            Ok(Self(s.into()))
        } else {
            Err(invalid("statement id", s))
        }
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A short stable name for a campaign, account or unit-rate category:
/// 1 to 64 characters from `a–z 0–9 . _ -`, starting with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slug(Box<str>);

impl Slug {
    /// Validates a slug.
    ///
    /// # Errors
    /// [`IdentError`] when the slug has the wrong shape.
    pub fn new(s: &str) -> Result<Self, IdentError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && (s.as_bytes()[0].is_ascii_lowercase() || s.as_bytes()[0].is_ascii_digit())
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            });
        if ok {
            Ok(Self(s.into()))
        } else {
            Err(invalid("slug", s))
        }
    }

    /// The slug as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An external reference (a bank transaction id, an e-wallet reference, a cash
/// receipt number): 1 to 128 printable ASCII characters, no spaces.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExternalRef(Box<str>);

impl ExternalRef {
    /// Validates an external reference.
    ///
    /// # Errors
    /// [`IdentError`] when the reference has the wrong shape.
    pub fn new(s: &str) -> Result<Self, IdentError> {
        let ok = !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(s.into()))
        } else {
            Err(invalid("external reference", s))
        }
    }

    /// The reference as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A public account number or alias of an official receiving account
/// (1 to 34 ASCII letters or digits, the IBAN maximum).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountNumber(Box<str>);

impl AccountNumber {
    /// Validates an account number.
    ///
    /// # Errors
    /// [`IdentError`] when the number has the wrong shape.
    pub fn new(s: &str) -> Result<Self, IdentError> {
        let ok = !s.is_empty() && s.len() <= 34 && s.bytes().all(|b| b.is_ascii_alphanumeric());
        if ok {
            Ok(Self(s.into()))
        } else {
            Err(invalid("account number", s))
        }
    }

    /// The number as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The log's origin as written in genesis (C2SP checkpoint origin line: printable
/// ASCII without spaces, 1 to 255 bytes).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin(Box<str>);

impl Origin {
    /// Validates an origin.
    ///
    /// # Errors
    /// [`IdentError`] when the origin has the wrong shape.
    pub fn new(s: &str) -> Result<Self, IdentError> {
        let ok = !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(s.into()))
        } else {
            Err(invalid("origin", s))
        }
    }

    /// The origin as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A SHA-256 value as statements and the books carry it: 32 bytes written as
/// 64 lowercase hex digits (a referenced entry's leaf hash, an evidence or
/// text hash).
///
/// The one rule for the two 32-byte types: [`crate::merkle::Hash`] is a value
/// the Merkle layer computes and proves (leaf and node hashes, roots; base64
/// in the C2SP formats); `Digest` is a value a statement or a record names.
/// Where a leaf hash crosses from the log into the books it is converted with
/// `From`, never by reaching into the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(pub [u8; 32]);

impl From<crate::merkle::Hash> for Digest {
    fn from(hash: crate::merkle::Hash) -> Self {
        Self(hash.0)
    }
}

impl From<Digest> for crate::merkle::Hash {
    fn from(digest: Digest) -> Self {
        Self(digest.0)
    }
}

impl Digest {
    /// Parses 64 lowercase hex digits.
    ///
    /// # Errors
    /// [`IdentError`] when the text is not 64 lowercase hex digits.
    pub fn from_hex(s: &str) -> Result<Self, IdentError> {
        parse_lower_hex::<32>(s)
            .map(Self)
            .ok_or_else(|| invalid("sha-256 hex digest", s))
    }

    /// The digest as lowercase hex.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

pub(crate) fn parse_lower_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// A reference to a log entry: its index and its leaf hash, so a reference can
/// never silently point at another entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryRef {
    /// The entry's index in the log.
    pub index: u64,
    /// The entry's RFC 9162 leaf hash.
    pub leaf_hash: Digest,
}

/// A signer's key id (SPEC 4.1.2): the envelope's key id, re-exported so
/// statements and envelopes name keys the same way.
pub use crate::envelope::KeyId;

/// A raw Ed25519 public key, written as standard base64 (44 characters).
///
/// The statement layer only checks the length; the envelope layer checks that
/// it decodes to a curve point when it verifies signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// Parses standard padded base64 of exactly 32 bytes.
    ///
    /// # Errors
    /// [`IdentError`] when the text is not base64 of 32 bytes.
    pub fn from_base64(s: &str) -> Result<Self, IdentError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|_| invalid("ed25519 public key (base64)", s))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| invalid("ed25519 public key (base64)", s))?;
        Ok(Self(arr))
    }

    /// The key as standard base64.
    #[must_use]
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    /// The key's id (SPEC 4.1.2).
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        let h = Sha256::digest(self.0);
        let mut out = [0u8; 16];
        out.copy_from_slice(&h[..16]);
        KeyId::from_bytes(out)
    }
}

macro_rules! display_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
display_str!(StatementId, Slug, ExternalRef, AccountNumber, Origin);

super::string_serde!(StatementId);
super::string_serde!(Slug);
super::string_serde!(ExternalRef);
super::string_serde!(AccountNumber);
super::string_serde!(Origin);
super::string_serde!(Digest, from_hex, to_hex);
super::string_serde!(PublicKey, from_base64, to_base64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(StatementId::new("0190f3a2-7b1c-7def-8000-000000000001").is_ok());
        assert!(StatementId::new("-x").is_err());
        assert!(StatementId::new(&"a".repeat(65)).is_err());
        assert!(Slug::new("yagi-2024").is_ok());
        assert!(Slug::new("Yagi").is_err());
        assert!(ExternalRef::new("FT24254607609791").is_ok());
        assert!(ExternalRef::new("FT 1").is_err());
        assert!(Digest::from_hex(&"ab".repeat(32)).is_ok());
        assert!(Digest::from_hex(&"AB".repeat(32)).is_err());
        assert!(KeyId::parse(&"0f".repeat(16)).is_ok());
    }

    #[test]
    fn key_id_is_sha256_prefix() {
        let pk = PublicKey([7u8; 32]);
        let id = pk.key_id();
        let full = Sha256::digest([7u8; 32]);
        assert_eq!(id.as_bytes()[..], full[..16]);
        let round = PublicKey::from_base64(&pk.to_base64());
        assert_eq!(round, Ok(pk));
    }
}
