# What `make test` and `make demo` need before they start (both run
# `prereqs`, which runs `ci-deps`): Debian packages and the pinned tools,
# each step idempotent. Packaging adds its own to APT_PACKAGES and CI_DEPS.

APT_PACKAGES := postgresql-15 postgresql-client-15 prometheus redis-server systemd git ca-certificates

.PHONY: apt-deps
apt-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "apt packages present"; fi

CI_DEPS += apt-deps

# The sandbox (contrib/sandbox, docs/sandbox.md): a Twenty look-alike stack on
# the local Docker engine. Its tools are built from the Go module proxy once
# per machine and cached outside the repo under $(TOOLS_DIR), keyed by version.

SANDBOX_COMPOSE_VERSION  := v2.40.3
SANDBOX_REGISTRY_VERSION := v3.1.2
SANDBOX_COMPOSE_BIN      := $(TOOLS_DIR)/compose-$(SANDBOX_COMPOSE_VERSION)/docker-compose
SANDBOX_REGISTRY_BIN     := $(TOOLS_DIR)/registry-$(SANDBOX_REGISTRY_VERSION)/registry
DOCKER_PLUGIN_DIR        ?= $(HOME)/.docker/cli-plugins

.PHONY: sandbox-tools sandbox-compose sandbox-registry

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


# staticcheck, pinned, built from the Go module proxy once per machine.
STATICCHECK_VERSION := v0.8.2
STATICCHECK_BIN     := $(TOOLS_DIR)/staticcheck-$(STATICCHECK_VERSION)/staticcheck

.PHONY: staticcheck-tool
staticcheck-tool: $(STATICCHECK_BIN)
$(STATICCHECK_BIN):
	@echo "building staticcheck $(STATICCHECK_VERSION) from the Go module proxy (a minute, once)"
	@mkdir -p $(dir $@)
	GOBIN=$(abspath $(dir $@)) CGO_ENABLED=0 $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

CI_DEPS += staticcheck-tool
