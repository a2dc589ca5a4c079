//! The core's integration tests, in one binary (docs/TESTING.md); the crash
//! test (`crash.rs`, feature `rocksdb`) is its own, since it runs itself as
//! a child process to kill.
//!
//! - [`golden`]: the golden vectors and the schema examples;
//! - [`history`]: the live state against the history, and a history that
//!   cannot be read;
//! - [`rfc6962_vectors`]: the RFC 6962 proof vectors;
//! - [`rules_table`]: one case per rule and rejection code;
//! - [`schemas`]: the JSON schemas against the statements;
//! - [`trace_props`]: the gift trace's properties.
#![allow(missing_docs)]

mod golden;
mod history;
mod rfc6962_vectors;
mod rules_table;
mod schemas;
mod trace_props;
