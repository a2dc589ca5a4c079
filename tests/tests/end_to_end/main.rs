//! minhbach end to end, in one binary (one link of the server, the auditor
//! and RocksDB instead of one per area; docs/TESTING.md): real servers, real
//! RocksDB, real HTTP, the real binaries.
//!
//! - [`auditor`]: the auditor against real servers;
//! - [`cli`]: every CLI command as officials and donors run it;
//! - [`explorer`]: the web pages in real Chromium;
//! - [`witnesses`]: the server with real witnesses.
#![allow(missing_docs, clippy::unwrap_used)]

#[path = "../../../server/tests/support/s3.rs"]
mod s3;

mod auditor;
mod cli;
mod explorer;
mod witnesses;
