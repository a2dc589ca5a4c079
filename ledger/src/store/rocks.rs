//! The durable store: RocksDB (feature `rocksdb`).
//!
//! Layout, one column family each:
//! - `leaves`: key = leaf index (u64 big-endian) → the leaf bytes, exactly as
//!   appended (LZ4-compressed on disk; leaves are JSON);
//! - `tiles`: key = tile index t (u64 big-endian) → the node hashes of
//!   levels 0 to 7 of the complete 256-leaf subtree t, packed level by
//!   level (256 leaf hashes, then 128 of level 1, …, then 2 of level 7:
//!   510 hashes, 16,320 bytes). One read gives every node a proof needs
//!   below level 8, and the level-0 C2SP tile;
//! - `paths`: key = tile index (u64 big-endian) ‖ group g (u8, 0..16) → what
//!   an inclusion proof of any of the tile's leaves `16g..16g+16` needs
//!   below level 8, 24 hashes (768 bytes): the 16 leaf hashes of the group,
//!   its 4 nodes of level 2, then its siblings at levels 4 to 7 (a node of
//!   level 1 or 3 is the hash of two stored ones: two node hashes a proof).
//!   It copies what the packed tile holds, so that a proof reads one small
//!   value instead of 16 KB: at ten million leaves the tiles (640 MB) no
//!   longer fit a cache, and reading whole tiles was a third of the time of
//!   an inclusion-proof request. At 480 MB for ten million leaves (the
//!   first layout stored all 60 hashes of levels 0 to 7 it could need:
//!   1.2 GB) the path values are all that inclusion proofs read from disk;
//! - `hashes`: key = level (u8) ‖ index (u64 big-endian) → 32-byte node hash,
//!   for the complete subtrees of level 8 and above (one node in 128), all
//!   of them mirrored in memory;
//! - `meta`: the committed size (`_size`), root (`_root`), checkpoint
//!   (`_checkpoint`) and layout version (`_layout`), plus the derived
//!   indexes that upper layers commit in the same batch (keys not starting
//!   with `_`).
//!
//! The right-edge tile (the last, incomplete 256 leaves) is kept in memory
//! only: it is written as a whole once complete, and recomputed from its
//! at most 255 leaves on open. So a proof costs at most one RocksDB read per
//! distinct tile it touches (one for an inclusion proof, two for a
//! consistency proof), whatever the tree size.
//!
//! A commit is one RocksDB `WriteBatch` written with `sync = true`: the WAL is
//! fsync'd before [`LogStore::commit`] returns, and a crash leaves either the
//! whole batch or none of it. WAL files are recycled, so the fsync of a
//! commit overwrites an allocated file instead of growing one (which costs a
//! journal commit of the file's size on every sync).
//!
//! A store written with another layout (or whose rebuild was interrupted) has
//! no current `_layout` marker: opening it rebuilds the tiles and hashes from
//! the leaves, checked against the stored root.

use std::path::Path;
use std::sync::{Mutex, PoisonError, RwLock};

use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DB, DBCompressionType,
    Direction, IteratorMode, Options, WaitForCompactOptions, WriteBatch, WriteOptions,
};

use super::{CommitBatch, LogStore, StoreError};
use crate::merkle::{HASH_SIZE, Hash, HashReader, NodeId};

const CF_LEAVES: &str = "leaves";
const CF_TILES: &str = "tiles";
const CF_HASHES: &str = "hashes";
const CF_PATHS: &str = "paths";
const CF_META: &str = "meta";
const KEY_SIZE: &[u8] = b"_size";
const KEY_ROOT: &[u8] = b"_root";
const KEY_CHECKPOINT: &[u8] = b"_checkpoint";
const KEY_LAYOUT: &[u8] = b"_layout";
/// The layout this code writes; any other value (or none, on a non-empty
/// store) makes [`RocksStore::open`] rebuild the tiles and hashes.
const LAYOUT: &[u8] = b"packed-tiles-3";
/// Leaves per write batch when the tiles and hashes are rebuilt.
const REBUILD_CHUNK: u64 = 1 << 16;

/// Leaves per packed tile.
const TILE_LEAVES: u64 = 256;
/// Hashes in a packed tile: 256 + 128 + … + 2.
const PACKED_HASHES: usize = 510;
/// Leaves per proof-path group (see the `paths` column family).
const GROUP_LEAVES: u64 = 16;
/// Groups per tile.
const GROUPS: u64 = TILE_LEAVES / GROUP_LEAVES;
/// Hashes in a path value: the group's 16 leaves, its 4 nodes of level 2,
/// its 4 siblings at levels 4–7.
const PATH_HASHES: usize = 24;
/// Where a path value's level-2 nodes start.
const PATH_LEVEL2: usize = 16;
/// Where a path value's siblings at levels 4–7 start.
const PATH_SIBLINGS: usize = 20;

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

/// The tile holding node `id` (level below [`RocksStore::PACKED_LEVELS`]).
fn tile_of(id: NodeId) -> u64 {
    id.index >> (RocksStore::PACKED_LEVELS - id.level)
}

/// Position of node `id` (level below 8) within its packed tile: levels
/// follow each other, level l starting at 512 − 512 / 2^l.
fn packed_position(id: NodeId) -> usize {
    let width = 256usize >> id.level;
    // The mask keeps the index below `width`, so the cast is lossless.
    let within = (id.index & (width as u64 - 1)) as usize;
    (512 - (512 >> id.level)) + within
}

/// The hash of node `id` (level below 8) from its packed tile `bytes`.
fn packed_hash(bytes: &[u8], id: NodeId) -> Result<Hash, StoreError> {
    let at = packed_position(id) * HASH_SIZE;
    decode_hash(&bytes[at..at + HASH_SIZE])
}

fn tile_bytes(hashes: &[Hash]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hashes.len() * HASH_SIZE);
    for h in hashes {
        out.extend_from_slice(h.as_bytes());
    }
    out
}

/// The key of group `group`'s path value in tile `tile`.
fn path_key(tile: u64, group: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[..8].copy_from_slice(&tile.to_be_bytes());
    // `group` < 16.
    {
        k[8] = group as u8;
    }
    k
}

