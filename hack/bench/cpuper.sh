#!/usr/bin/env bash
# CPU time per benchmark iteration (user+sys of the test process), steadier than ns/op on a
# loaded machine: the difference of a LARGE and a SMALL -benchtime Nx run, so setup cancels out.
# Usage: hack/bench/cpuper.sh TESTBIN BENCHREGEX [SMALL LARGE]
#   go test -c -o /tmp/gemini.test ./dataplane/llm/gemini
#   for i in 1 2 3 4 5; do hack/bench/cpuper.sh /tmp/gemini.test 'HandlerTranslate/json' 400 4000; \
#     hack/bench/cpuper.sh /tmp/gemini.test 'HandlerPassthrough/json' 400 4000; done
set -euo pipefail
bin=$1 re=$2 small=${3:-400} large=${4:-4000}
err=$(mktemp)
trap 'rm -f "$err"' EXIT
cpu() {
  /usr/bin/time -f "%U %S" "$bin" -test.run '^$' -test.bench "$re" -test.benchtime "${1}x" -test.count 1 >/dev/null 2>"$err"
  tail -1 "$err" | awk '{print $1+$2}'
}
a=$(cpu "$small")
b=$(cpu "$large")
awk -v a="$a" -v b="$b" -v s="$small" -v l="$large" 'BEGIN{printf "%.1f µs\n", (b-a)/(l-s)*1e6}'
