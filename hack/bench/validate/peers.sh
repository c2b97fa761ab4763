#!/usr/bin/env bash
# Peer benchmark for `gwctl validate`'s library against kubeconform v0.8.0, offline.
#
#   hack/bench/validate/peers.sh [N_DOCUMENTS]      (default 10000; run from anywhere)
#
# 1. generates the mixed corpus (hack/bench/validate/gen), converts the CRDs gwctl embeds to
#    JSON Schema (hack/crd2jsonschema) and times both tools on the same files;
# 2. runs both on the must-fail fixtures (Gateway API invalid-examples and agentgateway v1.2.1
#    api-tests-testdata, one document per file, `_err` removed) with schemas from the same
#    upstream CRDs, and counts how many each rejects.
# kubeconform has no offline built-in schemas: built-in kinds are counted as skipped by it.
# Needs: go, and network access to the Go module proxy (for kubeconform) unless KUBECONFORM is set.
# The upstream CRDs and fixtures are those make testdata derived into testdata/.
set -euo pipefail

N=${1:-10000}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
REF=$ROOT/testdata
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT"

KC=${KUBECONFORM:-}
if [[ -z "$KC" ]]; then
  GOBIN="$WORK/bin" go install github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0
  KC="$WORK/bin/kubeconform"
fi
go build -o "$WORK/bin/gwctl-validate" ./hack/bench/validate/run
go run ./hack/bench/validate/gen -n "$N" -out "$WORK/corpus" >/dev/null
# The schemas gwctl validates with by default (agentgateway v1.2.1, inference extension v1.6.0).
go run ./hack/crd2jsonschema -out "$WORK/js-embedded" schemas/gateway-api schemas/agentgateway/v1.2.1 \
  schemas/inference-extension/v1.6.0 schemas/external-secrets >/dev/null

now() { date +%s.%N; }
loc() { echo "$1/{{ .ResourceKind }}{{ .KindSuffix }}.json"; }

echo "== corpus: $N documents of mixed kinds, 10% invalid, 30% built-in kinds ($(nproc) cores)"
go build -o "$WORK/bin/gwctl" ./cmd/gwctl
ROUNDS=${ROUNDS:-5}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
secs() { local t0 t1; t0=$(now); "$@" >/dev/null 2>&1 || true; t1=$(now); echo "$t1 - $t0" | bc; }
kc_t=(); doc_t=(); all_t=(); cli_t=()
for r in $(seq "$ROUNDS"); do # alternate the tools so that load spikes hit each alike
  kc_t+=("$(secs "$KC" -strict -summary -ignore-missing-schemas -n "$(nproc)" -schema-location "$(loc "$WORK/js-embedded")" "$WORK/corpus")")
  doc_t+=("$("$WORK/bin/gwctl-validate" -per-document "$WORK/corpus" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')")
  all_t+=("$("$WORK/bin/gwctl-validate" "$WORK/corpus" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')")
  cli_t+=("$(secs "$WORK/bin/gwctl" validate --ignore-missing-schemas -o json "$WORK/corpus")")
done
kc_s=$(printf '%s\n' "${kc_t[@]}" | median); doc_s=$(printf '%s\n' "${doc_t[@]}" | median)
all_s=$(printf '%s\n' "${all_t[@]}" | median); cli_s=$(printf '%s\n' "${cli_t[@]}" | median)
echo "kubeconform v0.8.0 -strict:            ${kc_s}s  ($("$KC" -strict -summary -ignore-missing-schemas -n "$(nproc)" -schema-location "$(loc "$WORK/js-embedded")" "$WORK/corpus" 2>&1 | tail -1 || true))"
echo "gwctl library, per document:           ${doc_s}s  (schema+defaults+list types+CEL+metadata; $("$WORK/bin/gwctl-validate" -per-document "$WORK/corpus" | cut -d' ' -f1,2))"
echo "gwctl library, every check:            ${all_s}s  (plus cross-resource checks, lints, dataplane compiler)"
echo "gwctl validate CLI, every check, json: ${cli_s}s"
echo "medians of $ROUNDS alternating rounds; throughput vs kubeconform:"
echo "  per document: $(echo "scale=2; $kc_s / $doc_s" | bc)x   every check: $(echo "scale=2; $kc_s / $all_s" | bc)x   CLI: $(echo "scale=2; $kc_s / $cli_s" | bc)x"

