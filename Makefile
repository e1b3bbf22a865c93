# twenty-upgraded — build, test, demo, bench.
#
#   make demo    show the main job working (see README)
#   make test    everything CI runs: vet, staticcheck, gofmt, go mod tidy -diff, unit
#                tests with fuzz seed corpora, and the area checks added by
#                mk/*.mk
#   make bench   benchmarks that print figures
#   make fuzz    longer fuzzing runs (FUZZTIME=5m each)

# bash with pipefail: recipes that filter `go test -v` through grep must still
# fail when the tests fail.
SHELL       := /bin/bash
.SHELLFLAGS := -o pipefail -c

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.Version=$(VERSION)
BIN       := bin/twenty-upgraded
FUZZTIME  ?= 5m
# Tool cache outside the repo, keyed by tool version (compose, registry, nfpm).
TOOLS_DIR ?= $(HOME)/.cache/twenty-upgraded-tools

# mk/*.mk append to these, one file per thing a person runs (test.mk,
# bench.mk, demo.mk, package.mk) and deps.mk for what they all need.
TEST_TARGETS  :=
BENCH_TARGETS :=
CI_DEPS       :=

.PHONY: all build test test-run prereqs unit vet staticcheck fmt-check tidy-check demo bench fuzz ci-deps clean
all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/twenty-upgraded

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files -o --exclude-standard '*.go' 2>/dev/null)); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

# go.mod and go.sum are what `go mod tidy` makes: every module the code
# imports is a direct requirement, nothing unused is left.
tidy-check:
	@if ! out=$$($(GO) mod tidy -diff 2>&1); then \
	  echo "$$out"; echo "go.mod/go.sum are not tidy: run go mod tidy and commit the result"; exit 1; fi

# Unit and integration tests; fuzz targets run their seed corpora here. The
# packages that bring up Docker stacks run one at a time, after the rest:
# in parallel they starved each other's containers on a 2-core machine and
# waits sized for an idle machine ran out (issue 14 §1).
DOCKER_PKGS := contrib/sandbox contrib/sandbox/scenarios steps/sourcee2e steps/install
unit:
	$(GO) test -count=1 -timeout 40m $$($(GO) list ./... | grep -vE '/($(subst $(eval) ,|,$(DOCKER_PKGS)))$$')
	$(GO) test -count=1 -timeout 40m -p 1 $(addprefix ./,$(DOCKER_PKGS))

include $(sort $(wildcard mk/*.mk))

# `make test` and `make demo` bring what they need first: the quick checks
# (mk/prereqs.sh names the fix for what cannot be installed from here), then
# the Debian packages and the pinned tools (CI_DEPS), each idempotent.
prereqs:
	@mk/prereqs.sh $(APT_PACKAGES)
	@$(MAKE) --no-print-directory ci-deps

test: prereqs
	@$(MAKE) --no-print-directory test-run

test-run: vet staticcheck fmt-check tidy-check unit $(TEST_TARGETS)
	@echo "make test: all passed"

demo: prereqs
	@$(MAKE) --no-print-directory demo-sandbox

bench: $(BENCH_TARGETS)

ci-deps: $(CI_DEPS)

FUZZ_TARGETS := ./internal/version:FuzzParseTag ./internal/config:FuzzParse ./steps/envfile:FuzzSet
fuzz:
	@for t in $(FUZZ_TARGETS) $(EXTRA_FUZZ); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "== fuzz $$name in $$pkg for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

clean:
	rm -rf bin dist
