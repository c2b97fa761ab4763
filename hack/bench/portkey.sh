#!/usr/bin/env bash
# Side-by-side, one run: the shipped dataplane binary's OpenAI → Anthropic translation vs the
# Portkey AI gateway (npm @portkey-ai/gateway) vs the binary's own OpenAI passthrough, all against
# the same fake upstream with the same Go load generator. Portkey is installed into a temp dir
# (never into the repo) and patched only at runtime (see portkeyPreload in hack/bench/portkey/main.go).
# Usage: hack/bench/portkey.sh [flags of hack/bench/portkey, e.g. -duration 3s -rounds 5 -concurrency 16]
set -euo pipefail
cd "$(dirname "$0")/../.."
version="${PORTKEY_VERSION:-1.15.2}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "installing @portkey-ai/gateway@$version into $work" >&2
npm install --prefix "$work" --no-audit --no-fund --silent "@portkey-ai/gateway@$version" >&2
go build -o "$work/bench" ./hack/bench/portkey
go build -o "$work/dataplane" ./cmd/dataplane
"$work/bench" -portkey "$work/node_modules/@portkey-ai/gateway" -dataplane "$work/dataplane" "$@"
