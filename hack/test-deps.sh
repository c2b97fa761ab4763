#!/usr/bin/env bash
# Installs the real components the tests start: npm packages from the committed lockfile and,
# when running as root with apt, redis-server and etcd-server. Idempotent. Tests skip a missing component on a
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

# apt_install CMD PACKAGE WHAT installs PACKAGE when CMD is missing, without starting its packaged
# service (tests start their own on loopback), or says which tests will be skipped.
apt_install() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test-deps: apt-get install $2"
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    if [ -z "${apt_updated:-}" ]; then apt-get update -qq && apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
  else
    echo "test-deps: $1 not found and not root: $3 tests will be skipped (required under CI=true)"
  fi
}

apt_install redis-server redis-server Redis
# etcd for the kube-apiserver the tests start (internal/kubeapi); make kube-bins builds the server.
apt_install etcd etcd-server kube-apiserver
# A C toolchain for make test-race (the race detector's runtime links through cgo).
apt_install gcc gcc race-detector
