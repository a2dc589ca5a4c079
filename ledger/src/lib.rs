//! # minhbach-ledger
//!
//! The pure core of minhbach, a public, verifiable ledger of charity money.
//!
//! What it does:
//! - RFC 9162 Merkle tree hashing, an append-only tree over a small storage
//!   trait, inclusion and consistency proofs ([`merkle`], [`log`], [`store`]);
//! - C2SP signed notes, checkpoints and cosignatures ([`note`], [`checkpoint`],
//!   [`cosignature`]) and C2SP trust policies ([`policy`]);
//! - the C2SP tlog-tiles layout: tile paths, tiles and entry bundles ([`tile`]);
//! - DSSE envelopes with several signatures and the log's leaf wrapper
//!   ([`envelope`], [`leaf`]);
//! - receipt bundles in the C2SP `tlog-proof@v1` format and their offline
//!   verification ([`receipt`]);
//! - the JSON shapes of the server's API, shared by the server, the CLI and
//!   the auditor ([`api`]);
//! - the C2SP tlog-witness `add-checkpoint` request body, its limits and the
//!   witness's checks ([`witness`]).
//!
//! What it does **not** do: no network, no clock, no threads, no logging and,
//! outside the `rocksdb` feature, no filesystem. Time, keys and randomness are
//! arguments. The durable store (`store::rocks`) exists only with the
//! `rocksdb` feature, which the server enables and the auditor and CLI never do.

pub mod api;
pub mod checkpoint;
pub mod cosignature;
pub mod ed25519;
pub mod envelope;
pub mod leaf;
pub mod log;
pub mod merkle;
pub mod note;
pub mod policy;
pub mod receipt;
pub mod region;
pub mod rules;
pub mod statement;
pub mod store;
pub mod summary;
pub mod tile;
pub mod trace;
pub mod witness;
