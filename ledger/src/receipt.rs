//! Receipts: the C2SP tlog-proof@v1 text format
//! (<https://c2sp.org/tlog-proof>) and the receipt bundle of SPEC 4.5.
//!
//! A proof ("Format") is the line `c2sp.org/tlog-proof@v1`, an optional line
//! `extra <base64>`, the line `index <n>`, zero or more base64 inclusion proof
//! hashes (RFC 6962/9162, from the leaf's sibling up to the root's child), an
//! empty line, and the signed checkpoint verbatim:
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! index 1
//! gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
//!
//! example.com/log
//! 2
//! ...
//! ```
//!
//! A donor's receipt bundle carries the leaf bytes with such a proof, as JSON:
//! `{"leaf": "<base64 leaf bytes>", "proof": "<tlog-proof text>"}`.
//! [`ReceiptBundle::verify`] checks it offline against a trust
//! [`Policy`]: the checkpoint's log signature and witness quorum, then the
//! inclusion of `SHA-256(0x00 || leaf)` under the checkpoint's root.
//!
//! What this module does **not** do: no network (the proof must be complete),
//! no clock, and no judgement on the leaf's contents (parse the envelope and
//! statement with [`crate::leaf`] and [`crate::envelope`]). The `extra` data is
//! not authenticated and is never used here.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use crate::checkpoint::parse_decimal_u64;
use crate::merkle::{Hash, MerkleError, leaf_hash, verify_inclusion};
use crate::note::MAX_NOTE_SIZE;
use crate::policy::{Policy, PolicyError, VerifiedCheckpoint};

/// The first line of a tlog-proof@v1 proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// The most inclusion proof hashes: a tree of at most 2^64 leaves needs no
/// more than 64.
pub const MAX_PROOF_HASHES: usize = 64;

/// The largest `extra` data accepted, in bytes (decoded).
pub const MAX_EXTRA_SIZE: usize = 64 * 1024;

/// The largest proof text accepted, in bytes: a maximal signed note plus room
/// for the header, index, hashes and extra data.
pub const MAX_PROOF_SIZE: usize = MAX_NOTE_SIZE + 128 * 1024;

/// The largest leaf, in bytes (SPEC 4.3).
pub const MAX_LEAF_SIZE: usize = 65_535;

/// The largest receipt bundle JSON accepted, in bytes.
pub const MAX_BUNDLE_SIZE: usize = 2 * MAX_PROOF_SIZE;

/// Errors from parsing and verifying proofs and receipt bundles.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReceiptError {
    /// The index is not below the checkpoint's tree size.
    #[error("index {index} is not below the tree size {size}")]
    IndexOutOfRange {
        /// The proof's index.
        index: u64,
        /// The checkpoint's tree size.
        size: u64,
    },
    /// The inclusion proof does not lead to the checkpoint's root.
    #[error("inclusion proof fails: {0}")]
    Inclusion(#[source] MerkleError),
    /// The `extra` line is not standard base64, or too large.
    #[error("invalid extra data")]
    InvalidExtra,
    /// A proof hash line is not standard base64 of 32 bytes.
    #[error("proof hash {index} is invalid")]
    InvalidHash {
        /// Zero-based index among the hash lines.
        index: usize,
        /// Why the hash was refused.
        #[source]
        source: MerkleError,
    },
    /// The index is not a decimal `u64` without leading zeroes.
    #[error("invalid index")]
    InvalidIndex,
    /// The bundle is not the expected JSON object (syntax, missing, repeated
    /// or unknown fields, wrong types).
    #[error("invalid receipt JSON at line {line}, column {column}")]
    InvalidJson {
        /// Line of the error (1-based; 0 when unknown).
        line: usize,
        /// Column of the error (1-based; 0 when unknown).
        column: usize,
    },
    /// The bundle's leaf is not standard base64.
    #[error("invalid leaf encoding")]
    InvalidLeaf,
    /// The leaf is larger than [`MAX_LEAF_SIZE`].
    #[error("leaf is {size} bytes, more than the limit of {max}")]
    LeafTooLarge {
        /// The leaf size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A line of the proof is not where the format expects it (missing
    /// header, missing `index` line, a line without its newline).
    #[error("malformed proof at line {line}")]
    MalformedProof {
        /// The line number (1-based).
        line: usize,
    },
    /// No empty line and non-empty checkpoint after the proof hashes.
    #[error("proof has no checkpoint")]
    MissingCheckpoint,
    /// The proof text is not valid UTF-8, so it cannot go into JSON.
    #[error("proof is not valid UTF-8")]
    NotUtf8,
    /// The checkpoint does not satisfy the trust policy.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The input is larger than allowed.
    #[error("input is {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// The size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// More than [`MAX_PROOF_HASHES`] proof hashes.
    #[error("more than {max} proof hashes")]
    TooManyHashes {
        /// The limit.
        max: usize,
    },
}

/// A tlog-proof@v1 proof: optional extra data, the leaf index, the inclusion
/// proof and the signed checkpoint bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque, unauthenticated extra data.
    pub extra: Option<Vec<u8>>,
    /// Zero-based index of the entry in the log.
    pub index: u64,
    /// The inclusion proof, from the leaf's sibling up to the root's child.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint (a signed note), verbatim.
    pub checkpoint: Vec<u8>,
}

