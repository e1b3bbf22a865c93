# The sandbox (contrib/sandbox, docs/sandbox.md): a Twenty look-alike stack on
# the local Docker engine. Its tools are built from the Go module proxy once
# per machine and cached outside the repo under $(TOOLS_DIR), keyed by version.

SANDBOX_COMPOSE_VERSION  := v2.40.3
SANDBOX_REGISTRY_VERSION := v3.1.2
SANDBOX_COMPOSE_BIN      := $(TOOLS_DIR)/compose-$(SANDBOX_COMPOSE_VERSION)/docker-compose
SANDBOX_REGISTRY_BIN     := $(TOOLS_DIR)/registry-$(SANDBOX_REGISTRY_VERSION)/registry
DOCKER_PLUGIN_DIR        ?= $(HOME)/.docker/cli-plugins

.PHONY: sandbox-tools sandbox-compose sandbox-registry sandbox-up sandbox-down sandbox-test

sandbox-tools: sandbox-compose sandbox-registry

# docker compose v2 (the CLI plugin); also linked into the docker CLI's plugin
# folder unless a compose plugin is already there.
sandbox-compose: $(SANDBOX_COMPOSE_BIN)
	@mkdir -p $(DOCKER_PLUGIN_DIR)
	@[ -e $(DOCKER_PLUGIN_DIR)/docker-compose ] || ln -s $(SANDBOX_COMPOSE_BIN) $(DOCKER_PLUGIN_DIR)/docker-compose
	@echo "compose $(SANDBOX_COMPOSE_VERSION): $(SANDBOX_COMPOSE_BIN)"

# Several test processes may build it at once (the first e2e run of a
# machine): each writes its own temporary file and renames it into place.
$(SANDBOX_COMPOSE_BIN):
	@echo "building docker compose $(SANDBOX_COMPOSE_VERSION) from the Go module proxy (a few minutes, once)"
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; cd $$tmp; \
	$(GO) mod init sandbox/compose-build >/dev/null 2>&1; \
	$(GO) get -tool github.com/docker/compose/v2/cmd@$(SANDBOX_COMPOSE_VERSION); \
	mkdir -p $(dir $@); \
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w -X github.com/docker/compose/v2/internal.Version=$(SANDBOX_COMPOSE_VERSION)' \
	  -o $@.tmp.$$$$ github.com/docker/compose/v2/cmd; mv -f $@.tmp.$$$$ $@

sandbox-registry: $(SANDBOX_REGISTRY_BIN)
	@echo "registry $(SANDBOX_REGISTRY_VERSION): $(SANDBOX_REGISTRY_BIN)"

$(SANDBOX_REGISTRY_BIN):
	@echo "building the distribution registry $(SANDBOX_REGISTRY_VERSION) from the Go module proxy (a minute, once)"
	@mkdir -p $(dir $@)
	GOBIN=$(abspath $(dir $@)) CGO_ENABLED=0 $(GO) install github.com/distribution/distribution/v3/cmd/registry@$(SANDBOX_REGISTRY_VERSION)

CI_DEPS += sandbox-tools

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

# Just the sandbox's own tests (they also run in `make test` via go test ./...).
sandbox-test: sandbox-tools
	$(GO) test -count=1 -v -timeout 20m ./contrib/sandbox/...
