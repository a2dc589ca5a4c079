//! C2SP signed notes (<https://c2sp.org/signed-note>): key names, key IDs,
//! verifier and signer key strings, parsing, formatting, signing and
//! verification of notes.
//!
//! A signed note is a text ending in a newline, a blank line, and one or more
//! signature lines `— <key name> <base64(key ID || signature)>`:
//!
//! ```text
//! example.com/log
//! 3
//! Z3D3...=
//!
//! — example.com/log AbCd...=
//! ```
//!
//! What this module does **not** do: it gives no meaning to the text (see
//! [`crate::checkpoint`]), and it holds no clock, no randomness of its own and
//! no I/O. Key generation takes the random number generator as an argument.
//!
//! Verification follows the signed-note section "Signatures": lines from
//! unknown keys are ignored, a line from a known key must verify (or the whole
//! note is rejected), two lines from the same known key are refused, and at
//! least one known key must have signed.
//!
//! ```
//! use ed25519_dalek::SigningKey;
//! use minhbach_ledger::note::{KeyName, Note, Signer};
//!
//! let name = KeyName::new("example.com/log")?;
//! let signer = Signer::new(name, SigningKey::from_bytes(&[7u8; 32]));
//! let text = "hello, world\n";
//! let note = Note::new(text, vec![signer.sign(text)])?;
//! let bytes = note.to_bytes();
//!
//! let parsed = Note::parse(&bytes)?;
//! assert_eq!(parsed.to_bytes(), bytes);
//! let verified = parsed.verify(&[signer.verifier()])?;
//! assert_eq!(verified[0].name.as_str(), "example.com/log");
//! # Ok::<(), minhbach_ledger::note::NoteError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};

/// The largest note, in bytes, that [`Note::parse`] and [`Note::new`] accept.
pub const MAX_NOTE_SIZE: usize = 1 << 20;

/// The most signature lines a note may carry. The specification requires
/// verifiers to accept at least 16 (signed-note, "Format").
pub const MAX_SIGNATURES: usize = 100;

/// The em dash and space that open every signature line.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// The prefix of an encoded signer (private) key.
const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// Errors from parsing, building and verifying signed notes and keys.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoteError {
    /// The note contains an ASCII control character other than newline.
    #[error("note contains a control character at byte {offset}")]
    ControlCharacter {
        /// Byte offset of the first offending character.
        offset: usize,
    },
    /// Two signature lines come from the same known key.
    #[error("two signatures from the known key {name} ({key_id})")]
    DuplicateSignature {
        /// Key name of the repeated signer.
        name: KeyName,
        /// Key ID of the repeated signer.
        key_id: KeyId,
    },
    /// A signature carries no signature bytes after its key ID.
    #[error("signature is empty")]
    EmptySignature,
    /// A public key is not a valid (or is a weak) Ed25519 point.
    #[error("invalid Ed25519 public key")]
    InvalidPublicKey,
    /// A signature from a known key does not verify.
    #[error("signature by {name} ({key_id}) does not verify")]
    InvalidSignature {
        /// Key name of the signer.
        name: KeyName,
        /// Key ID of the signer.
        key_id: KeyId,
    },
    /// A key name is empty or contains whitespace, `+` or an ASCII control
    /// character.
    #[error("invalid key name")]
    InvalidKeyName,
    /// A key string's key ID differs from the one computed from its key.
    #[error("key ID mismatch: the string says {stated}, the key gives {computed}")]
    KeyIdMismatch {
        /// The key ID written in the key string.
        stated: KeyId,
        /// The key ID computed from the name, type and public key.
        computed: KeyId,
    },
    /// A verifier or signer key string is not of the form the spec gives.
    #[error("malformed key string")]
    MalformedKey,
    /// A signature line is not `— <name> <base64>` with at least five bytes.
    #[error("malformed signature line {index}")]
    MalformedSignatureLine {
        /// Zero-based index among the note's signature lines.
        index: usize,
    },
    /// The note does not end with a newline.
    #[error("note does not end with a newline")]
    MissingFinalNewline,
    /// There is no blank line followed by signature lines.
    #[error("note has no signature lines")]
    MissingSignatures,
    /// No signature from a known key is present.
    #[error("no signature from a known key")]
    NoKnownSignature,
    /// The note is not valid UTF-8.
    #[error("note is not valid UTF-8")]
    NotUtf8,
    /// The note text is empty or does not end with a newline.
    #[error("note text must be non-empty and end with a newline")]
    TextNotTerminated,
    /// The note is larger than [`MAX_NOTE_SIZE`].
    #[error("note is {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// Size of the note in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The note has more than [`MAX_SIGNATURES`] signature lines.
    #[error("note has {count} signatures, more than the limit of {max}")]
    TooManySignatures {
        /// Number of signature lines.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The key's signature type byte is not one this crate knows.
    #[error("unknown signature type 0x{key_type:02x}")]
    UnknownKeyType {
        /// The type byte.
        key_type: u8,
    },
    /// The key has the wrong signature type for this use.
    #[error("wrong key type: expected {expected:?}, got {actual:?}")]
    WrongKeyType {
        /// The type this use needs.
        expected: SignatureType,
        /// The key's type.
        actual: SignatureType,
    },
}

/// A signed-note key name: non-empty, with no Unicode whitespace, no `+` and
/// no ASCII control characters (signed-note, "Format").
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyName(String);

impl KeyName {
    /// Checks and wraps a key name.
    ///
    /// # Errors
    /// [`NoteError::InvalidKeyName`] if the name is empty or contains
    /// whitespace, `+` or a character below U+0020.
    pub fn new(name: impl Into<String>) -> Result<Self, NoteError> {
        let name = name.into();
        // Characters below U+0020 cannot appear in a note at all ("Format").
        let bad = |c: char| c.is_whitespace() || c == '+' || c < '\u{20}';
        if name.is_empty() || name.chars().any(bad) {
            return Err(NoteError::InvalidKeyName);
        }
        Ok(Self(name))
    }

