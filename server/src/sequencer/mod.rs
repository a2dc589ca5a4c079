//! The sequencer (SPEC 3): the one writer of the log.
//!
//! ```text
//!  checker threads (one per core)   sequencer thread (one)
//!  parse + verify signatures  ──►  group jobs into a batch (size, short window)
//!  (Ed25519 batch verification)     apply the rules in order (pure on error)
//!                                   one fsync'd RocksDB write batch + checkpoint
//!  ◄── outcomes, after the commit   publish the new size, then answer
//! ```
//!
//! * Signatures are verified before the sequencer, on every core and in
//!   batches spanning concurrent requests ([`crate::checker`], which calls
//!   [`check_envelopes`]), against the key registry at that moment. A key id names one
//!   public key forever, so a signature that verified stays verified; whether
//!   the signer may sign *this* statement *here* is a rule, applied in order by
//!   the sequencer. An envelope whose key was unknown to the handler is
//!   verified again by the sequencer (its key may be granted earlier in the
//!   same batch).
//! * The rules ([`minhbach_ledger::rules`]) are applied to the live state
//!   under the books' write lock; `apply` is pure on error, so a refused
//!   statement leaves no trace. The accepted ones are written in one atomic
//!   commit with the checkpoint that covers them; only then does anyone get an
//!   answer. If the commit fails, the in-memory books are rebuilt from the
//!   store, which still holds exactly the acknowledged entries.
//! * Idempotency: a statement whose id (or donation reference, or any other
//!   unique field) is already logged is answered with the existing entry when
//!   its payload is byte-for-byte the logged one (`existing: true`), and
//!   refused as `duplicate` with the existing index otherwise.
//! * `logged_at` comes from the clock, never decreases, and has millisecond
//!   precision (SPEC 4.3, 6.7).
//!
//! The module follows the write path: [`check`](check_envelopes) (signature
//! checking), [`Sequencer`] (the group-commit thread) and [`Core`] (the rules
//! and the commit: sequencing and integration). What the rules know lives in
//! [`crate::books`], flushed to the store and reopened from it.

mod check;
mod commit;
mod group;

use crate::books::{Books, BooksError, Flushing, SharedBooks};
pub use check::{Checked, check_envelopes};
pub use commit::{Accepted, Core, CoreError, Outcome, SequencerError};
pub use group::{BatchConfig, Sequencer};
