# `make bench`: benchmarks that print figures (BENCH_TARGETS), never timed tests.

# Backup and restore (steps/backup). The round-trip tests against a real
# PostgreSQL run in `make unit`; they need postgresql-15 (mk/deps.mk).
#
# `make bench-backup` compares our backup/restore with raw pg_dump -Fc,
# pg_dumpall, pg_restore and psql on a generated Twenty-like database
# (BENCH_SCALE 70 ≈ 1 GiB). The generated cluster is cached in BENCH_PG_CACHE
# (not under $HOME: the postgres user must be able to reach it).
BENCH_SCALE    ?= 70
BENCH_PG_CACHE ?= /var/tmp/twenty-upgraded-pgbench

bench-backup:
	$(GO) run ./steps/backup/bench -scale $(BENCH_SCALE) -cache $(BENCH_PG_CACHE)

# The same on the sandbox's small database, compose mode (steps/e2e
# TestBackupBench): our backup and restore inside the downtime against raw
# `<compose> exec` and raw `docker exec` of pg_dump/pg_restore plus tar of
# the files volume; every command ours runs is logged with its time in the
# full log. Uses Docker: run under the shared lock.
BACKUP_SANDBOX_LOG ?= $(or $(TMPDIR),/tmp)/twenty-upgraded-backup-sandbox-bench.log
bench-backup-sandbox:
	@TWENTY_UPGRADED_BENCH=1 $(GO) test -count=1 -v -timeout 20m -run '^TestBackupBench$$' ./steps/e2e/ > $(BACKUP_SANDBOX_LOG) 2>&1; rc=$$?; \
	grep -E '^(bench|--- |ok|FAIL)' $(BACKUP_SANDBOX_LOG); \
	[ $$rc -eq 0 ] || echo "full log: $(BACKUP_SANDBOX_LOG)"; exit $$rc

# Idle daemon: RSS after start and after 100 unchanged checks, CPU while
# idle, HTTP requests per unchanged check (docs/daemon.md, "Benchmark").
daemon-bench:
	TWENTY_UPGRADED_BENCH=1 $(GO) test -count=1 -run '^TestIdleBench$$' -v ./daemon/ | grep -E '^(bench|---|ok|FAIL)'

# The downtime benchmark (contrib/sandbox/scenarios): ours vs the raw minimum
# vs the seed guide's order (down → pull → up) with a 1 GiB layer to pull.
SCENARIOS_BENCH_LOG ?= $(or $(TMPDIR),/tmp)/twenty-upgraded-scenarios-bench.log
scenarios-bench:
	@echo "downtime bench: three upgrades, each pulling a fresh 1.25 GiB layer (about 4 minutes)"
	@TWENTY_UPGRADED_BENCH=1 $(GO) test -count=1 -v -timeout 30m -run '^TestDowntimeBench$$' ./contrib/sandbox/scenarios/ > $(SCENARIOS_BENCH_LOG) 2>&1; rc=$$?; \
	grep -E '^(bench|--- |ok|FAIL)|published|prober|engine downtime|_test.go' $(SCENARIOS_BENCH_LOG); \
	[ $$rc -eq 0 ] || echo "full log: $(SCENARIOS_BENCH_LOG)"; exit $$rc

.PHONY: bench-backup bench-backup-sandbox daemon-bench scenarios-bench
BENCH_TARGETS += bench-backup bench-backup-sandbox daemon-bench scenarios-bench
