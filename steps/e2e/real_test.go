package e2e

// The scenarios of issue 10: each is a fact about real Twenty
// (docs/twenty.md) that the daemon once got wrong, run against the sandbox
// that now follows it.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/outcome"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps"
	"github.com/twenty-upgraded/twenty-upgraded/steps/backup"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

func upgrade(t *testing.T, e *steps.Engine, to string) (state.Entry, error) {
	t.Helper()
	en, err := e.Upgrade(context.Background(), version.MustParse(to), steps.Options{Trigger: "cli"})
	t.Logf("upgrade to %s: result %q in %.1fs, downtime %.1fs, err: %v", to, en.Result, en.Seconds, en.Downtime, err)
	return en, err
}

// refusedUntouched checks a refusal changed nothing: no downtime, the
// server container is the one that ran before, and it is healthy on was.
func refusedUntouched(t *testing.T, s *sandbox.Stack, en state.Entry, serverBefore, was string) {
	t.Helper()
	if en.Downtime != 0 {
		t.Errorf("downtime %.1fs on a refusal", en.Downtime)
	}
	if after := containerID(t, s); after != serverBefore {
		t.Errorf("the server container changed (%s → %s): Twenty was touched", serverBefore, after)
	}
	healthyOn(t, s, was)
}

func containerID(t *testing.T, s *sandbox.Stack) string {
	t.Helper()
	out, err := s.Compose(context.Background(), "ps", "-q", "server")
	if err != nil {
		t.Fatalf("compose ps: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestComposeV1Refused: compose mode needs Compose v2 (docs/twenty.md,
// "Compose"): with v1 the upgrade is refused before anything stops.
func TestComposeV1Refused(t *testing.T) {
	s, e, _ := setupWith(t, sandbox.Options{Compose: sandbox.ComposeV1, Tag: "v1.22.4", Publish: []string{"v1.22.4", "v1.23.0"}})
	before := containerID(t, s)
	en, err := upgrade(t, e, "v1.23.0")
	if err == nil || errors.Is(err, outcome.ErrRolledBack) || !strings.Contains(err.Error(), "Compose v2") {
		t.Fatalf("want a refusal that asks for Compose v2, got %v", err)
	}
	refusedUntouched(t, s, en, before, "v1.22.4")
}

// TestAnonymousGateAndFloor runs without health.api_key_file, as a new user
// does: the anonymous GraphQL probe gets Twenty's empty schema (errors, no
// data) and must pass. First v1.22.4 → v2.0.0 is forced past the policy's
// floor: it fails as #23568 does and rolls back; then v1.23.0, the floor,
// goes through on the anonymous gate.
func TestAnonymousGateAndFloor(t *testing.T) {
	s, e, st := setupEdit(t, sandbox.Options{Tag: "v1.22.4", Publish: []string{"v1.22.4", "v1.23.0", "v2.0.0"}},
		func(c *config.Config) { c.Health.APIKeyFile = "" })
	_, err := upgrade(t, e, "v2.0.0")
	if !errors.Is(err, outcome.ErrRolledBack) || !strings.Contains(err.Error(), "subFieldName") {
		t.Fatalf("v1.22.4 → v2.0.0: want a rollback naming #23568's error (subFieldName), got %v", err)
	}
	healthyOn(t, s, "v1.22.4")
	if bad, _ := st.BadVersions(); bad[version.MustParse("v2.0.0")] == "" {
		t.Error("v2.0.0 not in bad-versions after failing")
	}
	en, err := upgrade(t, e, "v1.23.0")
	if err != nil || en.Result != state.ResultSuccess {
		t.Fatalf("the anonymous gate did not pass on v1.23.0: %q %v", en.Result, err)
	}
	healthyOn(t, s, "v1.23.0")
}

// TestKeyCatchesBrokenGraphQL: with only the HTTP checks (no log, no
// upgrade_status), v2.4.0's healthz is green; the keyed GraphQL query is
// what sees its workspace schema fail.
func TestKeyCatchesBrokenGraphQL(t *testing.T) {
	s, e, _ := setupEdit(t, sandbox.Options{Tag: "v2.0.2", Publish: []string{"v2.0.2", "v2.4.0"}}, func(c *config.Config) {
		c.Health.Checks = []string{config.CheckContainer, config.CheckHealthz, config.CheckDatabase, config.CheckWorker,
			config.CheckRedis, config.CheckApp, config.CheckVersion, config.CheckGraphQL}
	})
	_, err := upgrade(t, e, "v2.4.0")
	if !errors.Is(err, outcome.ErrRolledBack) || !strings.Contains(err.Error(), "graphql") {
		t.Fatalf("want a rollback caused by the graphql check, got %v", err)
	}
	healthyOn(t, s, "v2.0.2")
}

// TestAppVersionWithoutV: v1.21.2's image sets APP_VERSION=1.21.2 (no v).
// The upgrade from it and the manual rollback to it both judge that
// version right.
func TestAppVersionWithoutV(t *testing.T) {
	s, e, _ := setup(t, "v1.21.2", "v1.22.0")
	if en, err := upgrade(t, e, "v1.22.0"); err != nil || en.Result != state.ResultSuccess {
		t.Fatalf("upgrade from v1.21.2: %q %v", en.Result, err)
	}
	healthyOn(t, s, "v1.22.0")
	en, err := e.Rollback(context.Background())
	if err != nil || en.Result != state.ResultRolledBack {
		t.Fatalf("rollback to v1.21.2: %q %v", en.Result, err)
	}
	healthyOn(t, s, "v1.21.2")
}

// TestAliasTag: an install that runs TAG=v1.22 (Docker Hub's alias) is
// upgraded from the release the container runs, and the rollback writes
// the alias back as the user wrote it.
func TestAliasTag(t *testing.T) {
	s, e, _ := setupWith(t, sandbox.Options{Tag: "v1.22", Publish: []string{"v1.22.4", "v1.23.0"}})
	if en, err := upgrade(t, e, "v1.23.0"); err != nil || en.Result != state.ResultSuccess {
		t.Fatalf("upgrade from TAG=v1.22: %q %v", en.Result, err)
	}
	if tag, _ := s.Tag(); tag != "v1.23.0" {
		t.Errorf("TAG after the upgrade: %q", tag)
	}
	if en, err := e.Rollback(context.Background()); err != nil || en.Result != state.ResultRolledBack {
		t.Fatalf("rollback: %q %v", en.Result, err)
	}
	if tag, _ := s.Tag(); tag != "v1.22" {
		t.Errorf("TAG after the rollback: %q, want the alias v1.22 back", tag)
	}
	healthyOn(t, s, "v1.22.4")
}

// TestNoEncryptionKey: a .env as install.sh writes it (APP_SECRET, no
// ENCRYPTION_KEY) upgrades into v2.5+'s envelope encryption without a
// hold, and the stored secrets stay readable (/healthz/database).
func TestNoEncryptionKey(t *testing.T) {
	s, e, _ := setupWith(t, sandbox.Options{Tag: "v2.0.2", Publish: []string{"v2.0.2", "v2.7.0"}, NoEncryptionKey: true})
	if en, err := upgrade(t, e, "v2.7.0"); err != nil || en.Result != state.ResultSuccess {
		t.Fatalf("upgrade without ENCRYPTION_KEY: %q %v", en.Result, err)
	}
	healthyOn(t, s, "v2.7.0")
}

// TestExternalDatabaseHeld: Twenty's database on another server, while
// backup.database still says "compose": the compose db service does not
// hold Twenty's data, so the upgrade is held before any downtime, with the
// fix.
func TestExternalDatabaseHeld(t *testing.T) {
	s, e, _ := setupWith(t, sandbox.Options{Tag: "v1.22.4", Publish: []string{"v1.22.4", "v1.23.0"}, ExternalDB: true})
	before := containerID(t, s)
	en, err := upgrade(t, e, "v1.23.0")
	if !errors.Is(err, outcome.ErrHeld) || !strings.Contains(err.Error(), "database_url") {
		t.Fatalf("want a hold that names backup.database_url, got %v", err)
	}
	refusedUntouched(t, s, en, before, "v1.22.4")
}

// TestS3Storage: STORAGE_TYPE=s3 keeps the uploads out of the volume: the
// upgrade goes on, and the backup set says what it does not hold.
func TestS3Storage(t *testing.T) {
	var cfg config.Config
	s, e, _ := setupEdit(t, sandbox.Options{Tag: "v1.22.4", Publish: []string{"v1.22.4", "v1.23.0"}, S3: true},
		func(c *config.Config) { cfg = *c })
	en, err := upgrade(t, e, "v1.23.0")
	if err != nil || en.Result != state.ResultSuccess {
		t.Fatalf("upgrade with S3 storage: %q %v", en.Result, err)
	}
	healthyOn(t, s, "v1.23.0")
	set, err := backup.New(cfg, proc.Exec{}, nil).Get(en.Backup)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(set.Manifest.Notes, func(n string) bool { return strings.Contains(n, "S3") }) {
		t.Errorf("the manifest does not say the files are in S3: %q", set.Manifest.Notes)
	}
}

// flushes is the sim's record of cache flushes, oldest first.
func flushes(t *testing.T, s *sandbox.Stack) []string {
	t.Helper()
	out, err := s.Compose(context.Background(), "exec", "-T", "redis", "redis-cli", "LRANGE", "sim:flushes", "0", "-1")
	if err != nil {
		t.Fatalf("read sim:flushes: %v", err)
	}
	return strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(out)), " ", "_"))
}

// lastFlushByOld fails unless, once the new version flushed the cache, the
// old one's cache:flush command ran after it (docs/twenty.md, "The cache");
// the old entrypoint's own flushes on its restart do not count.
func lastFlushByOld(t *testing.T, s *sandbox.Stack, old, new string) {
	t.Helper()
	f := flushes(t, s)
	last := -1
	for i, x := range f {
		if strings.HasPrefix(x, new+"_") {
			last = i
		}
	}
	if last >= 0 && !slices.Contains(f[last+1:], old+"_command") {
		t.Errorf("%s flushed the cache, but the old version's cache:flush command did not run after it: %q", new, f)
	}
}
