//! Proofs computed locally from fetched tiles, never taken from the server's
//! proof endpoints.
//!
//! [`TileReader`] is a [`HashReader`] over the hash tiles of a tree of a given
//! size: it fetches the tiles a proof needs (each once) and hashes the nodes
//! between tile levels itself. What it returns is not trusted by itself:
//! [`prove_consistency`] ties every hash it used to a signed root before
//! saying anything (the pattern of Go's `tlog.TileHashReader`).

use std::collections::HashMap;
use std::sync::Mutex;

use minhbach_ledger::checkpoint::Checkpoint;
use minhbach_ledger::merkle::{
    Hash, HashReader, MerkleError, NodeId, consistency_proof, node_hash, root_at,
    verify_consistency,
};
use minhbach_ledger::store::StoreError;
use minhbach_ledger::tile::{TILE_HEIGHT, TILE_WIDTH, TileError, TilePath, parse_tile};
use thiserror::Error;

use crate::fetch::{FetchError, Fetcher};

/// Why a proof could not be computed from the read path.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TilesError {
    /// A tile could not be fetched (network: exit code 2).
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A fetched tile is malformed (wrong length).
    #[error("tile {path}: {source}")]
    Tile {
        /// The tile.
        path: String,
        /// What is wrong.
        #[source]
        source: TileError,
    },
    /// The tiles do not reproduce the signed root: the read path serves
    /// hashes that are not those of the tree its own checkpoint signs.
    #[error("the tiles served for size {size} do not reproduce the signed root {root}")]
    TilesDoNotMatchRoot {
        /// The tree size.
        size: u64,
        /// The signed root.
        root: Hash,
    },
    /// Merkle arithmetic failed (a node outside the tree).
    #[error(transparent)]
    Merkle(#[from] MerkleError),
}

impl TilesError {
    /// Whether the error proves something wrong with what was served (exit
    /// code 1) rather than a network problem (exit code 2).
    #[must_use]
    pub fn is_verification_failure(&self) -> bool {
        !matches!(self, Self::Fetch(_))
    }
}

/// Where hash tiles come from: the network, or tiles already in memory.
pub trait TileSource {
    /// The bytes of a hash tile.
    ///
    /// # Errors
    /// A [`FetchError`].
    fn tile_bytes(&self, path: &TilePath) -> Result<Vec<u8>, FetchError>;
}

impl TileSource for Fetcher {
    fn tile_bytes(&self, path: &TilePath) -> Result<Vec<u8>, FetchError> {
        self.tile(path)
    }
}

/// A [`HashReader`] over the hash tiles of the tree of `size` leaves.
pub struct TileReader<'a, S: TileSource + ?Sized> {
    source: &'a S,
    size: u64,
    tiles: Mutex<HashMap<TilePath, Vec<Hash>>>,
    error: Mutex<Option<TilesError>>,
}

impl<'a, S: TileSource + ?Sized> TileReader<'a, S> {
    /// A reader of the tree of `size` leaves whose tiles `source` serves.
    #[must_use]
    pub fn new(source: &'a S, size: u64) -> Self {
        Self {
            source,
            size,
            tiles: Mutex::new(HashMap::new()),
            error: Mutex::new(None),
        }
    }

    /// The number of tiles fetched so far.
    #[must_use]
    pub fn tiles_fetched(&self) -> usize {
        self.tiles.lock().map_or(0, |t| t.len())
    }

    /// The error behind the last failed read, if it was a fetch or tile
    /// error (the [`HashReader`] trait can only say "missing").
    fn take_error(&self) -> Option<TilesError> {
        self.error.lock().ok().and_then(|mut e| e.take())
    }

    fn tile(&self, level: u8, index: u64) -> Result<Vec<Hash>, TilesError> {
        let nodes = self.size >> (u32::from(TILE_HEIGHT) * u32::from(level));
        let first = index * u64::from(TILE_WIDTH);
        let width = (nodes - first).min(u64::from(TILE_WIDTH));
        // `width` is 1..=256 because the caller checked the node is in the tree.
        let width = u16::try_from(width).unwrap_or(TILE_WIDTH);
        let path = TilePath::hashes(level, index, width).map_err(|source| TilesError::Tile {
            path: format!("tile/{level}/{index}"),
            source,
        })?;
        if let Some(hashes) = self.tiles.lock().ok().and_then(|t| t.get(&path).cloned()) {
            return Ok(hashes);
        }
        let bytes = self.source.tile_bytes(&path)?;
        let hashes = parse_tile(&bytes, width).map_err(|source| TilesError::Tile {
            path: path.to_string(),
            source,
        })?;
        if let Ok(mut t) = self.tiles.lock() {
            t.insert(path, hashes.clone());
        }
        Ok(hashes)
    }

