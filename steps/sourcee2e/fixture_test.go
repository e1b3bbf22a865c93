package sourcee2e

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/twenty-upgraded/twenty-upgraded/internal/testreq"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/steps"
	"github.com/twenty-upgraded/twenty-upgraded/steps/backup"
	"github.com/twenty-upgraded/twenty-upgraded/steps/backup/pgtest"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// release is one tagged commit of the upstream repository.
type release struct {
	tag     string            // v1.22.0 or twenty/v1.23.0
	base    string            // tag to branch from ("" = the previous release)
	version string            // the server package's version, with v
	files   map[string]string // added on top of base
}

// The releases: two good ones (both tag styles), a broken migration that
// half-applies, a release whose server reports another version, and one
// that does not build.
var releases = []release{
	{tag: "v1.22.0", version: "v1.22.0", files: map[string]string{
		".gitignore": "node_modules/\npackages/twenty-server/dist/\npackages/twenty-front/build/\npackages/twenty-server/.env\n",
		serverDir + "/migrations/001-init.sql": `CREATE TABLE person (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO person SELECT i, 'person ' || i FROM generate_series(1, 200) i;
CREATE TABLE note (id serial PRIMARY KEY, person_id int REFERENCES person, body text);
INSERT INTO note (person_id, body) SELECT i, repeat('n', i) FROM generate_series(1, 200) i;`}},
	{tag: "twenty/v1.23.0", version: "v1.23.0", files: map[string]string{
		serverDir + "/migrations/002-email.sql": `ALTER TABLE person ADD COLUMN email text;
UPDATE person SET email = 'p' || id || '@example.com';
CREATE INDEX person_email ON person (email);`}},
	{tag: "v1.24.0", version: "v1.24.0", files: map[string]string{
		serverDir + "/migrations/003-split-name.sql": `ALTER TABLE person ADD COLUMN first_name text;
UPDATE person SET first_name = split_part(name, ' ', 1);
DELETE FROM note WHERE id % 2 = 0;
ALTER TABLE person DROP COLUMN name;
INSERT INTO person_archive SELECT * FROM person; -- no such table: the migration stops half-applied`}},
	{tag: "twenty/v1.25.0", base: "twenty/v1.23.0", version: "v1.24.9", files: map[string]string{
		serverDir + "/migrations/004-tags.sql": `CREATE TABLE tag (id int PRIMARY KEY, label text);
INSERT INTO tag SELECT i, 'tag ' || i FROM generate_series(1, 50) i;
UPDATE person SET email = upper(email);`}},
	{tag: "v1.26.0", base: "twenty/v1.23.0", version: "v1.26.0", files: map[string]string{
		"BUILD_FAILS": "src/engine/core.ts(12,5): error TS2322: Type 'string' is not assignable to type 'number'."}},
}

// The package.json files have the shape of Twenty's (docs/twenty.md,
// "Source mode"): the root defines workspaces and little else; the server
// package has the scripts the guide runs.
const (
	rootPackage   = `{"name": "twenty", "private": true, "workspaces": ["packages/*"], "scripts": {"start": "npx nx start twenty-server"}}`
	serverPackage = `{"name": "twenty-server", "version": %q, "scripts": {
  "database:migrate:prod": "npx -y typeorm migration:run -d dist/src/database/typeorm/core/core.datasource",
  "command:prod": "node dist/src/command/command"}}`
)

// fixture is a seed-guide install of v1.22.0, built, migrated and running,
// with an engine configured for it.
type fixture struct {
	pg        *pgtest.Cluster
	root      string
	upstream  string // bare repository
	dir       string // install.dir: a clone
	port      int
	cfg       config.Config
	st        *state.Store
	eng       *steps.Engine
	oldCommit string
}

func newFixture(t *testing.T) *fixture { t.Helper(); return newFixtureWith(t, "") }