    /// The name as a string slice.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for KeyName {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl AsRef<str> for KeyName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A 4-byte key ID: `SHA-256(key name || 0x0A || type || public key)[:4]`
/// (signed-note, "Signatures"). Displayed as 8 lowercase hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub [u8; 4]);

impl KeyId {
    /// Computes the recommended key ID for a name, signature type and encoded
    /// public key.
    #[must_use]
    pub fn compute(name: &KeyName, sig_type: SignatureType, public_key: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(name.as_str().as_bytes());
        h.update([b'\n', sig_type.as_byte()]);
        h.update(public_key);
        let digest = h.finalize();
        Self([digest[0], digest[1], digest[2], digest[3]])
    }

    /// Parses exactly 8 lowercase hex digits.
    fn parse_hex(s: &str) -> Option<Self> {
        let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if s.len() != 8 || !s.bytes().all(lower_hex) {
            return None;
        }
        let mut id = [0u8; 4];
        hex::decode_to_slice(s, &mut id).ok()?;
        Some(Self(id))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// The signature type identifier bytes this crate supports (signed-note,
/// "Signature types").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SignatureType {
    /// `0x01`: Ed25519 over the note text (signed-note, "Ed25519 signatures").
    Ed25519,
    /// `0x04`: timestamped Ed25519 witness cosignatures, c2sp.org/tlog-cosignature.
    CosignatureV1,
}

impl SignatureType {
    /// The identifier byte.
    #[must_use]
    pub fn as_byte(self) -> u8 {
        match self {
            Self::Ed25519 => 0x01,
            Self::CosignatureV1 => 0x04,
        }
    }
}

impl TryFrom<u8> for SignatureType {
    type Error = NoteError;
    fn try_from(b: u8) -> Result<Self, NoteError> {
        match b {
            0x01 => Ok(Self::Ed25519),
            0x04 => Ok(Self::CosignatureV1),
            key_type => Err(NoteError::UnknownKeyType { key_type }),
        }
    }
}

/// A public verifier key: `<name>+<8 hex key ID>+<base64(type || pubkey)>`.
///
/// Both supported types wrap a 32-byte Ed25519 public key; the type decides
/// the signed message ([`SignatureType`]). The key ID is always the one
/// computed from the name, type and key, so a parsed string whose stated ID
/// differs is refused.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VerifierKey {
    name: KeyName,
    key_id: KeyId,
    sig_type: SignatureType,
    public_key: VerifyingKey,
}

impl VerifierKey {
    /// Builds a verifier key and computes its key ID.
    #[must_use]
    pub fn new(name: KeyName, sig_type: SignatureType, public_key: VerifyingKey) -> Self {
        let key_id = KeyId::compute(&name, sig_type, public_key.as_bytes());
        Self {
            name,
            key_id,
            sig_type,
            public_key,
        }
    }

    /// Parses a verifier key string. The key ID must be 8 lowercase hex
    /// digits, as every known implementation writes it.
    ///
    /// # Errors
    /// [`NoteError::MalformedKey`] for a string of the wrong shape or bad
    /// base64, [`NoteError::InvalidKeyName`], [`NoteError::UnknownKeyType`],
    /// [`NoteError::InvalidPublicKey`] for an invalid or weak Ed25519 key and
    /// [`NoteError::KeyIdMismatch`].
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        // Names and IDs hold no '+'; the base64 key may.
        let mut parts = s.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::MalformedKey);
        };
        let name = KeyName::new(name)?;
        let stated = KeyId::parse_hex(id).ok_or(NoteError::MalformedKey)?;
        let (sig_type, bytes) = decode_typed_key(key)?;
        let public_key =
            VerifyingKey::from_bytes(&bytes).map_err(|_| NoteError::InvalidPublicKey)?;
        if public_key.is_weak() {
            return Err(NoteError::InvalidPublicKey);
        }
        let key = Self::new(name, sig_type, public_key);
        if key.key_id != stated {
            return Err(NoteError::KeyIdMismatch {
                stated,
                computed: key.key_id,
            });
        }
        Ok(key)
    }

    /// The key name.
    #[must_use]
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key ID.
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The signature type.
    #[must_use]
    pub fn sig_type(&self) -> SignatureType {
        self.sig_type
    }

    /// The Ed25519 public key.
    #[must_use]
    pub fn public_key(&self) -> &VerifyingKey {
        &self.public_key
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut typed = Vec::with_capacity(33);
        typed.push(self.sig_type.as_byte());
        typed.extend_from_slice(self.public_key.as_bytes());
        write!(f, "{}+{}+{}", self.name, self.key_id, BASE64.encode(typed))
    }
}

impl FromStr for VerifierKey {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl NoteVerifier for VerifierKey {
    fn name(&self) -> &KeyName {
        &self.name
    }

    fn key_id(&self) -> KeyId {
        self.key_id
    }

    fn verify(&self, text: &str, signature: &[u8]) -> bool {
        match self.sig_type {
            SignatureType::Ed25519 => Signature::from_slice(signature)
                .is_ok_and(|sig| self.public_key.verify_strict(text.as_bytes(), &sig).is_ok()),
            SignatureType::CosignatureV1 => {
                crate::cosignature::verify_cosignature(&self.public_key, text, signature).is_ok()
            }
        }
    }

