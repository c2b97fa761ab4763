#!/usr/bin/env bash
# Runs every fuzz target in the module for a fixed budget each: hack/fuzz.sh 10s (or 100x).
# A target fails the run when the fuzzer finds an input that fails it (it writes the input under
# the package's testdata/fuzz/). Go's fuzz coordinator sometimes ends a run whose budget expired
# mid-input with "context deadline exceeded" and no failing input: that is reported, not failed.
set -uo pipefail
cd "$(dirname "$0")/.."
t="${1:-10s}"
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for fn in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "fuzz: $pkg $fn ($t)"
    if go test "$pkg" -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" > "$log" 2>&1; then
      tail -n 1 "$log"
      continue
    fi
    if grep -q 'Failing input written' "$log" || ! grep -q 'context deadline exceeded' "$log"; then
      cat "$log"
      failed=1
    else
      echo "fuzz: $fn: the coordinator's deadline expired mid-input (no failing input found)"
    fi
  done
done
exit "$failed"
