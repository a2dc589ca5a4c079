//! C2SP tlog-checkpoint (<https://c2sp.org/tlog-checkpoint>): the signed tree
//! head of the log, as a signed note.
//!
//! The note text ("Note text") is the origin line, the tree size in decimal
//! with no leading zeroes, the standard base64 of the RFC 9162 root hash, and
//! optional non-empty extension lines, each ending in a newline:
//!
//! ```text
//! example.com/behind-the-sofa
//! 20852163
//! CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
//! ```
//!
//! The log signs it with an Ed25519 note key (type `0x01`) whose name is the
//! origin; witnesses add cosignature lines ([`crate::cosignature`]).
//!
//! What this module does **not** do: it does not decide which witnesses are
//! enough (see [`crate::policy`]), keeps no state between checkpoints (so it
//! checks no consistency: see [`crate::merkle::verify_consistency`]) and reads
//! no clock (cosignature timestamps are returned, not judged).
//!
//! ```
//! use ed25519_dalek::SigningKey;
//! use minhbach_ledger::checkpoint::{open_checkpoint, sign_checkpoint, Checkpoint, LogSigner};
//! use minhbach_ledger::merkle::Hash;
//! use minhbach_ledger::note::KeyName;
//!
//! let log = LogSigner::new(KeyName::new("example.com/log")?, SigningKey::from_bytes(&[7u8; 32]));
//! let checkpoint = Checkpoint::new("example.com/log", 3, Hash([1u8; 32]), vec![])?;
//! let signed = sign_checkpoint(&checkpoint, &log);
//! let opened = open_checkpoint(&signed, &log.verifier(), &[])?;
//! assert_eq!(opened.checkpoint(), &checkpoint);
//! assert_eq!(opened.to_bytes(), signed);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::merkle::{Hash, MerkleError};
use crate::note::{
    KeyId, KeyName, Note, NoteError, NoteSignature, SignatureType, Signer, VerifierKey,
};

/// The log's checkpoint signer: an Ed25519 note signer (type `0x01`) whose
/// key name is the log's origin.
pub type LogSigner = Signer;

/// The largest checkpoint body accepted, in bytes. Real bodies are about a
/// hundred bytes; the bound keeps a signed checkpoint well inside
/// [`crate::note::MAX_NOTE_SIZE`].
pub const MAX_BODY_SIZE: usize = 64 * 1024;

/// Errors from parsing, signing, opening and merging checkpoints.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The body contains an ASCII control character other than newline
    /// (a carriage return, for example).
    #[error("checkpoint contains a control character at byte {offset}")]
    ControlCharacter {
        /// Byte offset of the character.
        offset: usize,
    },
    /// An extension line is empty.
    #[error("extension line {index} is empty")]
    EmptyExtensionLine {
        /// Zero-based index among the extension lines.
        index: usize,
    },
    /// The origin line is empty.
    #[error("origin is empty")]
    EmptyOrigin,
    /// The root hash line is not standard base64 of 32 bytes.
    #[error("invalid root hash")]
    InvalidRootHash {
        /// Why the hash was refused.
        #[source]
        source: MerkleError,
    },
    /// The size line is not a decimal `u64` without leading zeroes.
    #[error("invalid tree size")]
    InvalidSize,
    /// The body does not end with a newline.
    #[error("checkpoint does not end with a newline")]
    MissingFinalNewline,
    /// No valid signature from the log key (only cosignatures verified).
    #[error("no signature from the log key")]
    MissingLogSignature,
    /// A line (origin or extension) contains a newline.
    #[error("a checkpoint line contains a newline")]
    NewlineInLine,
    /// The body is not valid UTF-8.
    #[error("checkpoint is not valid UTF-8")]
    NotUtf8,
    /// The signed note is malformed or its signatures fail.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The origin differs from the log key's name.
    #[error("origin {origin:?} does not match the log key name {key_name}")]
    OriginMismatch {
        /// The checkpoint's origin line.
        origin: String,
        /// The log key's name.
        key_name: KeyName,
    },
    /// Two signed checkpoints to merge have different bodies.
    #[error("cannot merge signatures of different checkpoints")]
    TextMismatch,
    /// The body has fewer than the three mandatory lines.
    #[error("checkpoint has {lines} lines, at least 3 required")]
    TooFewLines {
        /// Number of lines found.
        lines: usize,
    },
    /// The body is larger than [`MAX_BODY_SIZE`].
    #[error("checkpoint body is {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// Size of the body.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A verifier key has the wrong type: the log key must be `0x01`, the
    /// cosigner keys `0x04`.
    #[error("wrong key type: expected {expected:?}, got {actual:?}")]
    WrongKeyType {
        /// The type needed.
        expected: SignatureType,
        /// The key's type.
        actual: SignatureType,
    },
}

