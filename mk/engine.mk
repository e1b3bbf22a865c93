# The upgrade engine (steps/): unit, order, per-step rollback and crash tests
# run in `make unit`; these targets add the end-to-end runs on the sandbox
# (real Docker, local registry) and print the crash points covered.

.PHONY: engine-crash engine-e2e

# Kill -9 inside every step (before, after, and inside its rollback) and list the points covered.
engine-crash:
	$(GO) test -count=1 -run 'TestCrashAndResume' -v ./steps/ | grep -E 'crash points covered|^\s+(compose|source) |^(ok|FAIL|---)'

# The engine against the sandbox: happy path, broken releases, kill -9; skips (with the reason) without Docker.
engine-e2e:
	TWENTY_UPGRADED_E2E=1 $(GO) test -count=1 -timeout 30m -v ./steps/e2e/

TEST_TARGETS += engine-crash engine-e2e
