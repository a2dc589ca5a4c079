//! RFC 9162 Merkle tree math: hashing, the append-only tree, proof generation
//! from stored hashes, and proof verification.
//!
//! Hashing follows RFC 9162 section 2.1: a leaf hash is `SHA-256(0x00 ‖ leaf)`
//! and an interior node is `SHA-256(0x01 ‖ left ‖ right)`. The empty tree's root
//! is `SHA-256("")`.
//!
//! Every complete subtree is addressed by a [`NodeId`] `(level, index)`: the
//! node at level `l` and index `i` is the root of leaves
//! `[i·2^l, (i+1)·2^l)`. A log stores the hash of every complete subtree, so
//! a proof is O(log n) reads of stored hashes and never rehashes the log; the
//! C2SP tiles are runs of consecutive nodes at levels 0, 8, 16, ….
//!
//! This module does no I/O: proof generation reads hashes through the small
//! [`HashReader`] trait, which the stores implement.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::store::StoreError;

/// The size of a SHA-256 hash in bytes.
pub const HASH_SIZE: usize = 32;

/// A SHA-256 hash the Merkle layer computes: a leaf hash, a node hash or a
/// tree root. Statements and the books name such values as
/// [`crate::statement::Digest`] (see there for the rule between the two).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; HASH_SIZE]);

impl Hash {
    /// The raw 32 bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; HASH_SIZE] {
        &self.0
    }

    /// Takes exactly 32 bytes.
    ///
    /// # Errors
    /// [`MerkleError::BadHashLength`] when `bytes` is not 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, MerkleError> {
        <[u8; HASH_SIZE]>::try_from(bytes)
            .map(Hash)
            .map_err(|_| MerkleError::BadHashLength {
                length: bytes.len(),
            })
    }

    /// Standard base64 (RFC 4648 section 4), as in checkpoints and proofs.
    #[must_use]
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// Parses standard, padded base64 of exactly 32 bytes.
    ///
    /// # Errors
    /// [`MerkleError::BadHashEncoding`] for invalid base64,
    /// [`MerkleError::BadHashLength`] when it decodes to another length.
    pub fn from_base64(text: &str) -> Result<Self, MerkleError> {
        // A 32-byte value is always 44 characters of padded base64; checking
        // first bounds the work done on hostile input.
        if text.len() != 44 {
            return match BASE64.decode(text.as_bytes()) {
                Ok(bytes) => Err(MerkleError::BadHashLength {
                    length: bytes.len(),
                }),
                Err(_) => Err(MerkleError::BadHashEncoding),
            };
        }
        let bytes = BASE64
            .decode(text.as_bytes())
            .map_err(|_| MerkleError::BadHashEncoding)?;
        Self::from_slice(&bytes)
    }

    /// Lowercase hex.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    ///
    /// # Errors
    /// [`MerkleError::BadHashEncoding`] for anything but 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, MerkleError> {
        let mut out = [0u8; HASH_SIZE];
        hex::decode_to_slice(text, &mut out).map_err(|_| MerkleError::BadHashEncoding)?;
        Ok(Hash(out))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Errors of the Merkle layer: proof verification failures and proof
