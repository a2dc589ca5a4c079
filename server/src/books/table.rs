//! The one layered table every kind of record of the books is kept in.
//!
//! A [`Table`] holds one kind of record (`books/<kind>/<key>` in the store's
//! metadata, CBOR values) and the changes to it not yet written, in two
//! layers, so that a flush can write them while more are recorded:
//! `pending`, changed since the last [`Table::freeze`], over `frozen`, which
//! a flush is writing. Reads look in `pending`, then in `frozen`, then in the
//! store; changes go to `pending`.
//!
//! A flush freezes the pending changes and writes them from another thread
//! (the [`FrozenChanges`] it got holds them), then either [`Table::release`]s them,
//! once the store holds them, or [`Table::thaw`]s them, if the write failed,
//! back under what was changed meanwhile. Either way no change is lost or
//! read stale. ARCHITECTURE.md ("The books") tells the whole flush.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use minhbach_ledger::store::{LogStore, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The prefix of every metadata key of the books: all of them are derived
/// from the leaves, and can be dropped as a whole and rebuilt.
pub const BOOKS_PREFIX: &[u8] = b"books/";

/// The metadata key `books/<kind>/<id>`.
#[must_use]
pub fn key(kind: &str, id: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(BOOKS_PREFIX.len() + kind.len() + 1 + id.len());
    k.extend_from_slice(BOOKS_PREFIX);
    k.extend_from_slice(kind.as_bytes());
    k.push(b'/');
    k.extend_from_slice(id);
    k
}

/// CBOR of `value`.
///
/// # Errors
/// If `value` does not serialize, which the books' plain data types always
/// do; the caller answers it as a store error.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).map_err(|e| {
        tracing::error!(target: "minhbach_server::books", error = %e, "a record of the books does not encode");
        StoreError::Corrupt {
            what: "a record of the books does not encode",
        }
    })?;
    Ok(out)
}

/// Reads of the books that failed since the process started (the store
/// failed, or a value did not decode): `minhbach_books_read_errors_total`.
static READ_ERRORS: AtomicU64 = AtomicU64::new(0);

/// How many reads of the books failed since the process started.
#[must_use]
pub fn read_errors() -> u64 {
    READ_ERRORS.load(Ordering::Relaxed)
}

/// Reads and decodes the value at `key`: `None` if absent, or empty (a
/// removal is written as an empty value). A failure is counted
/// ([`read_errors`]).
///
/// # Errors
/// The store's; [`StoreError::Corrupt`] if the value does not decode (the
/// books must then be rebuilt: `minhbach-server reindex`).
pub fn read<S: LogStore + ?Sized, T: DeserializeOwned>(
    store: &S,
    key: &[u8],
) -> Result<Option<T>, StoreError> {
    read_uncounted(store, key).inspect_err(|_| {
        READ_ERRORS.fetch_add(1, Ordering::Relaxed);
    })
}

fn read_uncounted<S: LogStore + ?Sized, T: DeserializeOwned>(
    store: &S,
    key: &[u8],
) -> Result<Option<T>, StoreError> {
    let Some(bytes) = store.read_meta(key).inspect_err(|e| {
        tracing::error!(target: "minhbach_server::books", error = %e, "the store failed reading the books");
    })?
    else {
        return Ok(None);
    };
    if bytes.is_empty() {
        return Ok(None);
    }
    ciborium::from_reader(bytes.as_slice())
        .map(Some)
        .map_err(|e| {
            tracing::error!(target: "minhbach_server::books", key = %String::from_utf8_lossy(&key[..key.len().min(24)]), error = %e, "a record of the books does not decode: reindex the store");
            StoreError::Corrupt {
                what: "a record of the books does not decode",
            }
        })
}

/// A key of a [`Table`]: its bytes in the metadata key.
pub trait RecordKey: Copy + Eq + Hash + Send + Sync + std::fmt::Debug + 'static {
    /// The bytes after `books/<kind>/`.
    fn bytes(&self) -> impl AsRef<[u8]>;
}

/// An entry index, big-endian (so the keys sort in log order).
impl RecordKey for u64 {
    fn bytes(&self) -> impl AsRef<[u8]> {
        self.to_be_bytes()
    }
}

/// A 16-byte digest (a statement id's or a donation reference's).
impl RecordKey for [u8; 16] {
    fn bytes(&self) -> impl AsRef<[u8]> {
        *self
    }
}

/// A value of a [`Table`].
pub trait Record:
    Clone + Serialize + DeserializeOwned + Send + Sync + std::fmt::Debug + 'static
{
}
impl<T: Clone + Serialize + DeserializeOwned + Send + Sync + std::fmt::Debug + 'static> Record
    for T
{
}

/// Changes by key: `Some` a new version, `None` a removal.
type Changes<K, V> = HashMap<K, Option<V>>;

/// One kind of record, as stored with the changes not yet written on top
/// (see the module documentation). Cloning it clones the pending changes
/// and shares the frozen ones.
#[derive(Clone, Debug)]
pub struct Table<K, V> {
    kind: &'static str,
    pending: Changes<K, V>,
    frozen: Arc<Changes<K, V>>,
}

impl<K: RecordKey, V: Record> Table<K, V> {
    /// The table of `kind`'s records, nothing pending.
    #[must_use]
    pub fn new(kind: &'static str) -> Self {
        Self {
            kind,
            pending: HashMap::new(),
            frozen: Arc::default(),
        }
    }

