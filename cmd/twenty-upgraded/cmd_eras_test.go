package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/twenty-upgraded/twenty-upgraded/steps/envfile"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install/installtest"
)

// The conformance tests: validate, status, plan and upgrade --dry-run read
// installs shaped after Twenty's own at three eras (testdata/eras, each file
// naming its source) right. Docker, compose and the running containers are
// the fakes of cmd_upgrade_test.go; compose's view of the file comes from
// installtest.AnswerFromFile, which steps/install proves equal to the real
// `docker compose config` for every fixture.

// eraReleases is the release feed of these tests: a few releases around
// each era's edges (v0.52.x is not on Docker Hub).
const eraReleases = `v0.51.1 2025-04-05T14:47:54Z
v0.51.2 2025-04-06T18:33:54Z
v0.53.0 2025-04-20T10:41:39Z
v0.53.3 2025-04-25T15:04:39Z
v0.54.3 2025-05-02T10:00:00Z
v0.55.2 2025-05-10T22:36:52Z
v1.22.0 2026-01-11T14:52:35Z
v1.22.4 2026-01-20T10:00:00Z
v1.23.0 2026-01-25T10:00:00Z
v1.23.9 2026-02-10T10:00:00Z
v2.0.0 2026-02-12T10:00:00Z
v2.5.0 2026-03-01T16:48:40Z
v2.40.1 2026-11-05T19:21:05Z
v2.43.1 2026-11-24T13:11:35Z
`

// eraInstall copies the era's compose file and .env (with edits) into a
// fresh install folder, starts the fake world with the server reporting
// appVersion (none when ""), and writes a config with backupTOML in its
// [backup] section.
func eraInstall(t *testing.T, era string, edits map[string]string, appVersion, backupTOML string) (dir, cfgPath string) {
	t.Helper()
	dir = t.TempDir()
	for _, f := range []string{"docker-compose.yml", ".env"} {
		b, err := os.ReadFile(filepath.Join("testdata", "eras", era, f))
		must(t, err)
		if f == ".env" {
			for k, v := range edits {
				b, err = envfile.Set(b, k, v)
				must(t, err)
			}
		}
		must(t, os.WriteFile(filepath.Join(dir, f), b, 0o600))
	}
	bin := filepath.Join(dir, "bin")
	must(t, os.Mkdir(bin, 0o700))
	// psql and pg_dump answer for backup.database = "url" (an external server).
	for _, tool := range []string{"docker", "git", "yarn", "npx", "psql", "pg_dump", "pg_dumpall"} {
		must(t, os.Symlink(os.Args[0], filepath.Join(bin, tool)))
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("FAKE_DIR", dir)
	w := fakeWorld{}
	if appVersion != "" {
		w.Running, w.AppVersion = "v"+strings.TrimPrefix(appVersion, "v"), appVersion
	}
	saveWorld(dir, w)
	feed := filepath.Join(dir, "releases.txt")
	must(t, os.WriteFile(feed, []byte(eraReleases), 0o600))
	cfgPath = filepath.Join(dir, "config.toml")
	must(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`[install]
dir = %q
[release]
source = "file"
file = %q
min_age = "0s"
track = "major"
[backup]
dir = %q
%s
[health]
url = "http://127.0.0.1:1"
[daemon]
state_dir = %q
listen = "127.0.0.1:1"
`, dir, feed, filepath.Join(dir, "backups"), backupTOML, filepath.Join(dir, "state"))), 0o600))
	return dir, cfgPath
}

// eraCase is one install and what every command must read from it.
type eraCase struct {
	name, era  string
	edits      map[string]string
	appVersion string // the running server's APP_VERSION, as the image writes it
	backup     string // [backup] TOML

	installed string // the version planned from
	tag       string
	alias     bool
	services  []string
	dbHost    string
	dbURL     string
	external  bool
	s3        bool
	secrets   []string
}