/// requests that do not fit the tree.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MerkleError {
    /// A hash was not valid base64 or hex.
    #[error("hash is not valid base64 or hex")]
    BadHashEncoding,
    /// A hash decoded to a length other than 32 bytes.
    #[error("hash has {length} bytes, expected 32")]
    BadHashLength {
        /// The decoded length.
        length: usize,
    },
    /// A leaf index is not below the tree size.
    #[error("leaf index {index} is out of range for tree size {size}")]
    IndexOutOfRange {
        /// The requested index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof between sizes in the wrong order, or a size past
    /// the tree's current size.
    #[error("tree size {requested} is out of range (size1 ≤ size2 ≤ {available} required)")]
    SizeOutOfRange {
        /// The offending size.
        requested: u64,
        /// The largest size allowed there.
        available: u64,
    },
    /// A saved frontier does not have one hash per set bit of its size.
    #[error("a frontier of tree size {size} has {expected} hashes, not {actual}")]
    WrongFrontierLength {
        /// The tree size.
        size: u64,
        /// One per set bit of the size.
        expected: usize,
        /// The number given.
        actual: usize,
    },
    /// A proof has the wrong number of hashes for its sizes and index.
    #[error("proof has {actual} hashes, expected {expected}")]
    WrongProofLength {
        /// The length the sizes and index imply.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// The root recomputed from a proof differs from the expected root.
    #[error("recomputed root {computed} does not match expected root {expected}")]
    RootMismatch {
        /// The root that was expected (from a checkpoint).
        expected: Hash,
        /// The root that the proof yields.
        computed: Hash,
    },
    /// Reading stored hashes failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `SHA-256(0x00 ‖ leaf)` (RFC 9162 section 2.1.1).
#[must_use]
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(leaf);
    Hash(h.finalize().into())
}

/// `SHA-256(0x01 ‖ left ‖ right)` (RFC 9162 section 2.1.1).
#[must_use]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 1 + 2 * HASH_SIZE];
    buf[0] = 0x01;
    buf[1..=HASH_SIZE].copy_from_slice(&left.0);
    buf[1 + HASH_SIZE..].copy_from_slice(&right.0);
    Hash(Sha256::digest(buf).into())
}

/// The root of the empty tree, `SHA-256("")`.
#[must_use]
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// The address of a complete subtree: the node at `level` whose leaves are
/// `[index·2^level, (index+1)·2^level)`. Level 0 nodes are leaf hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    /// Height of the subtree (0 = a leaf).
    pub level: u8,
    /// Position among the nodes of that level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The first leaf covered by this node.
    #[must_use]
    pub fn first_leaf(&self) -> u64 {
        self.index << self.level
    }

    /// The number of leaves covered by this node.
    #[must_use]
    pub fn width(&self) -> u64 {
        1u64 << self.level
    }
}

/// Reads stored node hashes: the storage seam of the core.
///
/// Implementations return one hash per requested id, in order, or an error if
/// any is missing. Stores implement it over RocksDB or memory; tests implement
/// it over a plain vector.
pub trait HashReader {
    /// Returns the hashes of `ids`, in the same order.
    ///
    /// # Errors
    /// A [`StoreError`] if a node is missing or the store fails.
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError>;
}

impl<R: HashReader + ?Sized> HashReader for &R {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        (**self).read_hashes(ids)
    }
}

impl<R: HashReader + ?Sized> HashReader for std::sync::Arc<R> {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        (**self).read_hashes(ids)
    }
}

/// The complete subtrees that make up the leaf range `[start, end)`, from left
/// to right, when `start` is aligned to a power of two at least as large as
/// the largest power of two below `end - start` (true of every range that RFC
/// 9162 proofs and roots use). The range's hash is these nodes folded from the
/// right: `H(n0, H(n1, … H(n_{k-1}, n_k)))`.
#[must_use]
pub fn range_nodes(start: u64, end: u64) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    let mut at = start;
    while at < end {
        // The largest power of two that both divides `at` and fits before `end`.
        let fit = 63 - (end - at).leading_zeros();
        let align = if at == 0 { 63 } else { at.trailing_zeros() };
        let level = fit.min(align);
        nodes.push(NodeId {
            level: level as u8,
            index: at >> level,
        });
        at += 1u64 << level;
    }
    nodes
}

/// Folds the hashes of a range's nodes (see [`range_nodes`]) from the right.
fn fold_range(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(rest.iter().rev().fold(*last, |acc, h| node_hash(h, &acc)))
}

/// The nodes of the tree of `size` leaves that are roots of its perfect
/// subtrees, left to right (one per set bit of `size`): the tree's "frontier".
#[must_use]
pub fn frontier_nodes(size: u64) -> Vec<NodeId> {
    range_nodes(0, size)
}

/// The largest power of two strictly below `n` (for `n ≥ 2`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The leaf ranges whose hashes form the inclusion proof of leaf `index` in
/// `[lo, hi)`, bottom-up (RFC 9162 section 2.1.3.1, PATH).
fn inclusion_ranges(index: u64, lo: u64, hi: u64, out: &mut Vec<(u64, u64)>) {
    let n = hi - lo;
    if n <= 1 {
        return;
    }
    let k = split_point(n);
    if index < lo + k {
        inclusion_ranges(index, lo, lo + k, out);
        out.push((lo + k, hi));
    } else {
        inclusion_ranges(index, lo + k, hi, out);
        out.push((lo, lo + k));
    }
}