/// A checkpoint: origin, tree size, root hash and extension lines
/// (tlog-checkpoint, "Note text").
///
/// Built only through [`Checkpoint::new`] or [`Checkpoint::parse`], so its
/// body is always a valid note text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

impl Checkpoint {
    /// Builds a checkpoint.
    ///
    /// # Errors
    /// [`CheckpointError::EmptyOrigin`], [`CheckpointError::EmptyExtensionLine`],
    /// [`CheckpointError::NewlineInLine`], [`CheckpointError::ControlCharacter`]
    /// (offset within the body) and [`CheckpointError::TooLarge`].
    pub fn new(
        origin: impl Into<String>,
        size: u64,
        root: Hash,
        extensions: Vec<String>,
    ) -> Result<Self, CheckpointError> {
        let origin = origin.into();
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        if let Some(index) = extensions.iter().position(String::is_empty) {
            return Err(CheckpointError::EmptyExtensionLine { index });
        }
        if origin.contains('\n') || extensions.iter().any(|e| e.contains('\n')) {
            return Err(CheckpointError::NewlineInLine);
        }
        let checkpoint = Self {
            origin,
            size,
            root,
            extensions,
        };
        let body = checkpoint.to_body();
        check_body_bytes(body.as_bytes())?;
        Ok(checkpoint)
    }

    /// Parses a checkpoint body (the note text, with its final newline).
    ///
    /// # Errors
    /// [`CheckpointError::TooLarge`], [`CheckpointError::NotUtf8`],
    /// [`CheckpointError::ControlCharacter`] (so CRLF is refused),
    /// [`CheckpointError::MissingFinalNewline`], [`CheckpointError::TooFewLines`],
    /// [`CheckpointError::EmptyOrigin`], [`CheckpointError::InvalidSize`],
    /// [`CheckpointError::InvalidRootHash`] and
    /// [`CheckpointError::EmptyExtensionLine`].
    pub fn parse(body: &[u8]) -> Result<Self, CheckpointError> {
        check_body_bytes(body)?;
        let text = std::str::from_utf8(body).map_err(|_| CheckpointError::NotUtf8)?;
        let text = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingFinalNewline)?;
        let lines: Vec<&str> = text.split('\n').collect();
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(CheckpointError::TooFewLines { lines: lines.len() });
        };
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size = parse_decimal_u64(size).ok_or(CheckpointError::InvalidSize)?;
        let root = Hash::from_base64(root)
            .map_err(|source| CheckpointError::InvalidRootHash { source })?;
        if let Some(index) = extensions.iter().position(|e| e.is_empty()) {
            return Err(CheckpointError::EmptyExtensionLine { index });
        }
        Ok(Self {
            origin: (*origin).to_owned(),
            size,
            root,
            extensions: extensions.iter().map(|e| (*e).to_owned()).collect(),
        })
    }

    /// The origin: the log's identity, and the log key's name.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size: the number of leaves.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The RFC 9162 root hash at this size.
    #[must_use]
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The extension lines, without newlines.
    #[must_use]
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The note text: origin, size, root and extension lines, each ending in
    /// a newline.
    #[must_use]
    pub fn to_body(&self) -> String {
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for ext in &self.extensions {
            body.push_str(ext);
            body.push('\n');
        }
        body
    }

    /// The note text as bytes: [`Checkpoint::to_body`], for callers that deal
    /// in bytes. [`Checkpoint::parse`] of the result gives back this
    /// checkpoint.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_body().into_bytes()
    }
}

