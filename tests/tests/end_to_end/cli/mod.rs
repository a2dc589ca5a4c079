//! End-to-end tests of the `minhbach` CLI (issue 6): the real binary, run as
//! officials and donors run it, against the real server over real HTTP on
//! 127.0.0.1 with a log in RocksDB that was created from a genesis signed
//! with the CLI, by keys made with `minhbach key new` and `ssh-keygen`.
//!
//! The `minhbach` binary must be built: `cargo test --workspace` builds it
//! next to this test (see [`harness::minhbach_exe`]).

mod harness;

mod donors;
mod errors;
mod import;
mod officials;
