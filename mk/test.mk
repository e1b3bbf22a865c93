# What `make test` runs besides vet, gofmt, tidy and the Go tests
# (TEST_TARGETS), the narrower test targets a person runs while working on
# one area, and the extra fuzz targets of `make fuzz`.

# staticcheck (pinned in mk/deps.mk) over the whole tree, tests included.
staticcheck: $(STATICCHECK_BIN)
	$(STATICCHECK_BIN) ./...

# The daemon: metrics exposition and alert rules checked by promtool (from
# Debian's prometheus package, in APT_PACKAGES).
PROMTOOL ?= promtool

.PHONY: daemon-promtool engine-crash engine-e2e sandbox-test scenarios
daemon-promtool:
	$(PROMTOOL) check metrics < daemon/testdata/metrics.golden
	$(PROMTOOL) check rules contrib/prometheus/alerts.yml
	$(PROMTOOL) check config contrib/prometheus/scrape.yml
	cd contrib/prometheus && $(PROMTOOL) test rules alerts_test.yml alerts_days_test.yml

# The upgrade engine (steps/): unit, order, per-step rollback and crash tests
# run in `make unit`; these targets add the end-to-end runs on the sandbox
# (real Docker, local registry) and print the crash points covered.

# Kill -9 inside every step (before, after, and inside its rollback) and list the points covered.
engine-crash:
	$(GO) test -count=1 -run 'TestCrashAndResume' -v ./steps/ | grep -E 'crash points covered|^\s+(compose|source) |^(ok|FAIL|---)'

# The engine against the sandbox: happy path, broken releases, kill -9; skips (with the reason) without Docker.
engine-e2e:
	TWENTY_UPGRADED_E2E=1 $(GO) test -count=1 -timeout 30m -v ./steps/e2e/

TEST_TARGETS += daemon-promtool engine-crash engine-e2e

# Just the sandbox's own tests (they also run in `make test` via go test ./...).
sandbox-test: sandbox-tools
	$(GO) test -count=1 -v -timeout 20m ./contrib/sandbox/...

# The daemon-driven end-to-end scenarios (contrib/sandbox/scenarios,
# docs/demo.md): the real binary run as systemd would on the sandbox. They
# are part of `make unit` (go test ./...) and skip with the reason when
# Docker is not usable; `make scenarios` runs just them, verbosely.
# The full log goes to a file; the summary lines are shown; the exit status is go test's.
SCENARIOS_LOG ?= $(or $(TMPDIR),/tmp)/twenty-upgraded-scenarios.log

scenarios:
	@$(GO) test -count=1 -v -timeout 20m -run 'TestDaemon' ./contrib/sandbox/scenarios/ > $(SCENARIOS_LOG) 2>&1; rc=$$?; \
	grep -E '^(=== RUN|--- |\s+--- |ok|FAIL|PASS)|timing:|prober|exit 75|killed' $(SCENARIOS_LOG); \
	[ $$rc -eq 0 ] || echo "full log: $(SCENARIOS_LOG)"; exit $$rc

# Version policy and maintenance window (daemon/policy, internal/window).
# Their unit tables and fuzz seeds run in `make unit`; `make fuzz` runs these longer.
EXTRA_FUZZ += ./daemon/policy:FuzzMake
EXTRA_FUZZ += ./internal/window:FuzzWindow

# Release sources (daemon/release): fuzz targets for every feed decoder.
# Their seed corpora run in `make test` (go test ./...); `make fuzz` runs them longer.
EXTRA_FUZZ += ./daemon/release:FuzzHubPage
EXTRA_FUZZ += ./daemon/release:FuzzGitHubPage
EXTRA_FUZZ += ./daemon/release:FuzzTagList
EXTRA_FUZZ += ./daemon/release:FuzzReleaseFile
EXTRA_FUZZ += ./daemon/release:FuzzLink
EXTRA_FUZZ += ./daemon/release:FuzzChallenge
