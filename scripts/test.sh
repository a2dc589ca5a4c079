#!/usr/bin/env bash
# The whole test suite: formatting, lints, tests, and the independence checks.
# Usage: scripts/test.sh          (from anywhere in the clone)
set -euo pipefail
cd "$(dirname "$0")/.."
MINHBACH_SETUP_BROWSER=1
MINHBACH_SETUP_S3=1
source scripts/setup.sh

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "independence: the auditor, the witness and the CLI never link RocksDB, axum or the server"
for pkg in minhbach-auditor minhbach-witness minhbach-cli; do
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

step "cargo deny: licenses, banned crates, sources (deny.toml)"
# Advisories are not checked: their database lives on a git host that the
# build machines cannot reach (docs/TESTING.md).
command -v cargo-deny >/dev/null 2>&1 || cargo install cargo-deny --locked --no-default-features --version 0.20.2
cargo deny --locked --log-level error check licenses bans sources

step "cargo clippy (workspace, all targets, -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings
# Per package too, so that feature unification cannot hide a leak.
for pkg in minhbach-ledger minhbach-auditor minhbach-witness minhbach-cli; do
  cargo clippy -p "$pkg" --all-targets --locked -- -D warnings
done

step "the declared minimum Rust version (rust-version): the crates that do not link RocksDB"
# The server is built with the current toolchain only: checking it with the
# minimum too would compile RocksDB's C++ a second time (about ten minutes).
msrv="$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)"
if rustup run "$msrv" rustc --version >/dev/null 2>&1 \
  || timeout 600 rustup toolchain install "$msrv" --profile minimal >/dev/null 2>&1; then
  CARGO_TARGET_DIR="${CARGO_TARGET_DIR}-msrv" cargo "+$msrv" check --locked --quiet \
    -p minhbach-ledger -p minhbach-auditor -p minhbach-cli -p minhbach-witness -p minhbach-demo
  echo "ok: Rust $msrv"
else
  echo "skipped: Rust $msrv cannot be installed here (rustup needs static.rust-lang.org)"
fi

step "cargo test (workspace)"
test_log="$(mktemp)"
cargo test --workspace --locked 2>&1 | tee "$test_log"
read -r passed failed < <(awk '/^test result: /{for(i=1;i<NF;i++){if($(i+1)~/^passed/)p+=$i; if($(i+1)~/^failed/)f+=$i}} END{print p+0, f+0}' "$test_log")
rm -f "$test_log"

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-Dwarnings" cargo doc --workspace --no-deps --locked --quiet

step "fuzz smoke run (each parser of untrusted input, ${MINHBACH_FUZZ_SECONDS:-10} s per target)"
if [ "${MINHBACH_SKIP_FUZZ:-0}" = "1" ]; then
  echo "skipped (MINHBACH_SKIP_FUZZ=1)"
else
  command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked --version 0.13.2
  fuzz_dir="${CARGO_TARGET_DIR}-fuzz"
  corpus_tmp="$(mktemp -d)"
  trap 'rm -rf "$corpus_tmp"' EXIT
  for t in note checkpoint tlog_proof policy tile_path entry_bundle envelope leaf statement; do
    mkdir -p "$corpus_tmp/$t"
    if (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run --target-dir "$fuzz_dir" "$t" \
      "$corpus_tmp/$t" "corpus/$t" -- -max_total_time="${MINHBACH_FUZZ_SECONDS:-10}") \
      >"$corpus_tmp/$t.log" 2>&1; then
      echo "ok: $t ($(grep -o 'Done [0-9]* runs' "$corpus_tmp/$t.log" | tail -n 1))"
    else
      cat "$corpus_tmp/$t.log"
      echo "FAIL: fuzz target $t" >&2
      exit 1
    fi
  done
fi

echo
echo "all checks passed"
# One closing line for the whole suite (cargo prints one per test binary).
echo "tests: ${passed} passed, ${failed} failed"
