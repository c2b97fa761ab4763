#!/usr/bin/env bash
# Side-by-side, one run: the shipped dataplane binary's OpenAI → Anthropic translation vs the
# Portkey AI gateway (npm @portkey-ai/gateway) vs the binary's own OpenAI passthrough, all against
# the same fake upstream with the same Go load generator. Portkey is installed into a temp dir
# (never into the repo) and patched only at runtime (see portkeyPreload in hack/bench/portkey/main.go).
# Usage: hack/bench/portkey.sh [flags of hack/bench/portkey, e.g. -duration 3s -rounds 5 -concurrency 16]
#        hack/bench/portkey.sh -h   (all flags)
#
# Two ways to share the machine, both worth reporting:
#   default   every process (gateway under test, load generator, fake upstream) may use every CPU,
#             as on a node; a multi-threaded gateway then competes with the load generator for
#             CPU that single-threaded Portkey leaves to it.
#   -pin N    equal CPU budget: each gateway under test (the dataplane binaries with GOMAXPROCS=N,
#             the -handlers and -baseline processes, Portkey's node) runs under `taskset -c 0..N-1`;
#             the load generator (this program, whose threads are moved with `taskset -a -p`) and
#             the fake upstream it starts run on the remaining CPUs. The log reader (cat) of the
#             dataplane's access log stays with the load generator. The "gateway CPU" and "driver
#             CPU" columns (CPU time ÷ run time, 100 % = one CPU) show which side was saturated: a
#             driver near 100 % × its CPUs means the load generator, not the gateway, set the rate.
# The driver (seventh session): the load generator is lean by default (loadgen.RunLean: each
# request rendered once and written in one call on a keep-alive connection, the reply read into a
# 64 KiB buffer, its status, framing, usage and final "data: [DONE]" checked, failures counted),
# and the fake upstream writes a stream in whole events of up to -segment bytes (1400, one TCP
# segment of several events, as a real provider's stream arrives; the recorded 68 events and their
# bytes unchanged: 6 writes). -driver nethttp -segment 0 is the driver before; -driver-before adds
# a "direct (before)" row measured that way beside "direct", to show what the driver alone does;
# -driverprofile PREFIX writes CPU profiles of the load generator and the fake upstream.
# Other diagnostics: -compare <binary> measures a second dataplane build beside the first
# (alternating); -dataplane-env KEY=VALUE runs the first one only with extra environment (e.g.
# GOGC=off); the garbage collection table comes from each binary's --debug-addr.
set -euo pipefail
cd "$(dirname "$0")/../.."
for a in "$@"; do
	if [[ "$a" == "-h" || "$a" == "-help" || "$a" == "--help" ]]; then
		sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
		echo
		exec go run ./hack/bench/portkey -h
	fi
done
version="${PORTKEY_VERSION:-1.15.2}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "installing @portkey-ai/gateway@$version into $work" >&2
npm install --prefix "$work" --no-audit --no-fund --silent "@portkey-ai/gateway@$version" >&2
go build -o "$work/bench" ./hack/bench/portkey
go build -o "$work/dataplane" ./cmd/dataplane
"$work/bench" -portkey "$work/node_modules/@portkey-ai/gateway" -dataplane "$work/dataplane" "$@"
