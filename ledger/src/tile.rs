//! The C2SP tlog-tiles layout: tile paths, hash tiles and entry bundles
//! (SPEC 4.4.4; <https://c2sp.org/tlog-tiles>, "Merkle Tree" and "Log entries").
//!
//! A log serves its tree as static *tiles* of height 8: the level-`L` tile
//! `N` holds the hashes of the nodes at tree level `8·L` with indices
//! `N·256 .. N·256 + W`, where `W` is 256 for a full tile and 1..=255 for the
//! rightmost, *partial* tile of a level. Entry bundles hold the leaves of the
//! level-0 tile with the same `N` and `W`, each prefixed by its length as a
//! big-endian `uint16`.
//!
//! Paths are `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`; `N` is
//! written in zero-padded 3-digit groups, all but the last prefixed with `x`
//! (1234067 → `x001/x234/067`).
//!
//! What it does **not** do: no I/O and no verification. Tying tiles to a
//! signed checkpoint is the caller's job.
//!
//! ```
//! use minhbach_ledger::tile::{tiles_for_size, TileKind, TilePath};
//!
//! let path = TilePath::parse("/tile/1/x001/x234/067.p/8")?;
//! assert_eq!(path.kind(), TileKind::Hashes { level: 1 });
//! assert_eq!((path.index(), path.width()), (1_234_067, 8));
//! assert_eq!(path.to_string(), "tile/1/x001/x234/067.p/8");
//!
//! // The C2SP example: a tree of 70,000 leaves.
//! let paths: Vec<String> = tiles_for_size(70_000).map(|t| t.to_string()).collect();
//! assert_eq!(paths.len(), 273 + 1 + 1 + 1 + 1);
//! assert_eq!(paths[273], "tile/0/273.p/112");
//! assert_eq!(paths[274..], ["tile/1/000", "tile/1/001.p/17", "tile/2/000.p/1"]);
//! # Ok::<(), minhbach_ledger::tile::TileError>(())
//! ```

use std::fmt;
use std::ops::Range;

use crate::merkle::{HASH_SIZE, Hash, NodeId};

/// Tree levels per tile: a tile is a subtree of height 8.
pub const TILE_HEIGHT: u8 = 8;

/// Hashes in a full tile, and entries in a full entry bundle.
pub const TILE_WIDTH: u16 = 256;

/// The largest entry an entry bundle can hold (its length is a `uint16`).
pub const MAX_ENTRY_SIZE: usize = 65_535;

/// The highest tile level a path may name (tlog-tiles: "between 0 and 63").
pub const MAX_TILE_LEVEL: u8 = 63;

/// The most 3-digit groups an index needs: `u64::MAX` has 20 digits.
const MAX_INDEX_GROUPS: usize = 7;

/// Errors from tile paths, tiles and entry bundles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TileError {
    /// An entry bundle has no entries (tlog-tiles: empty tiles are never served).
    #[error("an entry bundle holds at least one entry")]
    EmptyBundle,
    /// An entry bundle holds a different number of entries than its width.
    #[error("entry bundle holds {actual} entries, expected {expected}")]
    EntryCountMismatch {
        /// The expected number, the bundle's width.
        expected: usize,
        /// The number found.
        actual: usize,
    },
    /// An entry is too long for its `uint16` length prefix.
    #[error("entry {index} is {size} bytes, at most {max} allowed")]
    EntryTooLarge {
        /// The entry's position in the bundle.
        index: usize,
        /// Its size in bytes.
        size: usize,
        /// The limit, [`MAX_ENTRY_SIZE`].
        max: usize,
    },
    /// A path is not `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`
    /// spelled as tlog-tiles requires (HTTP 404).
    #[error("invalid tile path: bad {part}")]
    InvalidPath {
        /// The part of the path that is wrong.
        part: PathPart,
    },
    /// A tile level above [`MAX_TILE_LEVEL`] (HTTP 404).
    #[error("tile level {level} is above {MAX_TILE_LEVEL}")]
    LevelOutOfRange {
        /// The level asked for.
        level: u8,
    },
    /// A tile or bundle that no tree with fewer than 2^64 leaves has
    /// (HTTP 404).
    #[error("tile {kind:?} {index} of width {width} lies beyond the largest possible tree")]
    OutOfRange {
        /// Hash tile or entry bundle.
        kind: TileKind,
        /// The tile index.
        index: u64,
        /// The tile width.
        width: u16,
    },
    /// An entry bundle ends in the middle of a length prefix or an entry.
    #[error("entry bundle truncated at byte {offset}")]
    Truncated {
        /// Where the incomplete length prefix or entry starts.
        offset: usize,
    },
    /// Tile bytes are not `32 × width` long.
    #[error("tile is {actual} bytes, expected {expected}")]
    TileSize {
        /// `32 × width`.
        expected: usize,
        /// The length found.
        actual: usize,
    },
    /// An entry bundle holds more than [`TILE_WIDTH`] entries.
    #[error("entry bundle holds more than {max} entries")]
    TooManyEntries {
        /// The limit, [`TILE_WIDTH`].
        max: usize,
    },
    /// A width outside `1..=256` (`1..=255` for a `.p/<W>` suffix).
    #[error("tile width {width} is not in 1..=256")]
    WidthOutOfRange {
        /// The width asked for.
        width: usize,
    },
}

/// The part of a tile path that failed to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PathPart {
    /// `<N>`: not canonical 3-digit groups, or above `u64::MAX`.
    Index,
    /// `<L>`: not a decimal number without leading zeros.
    Level,
    /// Not `tile/<L or entries>/…`.
    Prefix,
    /// `<W>`: not a decimal number without leading zeros.
    Width,
}