    fn timestamp(&self, signature: &[u8]) -> Option<u64> {
        match self.sig_type {
            SignatureType::Ed25519 => None,
            SignatureType::CosignatureV1 => crate::cosignature::Cosignature::from_bytes(signature)
                .ok()
                .map(|c| c.timestamp),
        }
    }
}

/// Decodes `base64(type || 32 bytes)`.
fn decode_typed_key(b64: &str) -> Result<(SignatureType, [u8; 32]), NoteError> {
    let raw = BASE64.decode(b64).map_err(|_| NoteError::MalformedKey)?;
    let (&type_byte, rest) = raw.split_first().ok_or(NoteError::MalformedKey)?;
    let sig_type = SignatureType::try_from(type_byte)?;
    let bytes: [u8; 32] = rest.try_into().map_err(|_| NoteError::MalformedKey)?;
    Ok((sig_type, bytes))
}

/// Parses `PRIVATE+KEY+<name>+<hex id>+<base64(type || seed)>` and checks the
/// key ID against the derived public key. Shared with the cosigner key type.
pub(crate) fn parse_private_key(
    s: &str,
) -> Result<(KeyName, SignatureType, SigningKey), NoteError> {
    let rest = s
        .strip_prefix(PRIVATE_KEY_PREFIX)
        .ok_or(NoteError::MalformedKey)?;
    let mut parts = rest.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::MalformedKey);
    };
    let name = KeyName::new(name)?;
    let stated = KeyId::parse_hex(id).ok_or(NoteError::MalformedKey)?;
    let (sig_type, seed) = decode_typed_key(key)?;
    let signing_key = SigningKey::from_bytes(&seed);
    let computed = KeyId::compute(&name, sig_type, signing_key.verifying_key().as_bytes());
    if computed != stated {
        return Err(NoteError::KeyIdMismatch { stated, computed });
    }
    Ok((name, sig_type, signing_key))
}

/// Formats a signer key string. The result holds the secret seed.
pub(crate) fn format_private_key(
    name: &KeyName,
    sig_type: SignatureType,
    key: &SigningKey,
) -> String {
    let key_id = KeyId::compute(name, sig_type, key.verifying_key().as_bytes());
    let mut typed = Vec::with_capacity(33);
    typed.push(sig_type.as_byte());
    typed.extend_from_slice(&key.to_bytes());
    format!(
        "{PRIVATE_KEY_PREFIX}{name}+{key_id}+{}",
        BASE64.encode(&typed)
    )
}

/// A named Ed25519 signing key of one signature type: the part that note
/// signers ([`Signer`], type `0x01`) and witness cosigners
/// ([`Cosigner`](crate::cosignature::Cosigner), type `0x04`) share.
///
/// Its [`fmt::Debug`] output shows the name and key ID, never the secret.
#[derive(Clone)]
pub(crate) struct NamedKey {
    pub(crate) name: KeyName,
    pub(crate) key_id: KeyId,
    pub(crate) key: SigningKey,
    sig_type: SignatureType,
}

impl NamedKey {
    pub(crate) fn new(name: KeyName, sig_type: SignatureType, key: SigningKey) -> Self {
        let key_id = KeyId::compute(&name, sig_type, key.verifying_key().as_bytes());
        Self {
            name,
            key_id,
            key,
            sig_type,
        }
    }

    /// Parses `PRIVATE+KEY+<name>+<id>+<base64(type || seed)>` of `sig_type`.
    pub(crate) fn parse(s: &str, sig_type: SignatureType) -> Result<Self, NoteError> {
        let (name, actual, key) = parse_private_key(s)?;
        if actual != sig_type {
            return Err(NoteError::WrongKeyType {
                expected: sig_type,
                actual,
            });
        }
        Ok(Self::new(name, sig_type, key))
    }

    pub(crate) fn to_private_key_string(&self) -> String {
        format_private_key(&self.name, self.sig_type, &self.key)
    }

    pub(crate) fn verifier(&self) -> VerifierKey {
        VerifierKey::new(self.name.clone(), self.sig_type, self.key.verifying_key())
    }
}

impl fmt::Debug for NamedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamedKey")
            .field("name", &self.name)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// An Ed25519 note signer (signature type `0x01`).
///
/// Its [`fmt::Debug`] output shows the name and key ID, never the secret.
#[derive(Clone, Debug)]
pub struct Signer(NamedKey);

impl Signer {
    /// Wraps a signing key under a name.
    #[must_use]
    pub fn new(name: KeyName, key: SigningKey) -> Self {
        Self(NamedKey::new(name, SignatureType::Ed25519, key))
    }

    /// Generates a fresh key from the given random number generator.
    #[must_use]
    pub fn generate(name: KeyName, rng: &mut impl CryptoRngCore) -> Self {
        Self::new(name, SigningKey::generate(rng))
    }

    /// Parses a signer key string `PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>`.
    ///
    /// # Errors
    /// As [`VerifierKey::parse`], plus [`NoteError::WrongKeyType`] if the key
    /// is not of type `0x01`.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        NamedKey::parse(s, SignatureType::Ed25519).map(Self)
    }

    /// Encodes the signer key string. The result contains the private key:
    /// write it only to protected storage and never log it.
    #[must_use]
    pub fn to_private_key_string(&self) -> String {
        self.0.to_private_key_string()
    }

    /// The key name.
    #[must_use]
    pub fn name(&self) -> &KeyName {
        &self.0.name
    }

    /// The key ID.
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        self.0.key_id
    }

    /// The matching verifier key.
    #[must_use]
    pub fn verifier(&self) -> VerifierKey {
        self.0.verifier()
    }

    /// Signs a note text (Ed25519 over the text bytes, signed-note "Ed25519
    /// signatures") and returns the signature line.
    #[must_use]
    pub fn sign(&self, text: &str) -> NoteSignature {
        let sig = self.0.key.sign(text.as_bytes());
        NoteSignature {
            name: self.0.name.clone(),
            key_id: self.0.key_id,
            signature: sig.to_bytes().to_vec(),
        }
    }
}

