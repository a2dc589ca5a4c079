//! The books' keys in a store's metadata: the rules' history
//! ([`StoredHistory`](crate::rules::history::StoredHistory)), the trace index
//! ([`StoredTrace`](crate::trace::StoredTrace)) and whatever snapshot of the
//! live state the layer above saves beside them. All of it is derived from
//! the leaves and can be rebuilt from them; all of it lives under
//! [`BOOKS_PREFIX`], so that it can be dropped as a whole.
//!
//! Values are CBOR. An empty value reads as absent (a deletion written as a
//! put, since a commit's metadata is a list of puts).

use serde::de::DeserializeOwned;
use serde::Serialize;

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
