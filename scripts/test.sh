#!/usr/bin/env bash
# The whole test suite: formatting, lints, tests, and the independence checks.
# Usage: scripts/test.sh          (from anywhere in the clone)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "independence: the auditor and the CLI never link RocksDB, axum or the server"
for pkg in minhbach-auditor minhbach-cli; do
  tree="$(cargo tree --locked -p "$pkg" -e normal --prefix none)"
  if grep -E '^(rocksdb|librocksdb-sys|axum|minhbach-server) ' <<<"$tree"; then
    echo "FAIL: $pkg depends on the crates above" >&2
    exit 1
  fi
  echo "ok: $pkg ($(wc -l <<<"$tree") dependency lines, none forbidden)"
done
# The core without features must stay free of I/O crates too.
core="$(cargo tree --locked -p minhbach-ledger -e normal --no-default-features --prefix none)"
if grep -E '^(rocksdb|librocksdb-sys|axum|tokio|hyper|reqwest) ' <<<"$core"; then
  echo "FAIL: minhbach-ledger without features pulls in I/O crates" >&2
  exit 1
fi
echo "ok: minhbach-ledger core"

step "cargo clippy (workspace, all targets, -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings
# Per package too, so that feature unification cannot hide a leak.
for pkg in minhbach-ledger minhbach-auditor minhbach-cli; do
  cargo clippy -p "$pkg" --all-targets --locked -- -D warnings
done

step "cargo test (workspace)"
cargo test --workspace --locked

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-Dwarnings" cargo doc --workspace --no-deps --locked --quiet

echo
echo "all checks passed"
