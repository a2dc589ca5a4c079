//! The storage conformance suite: every [`LogStore`] must pass it.
//!
//! Exposed with the `test-util` feature so that the durable store's tests
//! (and any future store) run exactly the checks the memory store runs.
//! Each check takes a fresh, empty store from `make` and panics with a
//! message naming the broken property.

use super::{CommitBatch, LogStore, StoreError};
use crate::log::Log;
use crate::merkle::{self, Hash, NodeId, Tree};

fn sign(size: u64, root: &Hash) -> Vec<u8> {
    format!("conformance\n{size}\n{}\n", root.to_base64()).into_bytes()
}

fn leaves(start: u64, n: u64) -> Vec<Vec<u8>> {
    (start..start + n)
        .map(|i| format!("{{\"leaf\":{i}}}").into_bytes())
        .collect()
}

/// Runs every check against stores made by `make`.
///
/// # Panics
/// When a store breaks the contract.
pub fn run_all<S: LogStore>(mut make: impl FnMut() -> S) {
    empty_store(&make());
    appends_read_back(&make());
    stale_commit_is_refused(&make());
    malformed_commit_writes_nothing(&make());
    proofs_from_stored_hashes(&make());
}

/// A new store is empty and says so precisely.
pub fn empty_store<S: LogStore>(store: &S) {
    assert_eq!(store.tree_size(), Ok(0), "new store has size 0");
    assert_eq!(store.checkpoint(), Ok(None), "new store has no checkpoint");
    assert_eq!(store.read_leaves(0, 0), Ok(Vec::new()));
    assert_eq!(
        store.read_leaves(0, 1),
        Err(StoreError::MissingLeaf { index: 0 })
    );
    assert_eq!(
        store.read_hashes(&[NodeId { level: 0, index: 0 }]),
        Err(StoreError::MissingNode { level: 0, index: 0 })
    );
    assert_eq!(store.read_meta(b"k"), Ok(None));
}

/// Leaves, roots, checkpoints and metadata read back exactly as committed,
/// across batches of different sizes.
pub fn appends_read_back<S: LogStore>(store: &S) {
    let mut log = Log::open(store).expect("open empty store");
    let mut all = Vec::new();
    for (n, batch) in [1u64, 2, 5, 256, 3, 300].into_iter().enumerate() {
        let new = leaves(all.len() as u64, batch);
        let meta = vec![(
            format!("batch/{n}").into_bytes(),
            batch.to_be_bytes().to_vec(),
        )];
        let out = log.append(&new, &meta, sign).expect("append");
        all.extend(new);
        assert_eq!(out.size, all.len() as u64);
        assert_eq!(store.tree_size(), Ok(out.size), "size after commit");
        assert_eq!(
            store.checkpoint(),
            Ok(Some(sign(out.size, &out.root))),
            "checkpoint after commit"
        );
        assert_eq!(
            store.read_meta(format!("batch/{n}").as_bytes()),
            Ok(Some(batch.to_be_bytes().to_vec())),
            "metadata committed with the batch"
        );
    }
    let size = all.len() as u64;
    assert_eq!(store.read_leaves(0, size).as_ref(), Ok(&all), "leaves");
    assert_eq!(store.read_leaves(7, 9).as_ref(), Ok(&all[7..9].to_vec()));
    let mut tree = Tree::new();
    let mut scratch = Vec::new();
    for l in &all {
        tree.append(merkle::leaf_hash(l), &mut scratch);
    }
    assert_eq!(merkle::root_at(store, size), Ok(tree.root()), "stored root");
    let reopened = Log::open(store).expect("reopen");
    assert_eq!(reopened.root(), tree.root(), "reopened root");
    assert_eq!(reopened.verify_from_leaves(100), Ok(tree.root()));
}

