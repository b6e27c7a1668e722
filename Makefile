# medprov — run `make help` for the targets.
SHELL := /bin/bash
GO ?= go
FUZZTIME ?= 15s
BENCHTIME ?= 1x
BIN := $(CURDIR)/bin

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build the binaries into bin/
	@mkdir -p $(BIN)
	cd chaincode && $(GO) build -o $(BIN)/medprov-chaincode .
	$(GO) build -o $(BIN)/ ./gateway/cmd/... ./cli/cmd/...

.PHONY: demo
demo: build ## Build everything, start a fresh `medprov dev up` consortium and play the walkthrough with the CLI
	$(BIN)/medprov-demo

# FABRIC_PACKAGES hold the tests that need the Fabric test network; without
# FABRIC_BIN they skip, and make test lists them with the reason.
FABRIC_PACKAGES := ./gateway/internal/ledger/ ./gateway/bench/ ./internal/scenario/

.PHONY: test
test: ## Run every test that needs no Fabric binaries, with -race, in both modules
	cd chaincode && $(GO) test -race -shuffle=on -count=1 ./...
	$(GO) test -race -shuffle=on -count=1 ./...
	@if [ -z "$(FABRIC_BIN)" ]; then \
	  echo "Fabric tests skipped (FABRIC_BIN=<fabric>/bin make test-fabric runs them):"; \
	  $(GO) test -count=1 -run Fabric -v $(FABRIC_PACKAGES) 2>&1 | \
	    awk '/^    [a-z_]+_test\.go:[0-9]+: / { reason = $$0; sub(/^ +[^ ]+ /, "", reason) } \
	         /^--- SKIP/ { printf "  SKIP %s: %s\n", $$3, reason; n++ } \
	         /^(--- FAIL|FAIL)/ { bad = 1; print } END { if (bad || n == 0) exit 1 }'; \
	fi

.PHONY: test-pkcs11
test-pkcs11: ## Test the PKCS#11 keyring against SoftHSM2 (installs softhsm2 with apt-get if missing)
	command -v softhsm2-util >/dev/null || (apt-get update && apt-get install -y softhsm2)
	MEDPROV_SOFTHSM_MODULE=$${MEDPROV_SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so} $(GO) test -tags pkcs11 -race -count=1 ./gateway/internal/store/