impl fmt::Display for PathPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Index => "index",
            Self::Level => "level",
            Self::Prefix => "prefix",
            Self::Width => "width",
        })
    }
}

/// What a tile path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TileKind {
    /// An entry bundle, `tile/entries/…`.
    Entries,
    /// A tile of hashes at tile level `level`, `tile/<level>/…`.
    Hashes {
        /// The tile level `L`; its hashes are at tree level `8·L`.
        level: u8,
    },
}

impl TileKind {
    /// The tile level: `L` for hash tiles, 0 for entry bundles (which match
    /// the level-0 tiles).
    #[must_use]
    pub const fn level(self) -> u8 {
        match self {
            Self::Entries => 0,
            Self::Hashes { level } => level,
        }
    }
}

/// A tile or entry bundle that can exist in a tree of fewer than 2^64 leaves:
/// a kind, an index `N` and a width `W` in `1..=256` (256 = full).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TilePath {
    kind: TileKind,
    index: u64,
    width: u16,
}

impl TilePath {
    /// A tile or bundle.
    ///
    /// # Errors
    ///
    /// [`TileError::LevelOutOfRange`] above [`MAX_TILE_LEVEL`],
    /// [`TileError::WidthOutOfRange`] outside `1..=256`, and
    /// [`TileError::OutOfRange`] if its last hash or entry would cover
    /// leaves at or beyond index `u64::MAX`, which no tree has.
    pub fn new(kind: TileKind, index: u64, width: u16) -> Result<Self, TileError> {
        let level = kind.level();
        if level > MAX_TILE_LEVEL {
            return Err(TileError::LevelOutOfRange { level });
        }
        if !(1..=TILE_WIDTH).contains(&width) {
            return Err(TileError::WidthOutOfRange {
                width: usize::from(width),
            });
        }
        // The leaves covered end at (N·256 + W)·256^L, which must fit a tree
        // size (u64).
        let end = u128::from(index)
            .checked_mul(u128::from(TILE_WIDTH))
            .and_then(|n| n.checked_add(u128::from(width)))
            .and_then(|n| {
                let shift = u32::from(TILE_HEIGHT) * u32::from(level);
                n.checked_shl(shift).filter(|e| e >> shift == n)
            });
        match end {
            Some(end) if end <= u128::from(u64::MAX) => Ok(Self { kind, index, width }),
            _ => Err(TileError::OutOfRange { kind, index, width }),
        }
    }

    /// A tile of hashes: level `level`, index `index`, width `width`.
    ///
    /// # Errors
    ///
    /// Those of [`TilePath::new`].
    pub fn hashes(level: u8, index: u64, width: u16) -> Result<Self, TileError> {
        Self::new(TileKind::Hashes { level }, index, width)
    }

    /// An entry bundle: index `index`, width `width`.
    ///
    /// # Errors
    ///
    /// Those of [`TilePath::new`].
    pub fn entries(index: u64, width: u16) -> Result<Self, TileError> {
        Self::new(TileKind::Entries, index, width)
    }

    /// Parses `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`, with or
    /// without one leading `/`, exactly as tlog-tiles spells them: no
    /// leading zeros in `L` or `W`, `N` in the fewest 3-digit groups, `W`
    /// in 1..=255.
    ///
    /// # Errors
    ///
    /// [`TileError::InvalidPath`] naming the part that is wrong, or an error
    /// of [`TilePath::new`].
    pub fn parse(path: &str) -> Result<Self, TileError> {
        let path = path.strip_prefix('/').unwrap_or(path);
        let rest = path.strip_prefix("tile/").ok_or(TileError::InvalidPath {
            part: PathPart::Prefix,
        })?;
        let (kind, rest) = rest.split_once('/').ok_or(TileError::InvalidPath {
            part: PathPart::Prefix,
        })?;
        let kind = if kind == "entries" {
            TileKind::Entries
        } else {
            let level = parse_decimal(kind, 2).ok_or(TileError::InvalidPath {
                part: PathPart::Level,
            })?;
            let level = u8::try_from(level).map_err(|_| TileError::InvalidPath {
                part: PathPart::Level,
            })?;
            TileKind::Hashes { level }
        };
        let (index, width) = match rest.split_once(".p/") {
            None => (rest, TILE_WIDTH),
            Some((index, width)) => {
                let width = parse_decimal(width, 3).ok_or(TileError::InvalidPath {
                    part: PathPart::Width,
                })?;
                if !(1..TILE_WIDTH).contains(&width) {
                    return Err(TileError::WidthOutOfRange {
                        width: usize::from(width),
                    });
                }
                (index, width)
            }
        };
        Self::new(kind, parse_index(index)?, width)
    }

    /// Hash tile or entry bundle, and the level.
    #[must_use]
    pub const fn kind(&self) -> TileKind {
        self.kind
    }

    /// The index `N` within its level.
    #[must_use]
    pub const fn index(&self) -> u64 {
        self.index
    }

    /// The number of hashes or entries, 1..=256.
    #[must_use]
    pub const fn width(&self) -> u16 {
        self.width
    }