/// A commit built on an old size is refused and changes nothing.
pub fn stale_commit_is_refused<S: LogStore>(store: &S) {
    let mut log = Log::open(store).expect("open");
    let out = log.append(&leaves(0, 3), &[], sign).expect("append");
    let leaf = b"late".to_vec();
    let h = merkle::leaf_hash(&leaf);
    let batch = CommitBatch {
        old_size: 2,
        leaves: std::slice::from_ref(&leaf),
        nodes: &[(NodeId { level: 0, index: 2 }, h)],
        root: h,
        checkpoint: b"stale",
        meta: &[],
    };
    assert_eq!(
        store.commit(&batch),
        Err(StoreError::SizeConflict {
            expected: 2,
            actual: 3
        })
    );
    assert_eq!(store.tree_size(), Ok(3));
    assert_eq!(store.checkpoint(), Ok(Some(out.checkpoint)));
    assert_eq!(store.read_leaves(2, 3), Ok(leaves(2, 1)));
}

/// A malformed commit: old size, leaves, nodes, metadata, and the reason it
/// must be refused for.
type Malformed<'a> = (
    u64,
    &'a [Vec<u8>],
    &'a [(NodeId, Hash)],
    &'a [(Vec<u8>, Vec<u8>)],
    &'static str,
);

/// Malformed commits are refused before anything is written.
pub fn malformed_commit_writes_nothing<S: LogStore>(store: &S) {
    let leaf = b"x".to_vec();
    let h = merkle::leaf_hash(&leaf);
    let one = std::slice::from_ref(&leaf);
    let two = [leaf.clone(), leaf.clone()];
    let node = |level, index| (NodeId { level, index }, h);
    let reserved = [(b"_size".to_vec(), b"9".to_vec())];
    let cases: [Malformed<'_>; 5] = [
        (0, &[], &[], &[], "a commit appends at least one leaf"),
        (
            0,
            one,
            &[node(1, 0)],
            &[],
            "node lies beyond the new tree size",
        ),
        (
            2,
            one,
            &[node(0, 0)],
            &[],
            "node was complete before this batch",
        ),
        (
            0,
            &two,
            &[node(0, 0), node(0, 1)],
            &[],
            "the nodes are not exactly the subtrees the new leaves complete",
        ),
        (
            0,
            one,
            &[node(0, 0)],
            &reserved,
            "metadata keys starting with '_' are reserved",
        ),
    ];
    for (old_size, leaves, nodes, meta, reason) in cases {
        let batch = CommitBatch {
            old_size,
            leaves,
            nodes,
            root: h,
            checkpoint: b"c",
            meta,
        };
        assert_eq!(
            store.commit(&batch),
            Err(StoreError::InvalidCommit { reason }),
            "a malformed commit is refused for its own reason"
        );
    }
    empty_store(store);
}

/// Inclusion and consistency proofs served from the store verify against
/// the roots the log committed.
pub fn proofs_from_stored_hashes<S: LogStore>(store: &S) {
    let mut log = Log::open(store).expect("open");
    let mut roots = vec![merkle::empty_root()];
    let mut hashes = Vec::new();
    for n in 0..40u64 {
        let out = log
            .append(&leaves(hashes.len() as u64, n % 7 + 1), &[], sign)
            .expect("append");
        hashes.extend(out.leaf_hashes);
        while roots.len() <= out.size as usize {
            roots.push(out.root);
        }
        roots[out.size as usize] = out.root;
    }
    let size = log.size();
    for index in (0..size).step_by(7) {
        let proof = log.inclusion_proof(index, size).expect("inclusion proof");
        merkle::verify_inclusion(&hashes[index as usize], index, size, &proof, &log.root())
            .expect("inclusion proof verifies");
    }
    // Roots of every intermediate size, recomputed from stored hashes, and
    // consistency from each of them to the end.
    for size1 in 0..=size {
        let root1 = merkle::root_at(store, size1).expect("intermediate root");
        let proof = log
            .consistency_proof(size1, size)
            .expect("consistency proof");
        merkle::verify_consistency(size1, size, &proof, &root1, &log.root())
            .expect("consistency proof verifies");
    }
}