/// The leaf ranges whose hashes form the consistency proof from `m` leaves to
/// `[lo, hi)` (RFC 9162 section 2.1.4.1, SUBPROOF).
fn consistency_ranges(m: u64, lo: u64, hi: u64, complete: bool, out: &mut Vec<(u64, u64)>) {
    let n = hi - lo;
    if m == hi {
        if !complete {
            out.push((lo, hi));
        }
        return;
    }
    let k = split_point(n);
    if m <= lo + k {
        consistency_ranges(m, lo, lo + k, complete, out);
        out.push((lo + k, hi));
    } else {
        consistency_ranges(m, lo + k, hi, false, out);
        out.push((lo, lo + k));
    }
}

/// Reads the hashes of several leaf ranges with one call to the reader.
fn hash_ranges<R: HashReader + ?Sized>(
    reader: &R,
    ranges: &[(u64, u64)],
) -> Result<Vec<Hash>, MerkleError> {
    let mut ids = Vec::with_capacity(ranges.len() * 2);
    let mut bounds = Vec::with_capacity(ranges.len());
    for &(lo, hi) in ranges {
        let start = ids.len();
        ids.extend(range_nodes(lo, hi));
        bounds.push(start..ids.len());
    }
    let hashes = reader.read_hashes(&ids)?;
    if hashes.len() != ids.len() {
        return Err(StoreError::ShortRead {
            expected: ids.len(),
            actual: hashes.len(),
        }
        .into());
    }
    Ok(bounds
        .into_iter()
        // Each range is non-empty, so each slice has at least one hash.
        .filter_map(|r| fold_range(&hashes[r]))
        .collect())
}

/// The root of the first `size` leaves, from stored hashes (O(log n) reads).
///
/// # Errors
/// [`MerkleError::Store`] when a needed node is not stored.
pub fn root_at<R: HashReader + ?Sized>(reader: &R, size: u64) -> Result<Hash, MerkleError> {
    if size == 0 {
        return Ok(empty_root());
    }
    Ok(hash_ranges(reader, &[(0, size)])?
        .pop()
        .unwrap_or_else(empty_root))
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves, from
/// stored hashes (RFC 9162 section 2.1.3.1).
///
/// # Errors
/// [`MerkleError::IndexOutOfRange`] unless `index < size`;
/// [`MerkleError::Store`] when a needed node is not stored.
pub fn inclusion_proof<R: HashReader + ?Sized>(
    reader: &R,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let mut ranges = Vec::with_capacity(64);
    inclusion_ranges(index, 0, size, &mut ranges);
    hash_ranges(reader, &ranges)
}

/// The hash of leaf `index` and its inclusion proof in the tree of `size`
/// leaves, read together (one store read where they share a tile).
///
/// # Errors
/// As [`inclusion_proof`].
pub fn leaf_and_inclusion_proof<R: HashReader + ?Sized>(
    reader: &R,
    index: u64,
    size: u64,
) -> Result<(Hash, Vec<Hash>), MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let mut ranges = Vec::with_capacity(64);
    ranges.push((index, index + 1));
    inclusion_ranges(index, 0, size, &mut ranges);
    let mut hashes = hash_ranges(reader, &ranges)?;
    // The first range is the leaf itself, which is never empty.
    let leaf = hashes.remove(0);
    Ok((leaf, hashes))
}

/// The consistency proof from the tree of `size1` leaves to the tree of
/// `size2` leaves, from stored hashes (RFC 9162 section 2.1.4.1). It is empty
/// when `size1` is 0 or equals `size2`.
///
/// # Errors
/// [`MerkleError::SizeOutOfRange`] unless `size1 ≤ size2`;
/// [`MerkleError::Store`] when a needed node is not stored.
pub fn consistency_proof<R: HashReader + ?Sized>(
    reader: &R,
    size1: u64,
    size2: u64,
) -> Result<Vec<Hash>, MerkleError> {
    if size1 > size2 {
        return Err(MerkleError::SizeOutOfRange {
            requested: size1,
            available: size2,
        });
    }
    if size1 == 0 || size1 == size2 {
        return Ok(Vec::new());
    }
    let mut ranges = Vec::with_capacity(64);
    consistency_ranges(size1, 0, size2, true, &mut ranges);
    hash_ranges(reader, &ranges)
}