    /// The metadata key of `k`.
    #[must_use]
    pub fn key(&self, k: &K) -> Vec<u8> {
        key(self.kind, k.bytes().as_ref())
    }

    /// The newest version of `k`: pending, frozen or stored.
    ///
    /// # Errors
    /// The store's, if it must be read and cannot be.
    pub fn get<S: LogStore + ?Sized>(
        &self,
        store: &S,
        k: &K,
    ) -> Result<Option<Cow<'_, V>>, StoreError> {
        match self.pending.get(k).or_else(|| self.frozen.get(k)) {
            Some(change) => Ok(change.as_ref().map(Cow::Borrowed)),
            None => Ok(read(store, &self.key(k))?.map(Cow::Owned)),
        }
    }

    /// Records `value` as the new version of `k`.
    pub fn put(&mut self, k: K, value: V) {
        self.pending.insert(k, Some(value));
    }

    /// Records that `k` has no value any more.
    pub fn remove(&mut self, k: K) {
        self.pending.insert(k, None);
    }

    /// The newest version of `k`, copied into the pending layer if it is
    /// not there yet, to change in place (`None`: none, or removed).
    ///
    /// # Errors
    /// The store's, if it must be read and cannot be; then nothing changes.
    pub fn get_mut<S: LogStore + ?Sized>(
        &mut self,
        store: &S,
        k: K,
    ) -> Result<&mut Option<V>, StoreError> {
        match self.pending.entry(k) {
            Entry::Occupied(o) => Ok(o.into_mut()),
            Entry::Vacant(v) => {
                let older = match self.frozen.get(&k) {
                    Some(change) => change.clone(),
                    None => read(store, &key(self.kind, k.bytes().as_ref()))?,
                };
                Ok(v.insert(older))
            }
        }
    }

    /// How many keys have changes not yet written.
    #[must_use]
    pub fn unwritten(&self) -> Unwritten {
        Unwritten {
            pending: self.pending.len(),
            frozen: self.frozen.len(),
        }
    }
}

/// How many keys have changes not yet in the store, by layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unwritten {
    /// Changed since the last freeze.
    pub pending: usize,
    /// Frozen, being written by a flush.
    pub frozen: usize,
}

impl std::ops::Add for Unwritten {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            pending: self.pending + other.pending,
            frozen: self.frozen + other.frozen,
        }
    }
}

/// What a flush does with a [`Table`] of any kind, so that the books
/// freeze, release and thaw all of theirs alike.
pub trait Layered {
    /// Freezes the pending changes to be written, and returns them. Changes
    /// still frozen (a flush neither released nor thawed) are frozen again
    /// with them, under them.
    fn freeze(&mut self) -> Box<dyn FrozenChanges>;
    /// The frozen changes are in the store: forget them.
    fn release(&mut self);
    /// The frozen changes were not written: they are pending again, under
    /// whatever was changed since the freeze.
    fn thaw(&mut self);
}

impl<K: RecordKey, V: Record> Layered for Table<K, V> {
    fn freeze(&mut self) -> Box<dyn FrozenChanges> {
        let mut changes = std::mem::take(&mut self.pending);
        keep_newer(&mut changes, self.take_frozen());
        self.frozen = Arc::new(changes);
        Box::new(Frozen {
            kind: self.kind,
            changes: Arc::clone(&self.frozen),
        })
    }

    fn release(&mut self) {
        self.frozen = Arc::default();
    }

    fn thaw(&mut self) {
        let frozen = self.take_frozen();
        keep_newer(&mut self.pending, frozen);
    }
}

impl<K: RecordKey, V: Record> Table<K, V> {
    fn take_frozen(&mut self) -> Changes<K, V> {
        let frozen = std::mem::take(&mut self.frozen);
        // The flush's handle is gone once it has answered; otherwise copy.
        Arc::try_unwrap(frozen).unwrap_or_else(|shared| (*shared).clone())
    }
}

/// Adds to `newer` the changes of `older` to keys it does not hold.
fn keep_newer<K: Eq + Hash, V>(newer: &mut HashMap<K, V>, older: HashMap<K, V>) {
    for (k, v) in older {
        newer.entry(k).or_insert(v);
    }
}

/// The frozen changes of one table, as a flush writes them.
pub trait FrozenChanges: Send + Sync + std::fmt::Debug {
    /// Appends the metadata writes that store them (a removal as an empty
    /// value), in no particular order.
    ///
    /// # Errors
    /// If a record does not encode ([`encode`]).
    fn encode_into(&self, out: &mut Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), StoreError>;
    /// How many keys they change.
    fn len(&self) -> usize;
    /// Whether they change nothing.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A [`Table`]'s frozen changes.
#[derive(Debug)]
struct Frozen<K, V> {
    kind: &'static str,
    changes: Arc<Changes<K, V>>,
}

impl<K: RecordKey, V: Record> FrozenChanges for Frozen<K, V> {
    fn encode_into(&self, out: &mut Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), StoreError> {
        out.reserve(self.changes.len());
        for (k, change) in self.changes.iter() {
            let value = match change {
                Some(v) => encode(v)?,
                None => Vec::new(),
            };
            out.push((key(self.kind, k.bytes().as_ref()), value));
        }
        Ok(())
    }

    fn len(&self) -> usize {
        self.changes.len()
    }
}