impl TlogProof {
    /// Parses a proof ("Format"). The checkpoint is kept verbatim and checked
    /// only by [`ReceiptBundle::verify`].
    ///
    /// # Errors
    /// [`ReceiptError::TooLarge`], [`ReceiptError::MalformedProof`],
    /// [`ReceiptError::InvalidExtra`], [`ReceiptError::InvalidIndex`],
    /// [`ReceiptError::InvalidHash`], [`ReceiptError::TooManyHashes`] and
    /// [`ReceiptError::MissingCheckpoint`].
    pub fn parse(bytes: &[u8]) -> Result<Self, ReceiptError> {
        if bytes.len() > MAX_PROOF_SIZE {
            return Err(ReceiptError::TooLarge {
                size: bytes.len(),
                max: MAX_PROOF_SIZE,
            });
        }
        let mut lines = Lines {
            rest: bytes,
            number: 0,
        };
        let (n, header) = lines.next_line()?;
        if header != TLOG_PROOF_HEADER.as_bytes() {
            return Err(ReceiptError::MalformedProof { line: n });
        }
        let (mut n, mut line) = lines.next_line()?;
        let mut extra = None;
        if let Some(data) = line.strip_prefix(b"extra ") {
            let decoded = BASE64
                .decode(data)
                .map_err(|_| ReceiptError::InvalidExtra)?;
            if decoded.len() > MAX_EXTRA_SIZE {
                return Err(ReceiptError::InvalidExtra);
            }
            extra = Some(decoded);
            (n, line) = lines.next_line()?;
        }
        let index = line
            .strip_prefix(b"index ")
            .ok_or(ReceiptError::MalformedProof { line: n })?;
        let index = std::str::from_utf8(index)
            .ok()
            .and_then(parse_decimal_u64)
            .ok_or(ReceiptError::InvalidIndex)?;
        let mut hashes = Vec::new();
        loop {
            let (_, line) = lines
                .next_line()
                .map_err(|_| ReceiptError::MissingCheckpoint)?;
            if line.is_empty() {
                break;
            }
            if hashes.len() == MAX_PROOF_HASHES {
                return Err(ReceiptError::TooManyHashes {
                    max: MAX_PROOF_HASHES,
                });
            }
            let text = std::str::from_utf8(line).map_err(|_| ReceiptError::InvalidHash {
                index: hashes.len(),
                source: MerkleError::BadHashEncoding,
            })?;
            let hash = Hash::from_base64(text).map_err(|source| ReceiptError::InvalidHash {
                index: hashes.len(),
                source,
            })?;
            hashes.push(hash);
        }
        if lines.rest.is_empty() {
            return Err(ReceiptError::MissingCheckpoint);
        }
        Ok(Self {
            extra,
            index,
            hashes,
            checkpoint: lines.rest.to_vec(),
        })
    }

