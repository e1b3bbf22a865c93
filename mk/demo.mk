# `make demo`: twenty-upgraded at work on the sandbox (contrib/sandbox, real
# Docker engine, local registry, the real daemon process): the sequential
# path, a broken release rolled back with the data intact, downtime, backup
# sizes, metrics (docs/demo.md). Without Docker it says so and fails.
# `make demo-plan`: the decision half (release feed → path and held
# releases), no Docker needed.
DEMO_TARGET := demo-sandbox
DEMO_DIR    ?= $(HOME)/.cache/twenty-upgraded-demo

.PHONY: demo-sandbox demo-down demo-plan
demo-sandbox: build
	@echo "make demo: building the demo program; the first run also builds the sandbox tools and images (several minutes)"
	@$(GO) run ./contrib/demo/cmd/sandbox-demo -bin $(BIN) -dir $(DEMO_DIR)

# Removes the demo's containers, volumes and folder.
demo-down:
	$(GO) run ./contrib/sandbox/cmd/sandboxctl down -dir $(DEMO_DIR)

demo-plan: build
	@contrib/demo/plan-demo.sh
