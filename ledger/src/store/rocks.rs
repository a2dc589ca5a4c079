//! The durable store: RocksDB (feature `rocksdb`).
//!
//! Layout, one column family each:
//! - `leaves`: key = leaf index (u64 big-endian) → the leaf bytes, exactly as
//!   appended (LZ4-compressed on disk; leaves are JSON);
//! - `hashes`: key = level (u8) ‖ index (u64 big-endian) → 32-byte node hash,
//!   for every complete subtree. Keys sort level by level, left to right, so a
//!   C2SP tile (256 consecutive nodes of one level) is one range read;
//! - `meta`: the committed size (`_size`), root (`_root`) and checkpoint
//!   (`_checkpoint`), plus the derived indexes that upper layers commit in
//!   the same batch (keys not starting with `_`).
//!
//! A commit is one RocksDB `WriteBatch` written with `sync = true`: the WAL is
//! fsync'd before [`LogStore::commit`] returns, and a crash leaves either the
//! whole batch or none of it.
//!
//! Node hashes at level [`RocksStore::CACHED_FROM_LEVEL`] and above (one in 64
//! of all nodes) are also kept in memory, so a proof costs at most that many
//! RocksDB reads whatever the tree size.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DBCompressionType, Direction,
    IteratorMode, Options, WriteBatch, WriteOptions, DB,
};

use super::{CommitBatch, LogStore, StoreError};
use crate::merkle::{Hash, HashReader, NodeId, HASH_SIZE};

const CF_LEAVES: &str = "leaves";
const CF_HASHES: &str = "hashes";
const CF_META: &str = "meta";
const KEY_SIZE: &[u8] = b"_size";
const KEY_ROOT: &[u8] = b"_root";
const KEY_CHECKPOINT: &[u8] = b"_checkpoint";

fn backend(e: rocksdb::Error) -> StoreError {
    StoreError::Backend {
        message: e.into_string(),
    }
}

fn node_key(id: NodeId) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = id.level;
    k[1..].copy_from_slice(&id.index.to_be_bytes());
    k
}

fn decode_hash(bytes: &[u8]) -> Result<Hash, StoreError> {
    Hash::from_slice(bytes).map_err(|_| StoreError::Corrupt {
        what: "node hash is not 32 bytes",
    })
}

/// Tuning knobs of the RocksDB store.
#[derive(Debug, Clone)]
pub struct RocksOptions {
    /// Size of the shared block cache in bytes.
    pub block_cache_bytes: usize,
    /// Whether commits fsync the write-ahead log before returning. Only
    /// benchmarks that measure the cost of durability turn this off.
    pub sync: bool,
}

impl Default for RocksOptions {
    fn default() -> Self {
        Self {
            block_cache_bytes: 128 << 20,
            sync: true,
        }
    }
}

/// A log store in a RocksDB database.
pub struct RocksStore {
    db: DB,
    size: AtomicU64,
    sync: bool,
    /// Serialises commits: one writer at a time.
    writer: Mutex<()>,
    /// `upper[l - CACHED_FROM_LEVEL][i]` = hash of node (l, i).
    upper: RwLock<Vec<Vec<Hash>>>,
}

impl RocksStore {
    /// Levels at and above this one are mirrored in memory.
    pub const CACHED_FROM_LEVEL: u8 = 6;