// newFixtureWith appends extra to the config file (e.g. a [source] table).
func newFixtureWith(t *testing.T, extra string) *fixture {
	t.Helper()
	if _, err := proc.LookPath("git"); err != nil {
		testreq.Missing(t, "git is missing: install git to run the source-mode end-to-end test")
	}
	pg := pgtest.New(t) // skips with the reason when PostgreSQL 15 is missing
	pg.MustSQL(t, "postgres", `CREATE DATABASE "default"`)
	f := &fixture{pg: pg, root: t.TempDir()}
	f.upstream, f.dir = filepath.Join(f.root, "upstream.git"), filepath.Join(f.root, "twenty")
	f.environment(t)
	f.makeRepos(t)
	f.install(t)
	f.engine(t, extra)
	return f
}

// environment puts the fakes first on PATH and tells them where things are.
func (f *fixture) environment(t *testing.T) {
	t.Helper()
	bin, worldDir := filepath.Join(f.root, "bin"), filepath.Join(f.root, "world")
	for _, d := range []string{bin, worldDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"yarn", "npx", "docker"} {
		if err := os.Symlink(self, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	for k, v := range map[string]string{
		"PATH":                bin + ":" + pgtest.BinDir + ":" + os.Getenv("PATH"),
		envWorld:              worldDir,
		envDB:                 f.pg.URL("default"),
		envPort:               strconv.Itoa(f.port),
		envDir:                f.dir,
		"HOME":                f.root, // no user git config
		"GIT_CONFIG_NOSYSTEM": "1",
		"GIT_AUTHOR_NAME":     "Twenty", "GIT_AUTHOR_EMAIL": "dev@twenty.invalid",
		"GIT_COMMITTER_NAME": "Twenty", "GIT_COMMITTER_EMAIL": "dev@twenty.invalid",
	} {
		t.Setenv(k, v)
	}
}

// makeRepos creates the upstream with v1.22.0, clones it at that tag, and
// only then publishes the later releases: the engine's fetch must bring them.
func (f *fixture) makeRepos(t *testing.T) {
	t.Helper()
	work := filepath.Join(f.root, "work")
	mustRun(t, "", "git", "init", "-q", "--bare", "-b", "main", f.upstream)
	mustRun(t, "", "git", "init", "-q", "-b", "main", work)
	mustRun(t, work, "git", "remote", "add", "origin", f.upstream)
	for i, r := range releases {
		base := r.base
		if base == "" && i > 0 {
			base = releases[i-1].tag
		}
		if base != "" {
			mustRun(t, work, "git", "-c", "advice.detachedHead=false", "checkout", "-q", "refs/tags/"+base)
		}
		r.files["package.json"] = rootPackage
		r.files[serverDir+"/package.json"] = fmt.Sprintf(serverPackage, strings.TrimPrefix(r.version, "v"))
		r.files["packages/twenty-front/package.json"] = `{"name": "twenty-front", "private": true, "scripts": {"build": "npx vite build"}}`
		for name, body := range r.files {
			if err := writeFile(filepath.Join(work, name), body); err != nil {
				t.Fatal(err)
			}
		}
		mustRun(t, work, "git", "add", "-A")
		mustRun(t, work, "git", "commit", "-q", "-m", "release "+r.tag)
		mustRun(t, work, "git", "tag", "-a", "-m", r.tag, r.tag)
		if i == 0 {
			mustRun(t, work, "git", "push", "-q", "origin", "HEAD:main", "refs/tags/"+r.tag)
			mustRun(t, "", "git", "clone", "-q", f.upstream, f.dir)
			mustRun(t, f.dir, "git", "-c", "advice.detachedHead=false", "checkout", "-q", "refs/tags/"+r.tag)
		}
	}
	mustRun(t, work, "git", "push", "-q", "origin", "--tags")
	f.oldCommit = f.head(t)
}

// install does the guide's first install: .env, yarn install and build,
// migrate, up; then waits until the server answers.
func (f *fixture) install(t *testing.T) {
	t.Helper()
	if err := writeFile(filepath.Join(f.dir, "packages", "twenty-server", ".env"), "PG_DATABASE_URL="+f.pg.URL("default")); err != nil {
		t.Fatal(err)
	}
	mustRun(t, f.dir, "yarn", "install")
	mustRun(t, f.dir, "npx", "nx", "build", "twenty-server")
	mustRun(t, filepath.Join(f.dir, serverDir), "yarn", "database:migrate:prod")
	mustRun(t, f.dir, "docker", "compose", "up", "-d", "--build")
	t.Cleanup(func() { _, _ = run(f.dir, "docker", "compose", "stop") }) // before the database stops
	for deadline := time.Now().Add(10 * time.Second); f.appVersion() == ""; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(world("server.log"))
			t.Fatalf("the fake server never answered:\n%s", log)
		}
	}
}