    /// Whether the tile is full (256 wide) and so immutable.
    #[must_use]
    pub const fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The leaves the tile's hashes (or the bundle's entries) cover:
    /// `[N·256·256^L, (N·256 + W)·256^L)`.
    #[must_use]
    pub fn leaf_range(&self) -> Range<u64> {
        let shift = u32::from(TILE_HEIGHT) * u32::from(self.kind.level());
        let first = self.index * u64::from(TILE_WIDTH);
        // `new` checked that (N·256 + W)·256^L fits a u64.
        (first << shift)..((first + u64::from(self.width)) << shift)
    }

    /// The nodes whose hashes the tile holds, in order: tree level `8·L`,
    /// indices `N·256 .. N·256 + W`. For an entry bundle, the leaves whose
    /// hashes its entries give (tree level 0).
    #[must_use]
    pub fn node_ids(&self) -> Vec<NodeId> {
        let level = TILE_HEIGHT * self.kind.level();
        let first = self.index * u64::from(TILE_WIDTH);
        // `new` checked that N·256 + W fits a u64 and that the level is at
        // most 7 (8·L ≤ 56) whenever any such node exists.
        (first..first + u64::from(self.width))
            .map(|index| NodeId { level, index })
            .collect()
    }
}

impl fmt::Display for TilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TileKind::Entries => f.write_str("tile/entries/")?,
            TileKind::Hashes { level } => write!(f, "tile/{level}/")?,
        }
        let mut groups = [0u64; MAX_INDEX_GROUPS];
        let mut count = 0;
        let mut n = self.index;
        loop {
            groups[count] = n % 1000;
            count += 1;
            n /= 1000;
            if n == 0 {
                break;
            }
        }
        for group in groups[1..count].iter().rev() {
            write!(f, "x{group:03}/")?;
        }
        write!(f, "{:03}", groups[0])?;
        if !self.is_full() {
            write!(f, ".p/{}", self.width)?;
        }
        Ok(())
    }
}

/// A decimal number of 1 to `max_digits` ASCII digits with no leading zero.
fn parse_decimal(s: &str, max_digits: usize) -> Option<u16> {
    let digits = s.as_bytes();
    let canonical = !digits.is_empty()
        && digits.len() <= max_digits
        && digits.iter().all(u8::is_ascii_digit)
        && (digits[0] != b'0' || digits.len() == 1);
    canonical.then(|| {
        digits
            .iter()
            .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'))
    })
}

/// `<N>`: 3-digit groups, all but the last prefixed with `x`, the first
/// not `x000`.
fn parse_index(s: &str) -> Result<u64, TileError> {
    let invalid = TileError::InvalidPath {
        part: PathPart::Index,
    };
    let groups: Vec<&str> = s.split('/').collect();
    if groups.len() > MAX_INDEX_GROUPS {
        return Err(invalid);
    }
    let last = groups.len() - 1;
    let mut index: u64 = 0;
    for (i, group) in groups.iter().enumerate() {
        let digits = if i == last {
            *group
        } else {
            group.strip_prefix('x').ok_or(invalid.clone())?
        };
        let bytes = digits.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(invalid);
        }
        if i == 0 && last > 0 && digits == "000" {
            return Err(invalid);
        }
        let value = bytes.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        index = index
            .checked_mul(1000)
            .and_then(|n| n.checked_add(value))
            .ok_or(invalid.clone())?;
    }
    Ok(index)
}

/// The nodes the level-`level` tile `index` of width `width` holds; see
/// [`TilePath::node_ids`].
///
/// # Errors
///
/// Those of [`TilePath::new`].
pub fn tile_node_ids(level: u8, index: u64, width: u16) -> Result<Vec<NodeId>, TileError> {
    Ok(TilePath::hashes(level, index, width)?.node_ids())
}

/// Every hash tile of a tree of `tree_size` leaves: per level from 0 up, the
/// full tiles in order, then the partial tile if the level has one
/// (tlog-tiles, "Partial Tiles").
#[must_use]
pub fn tiles_for_size(tree_size: u64) -> Tiles {
    new_tiles(0, tree_size)
}

/// Every entry bundle of a tree of `tree_size` leaves: the full bundles, then
/// the partial one if any.
#[must_use]
pub fn entry_bundles_for_size(tree_size: u64) -> Tiles {
    new_entry_bundles(0, tree_size)
}

/// The hash tiles a tree of `new_size` leaves has and a tree of `old_size`
/// leaves has not: what a log publishes when it grows. Empty when
/// `old_size >= new_size`.
#[must_use]
pub fn new_tiles(old_size: u64, new_size: u64) -> Tiles {
    Tiles::new(false, old_size, new_size)
}

/// The entry bundles a tree of `new_size` leaves has and a tree of `old_size`
/// leaves has not. Empty when `old_size >= new_size`.
#[must_use]
pub fn new_entry_bundles(old_size: u64, new_size: u64) -> Tiles {
    Tiles::new(true, old_size, new_size)
}

/// An iterator over tile paths, from [`tiles_for_size`] and friends.
#[derive(Debug, Clone)]
pub struct Tiles {
    entries: bool,
    old_size: u64,
    new_size: u64,
    /// The current tile level.
    level: u8,
    /// The next full tile to yield at this level.
    next: u64,
    /// Whether this level's partial tile, if any, has been yielded.
    partial_done: bool,
}

impl Tiles {
    fn new(entries: bool, old_size: u64, new_size: u64) -> Self {
        let old_size = old_size.min(new_size);
        Self {
            entries,
            old_size,
            new_size,
            level: 0,
            next: old_size / u64::from(TILE_WIDTH),
            partial_done: false,
        }
    }

    /// The number of nodes at tree level `8·L` in a tree of `size` leaves.
    fn nodes_at_level(size: u64, level: u8) -> u64 {
        size.checked_shr(u32::from(TILE_HEIGHT) * u32::from(level))
            .unwrap_or(0)
    }