/// Splits an inclusion proof of `index` in a tree of `size` leaves into its
/// "inner" part (levels where the path has siblings on both sides) and its
/// "border" part (left siblings above the last point where index and size−1
/// agree). Returns `(inner, border)` lengths.
fn decompose(index: u64, size: u64) -> (usize, usize) {
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = (index >> inner).count_ones() as usize;
    (inner, border)
}

/// Hashes `seed` up through `proof`, taking the sibling from the left where
/// bit i of `index` is 1 and from the right where it is 0.
fn chain_inner(mut seed: Hash, proof: &[Hash], index: u64) -> Hash {
    for (i, h) in proof.iter().enumerate() {
        seed = if (index >> i) & 1 == 0 {
            node_hash(&seed, h)
        } else {
            node_hash(h, &seed)
        };
    }
    seed
}

/// Like [`chain_inner`], but only the left siblings: the root of the smaller
/// tree in a consistency proof.
fn chain_inner_right(mut seed: Hash, proof: &[Hash], index: u64) -> Hash {
    for (i, h) in proof.iter().enumerate() {
        if (index >> i) & 1 == 1 {
            seed = node_hash(h, &seed);
        }
    }
    seed
}

/// Hashes `seed` with every hash of `proof` on its left.
fn chain_border_right(seed: Hash, proof: &[Hash]) -> Hash {
    proof.iter().fold(seed, |acc, h| node_hash(h, &acc))
}

/// Recomputes the root from an inclusion proof (RFC 9162 section 2.1.3.2).
///
/// # Errors
/// [`MerkleError::IndexOutOfRange`] unless `index < size`;
/// [`MerkleError::WrongProofLength`] if the proof is not exactly as long as
/// `index` and `size` imply.
pub fn root_from_inclusion_proof(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let (inner, border) = decompose(index, size);
    if proof.len() != inner + border {
        return Err(MerkleError::WrongProofLength {
            expected: inner + border,
            actual: proof.len(),
        });
    }
    let (inner_part, border_part) = proof.split_at(inner);
    let res = chain_inner(*leaf_hash, inner_part, index);
    Ok(chain_border_right(res, border_part))
}

/// Verifies that `leaf_hash` is at `index` in the tree of `size` leaves with
/// root `root` (RFC 9162 section 2.1.3.2).
///
/// # Errors
/// As [`root_from_inclusion_proof`], and [`MerkleError::RootMismatch`] when
/// the recomputed root differs.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    let computed = root_from_inclusion_proof(leaf_hash, index, size, proof)?;
    if computed != *root {
        return Err(MerkleError::RootMismatch {
            expected: *root,
            computed,
        });
    }
    Ok(())
}