/// One signature line: key name, key ID and the signature bytes that follow
/// the key ID.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NoteSignature {
    name: KeyName,
    key_id: KeyId,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// Builds a signature line.
    ///
    /// # Errors
    /// [`NoteError::EmptySignature`] if `signature` is empty.
    pub fn new(name: KeyName, key_id: KeyId, signature: Vec<u8>) -> Result<Self, NoteError> {
        if signature.is_empty() {
            return Err(NoteError::EmptySignature);
        }
        Ok(Self {
            name,
            key_id,
            signature,
        })
    }

    /// Parses one signature line, without its final newline.
    ///
    /// # Errors
    /// [`NoteError::MalformedSignatureLine`] with index 0.
    pub fn parse_line(line: &str) -> Result<Self, NoteError> {
        Self::parse_indexed(line, 0)
    }

    fn parse_indexed(line: &str, index: usize) -> Result<Self, NoteError> {
        let bad = NoteError::MalformedSignatureLine { index };
        let rest = line.strip_prefix(SIGNATURE_PREFIX).ok_or(bad.clone())?;
        let (name, b64) = rest.split_once(' ').ok_or(bad.clone())?;
        let name = KeyName::new(name).map_err(|_| bad.clone())?;
        let raw = BASE64.decode(b64).map_err(|_| bad.clone())?;
        if raw.len() < 5 {
            return Err(bad);
        }
        let (id, signature) = raw.split_at(4);
        let key_id = KeyId([id[0], id[1], id[2], id[3]]);
        Ok(Self {
            name,
            key_id,
            signature: signature.to_vec(),
        })
    }

    /// The key name.
    #[must_use]
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key ID.
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The signature bytes after the key ID.
    #[must_use]
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The line `— <name> <base64(key ID || signature)>\n`.
    #[must_use]
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.0);
        raw.extend_from_slice(&self.signature);
        format!("{SIGNATURE_PREFIX}{} {}\n", self.name, BASE64.encode(raw))
    }
}

/// A key that can check signature lines in the note verification loop.
///
/// [`VerifierKey`] implements it for both supported types; other signature
/// schemes can plug in by implementing it.
pub trait NoteVerifier {
    /// The key name that signature lines must carry.
    fn name(&self) -> &KeyName;

    /// The key ID that signature lines must carry.
    fn key_id(&self) -> KeyId;

    /// Whether `signature` (the bytes after the 4-byte key ID) is a valid
    /// signature of the note `text` by this key.
    fn verify(&self, text: &str, signature: &[u8]) -> bool;

    /// The timestamp a valid signature carries, for timestamped types such as
    /// cosignatures; `None` for untimed ones.
    fn timestamp(&self, _signature: &[u8]) -> Option<u64> {
        None
    }
}

impl<T: NoteVerifier + ?Sized> NoteVerifier for &T {
    fn name(&self) -> &KeyName {
        (**self).name()
    }
    fn key_id(&self) -> KeyId {
        (**self).key_id()
    }
    fn verify(&self, text: &str, signature: &[u8]) -> bool {
        (**self).verify(text, signature)
    }
    fn timestamp(&self, signature: &[u8]) -> Option<u64> {
        (**self).timestamp(signature)
    }
}

/// A signature line that verified under a known key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// Key name of the signer.
    pub name: KeyName,
    /// Key ID of the signer.
    pub key_id: KeyId,
    /// The signature's timestamp, for timestamped types (cosignatures).
    pub timestamp: Option<u64>,
    /// Index of the verifier, in the slice given to [`Note::verify`], that
    /// verified it.
    pub verifier: usize,
}

/// A signed note: a text and its signature lines.
///
/// [`Note::to_bytes`] reproduces exactly the bytes [`Note::parse`] read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// Builds a note from a text and its signatures.
    ///
    /// # Errors
    /// [`NoteError::TextNotTerminated`] if the text is empty or lacks a final
    /// newline, [`NoteError::ControlCharacter`], [`NoteError::MissingSignatures`]
    /// for no signature, [`NoteError::TooManySignatures`] and
    /// [`NoteError::TooLarge`].
    pub fn new(text: impl Into<String>, signatures: Vec<NoteSignature>) -> Result<Self, NoteError> {
        let text = text.into();
        if !text.ends_with('\n') {
            return Err(NoteError::TextNotTerminated);
        }
        check_control_characters(text.as_bytes())?;
        if signatures.is_empty() {
            return Err(NoteError::MissingSignatures);
        }
        let note = Self { text, signatures };
        note.check_limits()?;
        Ok(note)
    }

    /// Parses a signed note (signed-note, "Format").
    ///
    /// The text is split from the signatures at the last blank line. Nothing
    /// is verified here: see [`Note::verify`].
    ///
    /// # Errors
    /// [`NoteError::TooLarge`], [`NoteError::NotUtf8`],
    /// [`NoteError::ControlCharacter`], [`NoteError::MissingSignatures`],
    /// [`NoteError::MissingFinalNewline`], [`NoteError::TooManySignatures`] and
    /// [`NoteError::MalformedSignatureLine`].
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        if bytes.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge {
                size: bytes.len(),
                max: MAX_NOTE_SIZE,
            });
        }
        let s = std::str::from_utf8(bytes).map_err(|_| NoteError::NotUtf8)?;
        check_control_characters(bytes)?;
        let split = s.rfind("\n\n").ok_or(NoteError::MissingSignatures)?;
        let (text, sigs) = (&s[..=split], &s[split + 2..]);
        if sigs.is_empty() {
            return Err(NoteError::MissingSignatures);
        }
        let sigs = sigs
            .strip_suffix('\n')
            .ok_or(NoteError::MissingFinalNewline)?;
        let count = sigs.split('\n').count();
        if count > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                count,
                max: MAX_SIGNATURES,
            });
        }
        let signatures = sigs
            .split('\n')
            .enumerate()
            .map(|(index, line)| NoteSignature::parse_indexed(line, index))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The note text, including its final newline.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    #[must_use]
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Appends a signature line.
    ///
    /// # Errors
    /// [`NoteError::TooManySignatures`] or [`NoteError::TooLarge`]; the note
    /// is then left unchanged.
    pub fn push_signature(&mut self, signature: NoteSignature) -> Result<(), NoteError> {
        self.signatures.push(signature);
        if let Err(e) = self.check_limits() {
            self.signatures.pop();
            return Err(e);
        }
        Ok(())
    }

    /// Encodes the note: text, blank line, signature lines.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(self.text.len() + 1 + 100 * self.signatures.len());
        out.push_str(&self.text);
        out.push('\n');
        for sig in &self.signatures {
            out.push_str(&sig.to_line());
        }
        out.into_bytes()
    }

    /// Verifies the note against a set of known keys (signed-note,
    /// "Signatures").
    ///
    /// Lines whose (name, key ID) matches no known key are ignored. A line
    /// that matches a known key must verify under it. Returns the verified
    /// signatures in line order.
    ///
    /// # Errors
    /// [`NoteError::InvalidSignature`] if a known key's line fails,
    /// [`NoteError::DuplicateSignature`] if a known key signed twice and
    /// [`NoteError::NoKnownSignature`] if no known key signed.
    pub fn verify<V: NoteVerifier>(
        &self,
        verifiers: &[V],
    ) -> Result<Vec<VerifiedSignature>, NoteError> {
        let mut results: Vec<VerifiedSignature> = Vec::new();
        for sig in &self.signatures {
            let mut known = false;
            let mut found = None;
            for (i, v) in verifiers.iter().enumerate() {
                if v.name() != &sig.name || v.key_id() != sig.key_id {
                    continue;
                }
                known = true;
                if v.verify(&self.text, &sig.signature) {
                    found = Some((i, v.timestamp(&sig.signature)));
                    break;
                }
            }
            if !known {
                continue;
            }
            if results
                .iter()
                .any(|s| s.name == sig.name && s.key_id == sig.key_id)
            {
                return Err(NoteError::DuplicateSignature {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                });
            }
            let Some((verifier, timestamp)) = found else {
                return Err(NoteError::InvalidSignature {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                });
            };
            results.push(VerifiedSignature {
                name: sig.name.clone(),
                key_id: sig.key_id,
                timestamp,
                verifier,
            });
        }
        if results.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(results)
    }

    fn check_limits(&self) -> Result<(), NoteError> {
        if self.signatures.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                count: self.signatures.len(),
                max: MAX_SIGNATURES,
            });
        }
        // Each line is "— " (4 bytes) + name + " " + base64 + "\n".
        let size = self.text.len()
            + 1
            + self
                .signatures
                .iter()
                .map(|s| 6 + s.name.as_str().len() + (4 + s.signature.len()).div_ceil(3) * 4)
                .sum::<usize>();
        if size > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge {
                size,
                max: MAX_NOTE_SIZE,
            });
        }
        Ok(())
    }
}