.PHONY: lint
lint: ## go vet and a gofmt check in both modules
	cd chaincode && $(GO) vet ./...
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 15s)
	@set -e; for dir in chaincode/ledger gateway/embedded gateway/internal/store gateway/internal/config gateway/internal/server/convert gateway/internal/exchange internal/contracttest internal/receipt internal/patientproof; do \
	  mod=.; pkg=./$$dir; case $$dir in chaincode/*) mod=chaincode; pkg=./$${dir#chaincode/};; esac; \
	  for f in $$(cd $$mod && $(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$dir $$f"; (cd $$mod && $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg); \
	  done; \
	done

.PHONY: bench
bench: ## Run the benchmarks behind docs/BENCHMARKS.md (about 10 minutes)
	$(GO) test -run '^$$' -bench 'BaselinePut|AnchorRecord|RequestAccess' -benchtime 20000x -count 3 ./internal/contracttest/
	$(GO) test -run '^$$' -bench 'AccessHistoryPage' -benchtime 500x -count 3 -timeout 30m ./internal/contracttest/
	$(GO) test -run '^$$' -bench 'MemoryAsLedgerGrows' -benchtime 200000x -timeout 30m ./internal/contracttest/
	$(GO) test -run '^$$' -bench . -benchtime 3s ./gateway/embedded/
	$(GO) test -run '^$$' -bench 'RecordAdd' -benchtime 1000x -count 3 ./gateway/devup/
	$(GO) test -run '^$$' -bench 'Ratios' -benchtime 3s -count 5 ./gateway/internal/store/
	$(GO) test -run '^$$' -bench 'PeakHeap' -benchtime 5x ./gateway/internal/store/

# The local Fabric test network (test-network/, docs/fabric-network.md):
# Fabric 3.x release binaries from FABRIC_BIN or PATH, no Docker.
.PHONY: network-up
network-up: ## Start the Fabric test network (FABRIC_BIN=<fabric>/bin) and deploy the chaincode as a service
	test-network/up.sh
	test-network/deploy.sh

.PHONY: network-down
network-down: ## Stop the Fabric test network's processes and remove its generated files
	test-network/down.sh

.PHONY: gateways-up
gateways-up: build ## Start a medprov-gateway per organisation on the running test network and write the CLI's .env files
	test-network/gateways.sh up

.PHONY: demo-fabric
demo-fabric: build ## Start the Fabric test network (FABRIC_BIN=<fabric>/bin) with a gateway per organisation and play the walkthrough on it; it stays up
	@test -n "$(FABRIC_BIN)" || { echo "demo-fabric: set FABRIC_BIN to the folder of Fabric 3.x's peer binary (docs/fabric-network.md)"; exit 2; }
	FABRIC_BIN="$(FABRIC_BIN)" test-network/up.sh
	FABRIC_BIN="$(FABRIC_BIN)" test-network/deploy.sh
	test-network/gateways.sh up
	$(BIN)/medprov-demo -gateways test-network/gateways
	@echo "the network and its gateways still run: . test-network/gateways/HospitalAMSP/clinician.env && bin/medprov gateway status; make network-down stops them"

# bench-fabric measures the gateway against the raw-put baseline on the
# running test network, in one run (docs/BENCHMARKS.md). BENCH_ARGS go to
# test-network/bench.sh, e.g. BENCH_ARGS="-r 3 -d 30s".
BENCH_ARGS ?=
.PHONY: bench-fabric
bench-fabric: build ## Measure anchor and access through the gateways against Baseline:Put on the running test network (make network-up gateways-up first)
	test-network/bench.sh $(BENCH_ARGS)

.PHONY: network-status
network-status: ## Show the Fabric test network's processes, health and chaincode
	test-network/status.sh

# test-fabric brings the test network up (or reuses a running one: up is
# idempotent; down then stops it too), runs the Fabric ledger conformance
# suite, the exactly-once test, the load tool's Fabric workloads, the
# end-to-end scenarios and the fault tests against it, and takes the network
# down again, also when the tests fail. MEDPROV_FABRIC=1 makes a missing
# network a failure instead of a skip. -p 1: the conformance suite counts
# every event in a window of the channel, so the scenarios' gateways must
# not write to it at the same time.
.PHONY: test-fabric
test-fabric: ## Start the Fabric test network (FABRIC_BIN=<fabric>/bin), run the Fabric tests against it, stop it
	@test -n "$(FABRIC_BIN)" || { echo "test-fabric: set FABRIC_BIN to the folder of Fabric 3.x's peer binary (docs/fabric-network.md)"; exit 2; }
	@export FABRIC_BIN="$(FABRIC_BIN)"; status=0; \
	  { test-network/up.sh && test-network/deploy.sh && \
	    MEDPROV_FABRIC=1 $(GO) test -race -count=1 -p 1 -timeout 20m -run Fabric $(FABRIC_PACKAGES); } || status=$$?; \
	  test-network/down.sh || { [ $$status -ne 0 ] || status=1; }; \
	  exit $$status

# Code generation for api/ (see api/README.md). The tools are pinned here and
# installed by api/tools.sh into .tools/bin (git-ignored) when missing or
# pinned differently. protoc-gen-go and the grpc-gateway plugins follow the
# versions of their runtime libraries in go.mod.
BUF_VERSION := v1.75.0
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
API_TOOLS = BUF_VERSION=$(BUF_VERSION) PROTOC_GEN_GO_GRPC_VERSION=$(PROTOC_GEN_GO_GRPC_VERSION) TOOLS=$(CURDIR)/.tools GO=$(GO) api/tools.sh

.PHONY: proto
proto: ## Regenerate api/gen and api/openapi from the .proto files with the pinned tools
	$(API_TOOLS) generate

.PHONY: verify
verify: ## buf format and lint, then fail if api/ generated code is stale
	$(API_TOOLS) verify