var eraCases = []eraCase{
	{name: "v0.5x", era: "v0.5x", appVersion: "v0.51.1",
		installed: "v0.51.1", tag: "v0.51.1", services: []string{"change-vol-ownership", "db", "redis", "server", "worker"},
		dbHost: "db", dbURL: "postgres://postgres@db:5432/default", secrets: []string{"APP_SECRET", "PG_DATABASE_PASSWORD"}},
	{name: "v1.x, versions without v", era: "v1.x", edits: map[string]string{"TAG": "1.22.4"}, appVersion: "1.22.4",
		installed: "v1.22.4", tag: "1.22.4", services: []string{"db", "redis", "server", "worker"},
		dbHost: "db", dbURL: "postgres://postgres@db:5432/default", secrets: []string{"APP_SECRET", "PG_DATABASE_PASSWORD"}},
	{name: "v1.x, external PostgreSQL", era: "v1.x", edits: map[string]string{"PG_DATABASE_HOST": "pg.internal", "PG_DATABASE_USER": "twenty", "PG_DATABASE_PORT": "6432"},
		appVersion: "v1.22.4", installed: "v1.22.4", tag: "v1.22.4", services: []string{"db", "redis", "server", "worker"},
		dbHost: "pg.internal", dbURL: "postgres://twenty@pg.internal:6432/default", external: true, secrets: []string{"APP_SECRET", "PG_DATABASE_PASSWORD"}},
	{name: "v1.x at the floor", era: "v1.x", edits: map[string]string{"TAG": "v1.23.9"}, appVersion: "v1.23.9",
		installed: "v1.23.9", tag: "v1.23.9", services: []string{"db", "redis", "server", "worker"},
		dbHost: "db", dbURL: "postgres://postgres@db:5432/default", secrets: []string{"APP_SECRET", "PG_DATABASE_PASSWORD"}},
	{name: "v2.x", era: "v2.x", appVersion: "v2.40.1",
		installed: "v2.40.1", tag: "v2.40.1", services: []string{"db", "redis", "server", "worker"},
		dbHost: "db", dbURL: "postgres://postgres@db:5432/default", secrets: []string{"APP_SECRET", "PG_DATABASE_PASSWORD"}},
	{name: "v2.x, alias TAG, S3, own key", era: "v2.x",
		edits: map[string]string{"TAG": "v2.40", "STORAGE_TYPE": "s3", "STORAGE_S3_NAME": "twenty-files", "STORAGE_S3_REGION": "eu-west-3",
			"ENCRYPTION_KEY": "ZGVkaWNhdGVkLWtleS1maXh0dXJl"},
		appVersion: "2.40.1", installed: "v2.40.1", tag: "v2.40", alias: true, services: []string{"db", "redis", "server", "worker"},
		dbHost: "db", dbURL: "postgres://postgres@db:5432/default", s3: true, secrets: []string{"APP_SECRET", "ENCRYPTION_KEY", "PG_DATABASE_PASSWORD"}},
}

// noSecretValues fails when out holds any secret value of the install's .env.
func noSecretValues(t *testing.T, dir, out string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ".env"))
	must(t, err)
	env := envfile.All(b)
	for _, k := range []string{"APP_SECRET", "ENCRYPTION_KEY", "PG_DATABASE_PASSWORD"} {
		if v := env[k]; v != "" && strings.Contains(out, v) {
			t.Errorf("output shows the value of %s:\n%s", k, out)
		}
	}
}

func TestErasValidate(t *testing.T) {
	for _, tc := range eraCases {
		t.Run(tc.name, func(t *testing.T) {
			dir, cfg := eraInstall(t, tc.era, tc.edits, tc.appVersion, tc.backup)
			out, errOut, code := runCLI(t, "--config", cfg, "validate")
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
			want := []string{
				"install:  compose in " + dir + " (docker compose 2.40.3): " + strings.Join(tc.services, ", "),
				"secrets:  " + strings.Join(tc.secrets, ", ") + " (in .env; names only)",
				// No API key: say what the anonymous gate proves and what it misses.
				"note:     health.api_key_file is not set: the graphql check probes /graphql anonymously, which only proves it answers well-formed GraphQL (no 5xx, no time-out)",
				"#23012) is not caught",
			}
			if tc.external {
				want = append(want, "database: host pg.internal (external: not the db service), "+tc.dbURL,
					`note:     Twenty's database is on pg.internal (PG_DATABASE_URL), not in the db service: upgrades are refused until [backup] says database = "url" and database_url = "`+tc.dbURL+`"`)
			} else {
				want = append(want, "database: host db (the db service), "+tc.dbURL)
			}
			if tc.s3 {
				want = append(want, "files:    STORAGE_TYPE=s3: uploaded files are in S3: not in this backup",
					"note:     uploaded files are in S3 (STORAGE_TYPE=s3)")
			} else {
				want = append(want, "files:    STORAGE_TYPE=local, volume twenty_server-local-data")
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("validate lacks %q:\n%s", w, out)
				}
			}
			if tc.s3 == strings.Contains(out, "volume twenty_server-local-data") {
				t.Errorf("files line wrong for s3=%v:\n%s", tc.s3, out)
			}
			if !tc.external && strings.Contains(out, "external") {
				t.Errorf("a database in the db service called external:\n%s", out)
			}
			// Without ENCRYPTION_KEY, APP_SECRET is the key in use: say so, never advise a new key.
			if keyNote := "no ENCRYPTION_KEY in .env: Twenty encrypts stored tokens with APP_SECRET, so APP_SECRET must never change"; slices.Contains(tc.secrets, "ENCRYPTION_KEY") == strings.Contains(out, keyNote) {
				t.Errorf("ENCRYPTION_KEY note wrong (secrets %v):\n%s", tc.secrets, out)
			}
			if strings.Contains(out, "openssl") || strings.Contains(out, "generate") {
				t.Errorf("validate advises a new key:\n%s", out)
			}
			noSecretValues(t, dir, out+errOut)
		})
	}
}

