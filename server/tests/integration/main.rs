//! The server's integration tests, in one binary: one link of RocksDB and
//! the server instead of one per file (docs/TESTING.md).
//!
//! - [`books`]: the books in the store, snapshot and replay;
//! - [`http`]: the read path and the JSON API over HTTP;
//! - [`openapi`]: the OpenAPI document against the router and live answers;
//! - [`ops`]: `init`, `reindex`, `backup`;
//! - [`replica`]: the object-storage replica against a real S3 API;
//! - [`restart`]: the real binary killed and restarted under load;
//! - [`write`]: the write API.

#[path = "../support/load.rs"]
mod load;
#[path = "../support/s3.rs"]
mod s3;

mod books;
mod http;
mod openapi;
mod ops;
mod replica;
mod restart;
mod write;
