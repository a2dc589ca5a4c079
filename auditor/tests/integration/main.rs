//! The auditor's integration tests, in one binary (docs/TESTING.md):
//!
//! - [`cli`]: `minhbach-audit` as a user runs it;
//! - [`pipeline`]: the pipelined replay against the sequential rules;
//! - [`resume`]: a full audit stopped and resumed.
#![allow(missing_docs)]

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod pipeline;
mod resume;