/// Verifies that the tree of `size2` leaves with root `root2` extends the tree
/// of `size1` leaves with root `root1` (RFC 9162 section 2.1.4.2).
///
/// For `size1 == size2` the proof must be empty and the roots equal; for
/// `size1 == 0` the proof must be empty and `root1` the empty root.
///
/// # Errors
/// [`MerkleError::SizeOutOfRange`] if `size1 > size2`,
/// [`MerkleError::WrongProofLength`] if the proof length does not fit the
/// sizes, [`MerkleError::RootMismatch`] if either root is not reproduced.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), MerkleError> {
    if size2 < size1 {
        return Err(MerkleError::SizeOutOfRange {
            requested: size1,
            available: size2,
        });
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(MerkleError::WrongProofLength {
                expected: 0,
                actual: proof.len(),
            });
        }
        if root1 != root2 {
            return Err(MerkleError::RootMismatch {
                expected: *root1,
                computed: *root2,
            });
        }
        return Ok(());
    }
    if size1 == 0 {
        if !proof.is_empty() {
            return Err(MerkleError::WrongProofLength {
                expected: 0,
                actual: proof.len(),
            });
        }
        let empty = empty_root();
        if *root1 != empty {
            return Err(MerkleError::RootMismatch {
                expected: *root1,
                computed: empty,
            });
        }
        return Ok(());
    }

    // The proof is, in effect, the inclusion proof of leaf size1−1 in the
    // larger tree, minus the levels below the largest perfect subtree that
    // ends at size1 (whose root is the first proof hash, or root1 itself when
    // size1 is a power of two).
    let (mut inner, border) = decompose(size1 - 1, size2);
    let shift = size1.trailing_zeros() as usize;
    inner = inner.saturating_sub(shift);
    let seeded_by_root1 = size1 == 1u64 << shift;
    let start = usize::from(!seeded_by_root1);
    let expected = start + inner + border;
    if proof.len() != expected {
        return Err(MerkleError::WrongProofLength {
            expected,
            actual: proof.len(),
        });
    }
    let seed = if seeded_by_root1 { *root1 } else { proof[0] };
    let rest = &proof[start..];
    let (inner_part, border_part) = rest.split_at(inner);
    let mask = (size1 - 1) >> shift;

    let computed1 = chain_border_right(chain_inner_right(seed, inner_part, mask), border_part);
    if computed1 != *root1 {
        return Err(MerkleError::RootMismatch {
            expected: *root1,
            computed: computed1,
        });
    }
    let computed2 = chain_border_right(chain_inner(seed, inner_part, mask), border_part);
    if computed2 != *root2 {
        return Err(MerkleError::RootMismatch {
            expected: *root2,
            computed: computed2,
        });
    }
    Ok(())
}

/// The append-only tree's compact state: its size and the hashes of its
/// frontier (the perfect subtrees along its right edge, one per set bit of
/// the size, largest first). Appending needs nothing else.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Tree {
    size: u64,
    frontier: Vec<Hash>,
}

impl Tree {
    /// The empty tree.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads the frontier of a stored tree of `size` leaves (O(log n) reads).
    ///
    /// # Errors
    /// [`MerkleError::Store`] when a frontier node is not stored.
    pub fn from_reader<R: HashReader + ?Sized>(reader: &R, size: u64) -> Result<Self, MerkleError> {
        let ids = frontier_nodes(size);
        let frontier = reader.read_hashes(&ids)?;
        if frontier.len() != ids.len() {
            return Err(StoreError::ShortRead {
                expected: ids.len(),
                actual: frontier.len(),
            }
            .into());
        }
        Ok(Self { size, frontier })
    }

    /// A tree of `size` leaves from its frontier ([`Tree::frontier`]), as a
    /// verifier saved it.
    ///
    /// # Errors
    /// [`MerkleError::WrongFrontierLength`] when the frontier does not have
    /// one hash per set bit of `size`.
    pub fn from_frontier(size: u64, frontier: Vec<Hash>) -> Result<Self, MerkleError> {
        let expected = size.count_ones() as usize;
        if frontier.len() != expected {
            return Err(MerkleError::WrongFrontierLength {
                size,
                expected,
                actual: frontier.len(),
            });
        }
        Ok(Self { size, frontier })
    }

    /// The frontier: the roots of the perfect subtrees along the right edge,
    /// largest first (one per set bit of the size).
    #[must_use]
    pub fn frontier(&self) -> &[Hash] {
        &self.frontier
    }

    /// The number of leaves.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash (RFC 9162 MTH).
    #[must_use]
    pub fn root(&self) -> Hash {
        fold_range(&self.frontier).unwrap_or_else(empty_root)
    }

