package sourcee2e

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/outcome"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps"
)

func (f *fixture) upgrade(t *testing.T, to string) (state.Entry, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	en, err := f.eng.Upgrade(ctx, version.MustParse(to), steps.Options{Trigger: "cli"})
	t.Logf("SUMMARY %s → %s: result %q in %.2fs (wall %.2fs), downtime %.2fs, err: %v",
		releases[0].version, to, en.Result, en.Seconds, time.Since(start).Seconds(), en.Downtime, err)
	if open, _ := f.st.Load(); open != nil {
		t.Errorf("state.json left open: %+v", open)
	}
	return en, err
}

// lastHistory is the newest history.jsonl entry.
func (f *fixture) lastHistory(t *testing.T) state.Entry {
	t.Helper()
	h, err := f.st.History()
	if err != nil || len(h) == 0 {
		t.Fatalf("history: %v (%d entries)", err, len(h))
	}
	return h[len(h)-1]
}

func TestSourceUpgrade(t *testing.T) {
	for _, tc := range []struct{ name, extra string }{{"seed guide", ""}, {"build_early", "[source]\nbuild_early = true\n"}} {
		t.Run(tc.name, func(t *testing.T) { upgradeOK(t, newFixtureWith(t, tc.extra)) })
	}
}

func upgradeOK(t *testing.T, f *fixture) {
	en, err := f.upgrade(t, "v1.23.0")
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if en.Result != state.ResultSuccess || f.lastHistory(t).Result != state.ResultSuccess {
		t.Errorf("result %q, history %q", en.Result, f.lastHistory(t).Result)
	}
	if got, want := f.head(t), f.tagCommit(t, "twenty/v1.23.0"); got != want {
		t.Errorf("HEAD %s, want twenty/v1.23.0 at %s", got, want)
	}
	if f.built() != "v1.23.0" || f.appVersion() != "1.23.0" {
		t.Errorf("built %q, server reports %q; want v1.23.0", f.built(), f.appVersion())
	}
	if got := f.pg.MustSQL(t, "default", "SELECT string_agg(name, ',' ORDER BY name) FROM _migrations"); got != "001-init.sql,002-email.sql" {
		t.Errorf("migrations applied: %q", got)
	}
	if got := f.pg.MustSQL(t, "default", "SELECT count(*) FROM person WHERE email LIKE 'p%@example.com'"); got != "200" {
		t.Errorf("migrated rows: %s, want 200", got)
	}
	calls := f.calls()
	for _, w := range []string{"docker compose --project-name twenty --project-directory " + f.dir, "stop server worker",
		"yarn install   [in .]", "npx nx build twenty-server   [in .]", "npx nx build twenty-front   [in .]",
		"yarn database:migrate:prod   [in packages/twenty-server]", "yarn command:prod upgrade   [in packages/twenty-server]",
		"yarn command:prod cache:flush   [in packages/twenty-server]", "up -d --build", "exec -T -e NO_COLOR=1 server yarn command:prod upgrade:status"} {
		if !strings.Contains(calls, w) {
			t.Errorf("never ran %q:\n%s", w, calls)
		}
	}
	if en.Backup == "" {
		t.Error("no backup set recorded")
	}
	if f.cfg.Source.BuildEarly {
		if _, err := os.Stat(filepath.Join(f.cfg.Daemon.StateDir, "prebuild")); !os.IsNotExist(err) {
			t.Errorf("early-build worktree left behind: %v", err)
		}
		if wt := mustRun(t, f.dir, "git", "worktree", "list", "--porcelain"); strings.Count(wt, "worktree ") != 1 {
			t.Errorf("git still lists the early-build worktree:\n%s", wt)
		}
	}
	// HEAD now carries the twenty/v1.23.0 style of tag: it must read as v1.23.0
	if _, err := f.eng.Upgrade(context.Background(), version.MustParse("v1.23.0"), steps.Options{}); !errors.Is(err, outcome.ErrHeld) || !strings.Contains(err.Error(), "v1.23.0 is installed") {
		t.Errorf("upgrade to the installed version: %v", err)
	}
}

// TestSourceManualRollback commits v1.23.0, then undoes it by hand
// (`twenty-upgraded rollback`): the old commit, rebuilt, on the data from the
// transaction's backup set.
func TestSourceManualRollback(t *testing.T) {
	f := newFixture(t)
	before := f.tableSums(t)
	if _, err := f.upgrade(t, "v1.23.0"); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	start := time.Now()
	en, err := f.eng.Rollback(context.Background())
	t.Logf("SUMMARY rollback of v1.22.0 → v1.23.0: result %q in %.2fs, downtime %.2fs, err: %v", en.Result, time.Since(start).Seconds(), en.Downtime, err)
	if err != nil || en.Result != state.ResultRolledBack {
		t.Fatalf("rollback: %q %v", en.Result, err)
	}
	if got := f.head(t); got != f.oldCommit {
		t.Errorf("HEAD %s, want the old commit %s", got, f.oldCommit)
	}
	if f.built() != "v1.22.0" || f.appVersion() != "1.22.0" {
		t.Errorf("built %q, server reports %q; want v1.22.0", f.built(), f.appVersion())
	}
	if after := f.tableSums(t); !maps.Equal(before, after) {
		t.Errorf("database differs after the rollback:\nbefore %v\nafter  %v", before, after)
	}
}