    /// Encodes the proof. [`TlogProof::parse`] of the result gives back an
    /// equal proof, and formatting a parsed proof reproduces its bytes.
    #[must_use]
    pub fn format(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 45 * self.hashes.len() + self.checkpoint.len());
        out.extend_from_slice(TLOG_PROOF_HEADER.as_bytes());
        out.push(b'\n');
        if let Some(extra) = &self.extra {
            out.extend_from_slice(b"extra ");
            out.extend_from_slice(BASE64.encode(extra).as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(format!("index {}\n", self.index).as_bytes());
        for h in &self.hashes {
            out.extend_from_slice(h.to_base64().as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.checkpoint);
        out
    }

    /// Same as [`TlogProof::format`], named like the other encoders.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.format()
    }
}

/// Splits newline-terminated lines off the front of the input.
struct Lines<'a> {
    rest: &'a [u8],
    number: usize,
}

impl<'a> Lines<'a> {
    /// The next line (without its newline) and its 1-based number.
    fn next_line(&mut self) -> Result<(usize, &'a [u8]), ReceiptError> {
        self.number += 1;
        let end = self
            .rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(ReceiptError::MalformedProof { line: self.number })?;
        let line = &self.rest[..end];
        self.rest = &self.rest[end + 1..];
        Ok((self.number, line))
    }
}

/// The JSON shape of a receipt bundle.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleJson {
    leaf: String,
    proof: String,
}

/// A receipt: the leaf bytes and a tlog-proof@v1 proof of their inclusion
/// (SPEC 4.5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptBundle {
    /// The leaf exactly as logged.
    pub leaf: Vec<u8>,
    /// The proof of inclusion, with the signed checkpoint.
    pub proof: TlogProof,
}

impl ReceiptBundle {
    /// Parses `{"leaf": "<base64>", "proof": "<tlog-proof text>"}`; unknown
    /// and repeated fields are refused.
    ///
    /// # Errors
    /// [`ReceiptError::TooLarge`], [`ReceiptError::InvalidJson`],
    /// [`ReceiptError::InvalidLeaf`], [`ReceiptError::LeafTooLarge`] and the
    /// [`TlogProof::parse`] errors.
    pub fn from_json(json: &[u8]) -> Result<Self, ReceiptError> {
        if json.len() > MAX_BUNDLE_SIZE {
            return Err(ReceiptError::TooLarge {
                size: json.len(),
                max: MAX_BUNDLE_SIZE,
            });
        }
        let wire: BundleJson =
            serde_json::from_slice(json).map_err(|e| ReceiptError::InvalidJson {
                line: e.line(),
                column: e.column(),
            })?;
        let leaf = BASE64
            .decode(&wire.leaf)
            .map_err(|_| ReceiptError::InvalidLeaf)?;
        if leaf.len() > MAX_LEAF_SIZE {
            return Err(ReceiptError::LeafTooLarge {
                size: leaf.len(),
                max: MAX_LEAF_SIZE,
            });
        }
        let proof = TlogProof::parse(wire.proof.as_bytes())?;
        Ok(Self { leaf, proof })
    }

    /// Encodes the bundle as compact JSON with the fields `leaf` and `proof`.
    ///
    /// # Errors
    /// [`ReceiptError::NotUtf8`] if the proof text (its checkpoint or extra
    /// data as given) is not UTF-8.
    pub fn to_json(&self) -> Result<String, ReceiptError> {
        let proof = String::from_utf8(self.proof.format()).map_err(|_| ReceiptError::NotUtf8)?;
        Ok(serde_json::json!({
            "leaf": BASE64.encode(&self.leaf),
            "proof": proof,
        })
        .to_string())
    }

