#!/usr/bin/env bash
# Installs what building minhbach needs on a Debian machine with Rust, when it
# is missing: libclang (RocksDB's bindings), a C++ compiler, rustfmt, clippy,
# and, with MINHBACH_SETUP_BROWSER=1, Chromium with chromedriver (the
# explorer's browser test).
# Sourced by scripts/test.sh and scripts/run.sh; safe to run again.
set -euo pipefail

need_apt=()
have_libclang() {
  ls /usr/lib/llvm-*/lib/libclang*.so* /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1
}
have_libclang || need_apt+=(libclang-dev)
command -v c++ >/dev/null 2>&1 || need_apt+=(g++)
command -v make >/dev/null 2>&1 || need_apt+=(make)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
# The explorer's browser test drives headless Chromium through chromedriver
# (scripts/test.sh asks for them; scripts/run.sh does not need them).
if [ "${MINHBACH_SETUP_BROWSER:-0}" = "1" ]; then
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
fi

if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if command -v rustup >/dev/null 2>&1; then
  for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
  done
fi

# One build cache outside the clone, reused between runs (CI included).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/minhbach/target}"
mkdir -p "$CARGO_TARGET_DIR"
