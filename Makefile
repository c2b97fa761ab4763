# gwctl: the Makefile is the front door; scripts live in hack/.
SHELL := /bin/bash
GO ?= go
export GOTOOLCHAIN ?= local
export GOFLAGS ?= -buildvcs=false

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
PKG     := github.com/infergw/gwctl/pkg/version
LDFLAGS := -s -w -X $(PKG).Version=$(VERSION) -X $(PKG).Commit=$(COMMIT) -X $(PKG).Date=$(DATE)

TOOLS := $(CURDIR)/bin/tools
GOLANGCI_LINT_VERSION := v2.15.0
GORELEASER_VERSION := v2.15.1

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/gwctl and bin/dataplane
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/gwctl ./cmd/gwctl
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/dataplane ./cmd/dataplane

.PHONY: test-deps
test-deps: ## Install the real components tests use (npm packages; redis-server when root)
	@hack/test-deps.sh

.PHONY: test
test: test-deps ## Run every test, then count passed/failed/skipped (under CI=true a missing component or file fails)
	set -o pipefail; $(GO) test -json -timeout 15m ./... | $(GO) run ./hack/testsummary

# kube-apiserver and kubectl for the tests that need a real API server (internal/kubeapi), built
# from hack/kube (its own module: gwctl's go.mod keeps no replace) at the release its go.mod pins.
# About 17 minutes cold on 2 cores; skipped when bin/kube already holds that release.
KUBE_BIN := $(CURDIR)/bin/kube
KUBE_VERSION := $(shell awk '$$1 == "require" && $$2 == "k8s.io/kubernetes" {print $$3}' hack/kube/go.mod)
KUBE_VERSION_PKG := k8s.io/component-base/version
KUBE_LDFLAGS := -s -w -X $(KUBE_VERSION_PKG).gitVersion=$(KUBE_VERSION) -X $(KUBE_VERSION_PKG).gitTreeState=clean \
	-X $(KUBE_VERSION_PKG).gitMajor=$(word 1,$(subst ., ,$(KUBE_VERSION:v%=%))) -X $(KUBE_VERSION_PKG).gitMinor=$(word 2,$(subst ., ,$(KUBE_VERSION)))

# The Inference Extension's lightweight endpoint picker (cmd/lwepp) for the endpoint-picker test
# (dataplane/epp TestLWEPP), built from hack/lwepp: its own module, since its Kubernetes
# libraries are another release than gwctl's, pinned at the InferencePool API's release.
.PHONY: lwepp
lwepp: ## Build the Inference Extension's lwepp into bin/lwepp for the endpoint-picker test
	cd hack/lwepp && GOFLAGS='-mod=mod -buildvcs=false' $(GO) build -trimpath -o $(CURDIR)/bin/lwepp sigs.k8s.io/gateway-api-inference-extension/cmd/lwepp

.PHONY: kube-bins
kube-bins: ## Build kube-apiserver and kubectl into bin/kube (once; ~17 min cold) for the API-server tests
	@if $(KUBE_BIN)/kube-apiserver --version 2>/dev/null | grep -qx 'Kubernetes $(KUBE_VERSION)' && \
	    $(KUBE_BIN)/kubectl version --client 2>/dev/null | grep -qx 'Client Version: $(KUBE_VERSION)'; then \
	  echo "kube-bins: bin/kube holds kube-apiserver and kubectl $(KUBE_VERSION)"; \
	else \
	  echo "kube-bins: building kube-apiserver and kubectl $(KUBE_VERSION) into bin/kube"; \
	  cd hack/kube && GOFLAGS='-mod=mod -buildvcs=false' $(GO) build -trimpath -ldflags '$(KUBE_LDFLAGS)' \
	    -o $(KUBE_BIN)/ k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl; \
	fi

# The packages with a fast path (see pkg/fastpath) and gwctl's commands over them. -count=1: the test
# cache does not see GWCTL_NOFAST, which is read before the tests start.
NOFAST_PKGS := ./pkg/fastpath/... ./pkg/manifest/... ./pkg/jsonvalue/... ./pkg/report/... ./pkg/validate/... ./pkg/cli/... ./dataplane/llm/anthropic/...
NOFAST_PKGS += ./dataplane/server/...
NOFAST_PKGS += ./dataplane/llm/gemini/... ./dataplane/llm/openai/...
NOFAST_PKGS += ./dataplane/proxy/...
NOFAST_PKGS += ./dataplane/pool/... ./dataplane/h1/... ./dataplane/h1server/...
NOFAST_PKGS += ./dataplane/epp/...

.PHONY: test-nofast
test-nofast: ## Run the tests of the packages with a fast path with every fast path off (GWCTL_NOFAST=1)
	set -o pipefail; GWCTL_NOFAST=1 $(GO) test -count=1 -json -timeout 10m $(NOFAST_PKGS) | $(GO) run ./hack/testsummary