/// The group of a path value that holds node `id` (level below 8): the
/// group of its leaves for levels 0 to 3; for levels 4 to 7, the first
/// group whose sibling at that level it is.
fn path_group(id: NodeId) -> u64 {
    if id.level < 4 {
        (id.index << id.level) % TILE_LEAVES / GROUP_LEAVES
    } else {
        let within = id.index % (TILE_LEAVES >> id.level);
        (within ^ 1) << (id.level - 4)
    }
}

/// Whether the path value of group `group` holds node `id` (level below
/// 8, in the value's tile).
fn path_holds(group: u64, id: NodeId) -> bool {
    if id.level < 4 {
        path_group(id) == group
    } else {
        id.index % (TILE_LEAVES >> id.level) == (group >> (id.level - 4)) ^ 1
    }
}

/// The hash of node `id` from the path value `bytes` that holds it: stored
/// (levels 0, 2 and 4 to 7), or one node hash of two stored ones (levels 1
/// and 3).
fn path_hash(bytes: &[u8], id: NodeId) -> Result<Hash, StoreError> {
    let at = |i: usize| decode_hash(&bytes[i * HASH_SIZE..(i + 1) * HASH_SIZE]);
    // The position of the node within its level of the group (below 16).
    let within = (id.index % (GROUP_LEAVES >> id.level.min(4))) as usize;
    let pair = |first: usize| Ok(crate::merkle::node_hash(&at(first)?, &at(first + 1)?));
    match id.level {
        0 => at(within),
        1 => pair(2 * within),
        2 => at(PATH_LEVEL2 + within),
        3 => pair(PATH_LEVEL2 + 2 * within),
        level => at(PATH_SIBLINGS + usize::from(level - 4)),
    }
}

/// The path values of a complete packed tile, one per group.
fn path_values(packed: &[Hash]) -> impl Iterator<Item = (u64, Vec<u8>)> + '_ {
    (0..GROUPS).map(move |group| {
        let mut out = Vec::with_capacity(PATH_HASHES * HASH_SIZE);
        let mut put = |level: u8, index: u64| {
            out.extend_from_slice(packed[packed_position(NodeId { level, index })].as_bytes());
        };
        for (level, width) in [(0, GROUP_LEAVES), (2, GROUP_LEAVES / 4)] {
            for index in group * width..(group + 1) * width {
                put(level, index);
            }
        }
        for level in 4..8u8 {
            put(level, (group >> (level - 4)) ^ 1);
        }
        (group, out)
    })
}

/// Writes into `wb` the node hashes `nodes` of a batch that takes the tree
/// from `old_size` to `new_size` leaves: packed tiles for each tile the
/// batch completes (starting from `edge`, the incomplete tile of `old_size`)
/// and single keys for levels 8 and above. Returns the new edge tile.
fn pack_nodes(
    wb: &mut WriteBatch,
    (tiles_cf, hashes_cf, paths_cf): (&ColumnFamily, &ColumnFamily, &ColumnFamily),
    (old_size, new_size): (u64, u64),
    edge: &[Hash],
    nodes: &[(NodeId, Hash)],
) -> Result<Box<[Hash]>, StoreError> {
    let mut tile = old_size / TILE_LEAVES;
    let mut current: Box<[Hash]> = edge.into();
    // `CommitBatch::validate` has checked that every node lies in the new
    // tree, so a tile left behind by a later node is complete.
    let flush = |wb: &mut WriteBatch, tile: u64, current: &mut [Hash]| {
        wb.put_cf(tiles_cf, tile.to_be_bytes(), tile_bytes(current));
        for (group, value) in path_values(current) {
            wb.put_cf(paths_cf, path_key(tile, group), value);
        }
        current.fill(Hash::default());
    };
    for (id, hash) in nodes {
        if id.level >= RocksStore::PACKED_LEVELS {
            wb.put_cf(hashes_cf, node_key(*id), hash.as_bytes());
            continue;
        }
        let t = tile_of(*id);
        if t < tile {
            return Err(StoreError::InvalidCommit {
                reason: "node hashes are not in append order",
            });
        }
        while t > tile {
            flush(wb, tile, &mut current);
            tile += 1;
        }
        current[packed_position(*id)] = *hash;
    }
    if (tile + 1) * TILE_LEAVES <= new_size {
        flush(wb, tile, &mut current);
        tile += 1;
    }
    if tile != new_size / TILE_LEAVES {
        return Err(StoreError::InvalidCommit {
            reason: "node hashes do not cover the new leaves",
        });
    }
    Ok(current)
}

/// Tuning knobs of the RocksDB store.
#[derive(Debug, Clone)]
pub struct RocksOptions {
    /// Size of the shared block cache in bytes.
    pub block_cache_bytes: usize,
    /// The most memory all memtables together may hold before RocksDB
    /// flushes them, in bytes.
    pub write_buffer_bytes: usize,
    /// Whether commits fsync the write-ahead log before returning. Only
    /// benchmarks that measure the cost of durability turn this off.
    pub sync: bool,
}

impl Default for RocksOptions {
    fn default() -> Self {
        Self {
            block_cache_bytes: 128 << 20,
            write_buffer_bytes: 128 << 20,
            sync: true,
        }
    }
}

/// What readers see of the committed tree, swapped as a whole after each
/// commit: the size, the mirrored upper levels and the edge tile.
struct Committed {
    size: u64,
    /// `upper[l - PACKED_LEVELS][i]` = hash of node (l, i).
    upper: Vec<Vec<Hash>>,
    /// The packed hashes of tile `size / 256` that are complete (the others
    /// are zero).
    edge: Box<[Hash]>,
    /// The checkpoint committed with `size`. Readers take it from here, not
    /// from RocksDB, which holds the next one a moment before the nodes it
    /// covers are published here.
    checkpoint: Option<Vec<u8>>,
}

impl Committed {
    fn empty() -> Self {
        Self {
            size: 0,
            upper: Vec::new(),
            edge: vec![Hash::default(); PACKED_HASHES].into(),
            checkpoint: None,
        }
    }
}

/// Where a RocksDB store's memory goes, in bytes (RocksDB's own estimates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreMemory {
    /// All memtables, flushed or not.
    pub memtables: u64,
    /// The open tables' index and filter blocks.
    pub table_readers: u64,
    /// The block cache.
    pub block_cache: u64,
}

