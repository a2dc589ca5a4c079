#!/usr/bin/env bash
# Refreshes ledger/testdata/rfc6962 from the project's shared copy of the
# transparency-dev/merkle proof vectors (see rfc6962/README.md for the source
# commit and licence). Usage: ledger/testdata/refresh-rfc6962.sh [SOURCE_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="${1:-$here/../../../shared/vectors/rfc6962}"
[ -d "$src/inclusion" ] && [ -d "$src/consistency" ] || { echo "no vectors at $src" >&2; exit 2; }
rm -rf "$here/rfc6962"
cp -r "$src" "$here/rfc6962"
chmod -R u+w "$here/rfc6962"
echo "copied $(find "$here/rfc6962" -name '*.json' | wc -l) vector files from $src"