// TestSourceBrokenRelease upgrades to releases that fail after the downtime
// began; each must end with v1.22.0 back: its commit checked out and built,
// serving, on exactly its old data, and the release in bad-versions.
func TestSourceBrokenRelease(t *testing.T) {
	for _, tc := range []struct{ name, to, cause string }{
		{"migration half-applies", "v1.24.0", "migration 003-split-name.sql failed"},
		{"server reports another version", "v1.25.0", "appVersion"},
		{"build fails in the downtime", "v1.26.0", "error TS2322"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			before := f.tableSums(t)
			en, err := f.upgrade(t, tc.to)
			if !errors.Is(err, outcome.ErrRolledBack) {
				t.Fatalf("want a rollback, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.cause) {
				t.Errorf("error does not name the cause %q: %v", tc.cause, err)
			}
			if en.Result != state.ResultRolledBack || f.lastHistory(t).Result != state.ResultRolledBack {
				t.Errorf("result %q, history %q", en.Result, f.lastHistory(t).Result)
			}
			if got := f.head(t); got != f.oldCommit {
				t.Errorf("HEAD %s, want the old commit %s", got, f.oldCommit)
			}
			if f.built() != "v1.22.0" || f.appVersion() != "1.22.0" {
				t.Errorf("built %q, server reports %q; want v1.22.0", f.built(), f.appVersion())
			}
			if after := f.tableSums(t); !maps.Equal(before, after) {
				t.Errorf("database differs after the rollback:\nbefore %v\nafter  %v", before, after)
			}
			if bad, _ := f.st.BadVersions(); bad[version.MustParse(tc.to)] == "" {
				t.Errorf("%s not in bad-versions: %v", tc.to, bad)
			}
			if dirty := mustRun(t, f.dir, "git", "status", "--porcelain", "--untracked-files=no"); dirty != "" {
				t.Errorf("checkout left dirty: %s", dirty)
			}
		})
	}
}

// TestSourceDirtyWorktree: local changes refuse the upgrade in preflight,
// before anything stops or changes.
func TestSourceDirtyWorktree(t *testing.T) {
	f := newFixture(t)
	if err := os.WriteFile(filepath.Join(f.dir, serverDir, "migrations", "001-init.sql"), []byte("-- patched locally\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pid, before := serverPID(), f.tableSums(t)
	en, err := f.upgrade(t, "v1.23.0")
	if err == nil || errors.Is(err, outcome.ErrRolledBack) || !strings.Contains(err.Error(), "local changes") {
		t.Fatalf("want a refusal naming the local changes, got %v", err)
	}
	if en.Result != state.ResultFailed || en.Downtime != 0 {
		t.Errorf("result %q downtime %.2f, want failed without downtime", en.Result, en.Downtime)
	}
	if calls := f.calls(); strings.Contains(calls, " stop ") || strings.Count(calls, "up -d") != 1 {
		t.Errorf("the server was touched:\n%s", calls)
	}
	if serverPID() != pid || f.appVersion() != "1.22.0" {
		t.Errorf("server pid %d → %d, version %q", pid, serverPID(), f.appVersion())
	}
	if f.head(t) != f.oldCommit {
		t.Error("HEAD moved")
	}
	if !maps.Equal(before, f.tableSums(t)) {
		t.Error("database changed")
	}
	if bad, _ := f.st.BadVersions(); len(bad) != 0 {
		t.Errorf("bad-versions after a refusal: %v", bad)
	}
}

// TestSourceEarlyBuildFails: with build_early a release that does not build
// fails before the downtime; nothing stops, HEAD stays.
func TestSourceEarlyBuildFails(t *testing.T) {
	f := newFixtureWith(t, "[source]\nbuild_early = true\n")
	pid := serverPID()
	en, err := f.upgrade(t, "v1.26.0")
	if err == nil || errors.Is(err, outcome.ErrRolledBack) || !strings.Contains(err.Error(), "error TS2322") {
		t.Fatalf("want a failure naming the build error, got %v", err)
	}
	if en.Result != state.ResultFailed || en.Downtime != 0 {
		t.Errorf("result %q downtime %.2f, want failed without downtime", en.Result, en.Downtime)
	}
	if calls := f.calls(); strings.Contains(calls, " stop ") || serverPID() != pid || f.head(t) != f.oldCommit || f.built() != "v1.22.0" {
		t.Errorf("Twenty was touched (pid %d → %d, built %q):\n%s", pid, serverPID(), f.built(), calls)
	}
	if _, err := os.Stat(filepath.Join(f.cfg.Daemon.StateDir, "prebuild")); !os.IsNotExist(err) {
		t.Errorf("early-build worktree left behind: %v", err)
	}
}