type statusJSON struct {
	State     string `json:"state"`
	Installed string `json:"installed"`
	Install   *struct {
		Mode       string   `json:"mode"`
		Services   []string `json:"services"`
		Tag        string   `json:"tag"`
		TagAlias   bool     `json:"tag_alias"`
		AppVersion string   `json:"app_version"`
		Database   struct {
			Host     string `json:"host"`
			Port     string `json:"port"`
			User     string `json:"user"`
			Name     string `json:"name"`
			External bool   `json:"external"`
		} `json:"database"`
		Storage string   `json:"storage"`
		S3      bool     `json:"s3"`
		Files   string   `json:"files_volume"`
		Secrets []string `json:"secrets"`
	} `json:"install"`
	Warnings []string `json:"warnings"`
}

func TestErasStatus(t *testing.T) {
	for _, tc := range eraCases {
		t.Run(tc.name, func(t *testing.T) {
			dir, cfg := eraInstall(t, tc.era, tc.edits, tc.appVersion, tc.backup)
			out, errOut, code := runCLI(t, "--config", cfg, "status", "--json")
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
			noSecretValues(t, dir, out+errOut)
			var st statusJSON
			must(t, json.Unmarshal([]byte(out), &st))
			in := st.Install
			if st.State != "stopped" || st.Installed != tc.installed || in == nil {
				t.Fatalf("status %+v", st)
			}
			db := in.Database
			if in.Mode != "compose" || !slices.Equal(in.Services, tc.services) || in.Tag != tc.tag || in.TagAlias != tc.alias ||
				in.AppVersion != tc.appVersion || db.Host != tc.dbHost || db.External != tc.external || db.Name != "default" ||
				in.S3 != tc.s3 || (in.Files == "") != tc.s3 || !slices.Equal(in.Secrets, tc.secrets) {
				t.Errorf("install %+v", *in)
			}

			out, _, code = runCLI(t, "--config", cfg, "status")
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, out)
			}
			noSecretValues(t, dir, out)
			installed := "installed:   " + tc.installed + " (TAG=" + tc.tag
			switch {
			case tc.alias:
				installed += ", an alias; the server runs APP_VERSION=" + tc.appVersion + ")"
			case tc.appVersion != tc.tag:
				installed += "; the server runs APP_VERSION=" + tc.appVersion + ")"
			default:
				installed += ")\n"
			}
			want := []string{installed, "install:     compose in " + dir, strings.Join(tc.services, ", "),
				"secrets:     " + strings.Join(tc.secrets, ", ") + " (in .env; names only)", "database:    host " + tc.dbHost + " ("}
			if tc.external {
				want = append(want, "(external: not the db service)")
			}
			if tc.s3 {
				want = append(want, "files:       STORAGE_TYPE=s3: uploaded files are in S3: not in this backup")
			} else {
				want = append(want, "files:       STORAGE_TYPE=local, volume twenty_server-local-data")
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("status lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

type planJSONEras struct {
	Current string   `json:"current"`
	Next    string   `json:"next"`
	Path    []string `json:"path"`
	Held    []struct {
		Version, Code, Reason string
	} `json:"held"`
	Warnings []string `json:"warnings"`
	Gate     *struct {
		On      string   `json:"on"`
		Run     []string `json:"run"`
		LeftOut []string `json:"left_out"`
	} `json:"gate"`
}

// TestErasPlan: the installed version, the path (compose targets below
// v0.53 held with the reason, the v1.23 floor, no hold for a missing
// ENCRYPTION_KEY across v2.5), the install notes, and the gate on the next
// target per the capability table.
func TestErasPlan(t *testing.T) {
	allChecks := []string{"container", "healthz", "database", "worker", "app", "graphql (anonymous)", "version", "upgrade_status", "log"}
	want := map[string]struct {
		path    []string
		held    []string // version:code
		run     []string
		leftOut []string
		warn    []string
	}{
		"v0.5x": {path: []string{"v0.53.3", "v0.54.3", "v0.55.2", "v1.22.4", "v1.23.9", "v2.43.1"}, held: []string{"v0.51.2:unsupported"},
			run:     []string{"container", "healthz", "database", "worker", "app", "graphql (anonymous)", "version (APP_VERSION)", "log"},
			leftOut: []string{"upgrade_status (from v1.22.0)"}, warn: []string{"v0.52 not in the release source"}},
		"v1.x, versions without v":  {path: []string{"v1.23.9", "v2.43.1"}, run: allChecks},
		"v1.x, external PostgreSQL": {path: []string{"v1.23.9", "v2.43.1"}, run: allChecks, warn: []string{`Twenty's database is on pg.internal`}},
		"v1.x at the floor":         {path: []string{"v2.43.1"}, run: allChecks},
		"v2.x":                      {path: []string{"v2.43.1"}, run: allChecks},
		"v2.x, alias TAG, S3, own key": {path: []string{"v2.43.1"}, run: allChecks,
			warn: []string{"uploaded files are in S3 (STORAGE_TYPE=s3)", "TAG=v2.40 in "}},
	}
	for _, tc := range eraCases {
		t.Run(tc.name, func(t *testing.T) {
			w, ok := want[tc.name]
			if !ok {
				t.Fatalf("no plan expectation for %q", tc.name)
			}
			_, cfg := eraInstall(t, tc.era, tc.edits, tc.appVersion, tc.backup)
			out, errOut, code := runCLI(t, "--config", cfg, "plan", "--json")
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
			var p planJSONEras
			must(t, json.Unmarshal([]byte(out), &p))
			var held []string
			for _, h := range p.Held {
				held = append(held, h.Version+":"+h.Code)
				if h.Code == "unsupported" && (!strings.Contains(h.Reason, "compose mode needs a release whose image migrates by itself") ||
					!strings.Contains(h.Reason, "only from v0.53.0")) {
					t.Errorf("held without the reason: %+v", h)
				}
			}
			if p.Current != tc.installed || p.Next != w.path[0] || !slices.Equal(p.Path, w.path) || !slices.Equal(held, w.held) {
				t.Errorf("plan current %s next %s path %v held %v; want %s %v %v", p.Current, p.Next, p.Path, held, tc.installed, w.path, w.held)
			}
			if g := p.Gate; g == nil || g.On != w.path[0] || !slices.Equal(g.Run, w.run) || !slices.Equal(g.LeftOut, append([]string{}, w.leftOut...)) {
				t.Errorf("gate %+v; want on %s run %v left out %v", p.Gate, w.path[0], w.run, w.leftOut)
			}
			warnings := strings.Join(p.Warnings, "\n")
			for _, x := range append(w.warn, "health.api_key_file is not set") {
				if !strings.Contains(warnings, x) {
					t.Errorf("warnings lack %q:\n%s", x, warnings)
				}
			}
			for _, x := range []string{"ENCRYPTION_KEY is", "openssl", "generate"} {
				if strings.Contains(warnings, x) {
					t.Errorf("warnings advise about a new key (%q):\n%s", x, warnings)
				}
			}

			out, _, code = runCLI(t, "--config", cfg, "plan")
			if code != 0 || !strings.Contains(out, "gate on "+w.path[0]+":") || !strings.Contains(out, strings.Join(w.run, ", ")) {
				t.Errorf("plan (exit %d) does not show the gate on %s:\n%s", code, w.path[0], out)
			}
			if len(w.leftOut) > 0 && !strings.Contains(out, "left out:") {
				t.Errorf("plan does not say which checks are left out:\n%s", out)
			}
		})
	}
}

// TestErasUpgradeDryRun: the dry run reads the install right, gates each
// version with the checks it has (the target; the old version for the
// rollback), and holds or refuses before any downtime where a real run
// would.
func TestErasUpgradeDryRun(t *testing.T) {
	byName := map[string]eraCase{}
	for _, tc := range eraCases {
		byName[tc.name] = tc
	}
	extURL := "postgres://twenty@pg.internal:6432/default"
	for _, d := range []struct {
		name, era, to, backup string
		code                  int
		want, not             []string
	}{
		{"v0.5x to v0.53", "v0.5x", "v0.53.3", "", 0, []string{
			"dry run: compose upgrade v0.51.1 → v0.53.3",
			"(compose docker compose 2.40.3, read from compose config)",
			"database: postgres://postgres@db:5432/default on the db service",
			"uploaded files: local storage, volume twenty_server-local-data",
			"tar of the volume twenty_server-local-data > files.tar",
			"secrets in .env: APP_SECRET, PG_DATABASE_PASSWORD\n",
			"no ENCRYPTION_KEY: Twenty encrypts stored secrets with APP_SECRET",
			"health gate on v0.53.3",
			"version        APP_VERSION of the server container == v0.53.3 (REST /client-config arrived in v0.55.0)",
			"upgrade_status left out: not in v0.53.3",
			"the rollback's health gate judges v0.51.1",
			"app            GET /healthz/app",
			"upgrade_status left out: not in v0.51.1",
		}, []string{"a real run would stop here"}},
		{"v0.5x to a release whose image does not migrate", "v0.5x", "v0.51.2", "", exitHeld, []string{
			"1. preflight\n  ! a real run would stop here: held: v0.51.2 cannot be installed in compose mode: not in v0.51.2: the server image runs the upgrade on every start only from v0.53.0",
			"upgrade to v0.53.0 or newer, or by hand",
		}, nil},
		{"v1.x, versions without v", "v1.x", "v1.23.9", "", 0, []string{
			"dry run: compose upgrade v1.22.4 → v1.23.9",
			"version        GET /client-config appVersion == v1.23.9",
			"upgrade_status yarn command:prod upgrade:status in the server",
			"the rollback's health gate judges v1.22.4",
		}, []string{"left out", "a real run would stop here"}},
		{"v1.x, external PostgreSQL", "v1.x", "v1.23.9", "", exitHeld, []string{
			"database: " + extURL + " on an external server",
			`1. preflight` + "\n" + `  ! a real run would stop here: held: Twenty's database is on pg.internal (PG_DATABASE_URL), not in the db service that backup.database = "compose" dumps; set in [backup] database = "url" and database_url = "` + extURL + `"`,
		}, nil},
		{"v1.x, external PostgreSQL", "v1.x", "v1.23.9", "database = \"url\"\ndatabase_url = \"" + extURL + "\"", 0, []string{
			"database: " + extURL + " on an external server (from PG_DATABASE_URL), backed up by pg_dump on the host from backup.database_url",
		}, []string{"a real run would stop here"}},
		{"v1.x at the floor", "v1.x", "v2.5.0", "", 0, []string{
			"dry run: compose upgrade v1.23.9 → v2.5.0",
			"no ENCRYPTION_KEY: Twenty encrypts stored secrets with APP_SECRET, which the backup keeps; never change it",
		}, []string{"a real run would stop here", "HELD"}},
		{"v2.x", "v2.x", "v2.43.1", "", 0, []string{
			"dry run: compose upgrade v2.40.1 → v2.43.1",
			"read: docker compose --project-name twenty --project-directory", // the PostgreSQL 15 gate of v2.34+ asks the db service
			"exec -T db postgres --version",
		}, []string{"a real run would stop here", "HELD"}},
		{"v2.x, alias TAG, S3, own key", "v2.x", "v2.43.1", "", 0, []string{
			"dry run: compose upgrade v2.40.1 → v2.43.1",
			"uploaded files: in S3 (STORAGE_TYPE=s3): not in this backup",
			"  do:   uploaded files are in S3 (STORAGE_TYPE=s3): not in this backup",
			"secrets in .env: APP_SECRET, ENCRYPTION_KEY, PG_DATABASE_PASSWORD",
		}, []string{"files.tar", "no ENCRYPTION_KEY", "a real run would stop here"}},
	} {
		t.Run(d.name+" to "+d.to, func(t *testing.T) {
			tc, ok := byName[d.name]
			if !ok {
				tc = eraCases[0]
			}
			dir, cfg := eraInstall(t, tc.era, tc.edits, tc.appVersion, d.backup)
			out, errOut, code := runCLI(t, "--config", cfg, "upgrade", "--to", d.to, "--dry-run", "--yes")
			if code != d.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, d.code, out, errOut)
			}
			for _, w := range d.want {
				if !strings.Contains(out, w) {
					t.Errorf("dry run lacks %q:\n%s", w, out)
				}
			}
			for _, w := range d.not {
				if strings.Contains(out, w) {
					t.Errorf("dry run has %q:\n%s", w, out)
				}
			}
			noSecretValues(t, dir, out+errOut)
			log := argvLog(t, dir)
			for _, write := range []string{" pull ", " stop ", " up ", "pg_dump", " run --rm"} {
				if strings.Contains(log, write) {
					t.Errorf("dry run executed a write (%q):\n%s", write, log)
				}
			}
			if tag := installtest.EnvValue(filepath.Join(dir, ".env"), "TAG"); tag != tc.tag {
				t.Errorf("dry run changed TAG to %s", tag)
			}
		})
	}
}
