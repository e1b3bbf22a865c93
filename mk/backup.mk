# Backup and restore (steps/backup). The round-trip tests against a real
# PostgreSQL run in `make unit`; they need postgresql-15 (mk/00-apt.mk).
#
# `make bench-backup` compares our backup/restore with raw pg_dump -Fc,
# pg_dumpall, pg_restore and psql on a generated Twenty-like database
# (BENCH_SCALE 70 ≈ 1 GiB). The generated cluster is cached in BENCH_PG_CACHE
# (not under $HOME: the postgres user must be able to reach it).
BENCH_SCALE    ?= 70
BENCH_PG_CACHE ?= /var/tmp/twenty-upgraded-pgbench

.PHONY: bench-backup
bench-backup:
	$(GO) run ./steps/backup/bench -scale $(BENCH_SCALE) -cache $(BENCH_PG_CACHE)

BENCH_TARGETS += bench-backup
