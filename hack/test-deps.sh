#!/usr/bin/env bash
# Installs the real components the tests start: npm packages from the committed lockfile and,
# when running as root with apt, redis-server. Idempotent. Tests skip a missing component on a
# developer machine and fail under CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v npm >/dev/null 2>&1; then
  stamp=hack/npm/node_modules/.package-lock.json
  if [ ! -f "$stamp" ] || [ hack/npm/package-lock.json -nt "$stamp" ]; then
    echo "test-deps: npm ci (hack/npm)"
    npm ci --prefix hack/npm --no-audit --no-fund --loglevel=error
  fi
else
  echo "test-deps: npm not found: MCP and OIDC tests will be skipped (required under CI=true)"
fi

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test-deps: apt-get install redis-server"
    # Install without starting the packaged service; tests start their own on loopback.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "test-deps: redis-server not found and not root: Redis tests will be skipped (required under CI=true)"
  fi
fi
