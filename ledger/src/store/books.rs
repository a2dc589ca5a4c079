//! The books' keys in a store's metadata: the rules' history
//! ([`StoredHistory`](crate::rules::history::StoredHistory)), the trace index
//! ([`StoredTrace`](crate::trace::StoredTrace)) and whatever snapshot of the
//! live state the layer above saves beside them. All of it is derived from
//! the leaves and can be rebuilt from them; all of it lives under
//! [`BOOKS_PREFIX`], so that it can be dropped as a whole.
//!
//! Values are CBOR. An empty value reads as absent (a deletion written as a
//! put, since a commit's metadata is a list of puts).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::LogStore;

/// The prefix of every metadata key of the books.
pub const BOOKS_PREFIX: &[u8] = b"books/";

/// The key `books/<kind>/<id>`.
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
#[must_use]
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec fails only if serializing the value itself fails,
    // which the books' plain data types do not.
    ciborium::into_writer(value, &mut out).unwrap_or_else(|e| panic!("encoding the books: {e}"));
    out
}

/// Reads and decodes the value at `key`, `None` if absent (or empty).
///
/// # Panics
/// If the store cannot be read or the value does not decode. The rules
/// cannot answer without the log's past (an unreadable statement id is not
/// an unused one), so a failing store stops the reader rather than let it
/// decide on a guess: the server's sequencer stops, and writes are refused
/// as unavailable, until it is restarted on a working store.
#[must_use]
pub fn read<S: LogStore + ?Sized, T: DeserializeOwned>(store: &S, key: &[u8]) -> Option<T> {
    match store.read_meta(key) {
        Ok(Some(bytes)) if !bytes.is_empty() => {
            Some(ciborium::from_reader(bytes.as_slice()).unwrap_or_else(|e| {
                panic!(
                    "the books' value at {} does not decode ({e}): reindex the store",
                    String::from_utf8_lossy(key)
                )
            }))
        }
        Ok(_) => None,
        Err(e) => panic!("the store failed reading the books ({e})"),
    }
}

/// Records of the books not yet in the store, in memory: what is
/// [`Layer`]-shaped (a history's records, a trace's lists).
pub trait Layer: Clone + Default {
    /// Adds the records of `older` that `self` holds no newer version of.
    fn absorb_older(&mut self, older: Self);
}

/// Adds to `newer` the entries of `older` whose keys it does not hold: the
/// one way a [`Layer`]'s maps absorb an older layer.
pub fn keep_newer<K: Eq + Hash, V>(newer: &mut HashMap<K, V>, older: HashMap<K, V>) {
    for (k, v) in older {
        newer.entry(k).or_insert(v);
    }
}

/// The books' records not yet in the store, in two layers, so that they
/// can be written while more are recorded: `pending`, recorded since the
/// last [`Layers::freeze`], over `frozen`, which a flush is writing. Reads
/// look in `pending`, then in `frozen`, then (the caller) in the store;
/// writes go to `pending`.
///
/// A flush freezes the pending layer, writes it (from another thread, with
/// the [`Arc`] it got), then either [`Layers::release`]s it, once the
/// store holds it, or [`Layers::thaw`]s it, if the write failed, back under
/// what was recorded meanwhile. Either way no record is lost or read stale.
#[derive(Clone, Debug, Default)]
pub struct Layers<L> {
    pending: L,
    frozen: Arc<L>,
}

impl<L: Layer> Layers<L> {
    /// The records since the last freeze.
    #[must_use]
    pub fn pending(&self) -> &L {
        &self.pending
    }

    /// Where new records go.
    pub fn pending_mut(&mut self) -> &mut L {
        &mut self.pending
    }

    /// The records being written.
    #[must_use]
    pub fn frozen(&self) -> &L {
        &self.frozen
    }

    /// The first answer of `look` in `pending`, then in `frozen`.
    pub fn find<'a, T>(&'a self, look: impl Fn(&'a L) -> Option<T>) -> Option<T> {
        look(&self.pending).or_else(|| look(&self.frozen))
    }

    /// Freezes the pending records, to be written; returns them. A frozen
    /// layer still there (a flush neither released nor thawed) is frozen
    /// again with them, under them.
    pub fn freeze(&mut self) -> Arc<L> {
        let mut layer = std::mem::take(&mut self.pending);
        layer.absorb_older(self.take_frozen());
        self.frozen = Arc::new(layer);
        Arc::clone(&self.frozen)
    }

    /// The frozen records are in the store: forget them.
    pub fn release(&mut self) {
        self.frozen = Arc::default();
    }

    /// The frozen records were not written: they are pending again, under
    /// whatever was recorded since the freeze.
    pub fn thaw(&mut self) {
        let frozen = self.take_frozen();
        self.pending.absorb_older(frozen);
    }

    fn take_frozen(&mut self) -> L {
        let frozen = std::mem::take(&mut self.frozen);
        // The flush's handle is gone once it has answered; otherwise copy.
        Arc::try_unwrap(frozen).unwrap_or_else(|shared| (*shared).clone())
    }
}
