# The daemon: metrics exposition and alert rules checked by promtool (from
# Debian's prometheus package, in APT_PACKAGES), and the idle-daemon bench.
PROMTOOL ?= promtool

.PHONY: daemon-promtool daemon-bench
daemon-promtool:
	$(PROMTOOL) check metrics < daemon/testdata/metrics.golden
	$(PROMTOOL) check rules contrib/prometheus/alerts.yml
	$(PROMTOOL) check config contrib/prometheus/scrape.yml
	cd contrib/prometheus && $(PROMTOOL) test rules alerts_test.yml alerts_days_test.yml

# Idle daemon: RSS after start and after 100 unchanged checks, CPU while
# idle, HTTP requests per unchanged check (docs/daemon.md, "Benchmark").
daemon-bench:
	TWENTY_UPGRADED_BENCH=1 $(GO) test -count=1 -run '^TestIdleBench$$' -v ./daemon/ | grep -E '^(bench|---|ok|FAIL)'

TEST_TARGETS  += daemon-promtool
BENCH_TARGETS += daemon-bench