.PHONY: test-race
test-race: test-deps ## Run the tests of the dataplane, the libraries and the commands with the race detector
	set -o pipefail; $(GO) test -race -count=1 -json -timeout 30m ./dataplane/... ./internal/... ./pkg/... ./cmd/... | $(GO) run ./hack/testsummary

# The packages with hand-written concurrency (the project's own HTTP/2 at both ends of ext_proc, the HTTP/1.1 client,
# pooled buffers, the forwarder, scrapes): CI runs their tests under the race detector.
RACE_CI_PKGS := ./dataplane/epp ./dataplane/h1 ./dataplane/h1server/... ./dataplane/llm/... ./dataplane/pool ./dataplane/proxy ./dataplane/server

.PHONY: test-race-ci
test-race-ci: test-deps ## Run the tests of the packages with hand-written concurrency with the race detector (CI)
	set -o pipefail; $(GO) test -race -count=1 -json -timeout 15m $(RACE_CI_PKGS) | $(GO) run ./hack/testsummary

.PHONY: soak
soak: test-deps ## Soak the dataplane under a fixed mixed load for SOAK_DURATION (default 10m); figures in soak-report.json
	$(GO) run ./hack/soak -duration $${SOAK_DURATION:-10m} -report soak-report.json

.PHONY: soak-ci
soak-ci: test-deps ## The 60-second soak CI runs, and 30 s of certificate rotation (every second) under load
	$(GO) run ./hack/soak -duration 60s -report soak-report.json
	$(GO) test -count=1 -run '^TestCertificateRotationUnderLoad$$' ./dataplane/bootstrap -args -rotation.duration=30s -rotation.every=1s

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 10s)
	@hack/fuzz.sh $${FUZZTIME:-10s}

.PHONY: bench
bench: ## Run the Go benchmarks (figures go to BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime=$${BENCHTIME:-1s} ./...

# Not part of bench: it builds the dataplane, runs `dataplane epp` as its own process and wants a
# quiet machine for its percentiles.
.PHONY: bench-epp
bench-epp: ## Pick latency in-process vs through the EPP client (dataplane epp in-process and as its own process), p50/p99 at c=1 and c=32
	$(GO) test ./dataplane/epp -run TestPickLatency -epp.latency -epp.latency.tail -v

.PHONY: lint
lint: ## gofmt, go vet and golangci-lint
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: run make fmt'; exit 1; }
	$(GO) vet ./...
	@test -x $(TOOLS)/golangci-lint || GOBIN=$(TOOLS) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	$(TOOLS)/golangci-lint run ./...

.PHONY: fmt
fmt: ## Format the code
	gofmt -w $$(git ls-files '*.go')

.PHONY: demo
demo: build ## Render the bundled platform and serve it with the dataplane and local upstreams
	@hack/demo.sh

# The upstream reference data (specs, CRDs, fixtures, recordings) that make testdata derives from.
REFERENCE ?= ../shared/reference

.PHONY: testdata
testdata: ## Derive testdata/ from the upstream reference data in REFERENCE (facts kept, prose dropped, sha256 recorded)
	$(GO) run ./hack/derive -ref $(REFERENCE)

.PHONY: schemas
schemas: ## Derive schemas/ from upstream CRDs (Gateway API from the pinned module, the others from REFERENCE or module zips; facts kept, prose dropped, sha256 recorded)
	$(GO) run ./hack/schemas -ref $(REFERENCE)
	$(GO) test ./pkg/validate/registry -run TestCheckedRulesAreCurrent -update # their rules, checked at build time

.PHONY: image
image: ## Build the dataplane's multi-arch OCI image (linux/amd64, linux/arm64) into dist/image, no Docker daemon
	$(GO) run ./hack/image -out dist/image -version $(VERSION) -commit $(COMMIT)

.PHONY: image-check
image-check: ## Build the image in a temporary layout and check its config, layers and the binary it runs
	GWCTL_IMAGE_TEST=1 $(GO) test -count=1 -timeout 45m -run TestImage ./hack/image/

.PHONY: conformance
conformance: ## Run the Gateway API conformance suite (GATEWAY-HTTP) against the dataplane in Kubernetes mode on the kubeapi harness, with the race detector; report in conformance/report.yaml
	cd conformance && CONFORMANCE_REPORT=$(CURDIR)/conformance/report.yaml $(GO) test -race -count=1 -timeout 30m -run TestConformance .

.PHONY: release-check
release-check: image-check ## Check .goreleaser.yaml with goreleaser, and the image the release builds
	@test -x $(TOOLS)/goreleaser || GOBIN=$(TOOLS) $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)
	$(TOOLS)/goreleaser check

.PHONY: clean
clean: ## Remove build output
	rm -rf bin dist