    /// Opens (creating if needed) the store at `path` with default options.
    ///
    /// # Errors
    /// [`StoreError::Backend`] if RocksDB cannot open it,
    /// [`StoreError::Corrupt`] if its metadata does not decode.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, &RocksOptions::default())
    }

    /// Opens (creating if needed) the store at `path`.
    ///
    /// # Errors
    /// As [`RocksStore::open`].
    pub fn open_with(path: &Path, options: &RocksOptions) -> Result<Self, StoreError> {
        let cache = Cache::new_lru_cache(options.block_cache_bytes);
        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_max_background_jobs(2);
        db_opts.set_bytes_per_sync(1 << 20);

        let table = |block_size: usize| {
            let mut t = BlockBasedOptions::default();
            t.set_block_cache(&cache);
            t.set_block_size(block_size);
            t.set_cache_index_and_filter_blocks(true);
            t.set_bloom_filter(10.0, false);
            t
        };
        let mut leaves_opts = Options::default();
        leaves_opts.set_compression_type(DBCompressionType::Lz4);
        leaves_opts.set_block_based_table_factory(&table(16 << 10));
        leaves_opts.set_write_buffer_size(64 << 20);
        let mut hashes_opts = Options::default();
        // Hashes do not compress.
        hashes_opts.set_compression_type(DBCompressionType::None);
        hashes_opts.set_block_based_table_factory(&table(4 << 10));
        hashes_opts.set_write_buffer_size(64 << 20);
        let meta_opts = Options::default();

        let db = DB::open_cf_descriptors(
            &db_opts,
            path,
            vec![
                ColumnFamilyDescriptor::new(CF_LEAVES, leaves_opts),
                ColumnFamilyDescriptor::new(CF_HASHES, hashes_opts),
                ColumnFamilyDescriptor::new(CF_META, meta_opts),
            ],
        )
        .map_err(backend)?;
        let mut store = Self {
            db,
            size: AtomicU64::new(0),
            sync: options.sync,
            writer: Mutex::new(()),
            upper: RwLock::new(Vec::new()),
        };
        let size = match store.meta_raw(KEY_SIZE)? {
            None => 0,
            Some(v) => {
                u64::from_be_bytes(v.as_slice().try_into().map_err(|_| StoreError::Corrupt {
                    what: "stored size is not 8 bytes",
                })?)
            }
        };
        store.size = AtomicU64::new(size);
        store.load_upper()?;
        Ok(store)
    }

    fn cf(&self, name: &str) -> Result<&ColumnFamily, StoreError> {
        self.db.cf_handle(name).ok_or(StoreError::Corrupt {
            what: "column family missing",
        })
    }

    fn meta_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.db.get_cf(self.cf(CF_META)?, key).map_err(backend)
    }

    /// Fills the in-memory mirror of the upper levels from the database.
    fn load_upper(&mut self) -> Result<(), StoreError> {
        let mut upper = Vec::new();
        for level in Self::CACHED_FROM_LEVEL..64 {
            let start = node_key(NodeId { level, index: 0 });
            let mut nodes = Vec::new();
            let iter = self.db.iterator_cf(
                self.cf(CF_HASHES)?,
                IteratorMode::From(&start, Direction::Forward),
            );
            for item in iter {
                let (k, v) = item.map_err(backend)?;
                if k.first() != Some(&level) {
                    break;
                }
                nodes.push(decode_hash(&v)?);
            }
            if nodes.is_empty() {
                break;
            }
            upper.push(nodes);
        }
        *self.upper.get_mut().unwrap_or_else(PoisonError::into_inner) = upper;
        Ok(())
    }

    /// The `count` consecutive node hashes of `level` from `start`: one range
    /// read (a C2SP tile is such a run at level 8·L).
    ///
    /// # Errors
    /// [`StoreError::MissingNode`] if the run is not fully stored.
    pub fn read_node_run(
        &self,
        level: u8,
        start: u64,
        count: u64,
    ) -> Result<Vec<Hash>, StoreError> {
        let from = node_key(NodeId {
            level,
            index: start,
        });
        let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0).min(4096));
        let iter = self.db.iterator_cf(
            self.cf(CF_HASHES)?,
            IteratorMode::From(&from, Direction::Forward),
        );
        for item in iter.take(usize::try_from(count).unwrap_or(usize::MAX)) {
            let (k, v) = item.map_err(backend)?;
            let expected = node_key(NodeId {
                level,
                index: start + out.len() as u64,
            });
            if *k != expected {
                break;
            }
            out.push(decode_hash(&v)?);
        }
        if (out.len() as u64) < count {
            return Err(StoreError::MissingNode {
                level,
                index: start + out.len() as u64,
            });
        }
        Ok(out)
    }

    /// Writes a consistent snapshot of the database to `path` (a RocksDB
    /// checkpoint: hard links where possible), for backups.
    ///
    /// # Errors
    /// [`StoreError::Backend`] if RocksDB cannot create it.
    pub fn backup_to(&self, path: &Path) -> Result<(), StoreError> {
        let cp = rocksdb::checkpoint::Checkpoint::new(&self.db).map_err(backend)?;
        cp.create_checkpoint(path).map_err(backend)
    }

    /// Rebuilds the `hashes` column family (every node hash: a derived
    /// index) from the leaves alone, and reloads the in-memory upper levels.
    ///
    /// The leaves are read twice: a first pass recomputes the root and
    /// compares it with the root recorded at the last commit, so nothing is
    /// rewritten when the leaves themselves are damaged; the second pass
    /// deletes every stored node and writes the recomputed ones, `chunk`
    /// leaves per write batch, the last one fsync'd. A crash during the
    /// second pass leaves the leaves untouched: running it again repairs
    /// the hashes. Needs exclusive use of the store (`&mut self`).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the leaves do not hash to the stored root,
    /// [`StoreError::MissingLeaf`] if a leaf is missing, a backend error.
    pub fn rebuild_hashes(&mut self, chunk: u64) -> Result<Hash, StoreError> {
        let size = self.size.load(Ordering::Acquire);
        let chunk = chunk.max(1);
        let mut tree = crate::merkle::Tree::new();
        let mut nodes = Vec::new();
        let mut at = 0;
        while at < size {
            let end = size.min(at + chunk);
            for leaf in self.read_leaves(at, end)? {
                nodes.clear();
                tree.append(crate::merkle::leaf_hash(&leaf), &mut nodes);
            }
            at = end;
        }
        let root = tree.root();
        let stored = self.stored_root()?;
        if size > 0 && stored != Some(root) {
            return Err(StoreError::Corrupt {
                what: "the leaves do not hash to the root recorded at the last commit",
            });
        }

        let hashes_cf = self.cf(CF_HASHES)?;
        let mut wb = WriteBatch::default();
        wb.delete_range_cf(hashes_cf, [0u8; 9], [u8::MAX; 9]);
        self.db.write(wb).map_err(backend)?;
        let mut tree = crate::merkle::Tree::new();
        at = 0;
        while at < size {
            let end = size.min(at + chunk);
            let mut wb = WriteBatch::default();
            for leaf in self.read_leaves(at, end)? {
                nodes.clear();
                tree.append(crate::merkle::leaf_hash(&leaf), &mut nodes);
                for (id, hash) in &nodes {
                    wb.put_cf(hashes_cf, node_key(*id), hash.as_bytes());
                }
            }
            self.db.write(wb).map_err(backend)?;
            at = end;
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db
            .write_opt(WriteBatch::default(), &wo)
            .map_err(backend)?;
        self.db.flush_wal(true).map_err(backend)?;
        self.load_upper()?;
        Ok(root)
    }

    /// The root recorded with the last commit.
    ///
    /// # Errors
    /// A backend or decoding error.
    pub fn stored_root(&self) -> Result<Option<Hash>, StoreError> {
        self.meta_raw(KEY_ROOT)?
            .map(|v| decode_hash(&v))
            .transpose()
    }

    /// Writes metadata of the layers above outside a commit (state that
    /// changes without the tree growing, such as witness cosignatures), in
    /// one atomic write that is fsync'd like a commit. The tree is not
    /// touched.
    ///
    /// # Errors
    /// [`StoreError::InvalidCommit`] for a key starting with `_` (reserved
    /// for the store), a backend error; in every case nothing is written.
    pub fn put_meta(&self, pairs: &[(Vec<u8>, Vec<u8>)]) -> Result<(), StoreError> {
        if pairs.iter().any(|(k, _)| k.first() == Some(&b'_')) {
            return Err(StoreError::InvalidCommit {
                reason: "metadata keys starting with '_' are reserved",
            });
        }
        let meta_cf = self.cf(CF_META)?;
        let mut wb = WriteBatch::default();
        for (k, v) in pairs {
            wb.put_cf(meta_cf, k, v);
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(self.sync);
        self.db.write_opt(wb, &wo).map_err(backend)
    }
}

impl HashReader for RocksStore {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        let mut out = vec![Hash::default(); ids.len()];
        let mut missing_pos = Vec::new();
        {
            let upper = self.upper.read().unwrap_or_else(PoisonError::into_inner);
            for (pos, id) in ids.iter().enumerate() {
                let cached = id
                    .level
                    .checked_sub(Self::CACHED_FROM_LEVEL)
                    .and_then(|l| upper.get(usize::from(l)))
                    .and_then(|nodes| nodes.get(usize::try_from(id.index).ok()?));
                match cached {
                    Some(h) => out[pos] = *h,
                    None => missing_pos.push(pos),
                }
            }
        }
        if missing_pos.is_empty() {
            return Ok(out);
        }
        let cf = self.cf(CF_HASHES)?;
        let keys: Vec<[u8; 9]> = missing_pos.iter().map(|&p| node_key(ids[p])).collect();
        let values = self.db.batched_multi_get_cf(cf, keys.iter(), false);
        for (&pos, value) in missing_pos.iter().zip(values) {
            match value.map_err(backend)? {
                Some(v) => out[pos] = decode_hash(&v)?,
                None => {
                    return Err(StoreError::MissingNode {
                        level: ids[pos].level,
                        index: ids[pos].index,
                    })
                }
            }
        }
        Ok(out)
    }
}