    /// Appends one leaf hash and pushes every node it completes (the leaf
    /// itself first, then each new parent) onto `new_nodes`.
    pub fn append(&mut self, leaf_hash: Hash, new_nodes: &mut Vec<(NodeId, Hash)>) {
        let index = self.size;
        let mut node = leaf_hash;
        new_nodes.push((NodeId { level: 0, index }, node));
        let mut level = 0u8;
        while (index >> level) & 1 == 1 {
            // A set bit of the old size means a frontier subtree of that
            // height exists; it is the last one pushed.
            let Some(left) = self.frontier.pop() else {
                break;
            };
            node = node_hash(&left, &node);
            level += 1;
            new_nodes.push((
                NodeId {
                    level,
                    index: index >> level,
                },
                node,
            ));
        }
        self.frontier.push(node);
        self.size += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    /// A tree rebuilt from its frontier appends like the original; a
    /// frontier of the wrong length is refused.
    #[test]
    fn a_tree_resumes_from_its_frontier() {
        let leaves: Vec<Hash> = (0..70u8).map(|i| leaf_hash(&[i])).collect();
        let mut nodes = Vec::new();
        for size in 0..=64usize {
            let mut t = Tree::new();
            for l in &leaves[..size] {
                t.append(*l, &mut nodes);
            }
            let mut resumed = Tree::from_frontier(t.size(), t.frontier().to_vec()).unwrap();
            assert_eq!(resumed.root(), t.root());
            for l in &leaves[size..] {
                t.append(*l, &mut nodes);
                resumed.append(*l, &mut nodes);
            }
            assert_eq!(resumed, t);
            let mut long = t.frontier().to_vec();
            long.push(Hash::default());
            assert!(matches!(
                Tree::from_frontier(t.size(), long),
                Err(MerkleError::WrongFrontierLength { .. })
            ));
        }
    }

    /// The simplest possible store: every node hash in a map.
    #[derive(Default)]
    struct MapReader(HashMap<NodeId, Hash>);

    impl HashReader for MapReader {
        fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
            ids.iter()
                .map(|id| {
                    self.0.get(id).copied().ok_or(StoreError::MissingNode {
                        level: id.level,
                        index: id.index,
                    })
                })
                .collect()
        }
    }

    fn leaf(i: u64) -> Vec<u8> {
        format!("leaf {i}").into_bytes()
    }

    fn build(n: u64) -> (MapReader, Vec<Hash>) {
        let mut tree = Tree::new();
        let mut reader = MapReader::default();
        let mut roots = vec![tree.root()];
        let mut nodes = Vec::new();
        for i in 0..n {
            nodes.clear();
            tree.append(leaf_hash(&leaf(i)), &mut nodes);
            reader.0.extend(nodes.iter().copied());
            roots.push(tree.root());
        }
        (reader, roots)
    }

