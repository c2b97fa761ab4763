#!/usr/bin/env bash
# make demo: render the bundled platform and serve it with the dataplane and local upstreams.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== gwctl resolve-groups --enable egress --set secretStore.name=demo-store -o text"
bin/gwctl resolve-groups --enable egress --set secretStore.name=demo-store -o text
echo
echo "== gwctl validate --enable egress --set secretStore.name=demo-store --summary"
bin/gwctl validate --enable egress --set secretStore.name=demo-store --summary
echo
echo "== dataplane on the render, with local upstreams"
exec go run ./hack/demo "$@"
