//! The append-only log: a [`Tree`] kept in step with a [`LogStore`].
//!
//! [`Log::append`] hashes a batch of leaves, computes the new nodes and root,
//! asks the caller to sign the checkpoint for the new size, and commits leaves,
//! nodes, size, checkpoint and metadata in one atomic store write. If the
//! commit fails, the in-memory tree is left exactly as it was.
//!
//! Proofs are served from stored hashes by the free functions of
//! [`merkle`](mod@crate::merkle) module, so readers need only the store, not the `Log`.

use thiserror::Error;

use crate::merkle::{self, Hash, MerkleError, Tree};
use crate::store::{CommitBatch, LogStore, StoreError};

/// The largest leaf the log accepts: entry bundles prefix each leaf with a
/// big-endian `u16` length (C2SP tlog-tiles; SPEC 4.4.4).
pub const MAX_LEAF_SIZE: usize = 65_535;

/// Errors of the log layer.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogError {
    /// A batch held no leaves.
    #[error("an append needs at least one leaf")]
    EmptyBatch,
    /// A leaf is larger than [`MAX_LEAF_SIZE`].
    #[error("leaf {position} of the batch has {size} bytes, more than {max}")]
    LeafTooLarge {
        /// Position of the leaf within the batch.
        position: usize,
        /// Its size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The stored tree does not match itself (a stored root differs from the
    /// one recomputed from the stored frontier).
    #[error("stored root {stored} differs from the root {computed} of the stored frontier")]
    InconsistentStore {
        /// The root the store recorded.
        stored: Hash,
        /// The root of its frontier.
        computed: Hash,
    },
    /// The Merkle layer failed.
    #[error(transparent)]
    Merkle(#[from] MerkleError),
    /// The store failed; nothing was written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one append produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Index of the first appended leaf.
    pub first_index: u64,
    /// The new tree size.
    pub size: u64,
    /// The new root.
    pub root: Hash,
    /// The leaf hashes, in order.
    pub leaf_hashes: Vec<Hash>,
    /// The checkpoint committed with the batch.
    pub checkpoint: Vec<u8>,
}

/// An append-only Merkle log over a store.
pub struct Log<S> {
    store: S,
    tree: Tree,
}

impl<S: LogStore> Log<S> {
    /// Opens the log held by `store`, loading the tree's frontier from stored
    /// hashes (O(log n) reads).
    ///
    /// # Errors
    /// A [`LogError::Store`] or [`LogError::Merkle`] if the frontier cannot be
    /// read.
    pub fn open(store: S) -> Result<Self, LogError> {
        let size = store.tree_size()?;
        let tree = Tree::from_reader(&store, size)?;
        Ok(Self { store, tree })
    }

    /// The committed tree size.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The committed root.
    #[must_use]
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Appends `leaves` in one atomic commit, together with `meta` and the
    /// checkpoint that `sign(size, root)` returns for the new tree.
    ///
    /// # Errors
    /// [`LogError::EmptyBatch`], [`LogError::LeafTooLarge`], or a store error;
    /// on any error nothing is written and the log is unchanged.
    pub fn append(
        &mut self,
        leaves: &[Vec<u8>],
        meta: &[(Vec<u8>, Vec<u8>)],
        sign: impl FnOnce(u64, &Hash) -> Vec<u8>,
    ) -> Result<Appended, LogError> {
        if leaves.is_empty() {
            return Err(LogError::EmptyBatch);
        }
        if let Some((position, leaf)) = leaves
            .iter()
            .enumerate()
            .find(|(_, l)| l.len() > MAX_LEAF_SIZE)
        {
            return Err(LogError::LeafTooLarge {
                position,
                size: leaf.len(),
                max: MAX_LEAF_SIZE,
            });
        }
        let first_index = self.tree.size();
        let mut tree = self.tree.clone();
        // About two nodes per leaf, plus the path above the batch.
        let mut nodes = Vec::with_capacity(leaves.len() * 2 + 64);
        let mut leaf_hashes = Vec::with_capacity(leaves.len());
        for leaf in leaves {
            let h = merkle::leaf_hash(leaf);
            leaf_hashes.push(h);
            tree.append(h, &mut nodes);
        }
        let root = tree.root();
        let checkpoint = sign(tree.size(), &root);
        self.store.commit(&CommitBatch {
            old_size: first_index,
            leaves,
            nodes: &nodes,
            root,
            checkpoint: &checkpoint,
            meta,
        })?;
        self.tree = tree;
        Ok(Appended {
            first_index,
            size: self.tree.size(),
            root,
            leaf_hashes,
            checkpoint,
        })
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves.
    ///
    /// # Errors
    /// [`MerkleError::IndexOutOfRange`] or [`MerkleError::SizeOutOfRange`]
    /// for requests outside the committed tree; a store error otherwise.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, MerkleError> {
        self.check_size(size)?;
        merkle::inclusion_proof(&self.store, index, size)
    }

    /// The consistency proof between two sizes of the committed tree.
    ///
    /// # Errors
    /// [`MerkleError::SizeOutOfRange`] for sizes outside the committed tree;
    /// a store error otherwise.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, MerkleError> {
        self.check_size(size2)?;
        merkle::consistency_proof(&self.store, size1, size2)
    }

    /// Recomputes the root from every stored leaf and checks it against the
    /// stored tree: a full self-check, O(n).
    ///
    /// # Errors
    /// [`LogError::InconsistentStore`] if the leaves do not hash to the
    /// stored root; a store error if anything is missing.
    pub fn verify_from_leaves(&self, chunk: u64) -> Result<Hash, LogError> {
        let size = self.tree.size();
        let mut tree = Tree::new();
        let mut scratch = Vec::new();
        let mut at = 0;
        while at < size {
            let end = size.min(at + chunk.max(1));
            for leaf in self.store.read_leaves(at, end)? {
                scratch.clear();
                tree.append(merkle::leaf_hash(&leaf), &mut scratch);
            }
            at = end;
        }
        let computed = tree.root();
        let stored = merkle::root_at(&self.store, size)?;
        if computed != stored || computed != self.tree.root() {
            return Err(LogError::InconsistentStore { stored, computed });
        }
        Ok(computed)
    }

    fn check_size(&self, size: u64) -> Result<(), MerkleError> {
        let available = self.tree.size();
        if size > available {
            return Err(MerkleError::SizeOutOfRange {
                requested: size,
                available,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    fn sign(size: u64, root: &Hash) -> Vec<u8> {
        format!("test\n{size}\n{}\n", root.to_base64()).into_bytes()
    }

    #[test]
    fn append_commits_and_reopens() {
        let mut log = Log::open(MemoryStore::new()).unwrap();
        let out = log
            .append(&[b"a".to_vec(), b"b".to_vec()], &[], sign)
            .unwrap();
        assert_eq!((out.first_index, out.size), (0, 2));
        assert_eq!(out.root, log.root());
        assert_eq!(out.checkpoint, sign(2, &out.root));
        let out2 = log.append(&[b"c".to_vec()], &[], sign).unwrap();
        assert_eq!(out2.first_index, 2);
        let store = log.store;
        assert_eq!(store.checkpoint().unwrap(), Some(sign(3, &out2.root)));
        let reopened = Log::open(store).unwrap();
        assert_eq!(reopened.size(), 3);
        assert_eq!(reopened.root(), out2.root);
        assert_eq!(reopened.verify_from_leaves(2), Ok(out2.root));
    }

    #[test]
    fn rejects_bad_batches_without_writing() {
        let mut log = Log::open(MemoryStore::new()).unwrap();
        assert_eq!(log.append(&[], &[], sign), Err(LogError::EmptyBatch));
        let big = vec![0u8; MAX_LEAF_SIZE + 1];
        assert_eq!(
            log.append(&[b"ok".to_vec(), big], &[], sign),
            Err(LogError::LeafTooLarge {
                position: 1,
                size: MAX_LEAF_SIZE + 1,
                max: MAX_LEAF_SIZE
            })
        );
        let reserved = [(b"_size".to_vec(), b"1".to_vec())];
        assert!(matches!(
            log.append(&[b"x".to_vec()], &reserved, sign),
            Err(LogError::Store(StoreError::InvalidCommit { .. }))
        ));
        assert_eq!(log.size(), 0);
        assert_eq!(log.store().tree_size(), Ok(0));
        assert_eq!(log.store().checkpoint(), Ok(None));
        // The largest leaf is fine.
        let max = vec![0u8; MAX_LEAF_SIZE];
        assert_eq!(log.append(&[max], &[], sign).unwrap().size, 1);
    }

    #[test]
    fn a_second_writer_cannot_interleave() {
        let store = MemoryStore::new();
        let mut a = Log::open(&store).unwrap();
        let mut b = Log::open(&store).unwrap();
        a.append(&[b"a".to_vec()], &[], sign).unwrap();
        assert_eq!(
            b.append(&[b"b".to_vec()], &[], sign),
            Err(LogError::Store(StoreError::SizeConflict {
                expected: 0,
                actual: 1
            }))
        );
        assert_eq!(b.size(), 0, "a failed append leaves the tree unchanged");
        assert_eq!(store.read_leaves(0, 1).unwrap(), vec![b"a".to_vec()]);
    }

    #[test]
    fn proofs_are_bounded_by_the_committed_size() {
        let mut log = Log::open(MemoryStore::new()).unwrap();
        let leaves: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i]).collect();
        let out = log.append(&leaves, &[], sign).unwrap();
        let proof = log.inclusion_proof(3, 10).unwrap();
        merkle::verify_inclusion(&out.leaf_hashes[3], 3, 10, &proof, &out.root).unwrap();
        assert_eq!(
            log.inclusion_proof(3, 11),
            Err(MerkleError::SizeOutOfRange {
                requested: 11,
                available: 10
            })
        );
        assert_eq!(
            log.consistency_proof(4, 11),
            Err(MerkleError::SizeOutOfRange {
                requested: 11,
                available: 10
            })
        );
    }
}