/// Refuses ASCII control characters other than newline.
fn check_control_characters(bytes: &[u8]) -> Result<(), NoteError> {
    match bytes.iter().position(|&b| b < 0x20 && b != b'\n') {
        Some(offset) => Err(NoteError::ControlCharacter { offset }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                              then you don't know what your problem is.\n";
    const PETER_SIG: &str = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=";

    fn peter_note() -> String {
        format!("{PETER_TEXT}\n\u{2014} PeterNeumann {PETER_SIG}\n")
    }

    fn name(s: &str) -> KeyName {
        KeyName::new(s).unwrap()
    }

    fn signer(n: &str, seed: u8) -> Signer {
        Signer::new(name(n), SigningKey::from_bytes(&[seed; 32]))
    }

    #[test]
    fn key_name_rules() {
        assert!(KeyName::new("example.com/log").is_ok());
        assert!(KeyName::new("ünïcode/名前").is_ok());
        // DEL may appear in a note, so in a name (as in the Go implementation).
        assert!(KeyName::new("a\u{7f}b").is_ok());
        for bad in [
            "",
            "a b",
            "a+b",
            "a\tb",
            "a\nb",
            "a\u{a0}b",
            "a\u{2003}b",
            "a\u{0}b",
            "a\u{1b}b",
            "a\u{85}b",
        ] {
            assert_eq!(KeyName::new(bad), Err(NoteError::InvalidKeyName), "{bad:?}");
        }
    }

    #[test]
    fn peter_neumann_vkey_known_answer() {
        let v = VerifierKey::parse(PETER_VKEY).unwrap();
        assert_eq!(v.name().as_str(), "PeterNeumann");
        assert_eq!(v.key_id().to_string(), "c74f20a3");
        assert_eq!(v.key_id(), KeyId([0xc7, 0x4f, 0x20, 0xa3]));
        assert_eq!(v.sig_type(), SignatureType::Ed25519);
        assert_eq!(v.to_string(), PETER_VKEY);
        let from_str: VerifierKey = PETER_VKEY.parse().unwrap();
        assert_eq!(from_str, v);
    }

    #[test]
    fn peter_neumann_note_known_answer() {
        let s = Signer::parse(PETER_SKEY).unwrap();
        assert_eq!(s.to_private_key_string(), PETER_SKEY);
        assert_eq!(s.verifier().to_string(), PETER_VKEY);
        let note = Note::new(PETER_TEXT, vec![s.sign(PETER_TEXT)]).unwrap();
        assert_eq!(note.to_bytes(), peter_note().as_bytes());

        let parsed = Note::parse(peter_note().as_bytes()).unwrap();
        assert_eq!(parsed.text(), PETER_TEXT);
        let v = VerifierKey::parse(PETER_VKEY).unwrap();
        let verified = parsed.verify(&[v]).unwrap();
        assert_eq!(verified.len(), 1);
        assert_eq!(verified[0].timestamp, None);
        assert_eq!(verified[0].verifier, 0);
    }

    #[test]
    fn sign_known_answer_from_first_principles() {
        let seed = [7u8; 32];
        let s = signer("example.com/log", 7);
        let text = "example.com/log\n1\nAAAA\n";
        let line = s.sign(text).to_line();

        // Independent computation: key ID and signature by hand.
        let sk = SigningKey::from_bytes(&seed);
        let pk = sk.verifying_key();
        let mut h = Sha256::new();
        h.update(b"example.com/log\n\x01");
        h.update(pk.as_bytes());
        let id = &h.finalize()[..4];
        let sig = ed25519_dalek::Signer::sign(&sk, text.as_bytes());
        let mut raw = id.to_vec();
        raw.extend_from_slice(&sig.to_bytes());
        let want = format!("\u{2014} example.com/log {}\n", BASE64.encode(&raw));
        assert_eq!(line, want);

        let mut typed = vec![1u8];
        typed.extend_from_slice(pk.as_bytes());
        let vkey = format!(
            "example.com/log+{}+{}",
            hex::encode(id),
            BASE64.encode(&typed)
        );
        assert_eq!(s.verifier().to_string(), vkey);
        let mut typed_seed = vec![1u8];
        typed_seed.extend_from_slice(&seed);
        let skey = format!(
            "PRIVATE+KEY+example.com/log+{}+{}",
            hex::encode(id),
            BASE64.encode(&typed_seed)
        );
        assert_eq!(s.to_private_key_string(), skey);
    }

    #[test]
    fn cosignature_vkey_round_trip() {
        let sk = SigningKey::from_bytes(&[9u8; 32]);
        let v = VerifierKey::new(
            name("witness.example/w1"),
            SignatureType::CosignatureV1,
            sk.verifying_key(),
        );
        let s = v.to_string();
        let parsed = VerifierKey::parse(&s).unwrap();
        assert_eq!(parsed, v);
        assert_eq!(parsed.sig_type(), SignatureType::CosignatureV1);
        // Same key, same name, different type: different key ID.
        let plain = VerifierKey::new(
            name("witness.example/w1"),
            SignatureType::Ed25519,
            sk.verifying_key(),
        );
        assert_ne!(plain.key_id(), v.key_id());
    }

    #[test]
    fn vkey_rejections() {
        let malformed = [
            "",
            "PeterNeumann",
            "PeterNeumann+c74f20a3",
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW+x",
            "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW=",
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy",
            "PeterNeumann+c74f20a3+",
        ];
        for s in malformed {
            assert_eq!(VerifierKey::parse(s), Err(NoteError::MalformedKey), "{s:?}");
        }
        assert_eq!(
            VerifierKey::parse(" Peter+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
            Err(NoteError::InvalidKeyName)
        );
        // Type 0x02 (ECDSA) is not supported.
        let mut typed = vec![2u8];
        typed.extend_from_slice(&[1u8; 32]);
        let s = format!("a+00000000+{}", BASE64.encode(&typed));
        assert_eq!(
            VerifierKey::parse(&s),
            Err(NoteError::UnknownKeyType { key_type: 2 })
        );
        // Wrong key ID.
        assert!(matches!(
            VerifierKey::parse(
                "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(NoteError::KeyIdMismatch {
                stated: KeyId([0xc7, 0x4f, 0x20, 0xa4]),
                ..
            })
        ));
        // A weak (small-order) key: the identity point.
        let mut typed = vec![1u8];
        let mut identity = [0u8; 32];
        identity[0] = 1;
        typed.extend_from_slice(&identity);
        let s = format!("a+00000000+{}", BASE64.encode(&typed));
        assert_eq!(VerifierKey::parse(&s), Err(NoteError::InvalidPublicKey));
        // Not a point at all (y = 2 is not on the curve).
        let mut typed = vec![1u8];
        let mut y2 = [0u8; 32];
        y2[0] = 2;
        typed.extend_from_slice(&y2);
        let s = format!("a+00000000+{}", BASE64.encode(&typed));
        assert_eq!(VerifierKey::parse(&s), Err(NoteError::InvalidPublicKey));
    }

    #[test]
    fn skey_rejections() {
        assert_eq!(
            Signer::parse(PETER_VKEY).unwrap_err(),
            NoteError::MalformedKey
        );
        assert_eq!(
            Signer::parse("PRIVATE+KEY+PeterNeumann+c74f20a3").unwrap_err(),
            NoteError::MalformedKey
        );
        // The seed's base64 contains '+': only the first two '+' split.
        assert!(matches!(
            Signer::parse(
                "PRIVATE+KEY+PeterNeumann+00000000+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
            ),
            Err(NoteError::KeyIdMismatch {
                stated: KeyId([0, 0, 0, 0]),
                ..
            })
        ));
        let cosigner = format_private_key(
            &name("w"),
            SignatureType::CosignatureV1,
            &SigningKey::from_bytes(&[3u8; 32]),
        );
        assert_eq!(
            Signer::parse(&cosigner).unwrap_err(),
            NoteError::WrongKeyType {
                expected: SignatureType::Ed25519,
                actual: SignatureType::CosignatureV1
            }
        );
        let good = signer("a", 5).to_private_key_string();
        let (prefix, b64) = good.rsplit_once('+').unwrap();
        let (front, _) = prefix.rsplit_once('+').unwrap();
        let bad = format!("{front}+00000000+{b64}");
        assert!(matches!(
            Signer::parse(&bad),
            Err(NoteError::KeyIdMismatch { .. })
        ));
    }

    #[test]
    fn signer_debug_hides_secret() {
        let s = signer("example.com/log", 7);
        let debug = format!("{s:?}");
        let seed_b64 = BASE64.encode([7u8; 32]);
        assert!(!debug.contains(&seed_b64));
        assert!(!debug.contains(&hex::encode([7u8; 32])));
        assert!(!debug.contains("SigningKey"));
        assert!(debug.contains("example.com/log"));
    }

    #[test]
    fn parse_splits_at_last_blank_line() {
        let s = signer("k", 1);
        let text = "a\n\nb\n\n";
        let note = Note::new(text, vec![s.sign(text)]).unwrap();
        let bytes = note.to_bytes();
        let parsed = Note::parse(&bytes).unwrap();
        assert_eq!(parsed.text(), text);
        assert_eq!(parsed.to_bytes(), bytes);
        assert_eq!(parsed.verify(&[s.verifier()]).unwrap().len(), 1);
    }

    #[test]
    fn parse_rejections() {
        let good = peter_note();
        let big = vec![b'a'; MAX_NOTE_SIZE + 1];
        assert_eq!(
            Note::parse(&big),
            Err(NoteError::TooLarge {
                size: MAX_NOTE_SIZE + 1,
                max: MAX_NOTE_SIZE
            })
        );
        assert_eq!(Note::parse(b"a\xff\n\n"), Err(NoteError::NotUtf8));
        let crlf = good.replace('\n', "\r\n");
        let offset = good.find('\n').unwrap();
        assert_eq!(
            Note::parse(crlf.as_bytes()),
            Err(NoteError::ControlCharacter { offset })
        );
        assert_eq!(
            Note::parse(b"a\tb\n\n"),
            Err(NoteError::ControlCharacter { offset: 1 })
        );
        assert_eq!(
            Note::parse(PETER_TEXT.as_bytes()),
            Err(NoteError::MissingSignatures)
        );
        assert_eq!(Note::parse(b"a\n\n"), Err(NoteError::MissingSignatures));
        assert_eq!(Note::parse(b""), Err(NoteError::MissingSignatures));
        assert_eq!(
            Note::parse(good.trim_end_matches('\n').as_bytes()),
            Err(NoteError::MissingFinalNewline)
        );
        let malformed = [
            format!("{PETER_TEXT}\n- PeterNeumann {PETER_SIG}\n"),
            format!("{PETER_TEXT}\n\u{2014}PeterNeumann {PETER_SIG}\n"),
            format!("{PETER_TEXT}\n\u{2014} PeterNeumann  {PETER_SIG}\n"),
            format!("{PETER_TEXT}\n\u{2014} PeterNeumann {PETER_SIG} \n"),
            format!("{PETER_TEXT}\n\u{2014} PeterNeumann\n"),
            format!("{PETER_TEXT}\n\u{2014} Peter+Neumann {PETER_SIG}\n"),
            format!("{PETER_TEXT}\n\u{2014}  {PETER_SIG}\n"),
            format!("{PETER_TEXT}\n\u{2014} PeterNeumann !!!!\n"),
            format!("{PETER_TEXT}\n\u{2014} PeterNeumann AAAAAA==\n"), // 4 bytes: no signature
            format!("{PETER_TEXT}\n\u{2014} PeterNeumann x08go/ZJkuB\n"), // unpadded
        ];
        for m in &malformed {
            assert_eq!(
                Note::parse(m.as_bytes()),
                Err(NoteError::MalformedSignatureLine { index: 0 }),
                "{m:?}"
            );
        }
        let second_bad = format!("{good}\u{2014} x y\n");
        assert_eq!(
            Note::parse(second_bad.as_bytes()),
            Err(NoteError::MalformedSignatureLine { index: 1 })
        );
        let mut many = PETER_TEXT.to_owned() + "\n";
        for _ in 0..=MAX_SIGNATURES {
            many.push_str(&format!("\u{2014} PeterNeumann {PETER_SIG}\n"));
        }
        assert_eq!(
            Note::parse(many.as_bytes()),
            Err(NoteError::TooManySignatures {
                count: MAX_SIGNATURES + 1,
                max: MAX_SIGNATURES
            })
        );
    }

    #[test]
    fn accepts_at_least_sixteen_signatures() {
        let text = "t\n";
        let signers: Vec<Signer> = (0..16u8).map(|i| signer(&format!("k{i}"), i)).collect();
        let sigs = signers.iter().map(|s| s.sign(text)).collect();
        let bytes = Note::new(text, sigs).unwrap().to_bytes();
        let note = Note::parse(&bytes).unwrap();
        let verifiers: Vec<VerifierKey> = signers.iter().map(Signer::verifier).collect();
        let verified = note.verify(&verifiers).unwrap();
        assert_eq!(verified.len(), 16);
        assert!(verified.iter().enumerate().all(|(i, v)| v.verifier == i));
    }

    #[test]
    fn new_rejections() {
        let s = signer("k", 1);
        assert_eq!(
            Note::new("", vec![s.sign("")]),
            Err(NoteError::TextNotTerminated)
        );
        assert_eq!(
            Note::new("a", vec![s.sign("a")]),
            Err(NoteError::TextNotTerminated)
        );
        assert_eq!(
            Note::new("a\r\n", vec![s.sign("a\r\n")]),
            Err(NoteError::ControlCharacter { offset: 1 })
        );
        assert_eq!(Note::new("a\n", vec![]), Err(NoteError::MissingSignatures));
        let sigs = vec![s.sign("a\n"); MAX_SIGNATURES + 1];
        assert!(matches!(
            Note::new("a\n", sigs),
            Err(NoteError::TooManySignatures { .. })
        ));
        let huge = "a".repeat(MAX_NOTE_SIZE) + "\n";
        assert!(matches!(
            Note::new(huge.clone(), vec![s.sign(&huge)]),
            Err(NoteError::TooLarge { .. })
        ));
        assert_eq!(
            NoteSignature::new(name("k"), KeyId([0; 4]), vec![]),
            Err(NoteError::EmptySignature)
        );
    }

    #[test]
    fn push_signature_limits() {
        let s = signer("k", 1);
        let mut note = Note::new("a\n", vec![s.sign("a\n")]).unwrap();
        for _ in 1..MAX_SIGNATURES {
            note.push_signature(s.sign("a\n")).unwrap();
        }
        assert!(matches!(
            note.push_signature(s.sign("a\n")),
            Err(NoteError::TooManySignatures { .. })
        ));
        assert_eq!(note.signatures().len(), MAX_SIGNATURES);
    }

    #[test]
    fn verify_rules() {
        let text = "hello\n";
        let a = signer("a.example", 1);
        let b = signer("b.example", 2);
        let unknown = signer("c.example", 3);
        let va = a.verifier();
        let vb = b.verifier();

        // Unknown keys are ignored; known ones are reported in line order.
        let note = Note::new(text, vec![unknown.sign(text), b.sign(text), a.sign(text)]).unwrap();
        let got = note.verify(&[va.clone(), vb.clone()]).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].name.as_str(), got[0].verifier), ("b.example", 1));
        assert_eq!((got[1].name.as_str(), got[1].verifier), ("a.example", 0));

        // Only unknown keys.
        let note = Note::new(text, vec![unknown.sign(text)]).unwrap();
        assert_eq!(
            note.verify(std::slice::from_ref(&va)),
            Err(NoteError::NoKnownSignature)
        );
        let empty: [VerifierKey; 0] = [];
        assert_eq!(note.verify(&empty), Err(NoteError::NoKnownSignature));

        // Same name, different key ID: ignored (so no known signature).
        let impostor = signer("a.example", 9);
        let note = Note::new(text, vec![impostor.sign(text)]).unwrap();
        assert_eq!(
            note.verify(std::slice::from_ref(&va)),
            Err(NoteError::NoKnownSignature)
        );

        // A known key whose signature fails rejects the note, even if another
        // known key verified.
        let bad = NoteSignature::new(name("a.example"), va.key_id(), vec![0u8; 64]).unwrap();
        let note = Note::new(text, vec![b.sign(text), bad]).unwrap();
        assert_eq!(
            note.verify(&[va.clone(), vb.clone()]),
            Err(NoteError::InvalidSignature {
                name: name("a.example"),
                key_id: va.key_id()
            })
        );
        // A signature over another text.
        let note = Note::new(text, vec![a.sign("other\n")]).unwrap();
        assert!(matches!(
            note.verify(std::slice::from_ref(&va)),
            Err(NoteError::InvalidSignature { .. })
        ));
        // A wrong-length signature.
        let short = NoteSignature::new(name("a.example"), va.key_id(), vec![1]).unwrap();
        let note = Note::new(text, vec![short]).unwrap();
        assert!(matches!(
            note.verify(std::slice::from_ref(&va)),
            Err(NoteError::InvalidSignature { .. })
        ));

        // Two lines from the same known key.
        let note = Note::new(text, vec![a.sign(text), a.sign(text)]).unwrap();
        assert_eq!(
            note.verify(std::slice::from_ref(&va)),
            Err(NoteError::DuplicateSignature {
                name: name("a.example"),
                key_id: va.key_id()
            })
        );
        // ... but two lines from an unknown key are ignored.
        let note = Note::new(
            text,
            vec![unknown.sign(text), unknown.sign(text), a.sign(text)],
        )
        .unwrap();
        assert_eq!(note.verify(std::slice::from_ref(&va)).unwrap().len(), 1);

        // Trait objects plug into the same loop.
        let dyns: Vec<&dyn NoteVerifier> = vec![&va, &vb];
        let note = Note::new(text, vec![a.sign(text)]).unwrap();
        assert_eq!(note.verify(&dyns).unwrap()[0].verifier, 0);
    }

    #[test]
    fn signature_line_round_trip() {
        let s = signer("example.com/log", 4);
        let sig = s.sign("x\n");
        let line = sig.to_line();
        let parsed = NoteSignature::parse_line(line.trim_end_matches('\n')).unwrap();
        assert_eq!(parsed, sig);
        assert_eq!(parsed.name(), s.name());
        assert_eq!(parsed.key_id(), s.key_id());
        assert_eq!(parsed.signature().len(), 64);
    }

    #[test]
    fn generate_uses_the_given_rng() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let a = Signer::generate(name("a"), &mut rng);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let b = Signer::generate(name("a"), &mut rng);
        assert_eq!(a.to_private_key_string(), b.to_private_key_string());
        let parsed = Signer::parse(&a.to_private_key_string()).unwrap();
        assert_eq!(parsed.verifier(), a.verifier());
    }

    fn arb_text() -> impl Strategy<Value = String> {
        // Lines of printable characters (some non-ASCII, some empty).
        proptest::collection::vec("[a-zA-Z0-9 ./+=\u{e9}\u{2014}]{0,20}", 1..5)
            .prop_map(|lines| lines.into_iter().map(|l| l + "\n").collect())
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Note::parse(&bytes);
        }

        #[test]
        fn parse_never_panics_on_near_notes(text in arb_text(), tail in "[\u{2014} a-zA-Z0-9+/=\n]{0,120}") {
            let _ = Note::parse(format!("{text}\n{tail}").as_bytes());
        }

        #[test]
        fn key_parsers_never_panic(s in "[a-zA-Z0-9+/=]{0,80}") {
            let _ = VerifierKey::parse(&s);
            let _ = Signer::parse(&s);
            let _ = Signer::parse(&format!("PRIVATE+KEY+{s}"));
        }

        #[test]
        fn format_parse_identity(text in arb_text(), seeds in proptest::collection::vec(any::<u8>(), 1..5)) {
            let signers: Vec<Signer> = seeds.iter().enumerate()
                .map(|(i, &seed)| signer(&format!("k{i}.example"), seed)).collect();
            let sigs = signers.iter().map(|s| s.sign(&text)).collect();
            let note = Note::new(text.clone(), sigs).unwrap();
            let bytes = note.to_bytes();
            let parsed = Note::parse(&bytes).unwrap();
            prop_assert_eq!(&parsed, &note);
            prop_assert_eq!(parsed.to_bytes(), bytes);
            let verifiers: Vec<VerifierKey> = signers.iter().map(Signer::verifier).collect();
            prop_assert_eq!(parsed.verify(&verifiers).unwrap().len(), signers.len());
        }

        #[test]
        fn vkey_format_parse_identity(seed in any::<[u8; 32]>(), cosig in any::<bool>()) {
            let t = if cosig { SignatureType::CosignatureV1 } else { SignatureType::Ed25519 };
            let v = VerifierKey::new(name("n.example/x"), t, SigningKey::from_bytes(&seed).verifying_key());
            prop_assert_eq!(VerifierKey::parse(&v.to_string()).unwrap(), v);
        }
    }
}
