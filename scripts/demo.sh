#!/usr/bin/env bash
# The main job, offline: serve a fake Hub (a generated world with the Hub's
# shape, or the recorded Llama-2-7b tree when ../shared is present), crawl a
# base model's family from it, count it, and export its tree: DOT with the
# relation legend (--legend), and the picture rendered by hflineage through
# Graphviz (which always draws the legend).
# Usage: scripts/demo.sh [OUTDIR]      (default ./demo-out)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-demo-out}
mkdir -p "$out"
bin=$(mktemp -d)
trap 'kill "${hub_pid:-}" 2>/dev/null || true; rm -rf "$bin"' EXIT

go build -o "$bin/hflineage" ./cmd/hflineage
go build -o "$bin/hubsim" ./cmd/hubsim

tree=../shared/hub-recordings/model_metadata_analyses/Llama-2-7b_finetunes_20250422_180448.json
if [ -f "$tree" ]; then
  "$bin/hubsim" --addr 127.0.0.1:0 --addr-file "$bin/addr" --tree "$tree" & hub_pid=$!
  root=meta-llama/Llama-2-7b
else
  "$bin/hubsim" --addr 127.0.0.1:0 --addr-file "$bin/addr" --models 20000 & hub_pid=$!
  root=base-org-0/Base-Model-0
fi
for _ in $(seq 100); do [ -s "$bin/addr" ] && break; sleep 0.1; done
export HF_ENDPOINT=$(cat "$bin/addr")
export HFLINEAGE_DB="$out/db"

set -x
"$bin/hflineage" crawl --restart "$root"
"$bin/hflineage" count "$root"
"$bin/hflineage" count --json "$root"
"$bin/hflineage" export --format dot --legend --root "$root" --max-nodes 60 -o "$out/family.dot"
set +x
if command -v dot >/dev/null; then
  # The picture, with its key of the relations (pictures always carry it).
  (set -x; "$bin/hflineage" export --format svg --root "$root" --max-nodes 60 -o "$out/family.svg")
  echo "rendered $out/family.svg"
else
  echo "Graphviz is not installed (apt-get install graphviz): $out/family.dot (with its legend) not rendered"
fi
