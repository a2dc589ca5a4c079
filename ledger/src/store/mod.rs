//! Storage for the log: leaves, node hashes and metadata.
//!
//! The core talks to storage through two small synchronous traits:
//! [`merkle::HashReader`](crate::merkle::HashReader) for proofs and tiles, and
//! [`LogStore`] for leaves, the committed size, the latest checkpoint and the
//! atomic commit of a batch. [`memory::MemoryStore`] implements them in
//! memory; `rocks::RocksStore` (feature `rocksdb`) implements them durably.
//!
//! The contract every store keeps, checked by the conformance suite
//! (`conformance`, feature `test-util`):
//! - a commit is all or nothing: leaves, node hashes, the new size, the
//!   checkpoint and any metadata become visible together, or not at all;
//! - a commit whose `old_size` is not the stored size is refused, so two
//!   writers can never interleave;
//! - a durable store acknowledges a commit only after it is on disk.

use thiserror::Error;

use crate::merkle::{Hash, HashReader, NodeId};

#[cfg(any(test, feature = "test-util"))]
pub mod conformance;
pub mod memory;
#[cfg(feature = "rocksdb")]
pub mod rocks;

/// Errors of a store.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// A node hash that the tree needs is not stored.
    #[error("node (level {level}, index {index}) is not stored")]
    MissingNode {
        /// The node's level.
        level: u8,
        /// The node's index within its level.
        index: u64,
    },
    /// A leaf is not stored.
    #[error("leaf {index} is not stored")]
    MissingLeaf {
        /// The leaf's index.
        index: u64,
    },
    /// A read returned fewer items than asked for.
    #[error("store returned {actual} items, expected {expected}")]
    ShortRead {
        /// Items requested.
        expected: usize,
        /// Items returned.
        actual: usize,
    },
    /// A commit was built on a size that is no longer the stored size.
    #[error("commit expects stored size {expected}, but the store holds {actual}")]
    SizeConflict {
        /// The size the commit was built on.
        expected: u64,
        /// The size actually stored.
        actual: u64,
    },
    /// A commit is internally inconsistent (wrong leaf count, a node beyond
    /// the new size, …).
    #[error("invalid commit: {reason}")]
    InvalidCommit {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Stored bytes do not decode (a value of the wrong length, say).
    #[error("corrupt store: {what}")]
    Corrupt {
        /// What failed to decode.
        what: &'static str,
    },
    /// The backend (RocksDB, the filesystem) failed.
    #[error("storage backend failed: {message}")]
    Backend {
        /// The backend's message.
        message: String,
    },
}

/// Everything one append writes, committed atomically by [`LogStore::commit`].
#[derive(Debug, Clone, Copy)]
pub struct CommitBatch<'a> {
    /// The stored size this batch extends; the commit fails if it differs.
    pub old_size: u64,
    /// The leaves appended, at indexes `old_size..old_size + leaves.len()`.
    pub leaves: &'a [Vec<u8>],
    /// Every node hash the leaves complete (see
    /// [`Tree::append`](crate::merkle::Tree::append)).
    pub nodes: &'a [(NodeId, Hash)],
    /// The new root.
    pub root: Hash,
    /// The signed checkpoint for the new size (a signed note).
    pub checkpoint: &'a [u8],
    /// Extra key–value pairs written in the same batch (derived indexes of
    /// the layers above). Keys starting with `_` are reserved for the store.
    pub meta: &'a [(Vec<u8>, Vec<u8>)],
}

impl CommitBatch<'_> {
    /// The size after this batch.
    #[must_use]
    pub fn new_size(&self) -> u64 {
        self.old_size + self.leaves.len() as u64
    }

    /// Checks the batch's own consistency before a store writes anything.
    ///
    /// # Errors
    /// [`StoreError::InvalidCommit`] for an empty batch, a node outside the
    /// new tree or inside the old one, a node count other than the number
    /// of subtrees the leaves complete, or a reserved metadata key.
    pub fn validate(&self) -> Result<(), StoreError> {
        if self.leaves.is_empty() {
            return Err(StoreError::InvalidCommit {
                reason: "a commit appends at least one leaf",
            });
        }
        let new_size = self.new_size();
        for (id, _) in self.nodes {
            // Node (l, i) is complete in a tree of n leaves iff i < n >> l.
            if id.level >= 64 || id.index >= new_size >> id.level {
                return Err(StoreError::InvalidCommit {
                    reason: "node lies beyond the new tree size",
                });
            }
            if id.index < self.old_size >> id.level {
                return Err(StoreError::InvalidCommit {
                    reason: "node was complete before this batch",
                });
            }
        }
        // Each level gains the subtrees that end in the new leaves.
        let completed: u64 = (0..64)
            .map(|level| (new_size >> level) - (self.old_size >> level))
            .sum();
        if self.nodes.len() as u64 != completed {
            return Err(StoreError::InvalidCommit {
                reason: "the nodes are not exactly the subtrees the new leaves complete",
            });
        }
        if self.meta.iter().any(|(k, _)| k.first() == Some(&b'_')) {
            return Err(StoreError::InvalidCommit {
                reason: "metadata keys starting with '_' are reserved",
            });
        }
        Ok(())
    }
}

/// A log's durable state: leaves, node hashes, size, checkpoint, metadata.
///
/// Reads take `&self` so that many readers can serve proofs and tiles while
/// one sequencer commits.
pub trait LogStore: HashReader {
    /// The committed tree size.
    ///
    /// # Errors
    /// A [`StoreError`] if the store cannot be read.
    fn tree_size(&self) -> Result<u64, StoreError>;

    /// The signed checkpoint committed with the current size, if any.
    ///
    /// # Errors
    /// A [`StoreError`] if the store cannot be read.
    fn checkpoint(&self) -> Result<Option<Vec<u8>>, StoreError>;

    /// The leaves `[start, end)`, exactly as committed.
    ///
    /// # Errors
    /// [`StoreError::MissingLeaf`] if any is not stored.
    fn read_leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError>;

    /// A metadata value written by a commit.
    ///
    /// # Errors
    /// A [`StoreError`] if the store cannot be read.
    fn read_meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Writes a batch atomically (and, for a durable store, durably).
    ///
    /// # Errors
    /// [`StoreError::SizeConflict`] if `batch.old_size` is not the stored
    /// size, [`StoreError::InvalidCommit`] for a malformed batch, or a backend
    /// error; in every case nothing is written.
    fn commit(&self, batch: &CommitBatch<'_>) -> Result<(), StoreError>;
}

/// `LogStore` for a reference and for a shared `Arc`: each call goes to the
/// store behind it.
macro_rules! forward_log_store {
    ($($ty:ty),*) => {$(
        impl<S: LogStore + ?Sized> LogStore for $ty {
            fn tree_size(&self) -> Result<u64, StoreError> {
                (**self).tree_size()
            }
            fn checkpoint(&self) -> Result<Option<Vec<u8>>, StoreError> {
                (**self).checkpoint()
            }
            fn read_leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
                (**self).read_leaves(start, end)
            }
            fn read_meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
                (**self).read_meta(key)
            }
            fn commit(&self, batch: &CommitBatch<'_>) -> Result<(), StoreError> {
                (**self).commit(batch)
            }
        }
    )*};
}
forward_log_store!(&S, std::sync::Arc<S>);