    /// RFC 9162 MTH, straight from the definition.
    fn naive_root(leaves: &[Vec<u8>]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaf_hash(&leaves[0]),
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
            }
        }
    }

    /// RFC 9162 PATH, straight from the definition.
    fn naive_path(m: usize, leaves: &[Vec<u8>]) -> Vec<Hash> {
        let n = leaves.len();
        if n <= 1 {
            return Vec::new();
        }
        let k = split_point(n as u64) as usize;
        if m < k {
            let mut p = naive_path(m, &leaves[..k]);
            p.push(naive_root(&leaves[k..]));
            p
        } else {
            let mut p = naive_path(m - k, &leaves[k..]);
            p.push(naive_root(&leaves[..k]));
            p
        }
    }

    /// RFC 9162 SUBPROOF, straight from the definition.
    fn naive_subproof(m: usize, leaves: &[Vec<u8>], complete: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if complete {
                Vec::new()
            } else {
                vec![naive_root(leaves)]
            };
        }
        let k = split_point(n as u64) as usize;
        if m <= k {
            let mut p = naive_subproof(m, &leaves[..k], complete);
            p.push(naive_root(&leaves[k..]));
            p
        } else {
            let mut p = naive_subproof(m - k, &leaves[k..], false);
            p.push(naive_root(&leaves[..k]));
            p
        }
    }

    #[test]
    fn known_answers() {
        // SHA-256 of the empty string.
        assert_eq!(
            empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // RFC 6962 test vectors: leaf hash of the empty leaf.
        assert_eq!(
            leaf_hash(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn hash_encodings_round_trip_and_reject() {
        let h = leaf_hash(b"x");
        assert_eq!(Hash::from_base64(&h.to_base64()), Ok(h));
        assert_eq!(Hash::from_hex(&h.to_hex()), Ok(h));
        assert_eq!(
            Hash::from_base64("AAAA"),
            Err(MerkleError::BadHashLength { length: 3 })
        );
        assert_eq!(Hash::from_base64("!!!!"), Err(MerkleError::BadHashEncoding));
        assert_eq!(
            Hash::from_base64(&"A".repeat(44)),
            Err(MerkleError::BadHashLength { length: 33 })
        );
        assert_eq!(
            Hash::from_base64(&format!("{}!", "A".repeat(43))),
            Err(MerkleError::BadHashEncoding)
        );
        assert_eq!(Hash::from_hex("00"), Err(MerkleError::BadHashEncoding));
        assert_eq!(
            Hash::from_slice(&[0u8; 31]),
            Err(MerkleError::BadHashLength { length: 31 })
        );
    }

    /// Sizes 0..=64: the root, every inclusion proof and every consistency
    /// proof match the definitions, verify, and fail when any bit of any
    /// proof hash is flipped.
    #[test]
    fn exhaustive_small_trees() {
        const N: u64 = 64;
        let (reader, roots) = build(N);
        let leaves: Vec<Vec<u8>> = (0..N).map(leaf).collect();
        for size in 0..=N {
            let root = roots[size as usize];
            assert_eq!(root, naive_root(&leaves[..size as usize]), "size {size}");
            assert_eq!(root_at(&reader, size), Ok(root));
            for index in 0..size {
                let proof = inclusion_proof(&reader, index, size).unwrap();
                assert_eq!(
                    proof,
                    naive_path(index as usize, &leaves[..size as usize]),
                    "path {index} in {size}"
                );
                let lh = leaf_hash(&leaves[index as usize]);
                verify_inclusion(&lh, index, size, &proof, &root).unwrap();
                assert_eq!(
                    leaf_and_inclusion_proof(&reader, index, size),
                    Ok((lh, proof.clone())),
                    "leaf and path {index} in {size}"
                );
                for (i, bit) in bit_flips(&proof) {
                    let mut bad = proof.clone();
                    bad[i].0[bit / 8] ^= 1 << (bit % 8);
                    assert!(verify_inclusion(&lh, index, size, &bad, &root).is_err());
                }
                // A wrong index or a wrong leaf is rejected. (A wrong size is
                // not always detectable from the proof alone: trees of
                // several sizes can share a path; the checkpoint binds it.)
                if size > 1 {
                    let other = (index + 1) % size;
                    assert!(verify_inclusion(&lh, other, size, &proof, &root).is_err());
                }
                assert!(verify_inclusion(&leaf_hash(b"no"), index, size, &proof, &root).is_err());
            }
            for size1 in 0..=size {
                let proof = consistency_proof(&reader, size1, size).unwrap();
                let want = if size1 == 0 || size1 == size {
                    Vec::new()
                } else {
                    naive_subproof(size1 as usize, &leaves[..size as usize], true)
                };
                assert_eq!(proof, want, "consistency {size1} -> {size}");
                let root1 = roots[size1 as usize];
                verify_consistency(size1, size, &proof, &root1, &root).unwrap();
                for (i, bit) in bit_flips(&proof) {
                    let mut bad = proof.clone();
                    bad[i].0[bit / 8] ^= 1 << (bit % 8);
                    assert!(
                        verify_consistency(size1, size, &bad, &root1, &root).is_err(),
                        "flip {i}/{bit} of {size1} -> {size}"
                    );
                }
                if size1 > 0 && size1 < size {
                    // Truncated and extended proofs, swapped roots.
                    assert!(verify_consistency(size1, size, &proof[1..], &root1, &root).is_err());
                    let mut longer = proof.clone();
                    longer.push(root);
                    assert!(verify_consistency(size1, size, &longer, &root1, &root).is_err());
                    assert!(verify_consistency(size1, size, &proof, &root, &root1).is_err());
                }
            }
        }
    }

    /// Every (hash, bit) position of a proof.
    fn bit_flips(proof: &[Hash]) -> impl Iterator<Item = (usize, usize)> + use<> {
        let n = proof.len();
        (0..n).flat_map(|i| (0..HASH_SIZE * 8).map(move |b| (i, b)))
    }

    #[test]
    fn proof_requests_out_of_range() {
        let (reader, _) = build(5);
        assert_eq!(
            inclusion_proof(&reader, 5, 5),
            Err(MerkleError::IndexOutOfRange { index: 5, size: 5 })
        );
        assert_eq!(
            leaf_and_inclusion_proof(&reader, 5, 5),
            Err(MerkleError::IndexOutOfRange { index: 5, size: 5 })
        );
        assert!(matches!(
            leaf_and_inclusion_proof(&reader, 0, 9),
            Err(MerkleError::Store(StoreError::MissingNode { .. }))
        ));
        assert_eq!(
            consistency_proof(&reader, 6, 5),
            Err(MerkleError::SizeOutOfRange {
                requested: 6,
                available: 5
            })
        );
        // Nodes past the stored tree are missing, never invented.
        assert!(matches!(
            inclusion_proof(&reader, 0, 9),
            Err(MerkleError::Store(StoreError::MissingNode { .. }))
        ));
    }

    #[test]
    fn verify_rejections_are_precise() {
        let h = leaf_hash(b"a");
        assert_eq!(
            verify_inclusion(&h, 0, 0, &[], &h),
            Err(MerkleError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(
            verify_inclusion(&h, 0, 2, &[], &h),
            Err(MerkleError::WrongProofLength {
                expected: 1,
                actual: 0
            })
        );
        assert_eq!(
            verify_consistency(0, 0, &[h], &empty_root(), &empty_root()),
            Err(MerkleError::WrongProofLength {
                expected: 0,
                actual: 1
            })
        );
        assert_eq!(
            verify_consistency(3, 2, &[], &h, &h),
            Err(MerkleError::SizeOutOfRange {
                requested: 3,
                available: 2
            })
        );
        assert!(matches!(
            verify_consistency(2, 2, &[], &h, &empty_root()),
            Err(MerkleError::RootMismatch { .. })
        ));
        assert!(matches!(
            verify_consistency(0, 3, &[], &h, &h),
            Err(MerkleError::RootMismatch { .. })
        ));
    }

    #[test]
    fn range_nodes_cover_ranges_exactly() {
        for size in 0..300u64 {
            let nodes = frontier_nodes(size);
            assert_eq!(nodes.len() as u32, size.count_ones());
            let mut at = 0;
            for n in nodes {
                assert_eq!(n.first_leaf(), at);
                at += n.width();
            }
            assert_eq!(at, size);
        }
    }

    proptest! {
        #[test]
        fn random_trees_match_reference(n in 1usize..300, seed in any::<u64>()) {
            let leaves: Vec<Vec<u8>> =
                (0..n).map(|i| format!("{seed}/{i}").into_bytes()).collect();
            let mut tree = Tree::new();
            let mut reader = MapReader::default();
            let mut nodes = Vec::new();
            for l in &leaves {
                nodes.clear();
                tree.append(leaf_hash(l), &mut nodes);
                reader.0.extend(nodes.iter().copied());
            }
            prop_assert_eq!(tree.root(), naive_root(&leaves));
            let reloaded = Tree::from_reader(&reader, n as u64).unwrap();
            prop_assert_eq!(&reloaded, &tree);
            let index = (seed % n as u64) as usize;
            let proof = inclusion_proof(&reader, index as u64, n as u64).unwrap();
            prop_assert_eq!(&proof, &naive_path(index, &leaves));
            let m = 1 + (seed.rotate_left(17) % n as u64) as usize;
            let cproof = consistency_proof(&reader, m as u64, n as u64).unwrap();
            let root1 = naive_root(&leaves[..m]);
            prop_assert!(verify_consistency(m as u64, n as u64, &cproof, &root1, &tree.root()).is_ok());
        }

        #[test]
        fn garbage_proofs_never_panic(
            index in 0u64..1000, size in 0u64..1000, size1 in 0u64..1000,
            proof in proptest::collection::vec(any::<[u8; 32]>(), 0..20),
        ) {
            let proof: Vec<Hash> = proof.into_iter().map(Hash).collect();
            let r = empty_root();
            let _ = verify_inclusion(&r, index, size, &proof, &r);
            prop_assert!(verify_consistency(size1, size, &proof, &r, &leaf_hash(b"x")).is_err()
                || size1 == 0 || size1 == size || size1 > size);
        }
    }
}
