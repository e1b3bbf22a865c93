package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"github.com/twenty-upgraded/twenty-upgraded/internal/testreq"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// eventually retries f every 500 ms until it returns nil or d passes.
func eventually(t *testing.T, d time.Duration, what string, f func() error) {
	t.Helper()
	d = testreq.Timeout(d) // a busy machine needs longer, never shorter
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, d, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

type result[T any] struct {
	v   T
	err error
}

// must(f()).get(t) returns f's value or fails the test with its error.
func must[T any](v T, err error) result[T] { return result[T]{v, err} }

func (r result[T]) get(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

func logContains(ctx context.Context, s *Stack, service, want string, n int) error {
	log, err := s.ServiceLog(ctx, service)
	if err != nil {
		return err
	}
	if got := strings.Count(log, want); got < n {
		return fmt.Errorf("%s log has %q %d times, want ≥ %d", service, want, got, n)
	}
	return nil
}

// TestStackV1 brings the stack up under docker-compose v1 on a release below
// the floor and checks what the daemon relies on: migrations, upgrade:status,
// sentinels and files surviving down/up with a newer tag, and a pg_dump
// through `exec -T db` that the host's pg_restore can read.
func TestStackV1(t *testing.T) {
	ctx := ctxT(t, 6*time.Minute)
	start := time.Now()
	s := Start(t, Options{Compose: ComposeV1, Tag: "v1.19.0", Publish: []string{"v1.19.0", "v1.20.0"}})
	code, tags, err := s.Registry.Get(ctx, "/v2/twentycrm/twenty/tags/list")
	if err != nil || code != http.StatusOK || !strings.Contains(string(tags), `"v1.20.0"`) {
		t.Errorf("registry tags list: %d %s %v", code, tags, err)
	}
	t.Logf("stack up on v1.19.0 under %v in %s", s.ComposeCmd, time.Since(start).Round(time.Millisecond))

	if got := must(s.Psql(ctx, `SELECT string_agg(name, ',' ORDER BY id) FROM core."_typeorm_migrations"`)).get(t); got != "1700000000000-init,1719000000000-add-person-job-title" {
		t.Errorf("migrations after v1.19.0 = %q", got)
	}
	if err := logContains(ctx, s, "server", "Successfully migrated DB!", 1); err != nil {
		t.Error(err)
	}
	// upgrade:status came with v1.22 (PR #19584): v1.19 has no such command.
	if status, err := s.UpgradeStatus(ctx); err == nil || !strings.Contains(err.Error(), "unknown command 'upgrade:status'") {
		t.Errorf("upgrade:status on v1.19.0 = %q, %v; want an unknown command", status, err)
	}
	if err := s.SeedSentinels(ctx); err != nil {
		t.Fatal(err)
	}
	files := must(s.FilesChecksum(ctx)).get(t)
	if !strings.Contains(files, " 3 files ") {
		t.Errorf("files checksum %q: want 3 files", files)
	}

	var dump bytes.Buffer
	if err := s.DumpDB(ctx, &dump); err != nil {
		t.Fatal(err)
	}
	dumpFile := filepath.Join(t.TempDir(), "db.dump")
	if err := os.WriteFile(dumpFile, dump.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	list, err := runner.Run(ctx, proc.Cmd{Argv: []string{"/usr/lib/postgresql/15/bin/pg_restore", "--list", dumpFile}})
	if err != nil {
		t.Fatalf("host pg_restore --list of the dump: %v", err)
	}
	if !bytes.Contains(list.Stdout, []byte("sandbox_sentinel")) {
		t.Errorf("dump list lacks the sentinel table:\n%s", list.Stdout)
	}

	// The files volume through a one-off container of the installed image,
	// the way the daemon backs it up (the image's tar).
	img := must(s.Compose(ctx, "images", "-q", "server")).get(t)
	tgz, err := runner.Run(ctx, proc.Cmd{Argv: []string{"docker", "run", "--rm", "--network", "none",
		"-v", s.Project + "_server-local-data:/data:ro", strings.TrimSpace(string(img)), "tar", "-C", "/data", "-czf", "-", "."}})
	if err != nil || len(tgz.Stdout) < 256<<10 {
		t.Fatalf("files archive through the image: %d bytes, %v", len(tgz.Stdout), err)
	}

	// Skipping a minor below the floor fails like Twenty, database untouched.
	before := must(s.DBChecksum(ctx)).get(t)
	if _, err := s.Compose(ctx, "stop", "server", "worker"); err != nil {
		t.Fatal(err)
	}
	if err := s.Registry.Publish(ctx, "v1.21.0"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTag("v1.21.0"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Compose(ctx, "up", "-d", "--no-deps", "server"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "v1.19.0 → v1.21.0 refused", func() error {
		return logContains(ctx, s, "server", "ensure all workspaces are on at least the previous minor version", 1)
	})
	if got := must(s.DBChecksum(ctx)).get(t); got != before {
		t.Errorf("a refused upgrade changed the database")
	}

	// The seed guide's order: down (volumes kept), new TAG, pull, up; the
	// pull really downloads from the loopback registry.
	if _, err := s.Compose(ctx, "down"); err != nil {
		t.Fatal(err)
	}
	if err := s.Registry.Forget(ctx, "v1.20.0"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTag("v1.20.0"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Compose(ctx, "pull", "server", "worker"); err != nil {
		t.Fatal(err)
	}
	if err := s.Up(ctx, "v1.20.0"); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSentinels(ctx); err != nil {
		t.Error(err)
	}
	if got := must(s.FilesChecksum(ctx)).get(t); got != files {
		t.Errorf("files changed over down/up: %q → %q", files, got)
	}
	if got := must(s.Psql(ctx, `SELECT version FROM core.workspace`)).get(t); got != "1.20.0" {
		t.Errorf("workspace version after v1.20.0 = %q", got)
	}
}

// TestStackV2BrokenReleases runs under docker compose v2 from v2.0.2 and
// puts each broken release in place the way the daemon does (stop server and
// worker, new TAG, up), checking that it misbehaves as designed, and that a
// restore of the dump taken before is what repairs it.
func TestStackV2BrokenReleases(t *testing.T) {
	ctx := ctxT(t, 10*time.Minute)
	var broken []string
	for _, r := range Releases {
		if r.Mode != Good {
			broken = append(broken, r.Tag)
		}
	}
	s := Start(t, Options{Compose: ComposeV2, Tag: "v2.0.2", Publish: append([]string{"v2.0.2"}, broken...)})
	// A fresh install has no workspace until someone signs up.
	if st := must(s.UpgradeStatus(ctx)).get(t); !strings.Contains(st, "Instance: Up to date") || !strings.Contains(st, "No workspaces") {
		t.Errorf("upgrade:status before sign-up = %q", st)
	}
	if err := s.GraphQL(ctx); err != nil {
		t.Errorf("GraphQL without a workspace key checks nothing, got %v", err)
	}
	if err := s.SeedSentinels(ctx); err != nil {
		t.Fatal(err)
	}
	if st := must(s.UpgradeStatus(ctx)).get(t); !strings.Contains(st, "Workspaces: 1 up to date, 0 behind, 0 failed (1 total)") {
		t.Errorf("upgrade:status after sign-up = %q", st)
	}
	// Anonymous GraphQL gets the empty schema; the workspace key gets data.
	if code, body, err := s.do(ctx, http.MethodPost, "/graphql", "application/json", strings.NewReader(`{"query":"{ __typename }"}`)); err != nil || code != http.StatusOK || strings.Contains(string(body), `"data"`) {
		t.Errorf("anonymous GraphQL: HTTP %d %s %v; want the empty schema's errors", code, body, err)
	}
	if err := s.GraphQL(ctx); err != nil {
		t.Errorf("GraphQL with the workspace key: %v", err)
	}
	dump, dbSum, filesSum := backup(t, ctx, s)

	tryRelease := func(tag string) {
		t.Helper()
		if _, err := s.Compose(ctx, "stop", "server", "worker"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetTag(tag); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Compose(ctx, "up", "-d", "--no-deps", "server"); err != nil {
			t.Fatal(err)
		}
	}
	tryRelease("v2.1.0")
	eventually(t, 30*time.Second, "v2.1.0 crash loop", func() error { return logContains(ctx, s, "server", "Upgrade failed", 2) })
	if _, _, err := s.Get(ctx, "/healthz"); err == nil {
		t.Error("crash-looping v2.1.0 answered /healthz")
	}

	tryRelease("v2.2.0")
	eventually(t, 30*time.Second, "v2.2.0 migrated", func() error { return logContains(ctx, s, "server", "Successfully migrated DB!", 1) })
	time.Sleep(3 * time.Second)
	if code, _, err := s.Get(ctx, "/healthz"); err != nil || code != http.StatusServiceUnavailable {
		t.Errorf("unhealthy v2.2.0 /healthz = %d, %v; want 503", code, err)
	}
	if h := must(s.Compose(ctx, "ps", "server")).get(t); strings.Contains(string(h), "(healthy)") {
		t.Errorf("v2.2.0 is healthy in compose:\n%s", h)
	}

	tryRelease("v2.3.0")
	// Only the server runs (as tryRelease starts it): its own endpoints.
	eventually(t, 30*time.Second, "v2.3.0 healthz", func() error {
		for _, p := range []string{"/healthz", "/healthz/database"} {
			if code, body, err := s.Get(ctx, p); err != nil || code != http.StatusOK {
				return fmt.Errorf("%s: HTTP %d %s %v", p, code, body, err)
			}
		}
		return nil
	})
	if v := must(s.Version(ctx)).get(t); v != "v2.0.2" {
		t.Errorf("wrong-version v2.3.0 reports %s, want v2.0.2", v)
	}

	tryRelease("v2.4.0")
	eventually(t, 30*time.Second, "v2.4.0 log", func() error { return logContains(ctx, s, "server", "Upgrade completed with errors", 1) })
	eventually(t, 30*time.Second, "v2.4.0 healthz", func() error { _, _, err := s.Get(ctx, "/healthz"); return err })
	if err := s.GraphQL(ctx); err == nil {
		t.Error("graphql-broken v2.4.0 answered GraphQL")
	}
	if st := must(s.UpgradeStatus(ctx)).get(t); !strings.Contains(st, "1 failed") {
		t.Errorf("v2.4.0 upgrade:status = %q, want 1 failed", st)
	}

	tryRelease("v2.5.0")
	eventually(t, 30*time.Second, "v2.5.0 slow", func() error { return logContains(ctx, s, "server", "Running slow migration", 1) })
	time.Sleep(3 * time.Second)
	if _, _, err := s.Get(ctx, "/healthz"); err == nil {
		t.Error("v2.5.0 answered /healthz while migrating")
	}

	restore(t, ctx, s, dump, dbSum, filesSum)

	tryRelease("v2.6.0")
	eventually(t, 30*time.Second, "v2.6.0 half migration", func() error { return logContains(ctx, s, "server", "Upgrade failed", 1) })
	if got := must(s.Psql(ctx, `SELECT count(*) FROM information_schema.columns WHERE column_name = 'fullName'`)).get(t); got != "1" {
		t.Errorf("v2.6.0 did not leave its half change (fullName columns: %s)", got)
	}
	tryRelease("v2.0.2") // the old TAG alone does not repair the database
	eventually(t, 30*time.Second, "v2.0.2 on a half-migrated db", func() error {
		code, _, err := s.Get(ctx, "/healthz/database")
		if err != nil || code != http.StatusServiceUnavailable {
			return fmt.Errorf("/healthz/database = %d, %v; want 503", code, err)
		}
		return nil
	})
	restore(t, ctx, s, dump, dbSum, filesSum)
}

func backup(t *testing.T, ctx context.Context, s *Stack) (dump []byte, dbSum, filesSum string) {
	t.Helper()
	if _, err := s.Compose(ctx, "stop", "server", "worker"); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := s.DumpDB(ctx, &b); err != nil {
		t.Fatal(err)
	}
	dbSum, filesSum = must(s.DBChecksum(ctx)).get(t), must(s.FilesChecksum(ctx)).get(t)
	if err := s.Up(ctx, "v2.0.2"); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), dbSum, filesSum
}

// restore is the rollback by hand: stop, restore the dump, old TAG, up, and
// everything as before.
func restore(t *testing.T, ctx context.Context, s *Stack, dump []byte, dbSum, filesSum string) {
	t.Helper()
	start := time.Now()
	if _, err := s.Compose(ctx, "stop", "server", "worker"); err != nil {
		t.Fatal(err)
	}
	if err := s.RestoreDB(ctx, dump); err != nil {
		t.Fatal(err)
	}
	if got := must(s.DBChecksum(ctx)).get(t); got != dbSum {
		t.Errorf("db checksum after restore %s, want %s", got, dbSum)
	}
	if err := s.Up(ctx, "v2.0.2"); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSentinels(ctx); err != nil {
		t.Error(err)
	}
	if got := must(s.FilesChecksum(ctx)).get(t); got != filesSum {
		t.Errorf("files checksum %q, want %q", got, filesSum)
	}
	t.Logf("restored and healthy on v2.0.2 in %s", time.Since(start).Round(time.Millisecond))
}
