# `make demo`: twenty-upgraded at work on the sandbox (contrib/sandbox, real
# Docker engine, local registry, the real daemon process): the sequential
# path, a broken release rolled back with the data intact, downtime, backup
# sizes, metrics (docs/demo.md). Without Docker it says so and fails.
# `make demo-plan`: the decision half (release feed → path and held
# releases), no Docker needed.
DEMO_DIR    ?= $(HOME)/.cache/twenty-upgraded-demo

.PHONY: demo-sandbox demo-down demo-plan sandbox-up sandbox-down
demo-sandbox: build
	@echo "make demo: building the demo program; the first run also builds the sandbox tools and images (several minutes)"
	@$(GO) run ./contrib/demo/cmd/sandbox-demo -bin $(BIN) -dir $(DEMO_DIR)

# Removes the demo's containers, volumes and folder.
demo-down:
	$(GO) run ./contrib/sandbox/cmd/sandboxctl down -dir $(DEMO_DIR)

demo-plan: build
	@contrib/demo/plan-demo.sh

# For people: bring a stack up on SANDBOX_TAG with every release published,
# print where everything is, keep the registry running until Ctrl-C, then
# tear down. `make sandbox-down` cleans up after a killed sandbox-up, and
# removes the stacks of test processes that were killed (never a live one's).
SANDBOX_TAG ?= v1.22.0
SANDBOX_DIR ?= $(HOME)/.cache/twenty-upgraded-sandbox
SANDBOX_COMPOSE ?= v2

sandbox-up: sandbox-tools
	$(GO) run ./contrib/sandbox/cmd/sandboxctl up -dir $(SANDBOX_DIR) -tag $(SANDBOX_TAG) -compose $(SANDBOX_COMPOSE)

sandbox-down:
	$(GO) run ./contrib/sandbox/cmd/sandboxctl down -dir $(SANDBOX_DIR)
	$(GO) run ./contrib/sandbox/cmd/sandboxctl gc
