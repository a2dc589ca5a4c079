#!/usr/bin/env bash
# Runs the minhbach server with its embedded RocksDB store and demo data
# (README, "The two commands"). On first start it creates ./minhbach-data:
# the development log key, a few demo officials' keys and a seeded history;
# later starts serve the same data. Extra arguments go to `minhbach-server
# demo`, e.g. `scripts/run.sh --listen 127.0.0.1:9090 --data /tmp/mb`.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
exec cargo run --release --locked -p minhbach-server -- demo "$@"