echo "== must-fail fixtures (schemas from the upstream CRDs for both tools)"
mkdir -p "$WORK/crds" "$WORK/fx/invalid" "$WORK/fx/valid"
cp "$REF"/agentgateway-v1.2.1/*.yaml "$REF"/gateway-api/crd/standard/*.yaml "$WORK/crds/"
go run ./hack/crd2jsonschema -out "$WORK/js-upstream" "$WORK/crds" >/dev/null
# one document per file; invalid documents are those in *_invalid.yaml (and all Gateway API ones)
split_docs() { # $1 file, $2 out dir, $3 prefix
  awk -v dir="$2" -v pre="$3" 'BEGIN{n=0; f=sprintf("%s/%s-%03d.yaml",dir,pre,n)}
    /^---/{n++; f=sprintf("%s/%s-%03d.yaml",dir,pre,n); next}
    /^_err:/{next}
    {print > f}' "$1"
}
for f in "$REF"/agentgateway-v1.2.1/api-tests-testdata/*.yaml; do
  b=$(basename "$f" .yaml)
  case "$b" in *_invalid) split_docs "$f" "$WORK/fx/invalid" "$b" ;; *) split_docs "$f" "$WORK/fx/valid" "$b" ;; esac
done
for f in "$REF"/gateway-api/invalid-examples/standard/*/*.yaml; do
  split_docs "$f" "$WORK/fx/invalid" "gwapi-$(basename "$(dirname "$f")")-$(basename "$f" .yaml)"
done
# drop files holding only comments
for f in "$WORK"/fx/*/*.yaml; do grep -q '^kind:' "$f" || rm -f "$f"; done
inv=$(ls "$WORK/fx/invalid" | wc -l); val=$(ls "$WORK/fx/valid" | wc -l)
kc_inv=$("$KC" -strict -summary -schema-location "$(loc "$WORK/js-upstream")" "$WORK/fx/invalid" 2>&1 | tail -1 || true)
kc_val=$("$KC" -strict -summary -schema-location "$(loc "$WORK/js-upstream")" "$WORK/fx/valid" 2>&1 | tail -1 || true)
echo "must-fail documents: $inv; valid documents: $val"
echo "kubeconform on must-fail: $kc_inv"
echo "kubeconform on valid:     $kc_val"
echo "gwctl on must-fail: $("$WORK/bin/gwctl-validate" -per-document -crd-dir "$WORK/crds" "$WORK/fx/invalid")"
echo "gwctl on valid:     $("$WORK/bin/gwctl-validate" -per-document -crd-dir "$WORK/crds" "$WORK/fx/valid")"

# kubectl-validate v0.0.4 (apiserver code, pinned to k8s.io v0.30): optional, its build takes
# minutes. Build it with: GOBIN=DIR go install sigs.k8s.io/kubectl-validate@v0.0.4, then set
# KUBECTL_VALIDATE=DIR/kubectl-validate.
if [[ -n "${KUBECTL_VALIDATE:-}" ]]; then
  kv_count() { python3 -c 'import json,sys; d=json.load(sys.stdin); docs=[s for v in d.values() for s in v]; print("documents=%d rejected=%d" % (len(docs), sum(1 for s in docs if s.get("status")=="Failure")))'; }
  echo "== kubectl-validate v0.0.4 (--version 1.30, --local-crds)"
  t0=$(now)
  kv_corpus=$("$KUBECTL_VALIDATE" --local-crds "$ROOT/schemas" --version 1.30 -o json "$WORK/corpus" 2>/dev/null | kv_count || true)
  t1=$(now)
  echo "kubectl-validate on the corpus: $kv_corpus seconds=$(echo "$t1 - $t0" | bc)"
  echo "kubectl-validate on must-fail: $("$KUBECTL_VALIDATE" --local-crds "$WORK/crds" --version 1.30 -o json "$WORK/fx/invalid" 2>/dev/null | kv_count || true)"
  echo "kubectl-validate on valid:     $("$KUBECTL_VALIDATE" --local-crds "$WORK/crds" --version 1.30 -o json "$WORK/fx/valid" 2>/dev/null | kv_count || true)"
fi
