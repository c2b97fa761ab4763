#!/usr/bin/env bash
# Side-by-side, one run: `gwctl render` of the full platform (every feature on) vs `helm template`
# of each chart + `kustomize build` of each group producing the same objects. Prints both times
# and the ratio. Usage: hack/bench/render.sh [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-20}"
tools="$PWD/bin/tools"
mkdir -p "$tools"
[ -x "$tools/helm" ] || GOBIN="$tools" go install helm.sh/helm/v3/cmd/helm@v3.22.0
[ -x "$tools/kustomize" ] || GOBIN="$tools" go install sigs.k8s.io/kustomize/kustomize/v5@v5.8.0
go build -o bin/gwctl ./cmd/gwctl
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go run ./hack/bench/render "$work/peer" > "$work/steps"
apiv=(--api-versions gateway.networking.k8s.io/v1 --api-versions gateway.networking.k8s.io/v1beta1
      --api-versions inference.networking.k8s.io/v1 --api-versions agentgateway.dev/v1alpha1
      --api-versions external-secrets.io/v1)
peer() {
  while read -r kind a b c d e; do
    if [ "$kind" = features ]; then
      continue
    elif [ "$kind" = helm ]; then
      "$tools/helm" template "$a" "$b" --namespace "$c" -f "$d" --kube-version v1.34.0 "${apiv[@]}" --include-crds > "$e"
    else
      "$tools/kustomize" build "$a"
    fi
  done < "$work/steps"
}
gw() { bin/gwctl render --enable "$(awk '$1 == "features" {print $2}' "$work/steps")" --set secretStore.name=secret-store; }
# Same objects: the same kinds, as many of each.
peer > "$work/peer.yaml"; gw > "$work/gwctl.yaml"
kinds() { grep '^kind:' "$1" | sort | uniq -c; }
if ! diff <(kinds "$work/gwctl.yaml") <(kinds "$work/peer.yaml"); then echo "outputs differ in objects" >&2; exit 1; fi
echo "objects: $(grep -c '^kind:' "$work/gwctl.yaml") in both outputs"
# Interleaved, so load from elsewhere on the machine falls on both sides alike.
ms() { date +%s%N; }
tg=0; tp=0
for _ in $(seq "$n"); do
  t0=$(ms); gw > /dev/null; t1=$(ms); peer > /dev/null; t2=$(ms)
  tg=$((tg + t1 - t0)); tp=$((tp + t2 - t1))
done
g=$((tg / n / 1000000)); p=$((tp / n / 1000000))
echo "iterations: $n"
echo "gwctl render:                 ${g} ms/run"
echo "helm template + kustomize:    ${p} ms/run"
awk -v g="$g" -v p="$p" 'BEGIN { printf "ratio gwctl/peers:            %.2f (goal <= 0.50)\n", g / p }'