    fn node(&self, id: NodeId) -> Result<Hash, TilesError> {
        let tile_level = id.level / TILE_HEIGHT;
        let below = id.level % TILE_HEIGHT;
        // The node covers 2^below nodes of the tile level, all in one tile.
        let first = id.index << below;
        let count = 1u64 << below;
        let nodes_at_tile_level = self.size >> (u32::from(TILE_HEIGHT) * u32::from(tile_level));
        if first + count > nodes_at_tile_level {
            return Err(MerkleError::from(StoreError::MissingNode {
                level: id.level,
                index: id.index,
            })
            .into());
        }
        let tile_index = first / u64::from(TILE_WIDTH);
        let offset = (first % u64::from(TILE_WIDTH)) as usize;
        let hashes = self.tile(tile_level, tile_index)?;
        let mut layer: Vec<Hash> = hashes[offset..offset + count as usize].to_vec();
        while layer.len() > 1 {
            layer = layer
                .chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
        }
        Ok(layer[0])
    }
}

impl<S: TileSource + ?Sized> HashReader for TileReader<'_, S> {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        ids.iter()
            .map(|&id| {
                self.node(id).map_err(|e| {
                    if let Ok(mut slot) = self.error.lock() {
                        *slot = Some(e);
                    }
                    StoreError::MissingNode {
                        level: id.level,
                        index: id.index,
                    }
                })
            })
            .collect()
    }
}

/// How an older checkpoint relates to a newer one of the same log.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Consistency {
    /// The newer tree extends the older one; the proof (RFC 9162) shows it.
    Consistent {
        /// The consistency proof from the older size to the newer.
        proof: Vec<Hash>,
    },
    /// The same size with different roots: two histories.
    ForkSameSize,
    /// The newer tree, whose tiles reproduce its signed root, does not
    /// contain the older one: its prefix of the older size has another root.
    Fork {
        /// The consistency proof from the older size to the newer one,
        /// computed from the newer tree's tiles; it verifies against the
        /// newer root and `prefix_root`, not the older root.
        proof: Vec<Hash>,
        /// The root that the newer tree gives its prefix of the older size.
        prefix_root: Hash,
    },
    /// The newer checkpoint is smaller: the log rolled back.
    Rollback,
}

impl Consistency {
    /// Whether this is proven misbehaviour.
    #[must_use]
    pub fn is_misbehaviour(&self) -> bool {
        !matches!(self, Self::Consistent { .. })
    }
}

/// Relates `old` to `new` (both already verified checkpoints of one log),
/// computing the proof from `new`'s tiles only.
///
/// # Errors
/// [`TilesError::TilesDoNotMatchRoot`] when the tiles do not reproduce
/// `new`'s root (bad tiles, not a proven fork); fetch and tile errors.
pub fn prove_consistency<S: TileSource + ?Sized>(
    source: &S,
    old: &Checkpoint,
    new: &Checkpoint,
) -> Result<Consistency, TilesError> {
    let (m, n) = (old.size(), new.size());
    if m > n {
        return Ok(Consistency::Rollback);
    }
    if m == n {
        return Ok(if old.root() == new.root() {
            Consistency::Consistent { proof: Vec::new() }
        } else {
            Consistency::ForkSameSize
        });
    }
    if m == 0 {
        return Ok(Consistency::Consistent { proof: Vec::new() });
    }
    let reader = TileReader::new(source, n);
    let computed = consistency_proof(&reader, m, n).and_then(|p| Ok((p, root_at(&reader, m)?)));
    let (proof, prefix_root) = match computed {
        Ok(v) => v,
        Err(e) => return Err(reader.take_error().unwrap_or(TilesError::Merkle(e))),
    };
    // The proof's hashes are bound to the newer signed root; only then does
    // the prefix root say anything.
    if verify_consistency(m, n, &proof, &prefix_root, &new.root()).is_err() {
        return Err(TilesError::TilesDoNotMatchRoot {
            size: n,
            root: new.root(),
        });
    }
    if prefix_root != old.root() {
        return Ok(Consistency::Fork { proof, prefix_root });
    }
    Ok(Consistency::Consistent { proof })
}