impl LogStore for RocksStore {
    fn tree_size(&self) -> Result<u64, StoreError> {
        Ok(self.size.load(Ordering::Acquire))
    }

    fn checkpoint(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.meta_raw(KEY_CHECKPOINT)
    }

    fn read_leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        if end <= start {
            return Ok(Vec::new());
        }
        let cf = self.cf(CF_LEAVES)?;
        let from = start.to_be_bytes();
        let mut out = Vec::with_capacity(usize::try_from(end - start).unwrap_or(0).min(4096));
        let iter = self
            .db
            .iterator_cf(cf, IteratorMode::From(&from, Direction::Forward));
        for item in iter {
            let index = start + out.len() as u64;
            if index >= end {
                break;
            }
            let (k, v) = item.map_err(backend)?;
            if *k != index.to_be_bytes() {
                break;
            }
            out.push(v.into_vec());
        }
        if (out.len() as u64) < end - start {
            return Err(StoreError::MissingLeaf {
                index: start + out.len() as u64,
            });
        }
        Ok(out)
    }

    fn read_meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.meta_raw(key)
    }

    fn commit(&self, batch: &CommitBatch<'_>) -> Result<(), StoreError> {
        batch.validate()?;
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let stored = self.size.load(Ordering::Acquire);
        if stored != batch.old_size {
            return Err(StoreError::SizeConflict {
                expected: batch.old_size,
                actual: stored,
            });
        }
        let new_size = batch.new_size();
        let (leaves_cf, hashes_cf, meta_cf) =
            (self.cf(CF_LEAVES)?, self.cf(CF_HASHES)?, self.cf(CF_META)?);
        let mut wb = WriteBatch::default();
        for (i, leaf) in batch.leaves.iter().enumerate() {
            wb.put_cf(leaves_cf, (batch.old_size + i as u64).to_be_bytes(), leaf);
        }
        for (id, hash) in batch.nodes {
            wb.put_cf(hashes_cf, node_key(*id), hash.as_bytes());
        }
        for (k, v) in batch.meta {
            wb.put_cf(meta_cf, k, v);
        }
        wb.put_cf(meta_cf, KEY_SIZE, new_size.to_be_bytes());
        wb.put_cf(meta_cf, KEY_ROOT, batch.root.as_bytes());
        wb.put_cf(meta_cf, KEY_CHECKPOINT, batch.checkpoint);
        let mut wo = WriteOptions::default();
        wo.set_sync(self.sync);
        self.db.write_opt(wb, &wo).map_err(backend)?;

        // The batch is durable: publish it to readers.
        {
            let mut upper = self.upper.write().unwrap_or_else(PoisonError::into_inner);
            for (id, hash) in batch.nodes {
                if let Some(l) = id.level.checked_sub(Self::CACHED_FROM_LEVEL) {
                    let l = usize::from(l);
                    if upper.len() <= l {
                        upper.resize_with(l + 1, Vec::new);
                    }
                    // Nodes arrive in order within each level.
                    if upper[l].len() as u64 == id.index {
                        upper[l].push(*hash);
                    }
                }
            }
        }
        self.size.store(new_size, Ordering::Release);
        Ok(())
    }
}