    fn path(&self, index: u64, width: u16) -> Option<TilePath> {
        let kind = if self.entries {
            TileKind::Entries
        } else {
            TileKind::Hashes { level: self.level }
        };
        // Every tile of a tree of u64 size is addressable.
        TilePath::new(kind, index, width).ok()
    }
}

impl Iterator for Tiles {
    type Item = TilePath;

    fn next(&mut self) -> Option<TilePath> {
        loop {
            let count = Self::nodes_at_level(self.new_size, self.level);
            if count == 0 || (self.entries && self.level > 0) {
                return None;
            }
            let full = count / u64::from(TILE_WIDTH);
            if self.next < full {
                self.next += 1;
                return self.path(self.next - 1, TILE_WIDTH);
            }
            let partial = count % u64::from(TILE_WIDTH);
            let unchanged = Self::nodes_at_level(self.old_size, self.level) == count;
            if !self.partial_done && partial != 0 && !unchanged {
                self.partial_done = true;
                // `partial` < 256, so the conversion succeeds.
                return u16::try_from(partial)
                    .ok()
                    .and_then(|width| self.path(full, width));
            }
            self.level += 1;
            self.next = Self::nodes_at_level(self.old_size, self.level) / u64::from(TILE_WIDTH);
            self.partial_done = false;
        }
    }
}

impl std::iter::FusedIterator for Tiles {}

/// The bytes of a tile: its hashes concatenated.
///
/// # Errors
///
/// [`TileError::WidthOutOfRange`] unless there are 1 to 256 hashes.
pub fn encode_tile(hashes: &[Hash]) -> Result<Vec<u8>, TileError> {
    if hashes.is_empty() || hashes.len() > usize::from(TILE_WIDTH) {
        return Err(TileError::WidthOutOfRange {
            width: hashes.len(),
        });
    }
    Ok(hashes.iter().flat_map(|h| h.0).collect())
}

/// Splits tile bytes of a tile of `width` hashes.
///
/// # Errors
///
/// [`TileError::WidthOutOfRange`] unless `width` is 1..=256, and
/// [`TileError::TileSize`] unless `bytes` is `32 × width` long.
pub fn parse_tile(bytes: &[u8], width: u16) -> Result<Vec<Hash>, TileError> {
    if !(1..=TILE_WIDTH).contains(&width) {
        return Err(TileError::WidthOutOfRange {
            width: usize::from(width),
        });
    }
    let expected = usize::from(width) * HASH_SIZE;
    if bytes.len() != expected {
        return Err(TileError::TileSize {
            expected,
            actual: bytes.len(),
        });
    }
    Ok(bytes
        .chunks_exact(HASH_SIZE)
        .map(|chunk| {
            let mut hash = [0; HASH_SIZE];
            // `chunks_exact` yields exactly HASH_SIZE bytes.
            hash.copy_from_slice(chunk);
            Hash(hash)
        })
        .collect())
}