    /// Verifies the receipt offline: opens the checkpoint under `policy` (log
    /// signature and witness quorum), checks `index < size`, and checks the
    /// inclusion proof of `leaf_hash(leaf)` against the checkpoint's root
    /// (RFC 9162 section 2.1.3.2).
    ///
    /// # Errors
    /// [`ReceiptError::Policy`], [`ReceiptError::IndexOutOfRange`] and
    /// [`ReceiptError::Inclusion`].
    pub fn verify(&self, policy: &Policy) -> Result<VerifiedReceipt, ReceiptError> {
        let checkpoint = policy.verify_checkpoint(&self.proof.checkpoint)?;
        let size = checkpoint.checkpoint().size();
        let index = self.proof.index;
        if index >= size {
            return Err(ReceiptError::IndexOutOfRange { index, size });
        }
        let hash = leaf_hash(&self.leaf);
        verify_inclusion(
            &hash,
            index,
            size,
            &self.proof.hashes,
            &checkpoint.checkpoint().root(),
        )
        .map_err(ReceiptError::Inclusion)?;
        Ok(VerifiedReceipt {
            index,
            tree_size: size,
            leaf_hash: hash,
            checkpoint,
        })
    }
}

/// A receipt that verified: the leaf is at `index` in the tree the
/// checkpoint commits to, and the checkpoint satisfied the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedReceipt {
    index: u64,
    tree_size: u64,
    leaf_hash: Hash,
    checkpoint: VerifiedCheckpoint,
}

impl VerifiedReceipt {
    /// The leaf's index in the log.
    #[must_use]
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The checkpoint's tree size.
    #[must_use]
    pub fn tree_size(&self) -> u64 {
        self.tree_size
    }

    /// `SHA-256(0x00 || leaf)`.
    #[must_use]
    pub fn leaf_hash(&self) -> Hash {
        self.leaf_hash
    }

    /// The verified checkpoint, with the witnesses that cosigned it.
    #[must_use]
    pub fn checkpoint(&self) -> &VerifiedCheckpoint {
        &self.checkpoint
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use proptest::prelude::*;

    use super::*;
    use crate::checkpoint::{
        Checkpoint, CheckpointError, LogSigner, add_cosignatures, sign_checkpoint,
    };
    use crate::cosignature::Cosigner;
    use crate::merkle::node_hash;
    use crate::note::{KeyName, NoteError};

    const ORIGIN: &str = "example.org/minhbach";

    fn log_signer() -> LogSigner {
        LogSigner::new(
            KeyName::new(ORIGIN).unwrap(),
            SigningKey::from_bytes(&[7u8; 32]),
        )
    }

    fn witness() -> Cosigner {
        Cosigner::new(
            KeyName::new("w1.example").unwrap(),
            SigningKey::from_bytes(&[8u8; 32]),
        )
    }

    fn policy(quorum: &str) -> Policy {
        let text = format!(
            "log {}\nwitness w1 {}\nquorum {quorum}\n",
            log_signer().verifier(),
            witness().verifier()
        );
        Policy::parse(text.as_bytes()).unwrap()
    }

    fn leaf(i: usize) -> Vec<u8> {
        format!("{{\"v\":1,\"n\":{i}}}").into_bytes()
    }

    /// RFC 9162 section 2.1.1 MTH, written independently of `merkle`.
    fn mth(leaves: &[Hash]) -> Hash {
        if leaves.len() == 1 {
            return leaves[0];
        }
        let k = split(leaves.len());
        node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
    }

    /// RFC 9162 section 2.1.3.1 PATH.
    fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        if leaves.len() == 1 {
            return vec![];
        }
        let k = split(leaves.len());
        if m < k {
            let mut p = path(m, &leaves[..k]);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = path(m - k, &leaves[k..]);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    fn split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    /// A bundle for leaf `index` of a tree of `size` leaves, cosigned by w1.
    fn bundle(index: usize, size: usize) -> ReceiptBundle {
        let hashes: Vec<Hash> = (0..size).map(|i| leaf_hash(&leaf(i))).collect();
        let checkpoint = Checkpoint::new(ORIGIN, size as u64, mth(&hashes), vec![]).unwrap();
        let signed = sign_checkpoint(&checkpoint, &log_signer());
        let cosig = witness()
            .cosign(&checkpoint.to_body(), 1_700_000_000)
            .unwrap();
        let signed = add_cosignatures(&signed, &[cosig]).unwrap();
        ReceiptBundle {
            leaf: leaf(index),
            proof: TlogProof {
                extra: None,
                index: index as u64,
                hashes: path(index, &hashes),
                checkpoint: signed,
            },
        }
    }

    #[test]
    fn verifies_every_leaf_of_small_trees() {
        let p = policy("w1");
        for size in 1..=17 {
            for index in 0..size {
                let b = bundle(index, size);
                let v = b.verify(&p).unwrap();
                assert_eq!(v.index(), index as u64);
                assert_eq!(v.tree_size(), size as u64);
                assert_eq!(v.leaf_hash(), leaf_hash(&leaf(index)));
                assert_eq!(v.checkpoint().witnesses(), &[b"w1".to_vec()]);
                // Through JSON and back.
                let json = b.to_json().unwrap();
                let back = ReceiptBundle::from_json(json.as_bytes()).unwrap();
                assert_eq!(back, b);
                assert_eq!(back.verify(&p).unwrap(), v);
            }
        }
    }

    #[test]
    fn exact_proof_format() {
        let b = bundle(1, 3);
        let checkpoint = String::from_utf8(b.proof.checkpoint.clone()).unwrap();
        let want = format!(
            "c2sp.org/tlog-proof@v1\nindex 1\n{}\n{}\n\n{checkpoint}",
            b.proof.hashes[0].to_base64(),
            b.proof.hashes[1].to_base64()
        );
        assert_eq!(String::from_utf8(b.proof.format()).unwrap(), want);
        assert_eq!(b.proof.to_bytes(), want.as_bytes());
        assert_eq!(TlogProof::parse(want.as_bytes()).unwrap(), b.proof);

        let mut with_extra = b.proof.clone();
        with_extra.extra = Some(b"age-v1.2.1".to_vec());
        let text = String::from_utf8(with_extra.format()).unwrap();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra YWdlLXYxLjIuMQ==\nindex 1\n"));
        assert_eq!(TlogProof::parse(text.as_bytes()).unwrap(), with_extra);

        // A one-leaf tree: no hashes at all.
        let single = bundle(0, 1);
        let text = String::from_utf8(single.proof.format()).unwrap();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 0\n\n"));
        assert_eq!(TlogProof::parse(text.as_bytes()).unwrap(), single.proof);
    }

    #[test]
    fn json_shape() {
        let b = bundle(0, 1);
        let json = b.to_json().unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), 2);
        assert_eq!(obj["leaf"], BASE64.encode(leaf(0)));
        assert!(
            obj["proof"]
                .as_str()
                .unwrap()
                .starts_with("c2sp.org/tlog-proof@v1\n")
        );
    }