/// A log store in a RocksDB database.
pub struct RocksStore {
    db: DB,
    cache: Cache,
    sync: bool,
    /// Serialises commits: one writer at a time.
    writer: Mutex<()>,
    committed: RwLock<Committed>,
    /// Whether opening rebuilt the tiles and hashes of a non-empty store.
    rebuilt: bool,
}

impl RocksStore {
    /// Levels below this one are stored in packed 256-leaf tiles; the
    /// levels at and above it are mirrored in memory.
    pub const PACKED_LEVELS: u8 = 8;

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
    /// As [`RocksStore::open`]; a store of an older layout is rebuilt from
    /// its leaves, with the errors of [`RocksStore::rebuild_hashes`].
    pub fn open_with(path: &Path, options: &RocksOptions) -> Result<Self, StoreError> {
        let cache = Cache::new_lru_cache(options.block_cache_bytes);
        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_max_background_jobs(2);
        db_opts.set_bytes_per_sync(1 << 20);
        // All memtables together stay under this, whatever the write load.
        db_opts.set_db_write_buffer_size(options.write_buffer_bytes);
        // Reuse WAL files: a sync then overwrites allocated blocks instead
        // of growing a file.
        db_opts.set_recycle_log_file_num(4);

        // `probed`: keys are looked up that may be absent, so a bloom filter
        // pays. Index and filter blocks stay with their open table (about
        // 10 bits per key), outside the block cache: in the cache, the data
        // blocks of a write load evict them, and each miss then re-reads
        // and checksums a whole table's filter (megabytes) for one lookup.
        let table = |block_size: usize, probed: bool| {
            let mut t = BlockBasedOptions::default();
            t.set_block_cache(&cache);
            t.set_block_size(block_size);
            if probed {
                t.set_bloom_filter(10.0, false);
            }
            t
        };
        let mut leaves_opts = Options::default();
        leaves_opts.set_compression_type(DBCompressionType::Lz4);
        // Leaves are read by index below the committed size, keys that
        // exist: no filter.
        leaves_opts.set_block_based_table_factory(&table(16 << 10, false));
        leaves_opts.set_write_buffer_size(64 << 20);
        // Hashes do not compress; a packed tile is its own block. Tiles are
        // read by proofs for keys that exist, so no bloom filter, and the
        // (small: one entry per tile) index stays in the table reader
        // rather than going through the block cache on every read.
        let mut tiles_opts = Options::default();
        tiles_opts.set_compression_type(DBCompressionType::None);
        tiles_opts.set_block_based_table_factory(&table(16 << 10, false));
        tiles_opts.set_optimize_filters_for_hits(true);
        tiles_opts.set_write_buffer_size(32 << 20);
        // Path values are 1,920 bytes: two per 4 KB block.
        let mut paths_opts = Options::default();
        paths_opts.set_compression_type(DBCompressionType::None);
        paths_opts.set_block_based_table_factory(&table(4 << 10, false));
        paths_opts.set_optimize_filters_for_hits(true);
        paths_opts.set_write_buffer_size(32 << 20);
        let mut hashes_opts = Options::default();
        hashes_opts.set_compression_type(DBCompressionType::None);
        hashes_opts.set_block_based_table_factory(&table(4 << 10, true));
        // The metadata holds the books' records too (one or a few per
        // entry, probed for ids that were never used), hence the filter.
        let mut meta_opts = Options::default();
        meta_opts.set_compression_type(DBCompressionType::Lz4);
        meta_opts.set_block_based_table_factory(&table(4 << 10, true));
        meta_opts.set_write_buffer_size(32 << 20);

        let db = DB::open_cf_descriptors(
            &db_opts,
            path,
            vec![
                ColumnFamilyDescriptor::new(CF_LEAVES, leaves_opts),
                ColumnFamilyDescriptor::new(CF_TILES, tiles_opts),
                ColumnFamilyDescriptor::new(CF_HASHES, hashes_opts),
                ColumnFamilyDescriptor::new(CF_PATHS, paths_opts),
                ColumnFamilyDescriptor::new(CF_META, meta_opts),
            ],
        )
        .map_err(backend)?;
        let mut store = Self {
            db,
            cache,
            sync: options.sync,
            writer: Mutex::new(()),
            committed: RwLock::new(Committed::empty()),
            rebuilt: false,
        };
        let size = match store.meta_raw(KEY_SIZE)? {
            None => 0,
            Some(v) => {
                u64::from_be_bytes(v.as_slice().try_into().map_err(|_| StoreError::Corrupt {
                    what: "stored size is not 8 bytes",
                })?)
            }
        };
        store.committed_mut().size = size;
        store.committed_mut().checkpoint = store.meta_raw(KEY_CHECKPOINT)?;
        if store.meta_raw(KEY_LAYOUT)?.as_deref() == Some(LAYOUT) {
            store.load_committed()?;
        } else {
            // A new store, an older layout or an interrupted rebuild.
            store.rebuild_hashes(REBUILD_CHUNK)?;
            store.rebuilt = size > 0;
        }
        Ok(store)
    }

    /// Whether opening this store rebuilt its tiles and hashes from its
    /// leaves (it was written with an older layout, or a rebuild was
    /// interrupted), which takes a while on a large log; never for a new,
    /// empty store.
    #[must_use]
    pub fn rebuilt_on_open(&self) -> bool {
        self.rebuilt
    }

    fn cf(&self, name: &str) -> Result<&ColumnFamily, StoreError> {
        self.db.cf_handle(name).ok_or(StoreError::Corrupt {
            what: "column family missing",
        })
    }