// engine loads a source-mode config (validated like a real one) and builds
// the engine with the real runner and backup manager.
func (f *fixture) engine(t *testing.T, extra string) {
	t.Helper()
	q := strconv.Quote
	toml := fmt.Sprintf(`[install]
mode = "source"
dir = %s
env_file = "packages/twenty-server/.env"
compose_command = ["docker", "compose"]
[backup]
dir = %s
database = "url"
database_url = %s
files = "none"
[health]
url = %s
timeout = "4s"
stable_for = "600ms"
interval = "150ms"
[daemon]
state_dir = %s
`, q(f.dir), q(filepath.Join(f.root, "backups")), q(f.pg.URL("default")), q(fmt.Sprintf("http://127.0.0.1:%d", f.port)), q(filepath.Join(f.root, "state")))
	path := filepath.Join(f.root, "twenty-upgraded.toml")
	cfg, err := config.Parse(path, []byte(toml+extra))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	f.cfg = cfg
	if f.st, err = state.Open(cfg.Daemon.StateDir); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	r := proc.Exec{}
	f.eng = steps.New(cfg, steps.Deps{Runner: r, Store: f.st, Backups: backup.New(cfg, r, log), Logger: log})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func run(dir string, argv ...string) (string, error) {
	res, err := proc.Exec{}.Run(context.Background(), proc.Cmd{Argv: argv, Dir: dir, Timeout: time.Minute})
	return strings.TrimSpace(string(res.Stdout)), err
}

func mustRun(t *testing.T, dir string, argv ...string) string {
	t.Helper()
	out, err := run(dir, argv...)
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	return out
}

func (f *fixture) head(t *testing.T) string { return mustRun(t, f.dir, "git", "rev-parse", "HEAD") }

// tagCommit is the commit a tag of the upstream points at.
func (f *fixture) tagCommit(t *testing.T, tag string) string {
	return mustRun(t, f.upstream, "git", "rev-parse", "refs/tags/"+tag+"^{commit}")
}

// appVersion asks the running server ("" when it does not answer).
func (f *fixture) appVersion() string {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/client-config", f.port))
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var doc struct{ AppVersion string }
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return ""
	}
	return doc.AppVersion
}

// built is the version in the build output.
func (f *fixture) built() string {
	b, _ := os.ReadFile(filepath.Join(f.dir, distMarker))
	return strings.TrimSpace(string(b))
}

// calls is what the fakes were asked to do.
func (f *fixture) calls() string {
	b, _ := os.ReadFile(world("calls.log"))
	return string(b)
}

// tableSums is table → row count and md5 of all rows in order, plus a
// fingerprint of columns, indexes and constraints.
func (f *fixture) tableSums(t *testing.T) map[string]string {
	t.Helper()
	tables := f.pg.MustSQL(t, "default", `SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables
		WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`)
	sums := map[string]string{}
	for _, tb := range strings.Fields(tables) {
		sums[tb] = f.pg.MustSQL(t, "default", fmt.Sprintf("SELECT count(*) || ' ' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM %s x", tb))
	}
	sums["#schema"] = f.pg.MustSQL(t, "default", `
		SELECT string_agg(table_name || '.' || column_name || ':' || data_type, ',' ORDER BY table_name, column_name) FROM information_schema.columns WHERE table_schema = 'public';
		SELECT string_agg(indexdef, ',' ORDER BY indexdef) FROM pg_indexes WHERE schemaname = 'public';
		SELECT string_agg(conname || pg_get_constraintdef(oid), ',' ORDER BY conname) FROM pg_constraint WHERE connamespace = 'public'::regnamespace;`)
	return sums
}