/// Size and character checks shared by [`Checkpoint::new`] and
/// [`Checkpoint::parse`].
fn check_body_bytes(body: &[u8]) -> Result<(), CheckpointError> {
    if body.len() > MAX_BODY_SIZE {
        return Err(CheckpointError::TooLarge {
            size: body.len(),
            max: MAX_BODY_SIZE,
        });
    }
    if let Some(offset) = body.iter().position(|&b| b < 0x20 && b != b'\n') {
        return Err(CheckpointError::ControlCharacter { offset });
    }
    Ok(())
}

/// Parses an ASCII decimal `u64` with no sign and no leading zeroes (unless
/// the number is `0`).
pub(crate) fn parse_decimal_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Signs a checkpoint with the log key and returns the signed note.
///
/// The signer's name should be the checkpoint's origin (tlog-checkpoint,
/// "Signatures"); [`open_checkpoint`] insists on it.
#[must_use]
pub fn sign_checkpoint(checkpoint: &Checkpoint, signer: &LogSigner) -> Vec<u8> {
    // Formatting directly: a Checkpoint body is always a valid note text, and
    // one signature line keeps it far below the note size limit.
    let body = checkpoint.to_body();
    let line = signer.sign(&body).to_line();
    let mut out = body.into_bytes();
    out.push(b'\n');
    out.extend_from_slice(line.as_bytes());
    out
}

/// A cosignature that verified under one of the given cosigner keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCosignature {
    /// The cosigner's key name.
    pub name: KeyName,
    /// The cosigner's key ID.
    pub key_id: KeyId,
    /// When the cosigner signed (POSIX seconds).
    pub timestamp: u64,
    /// Index of the cosigner key in the slice given to [`open_checkpoint`].
    pub cosigner: usize,
}

/// A checkpoint whose log signature verified, with the cosignatures that
/// verified and the note exactly as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    checkpoint: Checkpoint,
    cosignatures: Vec<VerifiedCosignature>,
    note: Note,
}

impl SignedCheckpoint {
    /// The checkpoint.
    #[must_use]
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The verified cosignatures, in line order.
    #[must_use]
    pub fn cosignatures(&self) -> &[VerifiedCosignature] {
        &self.cosignatures
    }

    /// The parsed signed note, including lines from unknown keys.
    #[must_use]
    pub fn note(&self) -> &Note {
        &self.note
    }

    /// The signed note's bytes, identical to those opened.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.note.to_bytes()
    }
}

/// Opens a signed checkpoint: parses the note and the body, checks that the
/// origin is the log key's name, verifies the log signature and every
/// signature line from the given cosigner keys (signed-note "Signatures":
/// unknown lines are ignored, a failing known line rejects the note).
///
/// # Errors
/// [`CheckpointError::WrongKeyType`] unless `log` is of type `0x01` and all
/// `cosigners` of type `0x04`; [`CheckpointError::Note`] for a malformed note
/// or a failing, duplicate or absent known signature;
/// the [`Checkpoint::parse`] errors; [`CheckpointError::OriginMismatch`]; and
/// [`CheckpointError::MissingLogSignature`] when only cosignatures verified.
pub fn open_checkpoint(
    bytes: &[u8],
    log: &VerifierKey,
    cosigners: &[VerifierKey],
) -> Result<SignedCheckpoint, CheckpointError> {
    expect_type(log, SignatureType::Ed25519)?;
    for c in cosigners {
        expect_type(c, SignatureType::CosignatureV1)?;
    }
    let note = Note::parse(bytes)?;
    let checkpoint = Checkpoint::parse(note.text().as_bytes())?;
    if checkpoint.origin != log.name().as_str() {
        return Err(CheckpointError::OriginMismatch {
            origin: checkpoint.origin,
            key_name: log.name().clone(),
        });
    }
    let verifiers: Vec<&VerifierKey> = std::iter::once(log).chain(cosigners).collect();
    let verified = note.verify(&verifiers)?;
    if !verified.iter().any(|v| v.verifier == 0) {
        return Err(CheckpointError::MissingLogSignature);
    }
    let cosignatures = verified
        .into_iter()
        .filter(|v| v.verifier > 0)
        .filter_map(|v| {
            // Cosigner keys are type 0x04, whose verified signatures always
            // carry a timestamp.
            let timestamp = v.timestamp?;
            Some(VerifiedCosignature {
                name: v.name,
                key_id: v.key_id,
                timestamp,
                cosigner: v.verifier - 1,
            })
        })
        .collect();
    Ok(SignedCheckpoint {
        checkpoint,
        cosignatures,
        note,
    })
}

