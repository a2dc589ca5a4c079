//! An in-memory [`LogStore`]: for tests, benchmarks and tools that build a
//! log on the fly. Nothing survives the process.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use super::{CommitBatch, LogStore, StoreError};
use crate::merkle::{Hash, HashReader, NodeId};

#[derive(Default)]
struct Inner {
    leaves: Vec<Vec<u8>>,
    /// `levels[l][i]` is the hash of node (l, i).
    levels: Vec<Vec<Hash>>,
    checkpoint: Option<Vec<u8>>,
    meta: HashMap<Vec<u8>, Vec<u8>>,
}

/// A log store held in memory.
#[derive(Default)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl HashReader for MemoryStore {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        ids.iter()
            .map(|id| {
                inner
                    .levels
                    .get(usize::from(id.level))
                    .and_then(|l| l.get(usize::try_from(id.index).ok()?))
                    .copied()
                    .ok_or(StoreError::MissingNode {
                        level: id.level,
                        index: id.index,
                    })
            })
            .collect()
    }
}

impl LogStore for MemoryStore {
    fn tree_size(&self) -> Result<u64, StoreError> {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        Ok(inner.leaves.len() as u64)
    }

    fn checkpoint(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        Ok(inner.checkpoint.clone())
    }

    fn read_leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        (start..end)
            .map(|i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| inner.leaves.get(i))
                    .cloned()
                    .ok_or(StoreError::MissingLeaf { index: i })
            })
            .collect()
    }

    fn read_meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        Ok(inner.meta.get(key).cloned())
    }

    fn commit(&self, batch: &CommitBatch<'_>) -> Result<(), StoreError> {
        batch.validate()?;
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let stored = inner.leaves.len() as u64;
        if stored != batch.old_size {
            return Err(StoreError::SizeConflict {
                expected: batch.old_size,
                actual: stored,
            });
        }
        // Check every node lands at the end of its level before touching
        // anything, so a bad batch leaves the store as it was.
        let mut lens: HashMap<u8, usize> = HashMap::new();
        for (id, _) in batch.nodes {
            let len = lens
                .entry(id.level)
                .or_insert_with(|| inner.levels.get(usize::from(id.level)).map_or(0, Vec::len));
            if usize::try_from(id.index).ok() != Some(*len) {
                return Err(StoreError::InvalidCommit {
                    reason: "nodes must extend each level in order",
                });
            }
            *len += 1;
        }
        inner.leaves.extend(batch.leaves.iter().cloned());
        for (id, hash) in batch.nodes {
            let level = usize::from(id.level);
            if inner.levels.len() <= level {
                inner.levels.resize_with(level + 1, Vec::new);
            }
            inner.levels[level].push(*hash);
        }
        inner.checkpoint = Some(batch.checkpoint.to_vec());
        for (k, v) in batch.meta {
            inner.meta.insert(k.clone(), v.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conformance() {
        super::super::conformance::run_all(MemoryStore::new);
    }
}
