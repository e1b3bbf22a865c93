# The daemon-driven end-to-end scenarios (contrib/sandbox/scenarios,
# docs/demo.md): the real binary run as systemd would on the sandbox. They
# are part of `make unit` (go test ./...) and skip with the reason when
# Docker is not usable; `make scenarios` runs just them, verbosely.
# `make bench` adds the downtime benchmark: ours vs the raw minimum vs the
# seed guide's order (down → pull → up) with a 1 GiB layer to pull.

.PHONY: scenarios scenarios-bench
# The full log goes to a file; the summary lines are shown; the exit status is go test's.
SCENARIOS_LOG ?= $(or $(TMPDIR),/tmp)/twenty-upgraded-scenarios.log
SCENARIOS_BENCH_LOG ?= $(or $(TMPDIR),/tmp)/twenty-upgraded-scenarios-bench.log

scenarios:
	@$(GO) test -count=1 -v -timeout 20m -run 'TestDaemon' ./contrib/sandbox/scenarios/ > $(SCENARIOS_LOG) 2>&1; rc=$$?; \
	grep -E '^(=== RUN|--- |\s+--- |ok|FAIL|PASS)|timing:|prober|exit 75|killed' $(SCENARIOS_LOG); \
	[ $$rc -eq 0 ] || echo "full log: $(SCENARIOS_LOG)"; exit $$rc

scenarios-bench:
	@echo "downtime bench: three upgrades, each pulling a fresh 1.25 GiB layer (about 4 minutes)"
	@TWENTY_UPGRADED_BENCH=1 $(GO) test -count=1 -v -timeout 30m -run '^TestDowntimeBench$$' ./contrib/sandbox/scenarios/ > $(SCENARIOS_BENCH_LOG) 2>&1; rc=$$?; \
	grep -E '^(bench|--- |ok|FAIL)|published|prober|engine downtime|_test.go' $(SCENARIOS_BENCH_LOG); \
	[ $$rc -eq 0 ] || echo "full log: $(SCENARIOS_BENCH_LOG)"; exit $$rc

BENCH_TARGETS += scenarios-bench