    fn meta_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.db.get_cf(self.cf(CF_META)?, key).map_err(backend)
    }

    fn committed_mut(&mut self) -> &mut Committed {
        self.committed
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Fills the in-memory upper levels from the `hashes` column family and
    /// recomputes the edge tile from its leaves.
    fn load_committed(&mut self) -> Result<(), StoreError> {
        let upper = self.load_upper()?;
        let size = self.committed_mut().size;
        let first = size / TILE_LEAVES * TILE_LEAVES;
        let mut edge: Box<[Hash]> = vec![Hash::default(); PACKED_HASHES].into();
        let mut tree = crate::merkle::Tree::new();
        let mut nodes = Vec::new();
        for leaf in self.read_leaves(first, size)? {
            tree.append(crate::merkle::leaf_hash(&leaf), &mut nodes);
        }
        // Positions within a tile do not depend on where the tile starts.
        for (id, hash) in &nodes {
            edge[packed_position(*id)] = *hash;
        }
        let committed = self.committed_mut();
        committed.upper = upper;
        committed.edge = edge;
        Ok(())
    }

    /// The node hashes of level 8 and above, level by level.
    fn load_upper(&self) -> Result<Vec<Vec<Hash>>, StoreError> {
        let mut upper = Vec::new();
        for level in Self::PACKED_LEVELS..64 {
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
        Ok(upper)
    }

    /// The `count` consecutive node hashes of `level` from `start` (a C2SP
    /// tile is such a run at level 8·L): one read of a packed tile below
    /// level 8, memory above.
    ///
    /// # Errors
    /// [`StoreError::MissingNode`] if the run is not fully stored.
    pub fn read_node_run(
        &self,
        level: u8,
        start: u64,
        count: u64,
    ) -> Result<Vec<Hash>, StoreError> {
        let end = start.checked_add(count).ok_or(StoreError::MissingNode {
            level,
            index: u64::MAX,
        })?;
        let ids: Vec<NodeId> = (start..end).map(|index| NodeId { level, index }).collect();
        self.read_hashes(&ids)
    }

    /// Flushes every memtable and compacts every column family, waiting
    /// until RocksDB has no background work left for what is stored: after
    /// a bulk load (a rebuild, a benchmark's setup), so that reads are
    /// served from settled files rather than competing with compactions.
    ///
    /// # Errors
    /// [`StoreError::Backend`] if RocksDB fails.
    pub fn compact(&self) -> Result<(), StoreError> {
        for name in [CF_LEAVES, CF_TILES, CF_HASHES, CF_PATHS, CF_META] {
            let cf = self.cf(name)?;
            self.db.flush_cf(cf).map_err(backend)?;
            self.db.compact_range_cf(cf, None::<&[u8]>, None::<&[u8]>);
        }
        Ok(())
    }

    /// Flushes every memtable and waits, at most `timeout`, until RocksDB
    /// has no flush or compaction left to run: at a graceful stop, once
    /// nothing more is written, so that the next open serves at once
    /// instead of first compacting what this run left in level 0.
    /// `Ok(false)`: the timeout came first, and the next open resumes what
    /// was left.
    ///
    /// # Errors
    /// [`StoreError::Backend`] if RocksDB fails.
    pub fn settle(&self, timeout: std::time::Duration) -> Result<bool, StoreError> {
        let mut opts = WaitForCompactOptions::default();
        opts.set_flush(true);
        // 0 would mean no limit: at least a microsecond.
        opts.set_timeout(u64::try_from(timeout.as_micros()).map_or(u64::MAX, |us| us.max(1)));
        match self.db.wait_for_compact(&opts) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == rocksdb::ErrorKind::TimedOut => Ok(false),
            Err(e) => Err(backend(e)),
        }
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

    /// Rebuilds the `tiles` and `hashes` column families (every node hash:
    /// a derived index) from the leaves alone, and reloads the in-memory
    /// upper levels and edge tile.
    ///
    /// The leaves are read twice: a first pass recomputes the root and
    /// compares it with the root recorded at the last commit, so nothing is
    /// rewritten when the leaves themselves are damaged; the second pass
    /// deletes every stored node and the layout marker, writes the
    /// recomputed nodes, `chunk` leaves per write batch, and finally the
    /// marker, fsync'd. A crash during the second pass leaves the leaves
    /// untouched and no marker: the next open rebuilds again. Needs
    /// exclusive use of the store (`&mut self`).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the leaves do not hash to the stored root,
    /// [`StoreError::MissingLeaf`] if a leaf is missing, a backend error.
    pub fn rebuild_hashes(&mut self, chunk: u64) -> Result<Hash, StoreError> {
        let size = self.committed_mut().size;
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

        let cfs = (self.cf(CF_TILES)?, self.cf(CF_HASHES)?, self.cf(CF_PATHS)?);
        let meta_cf = self.cf(CF_META)?;
        let mut wb = WriteBatch::default();
        wb.delete_cf(meta_cf, KEY_LAYOUT);
        wb.delete_range_cf(cfs.0, [0u8; 8], [u8::MAX; 8]);
        wb.delete_range_cf(cfs.1, [0u8; 9], [u8::MAX; 9]);
        wb.delete_range_cf(cfs.2, [0u8; 9], [u8::MAX; 9]);
        self.db.write(wb).map_err(backend)?;
        let mut tree = crate::merkle::Tree::new();
        let mut edge: Box<[Hash]> = vec![Hash::default(); PACKED_HASHES].into();
        at = 0;
        while at < size {
            let end = size.min(at + chunk);
            nodes.clear();
            for leaf in self.read_leaves(at, end)? {
                tree.append(crate::merkle::leaf_hash(&leaf), &mut nodes);
            }
            let mut wb = WriteBatch::default();
            edge = pack_nodes(&mut wb, cfs, (at, end), &edge, &nodes)?;
            self.db.write(wb).map_err(backend)?;
            at = end;
        }
        let mut wb = WriteBatch::default();
        wb.put_cf(meta_cf, KEY_LAYOUT, LAYOUT);
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db.write_opt(wb, &wo).map_err(backend)?;
        self.db.flush_wal(true).map_err(backend)?;
        // The edge tile is the one the last chunk left.
        let upper = self.load_upper()?;
        let committed = self.committed_mut();
        committed.upper = upper;
        committed.edge = edge;
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

impl RocksStore {
    /// Fills `out` for the nodes `group` (positions in `ids`, all in tile
    /// `tile`) from one path value, if one holds them all and is stored;
    /// `false` leaves the reading to the packed tile.
    fn read_from_path(
        &self,
        tile: u64,
        group: &[(u64, usize)],
        ids: &[NodeId],
        out: &mut [Hash],
    ) -> Result<bool, StoreError> {
        // A proof's nodes below level 4 name the group; any level-4-to-7
        // node alone, the first group it is a sibling of.
        let g = group
            .iter()
            .map(|&(_, pos)| ids[pos])
            .find(|id| id.level < 4)
            .map_or_else(|| path_group(ids[group[0].1]), path_group);
        if !group.iter().all(|&(_, pos)| path_holds(g, ids[pos])) {
            return Ok(false);
        }
        self.fill_from(
            (self.cf(CF_PATHS)?, &path_key(tile, g)),
            (PATH_HASHES, "path value is not 24 hashes"),
            path_hash,
            (group, ids, out),
        )
    }

    /// Reads the value at `key` of column family `cf`, which must hold
    /// `hashes` hashes (else it is corrupt: `what`), and fills `out` for the
    /// nodes `group` (positions in `ids`) with `hash`, which takes a node
    /// from the value. `false`: no such value.
    fn fill_from(
        &self,
        (cf, key): (&ColumnFamily, &[u8]),
        (hashes, what): (usize, &'static str),
        hash: fn(&[u8], NodeId) -> Result<Hash, StoreError>,
        (group, ids, out): (&[(u64, usize)], &[NodeId], &mut [Hash]),
    ) -> Result<bool, StoreError> {
        let Some(bytes) = self.db.get_pinned_cf(cf, key).map_err(backend)? else {
            return Ok(false);
        };
        if bytes.len() != hashes * HASH_SIZE {
            return Err(StoreError::Corrupt { what });
        }
        for &(_, pos) in group {
            out[pos] = hash(&bytes, ids[pos])?;
        }
        Ok(true)
    }

    /// Where the store's memory goes now.
    ///
    /// # Errors
    /// [`StoreError::Backend`] if RocksDB cannot say.
    pub fn memory(&self) -> Result<StoreMemory, StoreError> {
        let stats = rocksdb::perf::get_memory_usage_stats(Some(&[&self.db]), Some(&[&self.cache]))
            .map_err(backend)?;
        Ok(StoreMemory {
            memtables: stats.mem_table_total,
            table_readers: stats.mem_table_readers_total,
            block_cache: stats.cache_total,
        })
    }

    /// Deletes every metadata key starting with `prefix` (a derived index
    /// being rebuilt), in one atomic and durable write.
    ///
    /// # Errors
    /// [`StoreError::InvalidCommit`] for an empty prefix or one starting
    /// with `_` (the store's own keys), a backend error.
    pub fn delete_meta_prefix(&self, prefix: &[u8]) -> Result<(), StoreError> {
        if prefix.first().is_none_or(|&b| b == b'_') {
            return Err(StoreError::InvalidCommit {
                reason: "only a non-empty prefix not starting with '_' can be deleted",
            });
        }
        // The first key after every key with the prefix: drop trailing
        // 0xff bytes, then add one to the last byte.
        let mut end = prefix.to_vec();
        while end.last() == Some(&0xff) {
            end.pop();
        }
        let meta_cf = self.cf(CF_META)?;
        let mut wb = WriteBatch::default();
        match end.last_mut() {
            Some(last) => {
                *last += 1;
                wb.delete_range_cf(meta_cf, prefix, &end);
            }
            None => {
                // Every key from `prefix` on has it (all bytes are 0xff).
                for item in self
                    .db
                    .iterator_cf(meta_cf, IteratorMode::From(prefix, Direction::Forward))
                {
                    wb.delete_cf(meta_cf, item.map_err(backend)?.0);
                }
            }
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(self.sync);
        self.db.write_opt(wb, &wo).map_err(backend)
    }
}

impl HashReader for RocksStore {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        let mut out = vec![Hash::default(); ids.len()];
        // (tile, position in `ids`) of the nodes in complete tiles.
        let mut from_tiles = Vec::new();
        {
            let committed = self
                .committed
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            let edge_tile = committed.size / TILE_LEAVES;
            for (pos, id) in ids.iter().enumerate() {
                // Node (l, i) is complete in a tree of n leaves iff i < n >> l.
                if id.level >= 64 || id.index >= committed.size >> id.level {
                    return Err(StoreError::MissingNode {
                        level: id.level,
                        index: id.index,
                    });
                }
                if id.level >= Self::PACKED_LEVELS {
                    let hash = committed
                        .upper
                        .get(usize::from(id.level - Self::PACKED_LEVELS))
                        .and_then(|nodes| nodes.get(usize::try_from(id.index).ok()?))
                        .ok_or(StoreError::MissingNode {
                            level: id.level,
                            index: id.index,
                        })?;
                    out[pos] = *hash;
                } else if tile_of(*id) == edge_tile {
                    out[pos] = committed.edge[packed_position(*id)];
                } else {
                    from_tiles.push((tile_of(*id), pos));
                }
            }
        }
        // Complete tiles were written before the size that made them
        // complete was published: each is one read.
        from_tiles.sort_unstable();
        let tiles_cf = self.cf(CF_TILES)?;
        for group in from_tiles.chunk_by(|a, b| a.0 == b.0) {
            let (tile, first) = group[0];
            // An inclusion proof's nodes in one tile (and any single node)
            // lie in one group's path value: read that instead.
            if self.read_from_path(tile, group, ids, &mut out)? {
                continue;
            }
            let read = self.fill_from(
                (tiles_cf, &tile.to_be_bytes()),
                (PACKED_HASHES, "packed tile is not 510 hashes"),
                packed_hash,
                (group, ids, &mut out),
            )?;
            if !read {
                return Err(StoreError::MissingNode {
                    level: ids[first].level,
                    index: ids[first].index,
                });
            }
        }
        Ok(out)
    }
}

impl LogStore for RocksStore {
    fn tree_size(&self) -> Result<u64, StoreError> {
        Ok(self
            .committed
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .size)
    }

    fn checkpoint(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .committed
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .checkpoint
            .clone())
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
        let (stored, edge) = {
            let committed = self
                .committed
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            (committed.size, committed.edge.clone())
        };
        if stored != batch.old_size {
            return Err(StoreError::SizeConflict {
                expected: batch.old_size,
                actual: stored,
            });
        }
        let new_size = batch.new_size();
        let (leaves_cf, meta_cf) = (self.cf(CF_LEAVES)?, self.cf(CF_META)?);
        let mut wb = WriteBatch::default();
        for (i, leaf) in batch.leaves.iter().enumerate() {
            wb.put_cf(leaves_cf, (batch.old_size + i as u64).to_be_bytes(), leaf);
        }
        let edge = pack_nodes(
            &mut wb,
            (self.cf(CF_TILES)?, self.cf(CF_HASHES)?, self.cf(CF_PATHS)?),
            (batch.old_size, new_size),
            &edge,
            batch.nodes,
        )?;
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
        let mut committed = self
            .committed
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for (id, hash) in batch.nodes {
            if let Some(l) = id.level.checked_sub(Self::PACKED_LEVELS) {
                let l = usize::from(l);
                if committed.upper.len() <= l {
                    committed.upper.resize_with(l + 1, Vec::new);
                }
                // Nodes arrive in order within each level.
                if committed.upper[l].len() as u64 == id.index {
                    committed.upper[l].push(*hash);
                }
            }
        }
        committed.edge = edge;
        committed.size = new_size;
        committed.checkpoint = Some(batch.checkpoint.to_vec());
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
        let last = log.inclusion_proof(999, 1000).unwrap();
        drop(log);

        // Damage the derived index: drop one tile and overwrite a node of
        // another, in the packed tiles and in the path values.
        {
            let store = RocksStore::open(dir.path()).unwrap();
            let cf = store.cf(CF_TILES).unwrap();
            store.db.delete_cf(cf, 2u64.to_be_bytes()).unwrap();
            let mut tile0 = store.db.get_cf(cf, 0u64.to_be_bytes()).unwrap().unwrap();
            let at = packed_position(NodeId { level: 3, index: 9 }) * HASH_SIZE;
            tile0[at..at + HASH_SIZE].copy_from_slice(&[7u8; 32]);
            store.db.put_cf(cf, 0u64.to_be_bytes(), &tile0).unwrap();
            let paths = store.cf(CF_PATHS).unwrap();
            // Leaf 516 is in group 0 of tile 2; node (3, 9) (leaves
            // 72..79) is hashed from (2, 18) and (2, 19), the third and
            // fourth nodes of level 2 of group 4 of tile 0.
            store.db.delete_cf(paths, path_key(2, 0)).unwrap();
            let mut path = store.db.get_cf(paths, path_key(0, 4)).unwrap().unwrap();
            let at = (PATH_LEVEL2 + 2) * HASH_SIZE;
            path[at..at + HASH_SIZE].copy_from_slice(&[7u8; 32]);
            store.db.put_cf(paths, path_key(0, 4), &path).unwrap();
            // Leaf 516's proof needs tile 2, now missing; leaf 64's needs
            // (3, 9), now wrong.
            let log = Log::open(store).unwrap();
            assert!(matches!(
                log.inclusion_proof(516, 1000),
                Err(merkle::MerkleError::Store(StoreError::MissingNode {
                    level: 0,
                    index: 517
                }))
            ));
            assert_ne!(log.inclusion_proof(64, 1000).unwrap(), proof64);
        }
        let mut store = RocksStore::open(dir.path()).unwrap();
        assert_eq!(store.rebuild_hashes(100).unwrap(), root);
        let log = Log::open(store).unwrap();
        assert_eq!(log.root(), root);
        assert_eq!(log.inclusion_proof(517, 1000).unwrap(), proof);
        assert_eq!(log.inclusion_proof(64, 1000).unwrap(), proof64);
        // The edge tile (leaves 768..1000) is the one the rebuild packed.
        assert_eq!(log.inclusion_proof(999, 1000).unwrap(), last);
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

    /// An inclusion proof reads one path value, not the packed tile: with
    /// the tile gone it still answers, while a level-0 tile (all 256
    /// leaves' hashes, which no path value holds) cannot be read; every
    /// node of every complete tile reads the same from a path value as from
    /// its tile; nodes that no one value holds together are not read from
    /// one.
    #[test]
    fn inclusion_proofs_read_the_path_values() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(RocksStore::open(dir.path()).unwrap()).unwrap();
        let leaves: Vec<Vec<u8>> = (0..600u32).map(|i| i.to_be_bytes().to_vec()).collect();
        log.append(&leaves, &[], sign).unwrap();
        let proofs: Vec<_> = (0..512)
            .map(|i| log.inclusion_proof(i, 600).unwrap())
            .collect();

        let store = log.store();
        let tiles = store.cf(CF_TILES).unwrap();
        for tile in 0..2u64 {
            let packed = store.db.get_cf(tiles, tile.to_be_bytes()).unwrap().unwrap();
            for level in 0..8u8 {
                for index in 0..(TILE_LEAVES >> level) {
                    let id = NodeId {
                        level,
                        index: tile * (TILE_LEAVES >> level) + index,
                    };
                    let at = packed_position(id) * HASH_SIZE;
                    let mut got = [Hash::default()];
                    let read = store
                        .read_from_path(tile, &[(tile, 0)], &[id], &mut got)
                        .unwrap();
                    assert!(read, "{id:?} is in a path value");
                    assert_eq!(got[0].as_bytes(), &packed[at..at + HASH_SIZE], "{id:?}");
                }
            }
            // Leaf 0's group holds (4, 1), its sibling, not (4, 0), its
            // ancestor: that pair is left to the packed tile.
            let (ancestor, sibling) = (
                NodeId {
                    level: 4,
                    index: tile * 16,
                },
                NodeId {
                    level: 4,
                    index: tile * 16 + 1,
                },
            );
            let leaf = NodeId {
                level: 0,
                index: tile * TILE_LEAVES,
            };
            let mut got = [Hash::default(); 2];
            for (other, held) in [(sibling, true), (ancestor, false)] {
                let read = store
                    .read_from_path(tile, &[(tile, 0), (tile, 1)], &[leaf, other], &mut got)
                    .unwrap();
                assert_eq!(read, held, "{other:?}");
            }
            store.db.delete_cf(tiles, tile.to_be_bytes()).unwrap();
        }
        for (i, proof) in proofs.iter().enumerate() {
            assert_eq!(&log.inclusion_proof(i as u64, 600).unwrap(), proof);
        }
        assert!(matches!(
            log.store().read_node_run(0, 0, 256),
            Err(StoreError::MissingNode { level: 0, .. })
        ));
    }

    /// Settling flushes what the memtables hold and leaves no compaction
    /// behind; the tree reads the same before and after.
    #[test]
    fn settle_flushes_and_compacts_and_leaves_the_tree_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(RocksStore::open(dir.path()).unwrap()).unwrap();
        // Several level-0 tables (a flush after each batch) that nothing
        // compacts yet.
        fn leaves_cf(store: &RocksStore) -> &ColumnFamily {
            store.cf(CF_LEAVES).unwrap()
        }
        let auto = |store: &RocksStore, on: bool| {
            let off = if on { "false" } else { "true" };
            store
                .db
                .set_options_cf(leaves_cf(store), &[("disable_auto_compactions", off)])
                .unwrap();
        };
        auto(log.store(), false);
        for b in 0..6u32 {
            let leaves: Vec<Vec<u8>> = (0..300u32)
                .map(|i| (b * 300 + i).to_be_bytes().to_vec())
                .collect();
            log.append(&leaves, &[], sign).unwrap();
            let store = log.store();
            store.db.flush_cf(leaves_cf(store)).unwrap();
        }
        let store = log.store();
        let unflushed = |store: &RocksStore| {
            store
                .db
                .property_int_value_cf(
                    store.cf(CF_META).unwrap(),
                    "rocksdb.num-entries-active-mem-table",
                )
                .unwrap()
                .unwrap()
        };
        let level0 = |store: &RocksStore| {
            store
                .db
                .property_int_value_cf(leaves_cf(store), "rocksdb.num-files-at-level0")
                .unwrap()
                .unwrap()
        };
        assert!(unflushed(store) > 0);
        assert_eq!(level0(store), 6);
        auto(store, true);
        let (root, proof) = (log.root(), log.inclusion_proof(1000, 1800).unwrap());
        assert!(store.settle(std::time::Duration::from_secs(60)).unwrap());
        assert_eq!(unflushed(store), 0);
        assert!(level0(store) < 4, "{} level-0 tables", level0(store));
        assert_eq!(log.root(), root);
        assert_eq!(log.inclusion_proof(1000, 1800).unwrap(), proof);
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
        store.compact().unwrap();
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
    fn proofs_match_the_memory_store_across_tile_boundaries_and_after_reopen() {
        // Sizes around tile boundaries, each appended in uneven batches:
        // every node comes from a packed tile, the edge or the upper levels
        // and matches the memory store's.
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open(RocksStore::open(dir.path()).unwrap()).unwrap();
        let mut reference = Log::open(crate::store::memory::MemoryStore::new()).unwrap();
        let mut next = 0u32;
        for batch in [1u32, 254, 1, 1, 300, 255, 257, 512, 3] {
            let leaves: Vec<Vec<u8>> = (next..next + batch)
                .map(|i| i.to_be_bytes().to_vec())
                .collect();
            next += batch;
            log.append(&leaves, &[], sign).unwrap();
            reference.append(&leaves, &[], sign).unwrap();
            let size = log.size();
            assert_eq!(log.root(), reference.root());
            for index in [0, size / 3, size - 1] {
                assert_eq!(
                    log.inclusion_proof(index, size).unwrap(),
                    reference.inclusion_proof(index, size).unwrap()
                );
            }
            for old in [1, size / 2, size - 1] {
                assert_eq!(
                    log.consistency_proof(old, size).unwrap(),
                    reference.consistency_proof(old, size).unwrap()
                );
            }
        }
        // Reopened, the edge tile is recomputed from its leaves.
        let size = log.size();
        drop(log);
        let log = Log::open(RocksStore::open(dir.path()).unwrap()).unwrap();
        assert_eq!(log.root(), reference.root());
        assert_eq!(
            log.inclusion_proof(size - 1, size).unwrap(),
            reference.inclusion_proof(size - 1, size).unwrap()
        );
        // A tile or path value of the wrong length is reported as
        // corruption, by the reads that use it.
        let store = log.store();
        let leaf_hashes: Vec<Hash> = (256..512u32)
            .map(|i| merkle::leaf_hash(&i.to_be_bytes()))
            .collect();
        store
            .db
            .put_cf(store.cf(CF_TILES).unwrap(), 1u64.to_be_bytes(), [0u8; 31])
            .unwrap();
        assert!(matches!(
            store.read_node_run(0, 256, 256),
            Err(StoreError::Corrupt { .. })
        ));
        assert_eq!(
            store.read_node_run(0, 304, 16).unwrap(),
            leaf_hashes[48..64]
        );
        store
            .db
            .put_cf(store.cf(CF_PATHS).unwrap(), path_key(1, 3), [0u8; 31])
            .unwrap();
        for (level, start, count) in [(0, 304, 16), (0, 304, 1), (2, 76, 1)] {
            assert!(
                matches!(
                    store.read_node_run(level, start, count),
                    Err(StoreError::Corrupt {
                        what: "path value is not 24 hashes"
                    })
                ),
                "({level}, {start}, {count})"
            );
        }
    }

    #[test]
    fn a_store_of_the_earlier_layout_is_rebuilt_on_open() {
        // The earlier layout: every node hash under level ‖ index in
        // `hashes`, no `tiles` and no layout marker.
        let dir = tempfile::tempdir().unwrap();
        // A new store is not a rebuilt one.
        let fresh = tempfile::tempdir().unwrap();
        assert!(!RocksStore::open(fresh.path()).unwrap().rebuilt_on_open());
        let leaves: Vec<Vec<u8>> = (0..700u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let mut tree = merkle::Tree::new();
        let mut nodes = Vec::new();
        for leaf in &leaves {
            tree.append(merkle::leaf_hash(leaf), &mut nodes);
        }
        {
            let mut opts = Options::default();
            opts.create_if_missing(true);
            opts.create_missing_column_families(true);
            let db = DB::open_cf(&opts, dir.path(), [CF_LEAVES, CF_HASHES, CF_META]).unwrap();
            let (l, h, m) = (
                db.cf_handle(CF_LEAVES).unwrap(),
                db.cf_handle(CF_HASHES).unwrap(),
                db.cf_handle(CF_META).unwrap(),
            );
            for (i, leaf) in leaves.iter().enumerate() {
                db.put_cf(l, (i as u64).to_be_bytes(), leaf).unwrap();
            }
            for (id, hash) in &nodes {
                db.put_cf(h, node_key(*id), hash.as_bytes()).unwrap();
            }
            db.put_cf(m, KEY_SIZE, 700u64.to_be_bytes()).unwrap();
            db.put_cf(m, KEY_ROOT, tree.root().as_bytes()).unwrap();
            db.put_cf(m, KEY_CHECKPOINT, sign(700, &tree.root()))
                .unwrap();
        }
        let store = RocksStore::open(dir.path()).unwrap();
        assert!(store.rebuilt_on_open());
        assert_eq!(store.read_meta(KEY_LAYOUT), Ok(Some(LAYOUT.to_vec())));
        drop(store);
        // Once rebuilt, it opens as it is.
        let store = RocksStore::open(dir.path()).unwrap();
        assert!(!store.rebuilt_on_open());
        let log = Log::open(store).unwrap();
        assert_eq!(log.root(), tree.root());
        let proof = log.inclusion_proof(300, 700).unwrap();
        merkle::verify_inclusion(
            &merkle::leaf_hash(&leaves[300]),
            300,
            700,
            &proof,
            &tree.root(),
        )
        .unwrap();
        // Below level 8 no node is kept under its own key any more.
        let below = log
            .store()
            .db
            .get_cf(
                log.store().cf(CF_HASHES).unwrap(),
                node_key(NodeId {
                    level: 0,
                    index: 300,
                }),
            )
            .unwrap();
        assert_eq!(below, None);
    }

    #[test]
    fn node_hashes_that_cannot_fill_the_tiles_are_refused_and_nothing_is_written() {
        // Batches that pass `CommitBatch::validate` (the right number of
        // new nodes, all inside the new tree) but cannot be packed.
        let dir = tempfile::tempdir().unwrap();
        let store = RocksStore::open(dir.path()).unwrap();
        let leaves: Vec<Vec<u8>> = (0..512u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let mut tree = merkle::Tree::new();
        let mut nodes = Vec::new();
        for leaf in &leaves {
            tree.append(merkle::leaf_hash(leaf), &mut nodes);
        }
        let batch = |nodes: &[(NodeId, Hash)]| -> Result<(), StoreError> {
            store.commit(&CommitBatch {
                old_size: 0,
                leaves: &leaves,
                nodes,
                root: tree.root(),
                checkpoint: b"c",
                meta: &[],
            })
        };
        // Tile 1's nodes before tile 0's.
        let mut reversed = nodes.clone();
        reversed.reverse();
        assert_eq!(
            batch(&reversed),
            Err(StoreError::InvalidCommit {
                reason: "node hashes are not in append order"
            })
        );
        // Tile 0's nodes twice and none of tile 1's.
        let (low, high): (Vec<_>, Vec<_>) = nodes
            .iter()
            .partition(|(id, _)| id.level < RocksStore::PACKED_LEVELS && tile_of(*id) == 0);
        let mut doubled = low.clone();
        doubled.extend(low.iter().copied());
        doubled.extend(
            high.iter()
                .filter(|(id, _)| id.level >= RocksStore::PACKED_LEVELS),
        );
        assert_eq!(doubled.len(), nodes.len());
        assert_eq!(
            batch(&doubled),
            Err(StoreError::InvalidCommit {
                reason: "node hashes do not cover the new leaves"
            })
        );
        assert_eq!(store.tree_size(), Ok(0));
        assert_eq!(
            store.read_leaves(0, 1),
            Err(StoreError::MissingLeaf { index: 0 })
        );
        // The same nodes in append order are accepted.
        batch(&nodes).unwrap();
        assert_eq!(merkle::root_at(&store, 512), Ok(tree.root()));
    }

    /// A reader that takes the checkpoint and then proves against its size
    /// never gets ahead of the nodes the store has published: the
    /// checkpoint and the tree are swapped together after the write.
    #[test]
    fn a_concurrent_reader_can_always_prove_against_the_checkpoint_it_sees() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(
            RocksStore::open_with(
                dir.path(),
                &RocksOptions {
                    sync: false,
                    ..RocksOptions::default()
                },
            )
            .unwrap(),
        );
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let reader = {
            let (store, done) = (std::sync::Arc::clone(&store), std::sync::Arc::clone(&done));
            std::thread::spawn(move || {
                let mut proofs = 0u64;
                while !done.load(Ordering::Relaxed) {
                    let Some(note) = store.checkpoint().unwrap() else {
                        continue;
                    };
                    let size: u64 = String::from_utf8(note)
                        .unwrap()
                        .lines()
                        .nth(1)
                        .unwrap()
                        .parse()
                        .unwrap();
                    assert!(store.tree_size().unwrap() >= size);
                    merkle::inclusion_proof(&*store, size - 1, size)
                        .unwrap_or_else(|e| panic!("no proof at the published size {size}: {e}"));
                    proofs += 1;
                }
                proofs
            })
        };
        let mut log = Log::open(std::sync::Arc::clone(&store)).unwrap();
        for i in 0..3000u32 {
            log.append(&[i.to_be_bytes().to_vec()], &[], sign).unwrap();
        }
        done.store(true, Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0, "the reader proved nothing");
    }

    #[test]
    fn delete_meta_prefix_drops_exactly_its_keys_and_refuses_the_stores_own() {
        let dir = tempfile::tempdir().unwrap();
        let store = RocksStore::open(dir.path()).unwrap();
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = [
            &b"books/"[..],
            b"books/a",
            b"books/\xff\xff",
            b"book",
            b"books0",
            b"witness/x",
        ]
        .iter()
        .map(|k| (k.to_vec(), b"v".to_vec()))
        .collect();
        store.put_meta(&pairs).unwrap();
        for refused in [&b""[..], b"_size", b"_"] {
            assert!(matches!(
                store.delete_meta_prefix(refused),
                Err(StoreError::InvalidCommit { .. })
            ));
        }
        store.delete_meta_prefix(b"books/").unwrap();
        let left: Vec<bool> = pairs
            .iter()
            .map(|(k, _)| store.read_meta(k).unwrap().is_some())
            .collect();
        assert_eq!(left, [false, false, false, true, true, true]);
        // A prefix of 0xff bytes only: every key from it on.
        store
            .put_meta(&[(vec![0xff, 0xff, 1], b"v".to_vec())])
            .unwrap();
        store.delete_meta_prefix(&[0xff, 0xff]).unwrap();
        assert_eq!(store.read_meta(&[0xff, 0xff, 1]).unwrap(), None);
        assert!(store.read_meta(b"witness/x").unwrap().is_some());
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
