//! The replay's pipeline (signatures batch-verified on every core ahead of
//! the rules thread) gives exactly what the ledger's sequential path gives:
//! the same state and trace for a valid log, and the same first error, at
//! the same entry, for a log with a bad signature anywhere.

use crate::common;

use common::support::{World, YAGI, donation, step};
use common::{history, with_bad_signature};
use minhbach_auditor::replay::{Replay, ReplayError};
use minhbach_ledger::rules::{ApplyError, RejectedEntry, Rejection, State};
use minhbach_ledger::trace::TraceIndex;
use serde_json::json;

/// The sequential reference: every leaf through `State::apply_leaf`, which
/// verifies each signature alone.
fn sequential(leaves: &[Vec<u8>]) -> (State, TraceIndex, Option<(u64, Rejection)>) {
    let mut state = State::new();
    let mut trace = TraceIndex::new();
    for (i, leaf) in leaves.iter().enumerate() {
        match state.apply_leaf(leaf) {
            Ok((_, effects)) => trace.record(&effects),
            Err(ApplyError::Rejected(r)) => return (state, trace, Some((i as u64, r))),
            Err(e) => panic!("a history in memory is always readable: {e}"),
        }
    }
    (state, trace, None)
}

fn pipelined(leaves: &[Vec<u8>], threads: usize, step: usize) -> (Replay, Option<ReplayError>) {
    let mut r = Replay::new(threads);
    let refs: Vec<&[u8]> = leaves.iter().map(Vec::as_slice).collect();
    for part in refs.chunks(step) {
        if let Err(e) = r.replay(part) {
            return (r, Some(e));
        }
    }
    (r, None)
}

/// A small xorshift, seeded from the clock (the seed is in every message).
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        Self(t | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn world() -> World {
    history(9_000)
}

#[test]
fn the_pipeline_gives_the_sequential_state_on_any_number_of_threads() {
    let w = world();
    let (state, trace, error) = sequential(&w.leaves);
    assert!(error.is_none());
    assert_eq!(state, w.state);
    for (threads, step) in [(1, usize::MAX), (2, usize::MAX), (3, 5_000), (2, 700)] {
        let (r, e) = pipelined(&w.leaves, threads, step);
        assert!(e.is_none(), "{threads} threads: {e:?}");
        assert_eq!(r.state, state, "{threads} threads, steps of {step}");
        assert_eq!(r.trace, trace, "{threads} threads, steps of {step}");
        assert_eq!(r.size(), w.leaves.len() as u64);
        // Every signature verified.
        let signatures: usize = w.entries.iter().map(|e| e.signers.len()).sum();
        assert_eq!(r.signatures, signatures as u64);
    }
}

#[test]
fn a_bad_signature_anywhere_is_the_first_error_at_its_entry() {
    let w = world();
    let mut rng = Rng::new();
    let seed = rng.0;
    let n = w.leaves.len();
    // The first entries, the boundaries of the pipeline's steps, and random
    // positions.
    let mut positions = vec![1, 63, 64, 65, 4095, 4096, n - 1];
    positions.extend((0..4).map(|_| 1 + rng.below(n - 1)));
    for pos in positions {
        let mut leaves = w.leaves.clone();
        leaves[pos] = with_bad_signature(&leaves[pos], rng.below(128));
        // A second bad entry later must not hide or replace the first.
        if pos + 10 < n {
            leaves[pos + 10] = with_bad_signature(&leaves[pos + 10], 3);
        }
        let (state, _, error) = sequential(&leaves);
        let (index, rejection) = error.expect("the sequential path refuses it");
        assert_eq!(index, pos as u64, "seed {seed}");
        assert_eq!(
            rejection.code(),
            "bad_signature",
            "seed {seed}: {rejection}"
        );
        for threads in [1, 2] {
            let (r, e) = pipelined(&leaves, threads, 3_000);
            match e {
                Some(ReplayError::Rejected(RejectedEntry {
                    index: i,
                    rejection: r2,
                })) => {
                    assert_eq!(i, index, "seed {seed}, {threads} threads");
                    assert_eq!(r2, rejection, "seed {seed}, {threads} threads");
                }
                other => panic!("seed {seed}, position {pos}: {other:?}"),
            }
            // Everything before it was applied, nothing after.
            assert_eq!(r.state, state, "seed {seed}, position {pos}");
        }
    }
}

/// A key granted in the middle of one step: its entries verify on any number
/// of threads, and with the rules thread alone (no worker that could be
/// ahead of the grant) every entry after the grant's part is batch-verified
/// with the new key rather than one by one.
#[test]
fn a_key_granted_mid_step_reaches_the_verifiers() {
    let mut w = history(2_000);
    let grant = w.ok(step(
        json!({"type": "key.grant", "public_key": w.pk("stranger"), "name": "stranger",
               "title": "Kế toán tiếp nhận bổ sung", "roles": ["intake"],
               "scope": {"campaigns": [YAGI]}}),
        &["g1", "g2"],
    ));
    let mut by_new_key = 0u64;
    for i in 0..3_000u64 {
        let mut s = donation(YAGI, 2_000_000 + i, &format!("FT25{i:012}"));
        s.signers = vec!["stranger"];
        w.ok(s);
        by_new_key += 1;
    }
    let (state, trace, error) = sequential(&w.leaves);
    assert!(error.is_none());
    for threads in [1, 2, 3] {
        let (r, e) = pipelined(&w.leaves, threads, usize::MAX);
        assert!(e.is_none(), "{threads} threads: {e:?}");
        assert_eq!(r.state, state, "{threads} threads");
        assert_eq!(r.trace, trace, "{threads} threads");
        if threads == 1 {
            // The first 64 entries (verified alone while genesis and the
            // first grants are applied) and at most the part (512 entries)
            // holding the grant; never the 3,000 after it.
            assert!(
                r.verified_alone <= 64 + 512,
                "{} verified alone; the grant is entry {grant}, {by_new_key} entries follow",
                r.verified_alone
            );
        }
    }
}