/// An entry bundle: each entry prefixed by its length as a big-endian `uint16`
/// (tlog-tiles, "Log entries").
///
/// # Errors
///
/// [`TileError::EmptyBundle`] for no entries, [`TileError::TooManyEntries`]
/// above 256, and [`TileError::EntryTooLarge`] for an entry above
/// [`MAX_ENTRY_SIZE`] bytes.
pub fn encode_entry_bundle(entries: &[&[u8]]) -> Result<Vec<u8>, TileError> {
    if entries.is_empty() {
        return Err(TileError::EmptyBundle);
    }
    if entries.len() > usize::from(TILE_WIDTH) {
        return Err(TileError::TooManyEntries {
            max: usize::from(TILE_WIDTH),
        });
    }
    let total = entries.iter().map(|e| 2 + e.len()).sum();
    let mut out = Vec::with_capacity(total);
    for (index, entry) in entries.iter().enumerate() {
        let len = u16::try_from(entry.len()).map_err(|_| TileError::EntryTooLarge {
            index,
            size: entry.len(),
            max: MAX_ENTRY_SIZE,
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(entry);
    }
    Ok(out)
}

/// Splits an entry bundle into its entries, borrowing from `bytes`.
///
/// # Errors
///
/// [`TileError::EmptyBundle`] for no bytes, [`TileError::Truncated`] if the
/// bytes end inside a length prefix or an entry, and
/// [`TileError::TooManyEntries`] above 256 entries.
pub fn parse_entry_bundle(bytes: &[u8]) -> Result<Vec<&[u8]>, TileError> {
    let mut entries = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        if entries.len() == usize::from(TILE_WIDTH) {
            return Err(TileError::TooManyEntries {
                max: usize::from(TILE_WIDTH),
            });
        }
        let offset = bytes.len() - rest.len();
        let [hi, lo, tail @ ..] = rest else {
            return Err(TileError::Truncated { offset });
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        if tail.len() < len {
            return Err(TileError::Truncated { offset });
        }
        let (entry, tail) = tail.split_at(len);
        entries.push(entry);
        rest = tail;
    }
    if entries.is_empty() {
        return Err(TileError::EmptyBundle);
    }
    Ok(entries)
}

/// Splits an entry bundle that must hold exactly `width` entries, such as the
/// bundle a [`TilePath`] of that width names.
///
/// # Errors
///
/// [`TileError::WidthOutOfRange`] unless `width` is 1..=256, those of
/// [`parse_entry_bundle`], and [`TileError::EntryCountMismatch`].
pub fn parse_entry_bundle_exact(bytes: &[u8], width: u16) -> Result<Vec<&[u8]>, TileError> {
    if !(1..=TILE_WIDTH).contains(&width) {
        return Err(TileError::WidthOutOfRange {
            width: usize::from(width),
        });
    }
    let entries = parse_entry_bundle(bytes)?;
    if entries.len() != usize::from(width) {
        return Err(TileError::EntryCountMismatch {
            expected: usize::from(width),
            actual: entries.len(),
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn hashes(level: u8, index: u64, width: u16) -> TilePath {
        TilePath::hashes(level, index, width).unwrap()
    }

    fn entries(index: u64, width: u16) -> TilePath {
        TilePath::entries(index, width).unwrap()
    }

    #[test]
    fn path_examples_both_ways() {
        let table = [
            ("tile/0/000", hashes(0, 0, 256)),
            ("tile/0/005", hashes(0, 5, 256)),
            ("tile/0/999", hashes(0, 999, 256)),
            ("tile/0/x001/000", hashes(0, 1000, 256)),
            ("tile/0/x001/x234/067", hashes(0, 1_234_067, 256)),
            ("tile/1/x001/x234/067.p/8", hashes(1, 1_234_067, 8)),
            ("tile/3/000.p/1", hashes(3, 0, 1)),
            ("tile/0/x999/999.p/255", hashes(0, 999_999, 255)),
            ("tile/7/000.p/255", hashes(7, 0, 255)),
            ("tile/entries/000", entries(0, 256)),
            ("tile/entries/000.p/1", entries(0, 1)),
            ("tile/entries/x001/x234/067.p/255", entries(1_234_067, 255)),
            (
                // The last level-0 tile of the largest tree.
                "tile/0/x072/x057/x594/x037/x927/935.p/255",
                hashes(0, (1 << 56) - 1, 255),
            ),
        ];
        for (text, path) in table {
            assert_eq!(path.to_string(), text);
            assert_eq!(TilePath::parse(text).unwrap(), path, "{text}");
            assert_eq!(TilePath::parse(&format!("/{text}")).unwrap(), path);
        }
    }

    #[test]
    fn path_rejections() {
        use PathPart::*;
        let invalid = |part| Err(TileError::InvalidPath { part });
        let table: Vec<(&str, Result<TilePath, TileError>)> = vec![
            ("", invalid(Prefix)),
            ("tile", invalid(Prefix)),
            ("tile/", invalid(Prefix)),
            ("tile/0", invalid(Prefix)),
            ("//tile/0/000", invalid(Prefix)),
            ("tiles/0/000", invalid(Prefix)),
            ("TILE/0/000", invalid(Prefix)),
            ("tile/0/000/", invalid(Index)),
            ("tile/0/", invalid(Index)),
            ("tile/0/5", invalid(Index)),
            ("tile/0/0005", invalid(Index)),
            ("tile/0/x000/005", invalid(Index)),
            ("tile/0/x000/x001/005", invalid(Index)),
            ("tile/0/x1/000", invalid(Index)),
            ("tile/0/001/002", invalid(Index)),
            ("tile/0/x001/x002", invalid(Index)),
            ("tile/0/X001/002", invalid(Index)),
            ("tile/0/+01", invalid(Index)),
            ("tile/0/ 01", invalid(Index)),
            ("tile/0/00a", invalid(Index)),
            ("tile/0/٠٠٠", invalid(Index)),
            ("tile/0/x018/x446/x744/x073/x709/x551/616", invalid(Index)),
            (
                "tile/0/x001/x000/x000/x000/x000/x000/x000/000",
                invalid(Index),
            ),
            ("tile//000", invalid(Level)),
            ("tile/00/000", invalid(Level)),
            ("tile/01/000", invalid(Level)),
            ("tile/-1/000", invalid(Level)),
            ("tile/+1/000", invalid(Level)),
            ("tile/100/000", invalid(Level)),
            ("tile/64/000", Err(TileError::LevelOutOfRange { level: 64 })),
            ("tile/99/000", Err(TileError::LevelOutOfRange { level: 99 })),
            ("tile/0/000.p/", invalid(Width)),
            ("tile/0/000.p/007", invalid(Width)),
            ("tile/0/000.p/1/", invalid(Width)),
            ("tile/0/000.p/1000", invalid(Width)),
            ("tile/0/000.p/1.p/2", invalid(Width)),
            ("tile/0/000.p/x", invalid(Width)),
            (
                "tile/0/000.p/0",
                Err(TileError::WidthOutOfRange { width: 0 }),
            ),
            (
                "tile/0/000.p/256",
                Err(TileError::WidthOutOfRange { width: 256 }),
            ),
            (
                "tile/0/000.p/999",
                Err(TileError::WidthOutOfRange { width: 999 }),
            ),
            ("tile/0/000.q/1", invalid(Index)),
            ("tile/0/x001.p/5/000", invalid(Width)),
            ("tile/entries/000.p/00", invalid(Width)),
            ("tile/entries/", invalid(Index)),
            ("tile/entry/000", invalid(Level)),
            (
                "tile/7/000",
                Err(TileError::OutOfRange {
                    kind: TileKind::Hashes { level: 7 },
                    index: 0,
                    width: 256,
                }),
            ),
            (
                "tile/8/000.p/1",
                Err(TileError::OutOfRange {
                    kind: TileKind::Hashes { level: 8 },
                    index: 0,
                    width: 1,
                }),
            ),
            (
                "tile/63/000.p/1",
                Err(TileError::OutOfRange {
                    kind: TileKind::Hashes { level: 63 },
                    index: 0,
                    width: 1,
                }),
            ),
            (
                "tile/0/x072/x057/x594/x037/x927/935",
                Err(TileError::OutOfRange {
                    kind: TileKind::Hashes { level: 0 },
                    index: (1 << 56) - 1,
                    width: 256,
                }),
            ),
            (
                "tile/entries/x072/x057/x594/x037/x927/936.p/1",
                Err(TileError::OutOfRange {
                    kind: TileKind::Entries,
                    index: 1 << 56,
                    width: 1,
                }),
            ),
            (
                "tile/1/x018/x446/x744/x073/x709/x551/615.p/1",
                Err(TileError::OutOfRange {
                    kind: TileKind::Hashes { level: 1 },
                    index: u64::MAX,
                    width: 1,
                }),
            ),
        ];
        for (text, expected) in table {
            assert_eq!(TilePath::parse(text), expected, "{text:?}");
        }
    }

    #[test]
    fn constructor_rejections() {
        assert_eq!(
            TilePath::hashes(0, 0, 0),
            Err(TileError::WidthOutOfRange { width: 0 })
        );
        assert_eq!(
            TilePath::entries(0, 257),
            Err(TileError::WidthOutOfRange { width: 257 })
        );
        assert_eq!(
            TilePath::hashes(64, 0, 1),
            Err(TileError::LevelOutOfRange { level: 64 })
        );
        assert_eq!(
            TilePath::hashes(255, 0, 1),
            Err(TileError::LevelOutOfRange { level: 255 })
        );
        assert!(TilePath::hashes(6, 255, 256).is_err());
        assert!(TilePath::hashes(6, 254, 256).is_ok());
        assert!(TilePath::hashes(0, u64::MAX, 1).is_err());
    }

    #[test]
    fn node_ids_and_leaf_ranges() {
        let tile = hashes(1, 2, 3);
        assert_eq!(
            tile.node_ids(),
            [512, 513, 514].map(|index| NodeId { level: 8, index })
        );
        assert_eq!(tile.leaf_range(), (512 << 8)..(515 << 8));
        assert_eq!(tile_node_ids(1, 2, 3).unwrap(), tile.node_ids());
        assert!(tile_node_ids(1, 2, 0).is_err());

        let tile = hashes(0, 1, 256);
        assert_eq!(tile.node_ids().len(), 256);
        assert_eq!(
            tile.node_ids()[0],
            NodeId {
                level: 0,
                index: 256
            }
        );
        assert_eq!(
            tile.node_ids()[255],
            NodeId {
                level: 0,
                index: 511
            }
        );
        assert_eq!(tile.leaf_range(), 256..512);

        let bundle = entries(1, 2);
        assert_eq!(
            bundle.node_ids(),
            [256, 257].map(|index| NodeId { level: 0, index })
        );
        assert_eq!(bundle.leaf_range(), 256..258);

        let top = hashes(7, 0, 255);
        assert_eq!(
            top.node_ids()[254],
            NodeId {
                level: 56,
                index: 254
            }
        );
        assert_eq!(top.leaf_range(), 0..(255 << 56));

        let last = hashes(0, (1 << 56) - 1, 255);
        assert_eq!(last.leaf_range().end, u64::MAX);
    }

    fn listed(tiles: Tiles) -> Vec<String> {
        tiles.map(|t| t.to_string()).collect()
    }

    /// `tile/<level>/<i>` for `i` in `range`, in order.
    fn full(level: u8, range: Range<u64>) -> Vec<String> {
        range.map(|i| hashes(level, i, 256).to_string()).collect()
    }

    #[test]
    fn tiles_for_sizes() {
        let cat = |parts: &[Vec<String>]| parts.concat();
        let one = |s: &str| vec![s.to_string()];
        let table: Vec<(u64, Vec<String>)> = vec![
            (0, vec![]),
            (1, one("tile/0/000.p/1")),
            (255, one("tile/0/000.p/255")),
            (256, cat(&[one("tile/0/000"), one("tile/1/000.p/1")])),
            (
                257,
                cat(&[
                    one("tile/0/000"),
                    one("tile/0/001.p/1"),
                    one("tile/1/000.p/1"),
                ]),
            ),
            (
                65_536,
                cat(&[full(0, 0..256), one("tile/1/000"), one("tile/2/000.p/1")]),
            ),
            (
                65_537,
                cat(&[
                    full(0, 0..256),
                    one("tile/0/256.p/1"),
                    one("tile/1/000"),
                    one("tile/2/000.p/1"),
                ]),
            ),
            (
                70_000,
                cat(&[
                    full(0, 0..273),
                    one("tile/0/273.p/112"),
                    one("tile/1/000"),
                    one("tile/1/001.p/17"),
                    one("tile/2/000.p/1"),
                ]),
            ),
        ];
        for (size, expected) in table {
            assert_eq!(listed(tiles_for_size(size)), expected, "{size}");
        }
    }

    #[test]
    fn tiles_for_the_largest_tree() {
        // Every level's partial tile of a tree of u64::MAX leaves is addressable.
        for level in 0..8u8 {
            let count = u64::MAX >> (8 * u32::from(level));
            assert!(TilePath::hashes(level, count / 256, 255).is_ok(), "{level}");
        }
        assert_eq!(
            listed(new_tiles(u64::MAX - 1, u64::MAX)),
            ["tile/0/x072/x057/x594/x037/x927/935.p/255"]
        );
        assert_eq!(
            listed(new_entry_bundles(u64::MAX - 1, u64::MAX)),
            ["tile/entries/x072/x057/x594/x037/x927/935.p/255"]
        );
        // Growing by 2^16 leaves near the top touches levels 0 to 2 only.
        let levels: Vec<u8> = new_tiles(u64::MAX - 65_536, u64::MAX)
            .map(|t| t.kind().level())
            .collect();
        assert_eq!(levels.len(), 256 + 1 + 1 + 1 + 1);
        assert_eq!(levels.last(), Some(&2));
    }

    #[test]
    fn entry_bundles_for_sizes() {
        assert!(listed(entry_bundles_for_size(0)).is_empty());
        assert_eq!(listed(entry_bundles_for_size(1)), ["tile/entries/000.p/1"]);
        assert_eq!(listed(entry_bundles_for_size(256)), ["tile/entries/000"]);
        assert_eq!(
            listed(entry_bundles_for_size(513)),
            [
                "tile/entries/000",
                "tile/entries/001",
                "tile/entries/002.p/1"
            ]
        );
        assert_eq!(entry_bundles_for_size(65_537).count(), 257);
    }

    #[test]
    fn new_tiles_between_sizes() {
        assert_eq!(
            listed(new_tiles(255, 257)),
            ["tile/0/000", "tile/0/001.p/1", "tile/1/000.p/1"]
        );
        assert_eq!(listed(new_tiles(256, 257)), ["tile/0/001.p/1"]);
        assert_eq!(listed(new_tiles(300, 300)), Vec::<String>::new());
        assert_eq!(listed(new_tiles(301, 300)), Vec::<String>::new());
        assert_eq!(
            listed(new_tiles(65_535, 65_537)),
            [
                "tile/0/255",
                "tile/0/256.p/1",
                "tile/1/000",
                "tile/2/000.p/1"
            ]
        );
        assert_eq!(
            listed(new_entry_bundles(200, 600)),
            [
                "tile/entries/000",
                "tile/entries/001",
                "tile/entries/002.p/88"
            ]
        );
    }

    #[test]
    fn tiles_round_trip() {
        let hs: Vec<Hash> = (0..=255u8).map(|i| Hash([i; 32])).collect();
        for width in [1, 2, 255, 256] {
            let bytes = encode_tile(&hs[..width]).unwrap();
            assert_eq!(bytes.len(), width * 32);
            assert_eq!(bytes[32 * (width - 1)], (width - 1) as u8);
            assert_eq!(parse_tile(&bytes, width as u16).unwrap(), hs[..width]);
        }
        assert_eq!(
            encode_tile(&[]),
            Err(TileError::WidthOutOfRange { width: 0 })
        );
        let too_many = vec![Hash([0; 32]); 257];
        assert_eq!(
            encode_tile(&too_many),
            Err(TileError::WidthOutOfRange { width: 257 })
        );
        let bytes = encode_tile(&hs[..2]).unwrap();
        assert_eq!(
            parse_tile(&bytes[..63], 2),
            Err(TileError::TileSize {
                expected: 64,
                actual: 63
            })
        );
        assert_eq!(
            parse_tile(&bytes, 1),
            Err(TileError::TileSize {
                expected: 32,
                actual: 64
            })
        );
        assert_eq!(
            parse_tile(&bytes, 0),
            Err(TileError::WidthOutOfRange { width: 0 })
        );
        assert_eq!(
            parse_tile(&bytes, 257),
            Err(TileError::WidthOutOfRange { width: 257 })
        );
    }

    #[test]
    fn entry_bundles_round_trip() {
        let big = vec![7u8; MAX_ENTRY_SIZE];
        let cases: Vec<Vec<&[u8]>> = vec![
            vec![b"a"],
            vec![b""],
            vec![b"", b"xyz", b""],
            vec![&big, b"tail"],
            vec![b"e"; 256],
        ];
        for entries in cases {
            let bytes = encode_entry_bundle(&entries).unwrap();
            assert_eq!(
                bytes.len(),
                entries.iter().map(|e| e.len() + 2).sum::<usize>()
            );
            assert_eq!(parse_entry_bundle(&bytes).unwrap(), entries);
            let width = entries.len() as u16;
            assert_eq!(parse_entry_bundle_exact(&bytes, width).unwrap(), entries);
        }
        assert_eq!(
            encode_entry_bundle(&[b"ab", b"c"]).unwrap(),
            b"\x00\x02ab\x00\x01c"
        );
        assert_eq!(
            parse_entry_bundle(&[0xff, 0xff]),
            Err(TileError::Truncated { offset: 0 })
        );
    }

    #[test]
    fn entry_bundle_rejections() {
        let too_big = vec![0u8; MAX_ENTRY_SIZE + 1];
        assert_eq!(
            encode_entry_bundle(&[b"ok", &too_big]),
            Err(TileError::EntryTooLarge {
                index: 1,
                size: MAX_ENTRY_SIZE + 1,
                max: MAX_ENTRY_SIZE
            })
        );
        assert_eq!(encode_entry_bundle(&[]), Err(TileError::EmptyBundle));
        let many: Vec<&[u8]> = vec![b"e"; 257];
        assert_eq!(
            encode_entry_bundle(&many),
            Err(TileError::TooManyEntries { max: 256 })
        );
        assert_eq!(parse_entry_bundle(b""), Err(TileError::EmptyBundle));

        let mut bytes = encode_entry_bundle(&vec![&b"e"[..]; 256]).unwrap();
        bytes.extend_from_slice(b"\x00\x00");
        assert_eq!(
            parse_entry_bundle(&bytes),
            Err(TileError::TooManyEntries { max: 256 })
        );

        let bytes = encode_entry_bundle(&[b"abc", b"", b"de"]).unwrap();
        // [0 3 a b c] [0 0] [0 2 d e]: cutting after a whole entry leaves a
        // valid, shorter bundle; anywhere else is a truncation.
        for cut in 1..bytes.len() {
            let result = parse_entry_bundle(&bytes[..cut]);
            match cut {
                5 | 7 => {
                    let complete = if cut == 5 { 1 } else { 2 };
                    assert_eq!(result.unwrap().len(), complete);
                    assert_eq!(
                        parse_entry_bundle_exact(&bytes[..cut], 3),
                        Err(TileError::EntryCountMismatch {
                            expected: 3,
                            actual: complete
                        })
                    );
                }
                1..=4 => assert_eq!(result, Err(TileError::Truncated { offset: 0 })),
                6 => assert_eq!(result, Err(TileError::Truncated { offset: 5 })),
                _ => assert_eq!(result, Err(TileError::Truncated { offset: 7 }), "{cut}"),
            }
        }
        assert_eq!(
            parse_entry_bundle_exact(&bytes, 4),
            Err(TileError::EntryCountMismatch {
                expected: 4,
                actual: 3
            })
        );
        assert_eq!(
            parse_entry_bundle_exact(&bytes, 0),
            Err(TileError::WidthOutOfRange { width: 0 })
        );
    }

    fn any_tile_path() -> impl Strategy<Value = TilePath> {
        (
            prop_oneof![
                Just(TileKind::Entries),
                (0u8..=7).prop_map(|level| TileKind::Hashes { level })
            ],
            any::<u64>(),
            1u16..=256,
        )
            .prop_map(|(kind, index, width)| {
                let limit = u64::MAX >> (8 * u32::from(kind.level()));
                let index = index % (limit / 256).max(1);
                let width = if kind.level() == 7 {
                    width.min(255)
                } else {
                    width
                };
                TilePath::new(kind, index, width).unwrap()
            })
    }

    proptest! {
        #[test]
        fn path_parse_never_panics(s in "\\PC{0,60}") {
            let _ = TilePath::parse(&s);
        }

        #[test]
        fn path_parse_never_panics_on_near_paths(s in "/?tile/(entries|[0-9]{1,3})/(x[0-9]{3}/){0,8}[0-9]{1,4}(\\.p/[0-9]{1,4})?") {
            if let Ok(path) = TilePath::parse(&s) {
                prop_assert_eq!(path.to_string(), s.trim_start_matches('/'));
            }
        }

        #[test]
        fn path_format_then_parse_is_identity(path in any_tile_path()) {
            let text = path.to_string();
            prop_assert_eq!(TilePath::parse(&text).unwrap(), path);
            prop_assert_eq!(TilePath::parse(&format!("/{text}")).unwrap(), path);
        }

        #[test]
        fn tiles_for_size_matches_the_spec_formula(size in 0u64..(1 << 22)) {
            let tiles: Vec<TilePath> = tiles_for_size(size).collect();
            for level in 0..8u8 {
                let count = size >> (8 * u32::from(level));
                let here: Vec<&TilePath> = tiles
                    .iter()
                    .filter(|t| t.kind().level() == level)
                    .collect();
                let full = here.iter().filter(|t| t.is_full()).count() as u64;
                prop_assert_eq!(full, count / 256);
                let partial: Vec<u16> = here.iter().filter(|t| !t.is_full()).map(|t| t.width()).collect();
                if count % 256 == 0 {
                    prop_assert!(partial.is_empty());
                } else {
                    prop_assert_eq!(partial, vec![(count % 256) as u16]);
                }
            }
        }

        #[test]
        fn new_tiles_is_the_difference(old in 0u64..200_000, grow in 0u64..100_000) {
            let new = old + grow;
            let before: std::collections::BTreeSet<TilePath> = tiles_for_size(old).collect();
            let after: std::collections::BTreeSet<TilePath> = tiles_for_size(new).collect();
            let added: Vec<TilePath> = new_tiles(old, new).collect();
            let expected: Vec<TilePath> = tiles_for_size(new).filter(|t| !before.contains(t)).collect();
            prop_assert_eq!(&added, &expected);
            prop_assert!(added.iter().all(|t| after.contains(t)));

            let before: std::collections::BTreeSet<TilePath> = entry_bundles_for_size(old).collect();
            let added: Vec<TilePath> = new_entry_bundles(old, new).collect();
            let expected: Vec<TilePath> = entry_bundles_for_size(new).filter(|t| !before.contains(t)).collect();
            prop_assert_eq!(added, expected);
        }

        #[test]
        fn entry_bundle_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
            if let Ok(entries) = parse_entry_bundle(&bytes) {
                prop_assert_eq!(encode_entry_bundle(&entries).unwrap(), bytes);
            }
        }

        #[test]
        fn entry_bundle_round_trip(entries in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..=256)) {
            let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
            let bytes = encode_entry_bundle(&refs).unwrap();
            prop_assert_eq!(parse_entry_bundle(&bytes).unwrap(), refs);
        }

        #[test]
        fn tile_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600), width in any::<u16>()) {
            if let Ok(hashes) = parse_tile(&bytes, width) {
                prop_assert_eq!(encode_tile(&hashes).unwrap(), bytes);
            }
        }
    }
}