/// Checks that the tiles of the tree of `checkpoint`'s size reproduce its
/// root (reads the tree's frontier: O(log n) tiles).
///
/// # Errors
/// [`TilesError::TilesDoNotMatchRoot`], fetch and tile errors.
pub fn check_root<S: TileSource + ?Sized>(
    source: &S,
    checkpoint: &Checkpoint,
) -> Result<(), TilesError> {
    let reader = TileReader::new(source, checkpoint.size());
    let root = root_at(&reader, checkpoint.size())
        .map_err(|e| reader.take_error().unwrap_or(TilesError::Merkle(e)))?;
    if root != checkpoint.root() {
        return Err(TilesError::TilesDoNotMatchRoot {
            size: checkpoint.size(),
            root: checkpoint.root(),
        });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;

    use minhbach_ledger::merkle::{Tree, leaf_hash};
    use minhbach_ledger::tile::{encode_tile, tiles_for_size};

    use super::*;

    /// Every hash tile of a tree of leaves `leaves`, in memory.
    pub(crate) struct MemTiles(pub HashMap<TilePath, Vec<u8>>);

    impl TileSource for MemTiles {
        fn tile_bytes(&self, path: &TilePath) -> Result<Vec<u8>, FetchError> {
            self.0.get(path).cloned().ok_or(FetchError::Status {
                url: path.to_string(),
                status: 404,
            })
        }
    }

    pub(crate) fn mem_tiles(leaves: &[Vec<u8>]) -> (MemTiles, Hash) {
        let mut tree = Tree::new();
        let mut nodes = Vec::new();
        for l in leaves {
            tree.append(leaf_hash(l), &mut nodes);
        }
        let all: HashMap<NodeId, Hash> = nodes.into_iter().collect();
        let mut out = HashMap::new();
        for path in tiles_for_size(leaves.len() as u64) {
            let hashes: Vec<Hash> = path.node_ids().iter().map(|id| all[id]).collect();
            out.insert(path, encode_tile(&hashes).unwrap());
        }
        (MemTiles(out), tree.root())
    }

    fn leaves(n: usize, tag: u8) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("{tag}-{i}").into_bytes()).collect()
    }

    fn cp(size: u64, root: Hash) -> Checkpoint {
        Checkpoint::new("audit.test/log", size, root, vec![]).unwrap()
    }

    #[test]
    fn consistency_from_tiles_matches_for_many_sizes() {
        let all = leaves(70_000, 0);
        let (tiles, root) = mem_tiles(&all);
        let new = cp(all.len() as u64, root);
        check_root(&tiles, &new).unwrap();
        for m in [1usize, 2, 255, 256, 257, 65_535, 65_536, 65_537, 69_999] {
            let (_, old_root) = mem_tiles(&all[..m]);
            let got = prove_consistency(&tiles, &cp(m as u64, old_root), &new).unwrap();
            assert!(matches!(got, Consistency::Consistent { .. }), "size {m}");
        }
    }

    #[test]
    fn a_fork_is_proven_and_a_rollback_named() {
        let a = leaves(600, 0);
        let mut b = a.clone();
        b[300] = b"forged".to_vec();
        let (tiles_a, root_a) = mem_tiles(&a);
        let (_, root_b) = mem_tiles(&b[..500]);
        let got = prove_consistency(&tiles_a, &cp(500, root_b), &cp(600, root_a)).unwrap();
        let Consistency::Fork { proof, prefix_root } = got else {
            panic!("expected a fork, got {got:?}");
        };
        verify_consistency(500, 600, &proof, &prefix_root, &root_a).unwrap();
        assert!(verify_consistency(500, 600, &proof, &root_b, &root_a).is_err());
        assert_eq!(
            prove_consistency(&tiles_a, &cp(601, root_a), &cp(600, root_a)).unwrap(),
            Consistency::Rollback
        );
        assert_eq!(
            prove_consistency(&tiles_a, &cp(600, root_b), &cp(600, root_a)).unwrap(),
            Consistency::ForkSameSize
        );
    }

    #[test]
    fn a_tampered_tile_is_not_mistaken_for_a_fork() {
        let a = leaves(600, 0);
        let (mut tiles, root) = mem_tiles(&a);
        let (_, old_root) = mem_tiles(&a[..300]);
        let path = TilePath::hashes(0, 1, 256).unwrap();
        tiles.0.get_mut(&path).unwrap()[5] ^= 1;
        let err = prove_consistency(&tiles, &cp(300, old_root), &cp(600, root)).unwrap_err();
        assert!(
            matches!(err, TilesError::TilesDoNotMatchRoot { size: 600, .. }),
            "{err}"
        );
        assert!(err.is_verification_failure());
        // A missing tile is a fetch error, not a verification failure.
        tiles.0.remove(&path);
        let err = prove_consistency(&tiles, &cp(300, old_root), &cp(600, root)).unwrap_err();
        assert!(!err.is_verification_failure(), "{err}");
    }
}