// `HASH_SIZE` documents the value length of the `hashes` column family.
const _: () = assert!(HASH_SIZE == 32);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::Log;
    use crate::merkle;

    fn sign(size: u64, root: &Hash) -> Vec<u8> {
        format!("rocks\n{size}\n{}\n", root.to_base64()).into_bytes()
    }

    #[test]
    fn conformance() {
        let mut dirs = Vec::new();
        super::super::conformance::run_all(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = RocksStore::open(dir.path()).expect("open");
            dirs.push(dir);
            store
        });
    }

    #[test]
    fn rebuild_hashes_restores_every_node_and_refuses_damaged_leaves() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(RocksStore::open(dir.path()).unwrap()).unwrap();
        let leaves: Vec<Vec<u8>> = (0..1000u32).map(|i| i.to_be_bytes().to_vec()).collect();
        for batch in leaves.chunks(77) {
            log.append(batch, &[], sign).unwrap();
        }
        let root = log.root();
        let proof = log.inclusion_proof(517, 1000).unwrap();
        let proof64 = log.inclusion_proof(64, 1000).unwrap();
        drop(log);

        // Damage the derived index: drop one node and overwrite another.
        {
            let store = RocksStore::open(dir.path()).unwrap();
            let cf = store.cf(CF_HASHES).unwrap();
            store
                .db
                .delete_cf(
                    cf,
                    node_key(NodeId {
                        level: 0,
                        index: 517,
                    }),
                )
                .unwrap();
            store
                .db
                .put_cf(cf, node_key(NodeId { level: 3, index: 9 }), [7u8; 32])
                .unwrap();
            // Leaf 516's proof needs node (0, 517), now missing; leaf 64's
            // needs (3, 9), now wrong.
            let log = Log::open(store).unwrap();
            assert!(log.inclusion_proof(516, 1000).is_err());
            assert_ne!(log.inclusion_proof(64, 1000).unwrap(), proof64);
        }
        let mut store = RocksStore::open(dir.path()).unwrap();
        assert_eq!(store.rebuild_hashes(100).unwrap(), root);
        let log = Log::open(store).unwrap();
        assert_eq!(log.root(), root);
        assert_eq!(log.inclusion_proof(517, 1000).unwrap(), proof);
        assert_eq!(log.inclusion_proof(64, 1000).unwrap(), proof64);
        assert_eq!(log.verify_from_leaves(64).unwrap(), root);
        drop(log);

        // A damaged leaf: refused, and nothing is rewritten.
        let mut store = RocksStore::open(dir.path()).unwrap();
        let cf = store.cf(CF_LEAVES).unwrap();
        store.db.put_cf(cf, 3u64.to_be_bytes(), b"forged").unwrap();
        let err = store.rebuild_hashes(100).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        let node = store.read_hashes(&[NodeId { level: 0, index: 3 }]).unwrap();
        assert_eq!(node[0], merkle::leaf_hash(&leaves[3]));
    }

    #[test]
    fn reopen_gives_back_the_same_tree() {
        let dir = tempfile::tempdir().unwrap();
        let (root, size) = {
            let mut log = Log::open(RocksStore::open(dir.path()).unwrap()).unwrap();
            for b in 0..20u64 {
                let leaves: Vec<Vec<u8>> = (0..(b * 37 % 300 + 1))
                    .map(|i| format!("{b}/{i}").into_bytes())
                    .collect();
                log.append(&leaves, &[], sign).unwrap();
            }
            (log.root(), log.size())
        };
        let store = RocksStore::open(dir.path()).unwrap();
        assert_eq!(store.stored_root(), Ok(Some(root)));
        assert_eq!(store.checkpoint(), Ok(Some(sign(size, &root))));
        let log = Log::open(store).unwrap();
        assert_eq!((log.size(), log.root()), (size, root));
        assert_eq!(log.verify_from_leaves(1000), Ok(root));
        // The upper-level mirror was rebuilt: proofs still match.
        let proof = log.inclusion_proof(size / 2, size).unwrap();
        let leaf = log.store().read_leaves(size / 2, size / 2 + 1).unwrap();
        merkle::verify_inclusion(&merkle::leaf_hash(&leaf[0]), size / 2, size, &proof, &root)
            .unwrap();
    }

    #[test]
    fn node_runs_are_tiles() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(RocksStore::open(dir.path()).unwrap()).unwrap();
        let leaves: Vec<Vec<u8>> = (0..600u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let out = log.append(&leaves, &[], sign).unwrap();
        let run = log.store().read_node_run(0, 256, 256).unwrap();
        assert_eq!(run, out.leaf_hashes[256..512].to_vec());
        let ids: Vec<NodeId> = (0..2).map(|index| NodeId { level: 8, index }).collect();
        assert_eq!(
            log.store().read_node_run(8, 0, 2).unwrap(),
            log.store().read_hashes(&ids).unwrap()
        );
        assert_eq!(
            log.store().read_node_run(8, 0, 3),
            Err(StoreError::MissingNode { level: 8, index: 2 })
        );
        assert_eq!(
            log.store().read_node_run(0, 590, 20),
            Err(StoreError::MissingNode {
                level: 0,
                index: 600
            })
        );
    }

    #[test]
    fn put_meta_is_durable_refuses_reserved_keys_and_leaves_the_tree_alone() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut log = Log::open(RocksStore::open(dir.path()).unwrap()).unwrap();
            log.append(&[b"one".to_vec()], &[], sign).unwrap();
            let store = log.store();
            store
                .put_meta(&[
                    (b"a".to_vec(), b"1".to_vec()),
                    (b"b".to_vec(), b"2".to_vec()),
                ])
                .unwrap();
            store.put_meta(&[(b"a".to_vec(), b"3".to_vec())]).unwrap();
            // A reserved key refuses the whole write.
            assert!(matches!(
                store.put_meta(&[
                    (b"c".to_vec(), b"x".to_vec()),
                    (b"_size".to_vec(), vec![0; 8])
                ]),
                Err(StoreError::InvalidCommit { .. })
            ));
            assert_eq!(store.read_meta(b"c"), Ok(None));
        }
        let store = RocksStore::open(dir.path()).unwrap();
        assert_eq!(store.read_meta(b"a"), Ok(Some(b"3".to_vec())));
        assert_eq!(store.read_meta(b"b"), Ok(Some(b"2".to_vec())));
        assert_eq!(store.tree_size(), Ok(1));
        let root = merkle::leaf_hash(b"one");
        assert_eq!(store.checkpoint(), Ok(Some(sign(1, &root))));
    }

    #[test]
    fn backup_is_a_consistent_copy() {
        let dir = tempfile::tempdir().unwrap();
        let backup = tempfile::tempdir().unwrap();
        let target = backup.path().join("snap");
        let mut log = Log::open(RocksStore::open(dir.path()).unwrap()).unwrap();
        log.append(&[b"one".to_vec(), b"two".to_vec()], &[], sign)
            .unwrap();
        log.store().backup_to(&target).unwrap();
        log.append(&[b"three".to_vec()], &[], sign).unwrap();
        let copy = Log::open(RocksStore::open(&target).unwrap()).unwrap();
        assert_eq!(copy.size(), 2);
        assert_eq!(copy.verify_from_leaves(10), Ok(copy.root()));
    }
}