fn expect_type(key: &VerifierKey, expected: SignatureType) -> Result<(), CheckpointError> {
    if key.sig_type() != expected {
        return Err(CheckpointError::WrongKeyType {
            expected,
            actual: key.sig_type(),
        });
    }
    Ok(())
}

/// Adds signature lines (typically cosignatures returned by witnesses) to a
/// signed checkpoint and returns the new note.
///
/// A line whose (name, key ID) is already present is skipped, so the first
/// signature from a key wins. Nothing is verified here: open the result with
/// [`open_checkpoint`] or [`crate::policy::Policy::verify_checkpoint`].
///
/// # Errors
/// [`CheckpointError::Note`] if the input is not a signed note or the result
/// would exceed the note limits, and the [`Checkpoint::parse`] errors.
pub fn add_cosignatures(
    signed_checkpoint: &[u8],
    lines: &[NoteSignature],
) -> Result<Vec<u8>, CheckpointError> {
    let mut note = Note::parse(signed_checkpoint)?;
    Checkpoint::parse(note.text().as_bytes())?;
    for line in lines {
        let present = note
            .signatures()
            .iter()
            .any(|s| s.name() == line.name() && s.key_id() == line.key_id());
        if !present {
            note.push_signature(line.clone())?;
        }
    }
    Ok(note.to_bytes())
}

