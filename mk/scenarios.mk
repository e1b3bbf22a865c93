# The daemon-driven end-to-end scenarios (contrib/sandbox/scenarios,
# docs/demo.md): the real binary run as systemd would on the sandbox. They
# are part of `make unit` (go test ./...) and skip with the reason when
# Docker is not usable; `make scenarios` runs just them, verbosely.
# `make bench` adds the downtime benchmark: ours vs the raw minimum vs the
# seed guide's order (down → pull → up) with a 1 GiB layer to pull.

.PHONY: scenarios scenarios-bench
scenarios:
	$(GO) test -count=1 -v -timeout 20m -run 'TestDaemon' ./contrib/sandbox/scenarios/ | grep -E '^(=== RUN|--- |\s+--- |ok|FAIL|PASS)|timing:|prober|exit 75|rolled_back|killed'

scenarios-bench:
	TWENTY_UPGRADED_BENCH=1 $(GO) test -count=1 -v -timeout 30m -run '^TestDowntimeBench$$' ./contrib/sandbox/scenarios/ | grep -E '^(bench|--- |ok|FAIL)|published|prober|engine downtime'

BENCH_TARGETS += scenarios-bench
