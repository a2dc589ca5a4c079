#!/usr/bin/env bash
# Installs what building minhbach needs on a Debian machine with Rust, when it
# is missing: libclang (RocksDB's bindings), a C++ compiler, rustfmt, clippy;
# with MINHBACH_SETUP_BROWSER=1, Chromium with chromedriver (the explorer's
# browser test); with MINHBACH_SETUP_S3=1, a local S3-compatible server (moto's
# server mode, from PyPI, in a virtual environment under the build cache) for
# the object-storage replica's tests, exported as MINHBACH_MOTO_SERVER.
# Sourced by scripts/test.sh and scripts/run.sh; safe to run again.
set -euo pipefail

need_apt=()
have_libclang() {
  # libclang itself: libclang-cpp (which compilers pull in) does not serve the bindings
  ls /usr/lib/llvm-*/lib/libclang.so* /usr/lib/*-linux-gnu/libclang-[0-9]*.so* >/dev/null 2>&1
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

# The replica's tests run moto's S3 server from a virtual environment.
s3_venv="${MINHBACH_S3_VENV:-$HOME/.cache/minhbach/s3-venv}"
moto_pin="moto[server]==5.2.1"
if [ "${MINHBACH_SETUP_S3:-0}" = "1" ] && [ ! -x "$s3_venv/bin/moto_server" ]; then
  command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
  # Debian's python3 needs python3-venv for `python3 -m venv`.
  if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then need_apt+=(python3-venv); fi
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

if [ "${MINHBACH_SETUP_S3:-0}" = "1" ]; then
  if [ ! -x "$s3_venv/bin/moto_server" ]; then
    echo "setup: installing $moto_pin into $s3_venv" >&2
    python3 -m venv "$s3_venv"
    "$s3_venv/bin/pip" install --quiet --disable-pip-version-check "$moto_pin"
  fi
  export MINHBACH_MOTO_SERVER="$s3_venv/bin/moto_server"
fi

# One build cache outside the clone, reused between runs (CI included).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/minhbach/target}"
mkdir -p "$CARGO_TARGET_DIR"