    #[test]
    fn proof_parse_rejections() {
        let b = bundle(2, 5);
        let good = String::from_utf8(b.proof.format()).unwrap();
        let h = b.proof.hashes[0].to_base64();
        let cp = String::from_utf8(b.proof.checkpoint.clone()).unwrap();
        let cases: Vec<(Vec<u8>, ReceiptError)> = vec![
            (
                vec![b'a'; MAX_PROOF_SIZE + 1],
                ReceiptError::TooLarge {
                    size: MAX_PROOF_SIZE + 1,
                    max: MAX_PROOF_SIZE,
                },
            ),
            (b"".to_vec(), ReceiptError::MalformedProof { line: 1 }),
            (
                b"c2sp.org/tlog-proof@v1".to_vec(),
                ReceiptError::MalformedProof { line: 1 },
            ),
            (
                b"c2sp.org/tlog-proof@v2\nindex 0\n\nx".to_vec(),
                ReceiptError::MalformedProof { line: 1 },
            ),
            (
                good.replace('\n', "\r\n").into_bytes(),
                ReceiptError::MalformedProof { line: 1 },
            ),
            (
                b"c2sp.org/tlog-proof@v1\n".to_vec(),
                ReceiptError::MalformedProof { line: 2 },
            ),
            (
                b"c2sp.org/tlog-proof@v1\nindex 0".to_vec(),
                ReceiptError::MalformedProof { line: 2 },
            ),
            (
                b"c2sp.org/tlog-proof@v1\nidx 0\n\nx".to_vec(),
                ReceiptError::MalformedProof { line: 2 },
            ),
            (
                b"c2sp.org/tlog-proof@v1\nextra AA==\nindx 0\n\nx".to_vec(),
                ReceiptError::MalformedProof { line: 3 },
            ),
            (
                b"c2sp.org/tlog-proof@v1\nextra AA==\n".to_vec(),
                ReceiptError::MalformedProof { line: 3 },
            ),
            (
                b"c2sp.org/tlog-proof@v1\nextra !!\nindex 0\n\nx".to_vec(),
                ReceiptError::InvalidExtra,
            ),
            (
                b"c2sp.org/tlog-proof@v1\nextra AA\nindex 0\n\nx".to_vec(),
                ReceiptError::InvalidExtra,
            ),
            (
                b"c2sp.org/tlog-proof@v1\nindex 01\n\nx".to_vec(),
                ReceiptError::InvalidIndex,
            ),
            (
                b"c2sp.org/tlog-proof@v1\nindex -1\n\nx".to_vec(),
                ReceiptError::InvalidIndex,
            ),
            (
                b"c2sp.org/tlog-proof@v1\nindex \n\nx".to_vec(),
                ReceiptError::InvalidIndex,
            ),
            (
                b"c2sp.org/tlog-proof@v1\nindex  1\n\nx".to_vec(),
                ReceiptError::InvalidIndex,
            ),
            (
                b"c2sp.org/tlog-proof@v1\nindex 18446744073709551616\n\nx".to_vec(),
                ReceiptError::InvalidIndex,
            ),
            (
                b"c2sp.org/tlog-proof@v1\nindex \xff\n\nx".to_vec(),
                ReceiptError::InvalidIndex,
            ),
            (
                b"c2sp.org/tlog-proof@v1\nindex 0\nAAAA\n\nx".to_vec(),
                ReceiptError::InvalidHash {
                    index: 0,
                    source: MerkleError::BadHashLength { length: 3 },
                },
            ),
            (
                format!("c2sp.org/tlog-proof@v1\nindex 0\n{h}\n{h} \n\nx").into_bytes(),
                ReceiptError::InvalidHash {
                    index: 1,
                    source: MerkleError::BadHashEncoding,
                },
            ),
            (
                b"c2sp.org/tlog-proof@v1\nindex 0\n\xff\n\nx".to_vec(),
                ReceiptError::InvalidHash {
                    index: 0,
                    source: MerkleError::BadHashEncoding,
                },
            ),
            (
                format!("c2sp.org/tlog-proof@v1\nindex 0\n{h}\n").into_bytes(),
                ReceiptError::MissingCheckpoint,
            ),
            (
                format!("c2sp.org/tlog-proof@v1\nindex 0\n{h}").into_bytes(),
                ReceiptError::MissingCheckpoint,
            ),
            (
                b"c2sp.org/tlog-proof@v1\nindex 0\n\n".to_vec(),
                ReceiptError::MissingCheckpoint,
            ),
            (
                format!(
                    "c2sp.org/tlog-proof@v1\nindex 0\n{}\n{cp}",
                    vec![h.as_str(); 65].join("\n")
                )
                .into_bytes(),
                ReceiptError::TooManyHashes {
                    max: MAX_PROOF_HASHES,
                },
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(
                TlogProof::parse(&bytes),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
        let big_extra = format!(
            "c2sp.org/tlog-proof@v1\nextra {}\nindex 0\n\nx",
            BASE64.encode(vec![0u8; MAX_EXTRA_SIZE + 1])
        );
        assert_eq!(
            TlogProof::parse(big_extra.as_bytes()),
            Err(ReceiptError::InvalidExtra)
        );
        // 64 hashes are fine for parsing.
        let max = format!(
            "c2sp.org/tlog-proof@v1\nindex 0\n{}\n\n{cp}",
            vec![h.as_str(); 64].join("\n")
        );
        assert_eq!(TlogProof::parse(max.as_bytes()).unwrap().hashes.len(), 64);
    }

    #[test]
    fn json_rejections() {
        let b = bundle(0, 2);
        let proof = String::from_utf8(b.proof.format()).unwrap();
        let leaf_b64 = BASE64.encode(&b.leaf);
        let ok = serde_json::json!({"leaf": leaf_b64, "proof": proof}).to_string();
        assert!(ReceiptBundle::from_json(ok.as_bytes()).is_ok());

        let extra = serde_json::json!({"leaf": leaf_b64, "proof": proof, "x": 1}).to_string();
        assert!(matches!(
            ReceiptBundle::from_json(extra.as_bytes()),
            Err(ReceiptError::InvalidJson { .. })
        ));
        let missing = serde_json::json!({"leaf": leaf_b64}).to_string();
        assert!(matches!(
            ReceiptBundle::from_json(missing.as_bytes()),
            Err(ReceiptError::InvalidJson { .. })
        ));
        let repeated =
            format!("{{\"leaf\":\"{leaf_b64}\",\"leaf\":\"{leaf_b64}\",\"proof\":\"\"}}");
        assert!(matches!(
            ReceiptBundle::from_json(repeated.as_bytes()),
            Err(ReceiptError::InvalidJson { .. })
        ));
        let wrong_type = serde_json::json!({"leaf": 5, "proof": proof}).to_string();
        assert!(matches!(
            ReceiptBundle::from_json(wrong_type.as_bytes()),
            Err(ReceiptError::InvalidJson { .. })
        ));
        assert_eq!(
            ReceiptBundle::from_json(b"{"),
            Err(ReceiptError::InvalidJson { line: 1, column: 1 })
        );
        assert!(matches!(
            ReceiptBundle::from_json(b"\xff"),
            Err(ReceiptError::InvalidJson { .. })
        ));

        let bad_leaf = serde_json::json!({"leaf": "not base64!", "proof": proof}).to_string();
        assert_eq!(
            ReceiptBundle::from_json(bad_leaf.as_bytes()),
            Err(ReceiptError::InvalidLeaf)
        );
        let big_leaf = serde_json::json!({"leaf": BASE64.encode(vec![0u8; MAX_LEAF_SIZE + 1]), "proof": proof}).to_string();
        assert_eq!(
            ReceiptBundle::from_json(big_leaf.as_bytes()),
            Err(ReceiptError::LeafTooLarge {
                size: MAX_LEAF_SIZE + 1,
                max: MAX_LEAF_SIZE
            })
        );
        let bad_proof = serde_json::json!({"leaf": leaf_b64, "proof": "nope"}).to_string();
        assert_eq!(
            ReceiptBundle::from_json(bad_proof.as_bytes()),
            Err(ReceiptError::MalformedProof { line: 1 })
        );
        let huge = vec![b' '; MAX_BUNDLE_SIZE + 1];
        assert!(matches!(
            ReceiptBundle::from_json(&huge),
            Err(ReceiptError::TooLarge { .. })
        ));

        let mut not_utf8 = b.clone();
        not_utf8.proof.checkpoint = vec![0xff];
        assert_eq!(not_utf8.to_json(), Err(ReceiptError::NotUtf8));
    }

    #[test]
    fn verify_rejections() {
        let p = policy("w1");
        let good = bundle(3, 6);

        let mut wrong_leaf = good.clone();
        wrong_leaf.leaf = leaf(4);
        assert!(matches!(
            wrong_leaf.verify(&p),
            Err(ReceiptError::Inclusion(MerkleError::RootMismatch { .. }))
        ));

        let mut wrong_index = good.clone();
        wrong_index.proof.index = 2;
        assert!(matches!(
            wrong_index.verify(&p),
            Err(ReceiptError::Inclusion(MerkleError::RootMismatch { .. }))
        ));

        let mut out_of_range = good.clone();
        out_of_range.proof.index = 6;
        assert_eq!(
            out_of_range.verify(&p),
            Err(ReceiptError::IndexOutOfRange { index: 6, size: 6 })
        );

        let mut short = good.clone();
        short.proof.hashes.pop();
        assert!(matches!(
            short.verify(&p),
            Err(ReceiptError::Inclusion(
                MerkleError::WrongProofLength { .. }
            ))
        ));

        // Flip each bit of each proof hash.
        for h in 0..good.proof.hashes.len() {
            for bit in 0..256 {
                let mut flipped = good.clone();
                flipped.proof.hashes[h].0[bit / 8] ^= 1 << (bit % 8);
                assert!(matches!(
                    flipped.verify(&p),
                    Err(ReceiptError::Inclusion(_))
                ));
            }
        }

        // Policy failures: quorum not met, unknown log, tampered checkpoint.
        let stricter = Policy::parse(
            format!(
                "log {}\nwitness w1 {}\nwitness w2 {}\ngroup both all w1 w2\nquorum both\n",
                log_signer().verifier(),
                witness().verifier(),
                Cosigner::new(
                    KeyName::new("w2.example").unwrap(),
                    SigningKey::from_bytes(&[9u8; 32])
                )
                .verifier()
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            good.verify(&stricter),
            Err(ReceiptError::Policy(PolicyError::QuorumNotMet {
                cosigned: 1
            }))
        );
        let other_log = LogSigner::new(
            KeyName::new("other.example").unwrap(),
            SigningKey::from_bytes(&[1u8; 32]),
        );
        let elsewhere =
            Policy::parse(format!("log {}\nquorum none\n", other_log.verifier()).as_bytes())
                .unwrap();
        assert!(matches!(
            good.verify(&elsewhere),
            Err(ReceiptError::Policy(PolicyError::UnknownLog { .. }))
        ));
        let mut tampered = good.clone();
        let text = String::from_utf8(tampered.proof.checkpoint.clone()).unwrap();
        tampered.proof.checkpoint = text.replacen("\n6\n", "\n7\n", 1).into_bytes();
        assert!(matches!(
            tampered.verify(&p),
            Err(ReceiptError::Policy(PolicyError::Checkpoint(
                CheckpointError::Note(NoteError::InvalidSignature { .. })
            )))
        ));
        // With no witness required the same receipt passes on the log key alone.
        assert!(good.verify(&policy("none")).is_ok());
    }

    #[test]
    fn truncations_never_verify() {
        let p = policy("w1");
        let b = bundle(2, 5);
        let proof = b.proof.format();
        for end in 0..proof.len() {
            if let Ok(parsed) = TlogProof::parse(&proof[..end]) {
                let truncated = ReceiptBundle {
                    leaf: b.leaf.clone(),
                    proof: parsed,
                };
                assert!(
                    truncated.verify(&p).is_err(),
                    "prefix of {end} bytes verified"
                );
            }
        }
        let json = b.to_json().unwrap();
        for end in 0..json.len() {
            assert!(ReceiptBundle::from_json(&json.as_bytes()[..end]).is_err());
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = TlogProof::parse(&bytes);
            let _ = ReceiptBundle::from_json(&bytes);
        }

        #[test]
        fn parse_never_panics_on_near_proofs(
            extra in proptest::option::of("[A-Za-z0-9+/=]{0,12}"),
            index in "[0-9]{0,21}",
            lines in proptest::collection::vec("[A-Za-z0-9+/=]{0,46}", 0..4),
            tail in "[a-z\n]{0,10}",
        ) {
            let mut text = String::from("c2sp.org/tlog-proof@v1\n");
            if let Some(e) = extra {
                text.push_str(&format!("extra {e}\n"));
            }
            text.push_str(&format!("index {index}\n{}\n{tail}", lines.join("\n")));
            let _ = TlogProof::parse(text.as_bytes());
        }

        #[test]
        fn format_parse_identity(
            extra in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
            index in any::<u64>(),
            hashes in proptest::collection::vec(any::<[u8; 32]>(), 0..10),
            checkpoint in proptest::collection::vec(any::<u8>(), 1..100),
        ) {
            let proof = TlogProof { extra, index, hashes: hashes.into_iter().map(Hash).collect(), checkpoint };
            let bytes = proof.format();
            let parsed = TlogProof::parse(&bytes).unwrap();
            prop_assert_eq!(&parsed, &proof);
            prop_assert_eq!(parsed.format(), bytes);
        }
    }
}