/// Merges the signature lines of two signed copies of the same checkpoint:
/// the lines of `a`, then those of `b` from keys not already in `a`.
///
/// # Errors
/// [`CheckpointError::TextMismatch`] if the bodies differ, and the errors of
/// [`add_cosignatures`].
pub fn merge_signed_checkpoints(a: &[u8], b: &[u8]) -> Result<Vec<u8>, CheckpointError> {
    let other = Note::parse(b)?;
    let first = Note::parse(a)?;
    if first.text() != other.text() {
        return Err(CheckpointError::TextMismatch);
    }
    add_cosignatures(a, other.signatures())
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use ed25519_dalek::SigningKey;
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::cosignature::Cosigner;

    const ORIGIN: &str = "example.com/behind-the-sofa";
    const BODY: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    fn log() -> LogSigner {
        LogSigner::new(
            KeyName::new(ORIGIN).unwrap(),
            SigningKey::from_bytes(&[7u8; 32]),
        )
    }

    fn witness(i: u8) -> Cosigner {
        Cosigner::new(
            KeyName::new(format!("witness{i}.example")).unwrap(),
            SigningKey::from_bytes(&[100 + i; 32]),
        )
    }

    fn spec_checkpoint() -> Checkpoint {
        Checkpoint::parse(BODY.as_bytes()).unwrap()
    }

    #[test]
    fn parses_the_spec_example() {
        let c = spec_checkpoint();
        assert_eq!(c.origin(), ORIGIN);
        assert_eq!(c.size(), 20_852_163);
        assert_eq!(
            c.root().to_base64(),
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
        );
        assert!(c.extensions().is_empty());
        assert_eq!(c.to_body(), BODY);
        assert_eq!(c.to_bytes(), BODY.as_bytes());
    }

    #[test]
    fn extensions_round_trip() {
        let c = Checkpoint::new(
            "o",
            0,
            Hash([0; 32]),
            vec!["ext one".into(), "two — ü".into()],
        )
        .unwrap();
        let body = c.to_body();
        assert_eq!(
            body,
            "o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next one\ntwo — ü\n"
        );
        assert_eq!(Checkpoint::parse(body.as_bytes()).unwrap(), c);
    }

    #[test]
    fn parse_rejections() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        let cases: Vec<(Vec<u8>, CheckpointError)> = vec![
            (
                vec![b'a'; MAX_BODY_SIZE + 1],
                CheckpointError::TooLarge {
                    size: MAX_BODY_SIZE + 1,
                    max: MAX_BODY_SIZE,
                },
            ),
            (b"o\xff\n1\nAA\n".to_vec(), CheckpointError::NotUtf8),
            (
                BODY.replace('\n', "\r\n").into_bytes(),
                CheckpointError::ControlCharacter {
                    offset: ORIGIN.len(),
                },
            ),
            (
                BODY.trim_end().as_bytes().to_vec(),
                CheckpointError::MissingFinalNewline,
            ),
            (b"".to_vec(), CheckpointError::MissingFinalNewline),
            (
                b"o\n1\n".to_vec(),
                CheckpointError::TooFewLines { lines: 2 },
            ),
            (
                format!("\n1\n{root}\n").into_bytes(),
                CheckpointError::EmptyOrigin,
            ),
            (
                format!("o\n01\n{root}\n").into_bytes(),
                CheckpointError::InvalidSize,
            ),
            (
                format!("o\n+1\n{root}\n").into_bytes(),
                CheckpointError::InvalidSize,
            ),
            (
                format!("o\n-1\n{root}\n").into_bytes(),
                CheckpointError::InvalidSize,
            ),
            (
                format!("o\n\n{root}\n").into_bytes(),
                CheckpointError::InvalidSize,
            ),
            (
                format!("o\n 1\n{root}\n").into_bytes(),
                CheckpointError::InvalidSize,
            ),
            (
                format!("o\n18446744073709551616\n{root}\n").into_bytes(),
                CheckpointError::InvalidSize,
            ),
            (
                "o\n1\nAAAA\n".as_bytes().to_vec(),
                CheckpointError::InvalidRootHash {
                    source: MerkleError::BadHashLength { length: 3 },
                },
            ),
            (
                "o\n1\n!!!!\n".as_bytes().to_vec(),
                CheckpointError::InvalidRootHash {
                    source: MerkleError::BadHashEncoding,
                },
            ),
            (
                format!("o\n1\n{root}\n\n").into_bytes(),
                CheckpointError::EmptyExtensionLine { index: 0 },
            ),
            (
                format!("o\n1\n{root}\nx\n\ny\n").into_bytes(),
                CheckpointError::EmptyExtensionLine { index: 1 },
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                Checkpoint::parse(&body),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(&body)
            );
        }
        assert_eq!(
            Checkpoint::parse(format!("o\n18446744073709551615\n{root}\n").as_bytes())
                .unwrap()
                .size(),
            u64::MAX
        );
        assert_eq!(
            Checkpoint::parse(format!("o\n0\n{root}\n").as_bytes())
                .unwrap()
                .size(),
            0
        );
    }

    #[test]
    fn new_rejections() {
        let h = Hash([0; 32]);
        assert_eq!(
            Checkpoint::new("", 1, h, vec![]),
            Err(CheckpointError::EmptyOrigin)
        );
        assert_eq!(
            Checkpoint::new("a\nb", 1, h, vec![]),
            Err(CheckpointError::NewlineInLine)
        );
        assert_eq!(
            Checkpoint::new("a", 1, h, vec!["x\ny".into()]),
            Err(CheckpointError::NewlineInLine)
        );
        assert_eq!(
            Checkpoint::new("a", 1, h, vec!["x".into(), String::new()]),
            Err(CheckpointError::EmptyExtensionLine { index: 1 })
        );
        assert_eq!(
            Checkpoint::new("a\r", 1, h, vec![]),
            Err(CheckpointError::ControlCharacter { offset: 1 })
        );
        assert!(matches!(
            Checkpoint::new("a".repeat(MAX_BODY_SIZE), 1, h, vec![]),
            Err(CheckpointError::TooLarge { .. })
        ));
    }

    #[test]
    fn sign_known_answer_from_first_principles() {
        let signed = sign_checkpoint(&spec_checkpoint(), &log());

        let sk = SigningKey::from_bytes(&[7u8; 32]);
        let mut h = Sha256::new();
        h.update(ORIGIN.as_bytes());
        h.update([b'\n', 0x01]);
        h.update(sk.verifying_key().as_bytes());
        let mut raw = h.finalize()[..4].to_vec();
        raw.extend_from_slice(&ed25519_dalek::Signer::sign(&sk, BODY.as_bytes()).to_bytes());
        let want = format!("{BODY}\n\u{2014} {ORIGIN} {}\n", BASE64.encode(&raw));
        assert_eq!(String::from_utf8(signed).unwrap(), want);
    }

    #[test]
    fn open_with_cosignatures() {
        let (w1, w2, w3) = (witness(1), witness(2), witness(3));
        let signed = sign_checkpoint(&spec_checkpoint(), &log());
        let signed = add_cosignatures(
            &signed,
            &[
                w1.cosign(BODY, 10).unwrap(),
                w3.cosign(BODY, 30).unwrap(),
                w2.cosign(BODY, 20).unwrap(),
            ],
        )
        .unwrap();
        // w3 is not trusted here: its line is ignored.
        let opened =
            open_checkpoint(&signed, &log().verifier(), &[w1.verifier(), w2.verifier()]).unwrap();
        assert_eq!(opened.checkpoint(), &spec_checkpoint());
        assert_eq!(opened.to_bytes(), signed);
        assert_eq!(opened.note().signatures().len(), 4);
        let got: Vec<(&str, u64, usize)> = opened
            .cosignatures()
            .iter()
            .map(|c| (c.name.as_str(), c.timestamp, c.cosigner))
            .collect();
        assert_eq!(
            got,
            vec![("witness1.example", 10, 0), ("witness2.example", 20, 1)]
        );
        assert_eq!(opened.cosignatures()[0].key_id, w1.key_id());
    }

    #[test]
    fn open_rejections() {
        let w = witness(1);
        let signed = sign_checkpoint(&spec_checkpoint(), &log());
        let lv = log().verifier();

        assert!(matches!(
            open_checkpoint(&signed, &w.verifier(), &[]),
            Err(CheckpointError::WrongKeyType {
                expected: SignatureType::Ed25519,
                actual: SignatureType::CosignatureV1
            })
        ));
        assert!(matches!(
            open_checkpoint(&signed, &lv, std::slice::from_ref(&lv)),
            Err(CheckpointError::WrongKeyType {
                expected: SignatureType::CosignatureV1,
                ..
            })
        ));
        assert!(matches!(
            open_checkpoint(b"garbage", &lv, &[]),
            Err(CheckpointError::Note(NoteError::MissingSignatures))
        ));

        // A signed note whose text is not a checkpoint.
        let text = "hello\n";
        let note = Note::new(text, vec![log().sign(text)]).unwrap().to_bytes();
        assert_eq!(
            open_checkpoint(&note, &lv, &[]),
            Err(CheckpointError::TooFewLines { lines: 1 })
        );

        // Origin differs from the key name.
        let other = LogSigner::new(
            KeyName::new("other.example").unwrap(),
            SigningKey::from_bytes(&[7u8; 32]),
        );
        let signed_other = sign_checkpoint(&spec_checkpoint(), &other);
        assert_eq!(
            open_checkpoint(&signed_other, &other.verifier(), &[]),
            Err(CheckpointError::OriginMismatch {
                origin: ORIGIN.into(),
                key_name: KeyName::new("other.example").unwrap()
            })
        );

        // Signed by a different key of the same name: unknown, so no known signature.
        let impostor = LogSigner::new(
            KeyName::new(ORIGIN).unwrap(),
            SigningKey::from_bytes(&[8u8; 32]),
        );
        let forged = sign_checkpoint(&spec_checkpoint(), &impostor);
        assert_eq!(
            open_checkpoint(&forged, &lv, &[]),
            Err(CheckpointError::Note(NoteError::NoKnownSignature))
        );

        // Only a cosignature: the log did not sign.
        let only_cosigned =
            Note::new(BODY, vec![impostor.sign(BODY), w.cosign(BODY, 1).unwrap()]).unwrap();
        assert_eq!(
            open_checkpoint(&only_cosigned.to_bytes(), &lv, &[w.verifier()]),
            Err(CheckpointError::MissingLogSignature)
        );

        // A tampered body: the log signature fails.
        let tampered = String::from_utf8(signed.clone())
            .unwrap()
            .replace("20852163", "20852164");
        assert!(matches!(
            open_checkpoint(tampered.as_bytes(), &lv, &[]),
            Err(CheckpointError::Note(NoteError::InvalidSignature { .. }))
        ));

        // A bad cosignature from a trusted witness rejects the whole note.
        let bad = add_cosignatures(&signed, &[w.cosign("other\n", 1).unwrap()]).unwrap();
        assert!(matches!(
            open_checkpoint(&bad, &lv, &[w.verifier()]),
            Err(CheckpointError::Note(NoteError::InvalidSignature { .. }))
        ));
        // ... but is ignored if the witness is not trusted.
        assert!(open_checkpoint(&bad, &lv, &[]).is_ok());
    }

    #[test]
    fn add_and_merge() {
        let (w1, w2) = (witness(1), witness(2));
        let signed = sign_checkpoint(&spec_checkpoint(), &log());
        let a = add_cosignatures(&signed, &[w1.cosign(BODY, 1).unwrap()]).unwrap();
        let b = add_cosignatures(
            &signed,
            &[w2.cosign(BODY, 2).unwrap(), w1.cosign(BODY, 3).unwrap()],
        )
        .unwrap();
        let merged = merge_signed_checkpoints(&a, &b).unwrap();
        let note = Note::parse(&merged).unwrap();
        assert_eq!(note.signatures().len(), 3);
        // w1's first cosignature (timestamp 1) is kept.
        let opened =
            open_checkpoint(&merged, &log().verifier(), &[w1.verifier(), w2.verifier()]).unwrap();
        let ts: Vec<u64> = opened.cosignatures().iter().map(|c| c.timestamp).collect();
        assert_eq!(ts, vec![1, 2]);
        // Adding what is present changes nothing.
        assert_eq!(
            add_cosignatures(&merged, &[w1.cosign(BODY, 9).unwrap()]).unwrap(),
            merged
        );

        let other = Checkpoint::new(ORIGIN, 1, Hash([1; 32]), vec![]).unwrap();
        let signed_other = sign_checkpoint(&other, &log());
        assert_eq!(
            merge_signed_checkpoints(&a, &signed_other),
            Err(CheckpointError::TextMismatch)
        );
        assert!(matches!(
            add_cosignatures(b"x", &[]),
            Err(CheckpointError::Note(NoteError::MissingSignatures))
        ));
        let text = Note::new("x\n", vec![log().sign("x\n")])
            .unwrap()
            .to_bytes();
        assert_eq!(
            add_cosignatures(&text, &[]),
            Err(CheckpointError::TooFewLines { lines: 1 })
        );
    }

    #[test]
    fn decimal_parser() {
        assert_eq!(parse_decimal_u64("0"), Some(0));
        assert_eq!(parse_decimal_u64("10"), Some(10));
        for bad in ["", "00", "01", "+1", "-0", "1 ", "1_0", "١"] {
            assert_eq!(parse_decimal_u64(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Checkpoint::parse(&bytes);
        }

        #[test]
        fn open_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = open_checkpoint(&bytes, &log().verifier(), &[witness(1).verifier()]);
            let _ = add_cosignatures(&bytes, &[]);
        }

        #[test]
        fn format_parse_identity(
            origin in "[a-z0-9./+ \u{e9}]{1,30}",
            size in any::<u64>(),
            root in any::<[u8; 32]>(),
            extensions in proptest::collection::vec("[ -~\u{2014}]{1,20}", 0..3),
        ) {
            let c = Checkpoint::new(origin, size, Hash(root), extensions).unwrap();
            let body = c.to_body();
            prop_assert_eq!(Checkpoint::parse(body.as_bytes()).unwrap(), c.clone());
            let signed = sign_checkpoint(&c, &log());
            let note = Note::parse(&signed).unwrap();
            prop_assert_eq!(note.text(), body.as_str());
            prop_assert_eq!(note.to_bytes(), signed);
        }
    }
}
