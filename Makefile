# twenty-upgraded — build, test, demo, bench.
#
#   make demo    show the main job working (see README)
#   make test    everything CI runs: vet, gofmt, unit tests with fuzz seed
#                corpora, and the area checks added by mk/*.mk
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

# Areas append their own targets to these in mk/*.mk.
TEST_TARGETS  :=
BENCH_TARGETS :=
DEMO_TARGET   := demo-plan
CI_DEPS       :=

.PHONY: all build test unit vet fmt-check demo bench fuzz ci-deps clean
all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/twenty-upgraded

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files -o --exclude-standard '*.go' 2>/dev/null)); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

# Unit and integration tests; fuzz targets run their seed corpora here.
unit:
	$(GO) test -count=1 -timeout 40m ./...

include $(sort $(wildcard mk/*.mk))

test: vet fmt-check unit $(TEST_TARGETS)
	@echo "make test: all passed"

demo: $(DEMO_TARGET)

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
