package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install/installtest"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// The CLI tests put fake docker, git, yarn (and host psql, pg_dump) on PATH: symlinks to this test
// binary, which init() turns into the fake tool. Each records its argv into
// $FAKE_DIR/argv.log and keeps a tiny install in $FAKE_DIR/world.json.
func init() {
	switch name := filepath.Base(os.Args[0]); name {
	case "docker", "git", "yarn", "npx", "psql", "pg_dump", "pg_dumpall":
		os.Exit(fakeTool(name, os.Args[1:]))
	}
}

// fakeWorld is the shared fake install (installtest.World), kept in
// $FAKE_DIR/world.json.
type fakeWorld = installtest.World

func loadWorld(dir string) fakeWorld {
	w, _ := installtest.LoadWorld(filepath.Join(dir, "world.json"))
	return w
}

func saveWorld(dir string, w fakeWorld) { _ = w.Save(filepath.Join(dir, "world.json")) }

func fakeTool(name string, args []string) int {
	dir := os.Getenv("FAKE_DIR")
	line := name + " " + strings.Join(args, " ")
	if tag := os.Getenv("TAG"); tag != "" {
		line = "TAG=" + tag + " " + line
	}
	f, _ := os.OpenFile(filepath.Join(dir, "argv.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	fmt.Fprintln(f, line)
	f.Close()
	if res, ok, err := installtest.AnswerFromFile(proc.Cmd{Argv: append([]string{name}, args...)}); ok {
		os.Stdout.Write(res.Stdout)
		if err != nil {
			return 1
		}
		return 0
	}
	w := loadWorld(dir)
	defer func() { saveWorld(dir, w) }()
	s := strings.Join(args, " ")
	tag := installtest.EnvValue(filepath.Join(dir, ".env"), "TAG")
	out := ""
	switch {
	case name == "yarn" && strings.HasPrefix(s, "hook"):
		f, _ := os.OpenFile(filepath.Join(dir, "hooks.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		fmt.Fprintln(f, s, os.Getenv("TWENTY_UPGRADED_FROM"), os.Getenv("TWENTY_UPGRADED_TO"), os.Getenv("TWENTY_UPGRADED_RESULT"), os.Getenv("TWENTY_UPGRADED_BACKUP") != "")
		f.Close()
		if s == "hook-fail" {
			return 1
		}
	case strings.HasPrefix(s, "volume inspect --format "): // a volume's host folder, for the free-space check
		out = filepath.Join(dir, "volumes", args[len(args)-1])
		_ = os.MkdirAll(out, 0o700)
	case strings.Contains(s, "pull") && os.Getenv("TAG") == os.Getenv("FAKE_MISSING"):
		fmt.Fprintln(os.Stderr, "manifest unknown")
		return 1
	case strings.Contains(s, "upgrade:status"):
		out = "Instance: Up to date\n1 up to date, 0 behind, 0 failed"
	case strings.Contains(s, "--version"):
		out = "postgres (PostgreSQL) 16.4"
	case strings.Contains(s, "pg_database_size"):
		out = "1000"
	case strings.Contains(s, "pg_signal_backend"): // the restore's privilege check: a superuser, and the version
		out = "postgres\tt\tt\tf\tt\t\t160004"
	case strings.Contains(s, "select 0, current_setting('server_version') union all select 1, datname"): // the backup's first query
		out = "0\t16.4\n1\tdefault"
	case strings.Contains(s, "current_setting('server_version')"):
		out = "16.4\t160004"
	case strings.Contains(s, "select datname"):
		out = "default"
	case strings.Contains(s, "query_to_xml"):
		out = "public.person\t3"
	case strings.Contains(s, "pg_dump"):
		out = "fake dump"
	default:
		var code int
		out, code, _ = w.Answer(append([]string{name}, args...), tag)
		if code != 0 {
			fmt.Fprintln(os.Stderr, out)
			return code
		}
	}
	fmt.Println(out)
	return 0
}

// fakeTwenty answers the health endpoints from the fake world: a version in
// $FAKE_BROKEN starts but its database check fails.
func fakeTwenty(t *testing.T, dir, broken string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w := loadWorld(dir)
		switch {
		case w.Running == "":
			rw.WriteHeader(http.StatusBadGateway)
		case r.URL.Path == "/healthz/database" && w.Running == broken:
			rw.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(rw, `{"status":"error"}`)
		case r.URL.Path == "/graphql":
			fmt.Fprint(rw, `{"data":{"__typename":"Query"}}`)
		case r.URL.Path == "/client-config":
			fmt.Fprintf(rw, `{"appVersion":%q}`, w.Running)
		default:
			fmt.Fprint(rw, `{"status":"ok"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// fakeReleases is the release feed of fakeInstall: old enough for the
// default min_age.
const fakeReleases = "v1.0.0 2026-01-05T10:00:00Z\nv1.1.0 2026-01-20T10:00:00Z\n"

// fakeInstall writes a config, .env and world on v1.0.0 with the release
// feed fakeReleases, and puts the fakes on PATH.
func fakeInstall(t *testing.T, mode, broken string) (dir, cfgPath string) {
	return fakeInstallAt(t, mode, broken, "v1.0.0", fakeReleases)
}

// fakeInstallAt is fakeInstall on version from with the release feed
// releases (the file dir/releases.txt). [release] is the config's last
// table: lines appended to the file without a header extend it.
func fakeInstallAt(t *testing.T, mode, broken, from, releases string) (dir, cfgPath string) {
	dir = t.TempDir()
	bin := filepath.Join(dir, "bin")
	must(t, os.Mkdir(bin, 0o700))
	for _, tool := range []string{"docker", "git", "yarn", "npx"} {
		must(t, os.Symlink(os.Args[0], filepath.Join(bin, tool)))
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("FAKE_DIR", dir)
	t.Setenv("FAKE_MISSING", "v1.9.9")
	must(t, os.WriteFile(filepath.Join(dir, ".env"), []byte("# Twenty\nTAG="+from+"\nAPP_SECRET=s\n"), 0o600))
	must(t, os.MkdirAll(filepath.Join(dir, "packages", "twenty-server"), 0o700)) // source mode runs server scripts there
	saveWorld(dir, installtest.NewWorld(from, mode == "source"))
	feed := filepath.Join(dir, "releases.txt")
	must(t, os.WriteFile(feed, []byte(releases), 0o600))
	url := fakeTwenty(t, dir, broken)
	cfgPath = filepath.Join(dir, "config.toml")
	must(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`[install]
mode = %q
dir = %q
compose_command = ["docker", "compose"]
[backup]
dir = %q
verify = "none"
files = "none"
[health]
url = %q
timeout = "1s"
stable_for = "0s"
interval = "50ms"
[daemon]
state_dir = %q
[release]
source = "file"
file = %q
`, mode, dir, filepath.Join(dir, "backups"), url, filepath.Join(dir, "state"), feed)), 0o600))
	return dir, cfgPath
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func argvLog(t *testing.T, dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "argv.log"))
	return string(b)
}

func TestUpgradeDryRun(t *testing.T) {
	dir, cfg := fakeInstall(t, "compose", "")
	out, errOut, code := runCLI(t, "--config", cfg, "upgrade", "--to", "v1.1.0", "--dry-run", "--yes")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"dry run: compose upgrade v1.0.0 → v1.1.0",
		"run:  TAG=v1.1.0 docker compose --project-name twenty --project-directory " + dir + " pull server worker",
		"run:  docker compose --project-name twenty --project-directory " + dir + " stop server worker",
		"write TAG=v1.1.0 into " + filepath.Join(dir, ".env"),
		"health gate on v1.1.0",
		"rollback in reverse order: commit, health, start, switch, backup, stop, pull, preflight",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	log := argvLog(t, dir)
	for _, write := range []string{" pull ", " stop ", " up ", "pg_dump"} {
		if strings.Contains(log, write) {
			t.Errorf("dry run executed a write (%q):\n%s", write, log)
		}
	}
	if tag := installtest.EnvValue(filepath.Join(dir, ".env"), "TAG"); tag != "v1.0.0" {
		t.Errorf("dry run changed TAG to %s", tag)
	}
}

func TestUpgradeCompose(t *testing.T) {
	dir, cfg := fakeInstall(t, "compose", "")
	out, errOut, code := runCLI(t, "--config", cfg, "upgrade", "--to", "v1.1.0", "--yes")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "v1.0.0 → v1.1.0: success") || loadWorld(dir).Running != "v1.1.0" {
		t.Errorf("out %s world %+v", out, loadWorld(dir))
	}
	log := argvLog(t, dir)
	// v1.1.0 has no upgrade:status (it came with v1.22): the gate leaves it out.
	if strings.Contains(log, "upgrade:status") || !strings.Contains(errOut, "check=upgrade_status") {
		t.Errorf("upgrade:status asked of v1.1.0, or not said to be left out:\n%s\n%s", log, errOut)
	}
	order := []string{"TAG=v1.1.0 docker compose", "stop server worker", "pg_dump", "up -d"}
	last := -1
	for _, w := range order {
		i := strings.Index(log, w)
		if i < last {
			t.Errorf("%q out of order in:\n%s", w, log)
		}
		last = i
	}
	st, _ := state.Open(filepath.Join(dir, "state"))
	h, _ := st.History()
	if len(h) != 1 || h[0].Result != "success" || h[0].Backup == "" {
		t.Errorf("history %+v", h)
	}
}

func TestUpgradeBrokenReleaseRollsBack(t *testing.T) {
	dir, cfg := fakeInstall(t, "compose", "v1.1.0")
	out, errOut, code := runCLI(t, "--config", cfg, "upgrade", "--to", "v1.1.0", "--yes")
	if code != exitRolledBack {
		t.Fatalf("exit %d, want 3\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "database: GET /healthz/database: HTTP 503") {
		t.Errorf("error does not name the failing check:\n%s", errOut)
	}
	w := loadWorld(dir)
	tag := installtest.EnvValue(filepath.Join(dir, ".env"), "TAG")
	if w.Running != "v1.0.0" || tag != "v1.0.0" {
		t.Errorf("after rollback: running %s, TAG %s", w.Running, tag)
	}
	if log := argvLog(t, dir); !strings.Contains(log, "docker tag sha256:img-v1.0.0 twentycrm/twenty:v1.0.0") {
		t.Errorf("old image not pinned:\n%s", log)
	}
	// the broken version is now refused: held, exit 4
	if _, errOut, code := runCLI(t, "--config", cfg, "upgrade", "--to", "v1.1.0", "--yes"); code != exitHeld || !strings.Contains(errOut, "bad-versions") {
		t.Errorf("retry of a bad version: exit %d %s", code, errOut)
	}
}

func TestUpgradeMissingTagChangesNothing(t *testing.T) {
	dir, cfg := fakeInstallAt(t, "compose", "", "v1.0.0", "v1.9.9 2026-01-20T10:00:00Z\n")
	_, errOut, code := runCLI(t, "--config", cfg, "upgrade", "--to", "v1.9.9", "--yes")
	if code != exitFailed || !strings.Contains(errOut, "manifest unknown") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if log := argvLog(t, dir); strings.Contains(log, " stop ") {
		t.Errorf("downtime for a missing tag:\n%s", log)
	}
}

func TestUpgradeSource(t *testing.T) {
	dir, cfg := fakeInstall(t, "source", "")
	out, errOut, code := runCLI(t, "--config", cfg, "upgrade", "--to", "v1.1.0", "--yes")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	log := argvLog(t, dir)
	for _, w := range []string{"git fetch --all --tags", "compose --project-name twenty --project-directory " + dir + " stop server worker",
		"checkout refs/tags/v1.1.0", "yarn install", "npx nx build twenty-server", "yarn database:migrate:prod",
		"yarn command:prod upgrade\n", "yarn command:prod cache:flush", "up -d --build"} {
		if !strings.Contains(log, w) {
			t.Errorf("argv log lacks %q:\n%s", w, log)
		}
	}
	if w := loadWorld(dir); w.Running != "v1.1.0" {
		t.Errorf("world %+v", w)
	}
}

func TestUpgradeUsage(t *testing.T) {
	_, cfg := fakeInstall(t, "compose", "")
	if _, errOut, code := runCLI(t, "--config", cfg, "upgrade", "--to", "1.2"); code != exitUsage || !strings.Contains(errOut, "--to") {
		t.Errorf("bad --to: exit %d %s", code, errOut)
	}
	if _, errOut, code := runCLI(t, "--config", cfg, "rollback"); code != exitFailed || !strings.Contains(errOut, "nothing to roll back") {
		t.Errorf("rollback with empty history: exit %d %s", code, errOut)
	}
}

func TestHooks(t *testing.T) {
	t.Run("failing pre_upgrade cancels before downtime", func(t *testing.T) {
		dir, cfg := fakeInstall(t, "compose", "")
		appendFile(t, cfg, "[hooks]\npre_upgrade = [\"yarn\", \"hook-fail\"]\non_failure = [\"yarn\", \"hook-failure\"]\n")
		_, errOut, code := runCLI(t, "--config", cfg, "upgrade", "--to", "v1.1.0", "--yes")
		if code != exitFailed || !strings.Contains(errOut, "pre_upgrade hook cancels") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if log := argvLog(t, dir); strings.Contains(log, " stop ") {
			t.Errorf("downtime despite the failing hook:\n%s", log)
		}
		hooks, _ := os.ReadFile(filepath.Join(dir, "hooks.log"))
		if want := "hook-fail v1.0.0 v1.1.0 pending false\nhook-failure v1.0.0 v1.1.0 failed false\n"; string(hooks) != want {
			t.Errorf("hooks ran as\n%s\nwant\n%s", hooks, want)
		}
	})
	t.Run("on_rollback gets the versions, result and backup", func(t *testing.T) {
		dir, cfg := fakeInstall(t, "compose", "v1.1.0")
		appendFile(t, cfg, "[hooks]\non_rollback = [\"yarn\", \"hook-rollback\"]\n")
		if _, errOut, code := runCLI(t, "--config", cfg, "upgrade", "--to", "v1.1.0", "--yes"); code != exitRolledBack {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		hooks, _ := os.ReadFile(filepath.Join(dir, "hooks.log"))
		if want := "hook-rollback v1.0.0 v1.1.0 rolled_back true\n"; string(hooks) != want {
			t.Errorf("hooks ran as %q, want %q", hooks, want)
		}
	})
}

func appendFile(t *testing.T, p, s string) {
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteString(s)
	must(t, err)
	must(t, f.Close())
}

// issue14Releases: the feed of issue 14's report, every release old enough.
const issue14Releases = `v1.19.0 2026-01-01T10:00:00Z
v1.19.5 2026-01-02T10:00:00Z
v1.20.3 2026-01-03T10:00:00Z
v1.21.2 2026-01-04T10:00:00Z
v1.22.6 2026-01-05T10:00:00Z
v1.23.1 2026-01-06T10:00:00Z
v2.0.0 2026-01-07T10:00:00Z
v2.43.1 2026-01-08T10:00:00Z
`

// TestUpgradeToObeysPolicy (issue 14 §3): --to follows the path and the
// policy the daemon plans with; each refusal names the rule, its key and
// the fix, holds (exit 4) and changes nothing.
func TestUpgradeToObeysPolicy(t *testing.T) {
	for _, tc := range []struct {
		name, from, extra string
		args              []string
		want              []string // in stderr
	}{
		{"one hop over the sequential path", "v1.19.0", "", []string{"--to", "v2.43.1", "--yes"}, []string{
			"--to v2.43.1 is refused by the policy (installed: v1.19.0)",
			"not_next_hop (release.sequential_below): below v1.23.0 Twenty must visit every minor in order: the path is v1.19.0 → v1.20.3 → v1.21.2 → v1.22.6 → v1.23.1 → v2.43.1 (5 transactions); v1.20.3 comes first",
			"run first: twenty-upgraded --config CONFIG upgrade --to v1.20.3 --yes",
			"--force installs it anyway",
		}},
		{"a skipped version", "v1.19.0", "skip = [\"v1.20.3\"]\n", []string{"--to", "v1.20.3", "--yes"}, []string{
			"skipped (release.skip): skipped by config (release.skip)", "remove v1.20.3 from release.skip",
		}},
		{"outside the constraint", "v1.19.0", "constraint = \"<v1.20.0\"\n", []string{"--to", "v1.20.3", "--yes"}, []string{
			"outside_constraint (release.constraint): outside constraint <v1.20.0", "widen release.constraint",
		}},
		{"a version the source never listed", "v1.19.0", "", []string{"--to", "v1.20.9", "--yes"}, []string{
			"not_listed (release.source): the release source does not list v1.20.9",
			`twenty-upgraded check shows what the release source (release.source = "file") lists`,
		}},
		{"a major step without approval", "v1.23.1", "", []string{"--to", "v2.0.0"}, []string{
			"needs_approval (release.track): major upgrade needs approval (track = minor)", "approve it with --yes",
		}},
		{"too new", "v1.23.1", "min_age = \"1000000h\"\n", []string{"--to", "v2.0.0", "--yes"}, []string{
			"too_new (release.min_age): too new: released", "it is old enough at 2140-02-06T02:00:00Z (release.min_age)",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, cfg := fakeInstallAt(t, "compose", "", tc.from, issue14Releases)
			appendFile(t, cfg, tc.extra)
			out, errOut, code := runCLI(t, append([]string{"--config", cfg, "upgrade"}, tc.args...)...)
			if code != exitHeld {
				t.Fatalf("exit %d, want 4\n%s%s", code, out, errOut)
			}
			for _, w := range tc.want {
				if w = strings.ReplaceAll(w, "CONFIG", cfg); !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if log := argvLog(t, dir); strings.Contains(log, " pull ") || strings.Contains(log, " stop ") {
				t.Errorf("a refused target was pulled or stopped Twenty:\n%s", log)
			}
			if w := loadWorld(dir); w.Running != tc.from {
				t.Errorf("running %s after a refusal", w.Running)
			}
		})
	}
	t.Run("the next hop goes ahead", func(t *testing.T) {
		dir, cfg := fakeInstallAt(t, "compose", "", "v1.19.0", issue14Releases)
		if out, errOut, code := runCLI(t, "--config", cfg, "upgrade", "--to", "v1.20.3", "--yes"); code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		if w := loadWorld(dir); w.Running != "v1.20.3" {
			t.Errorf("running %s", w.Running)
		}
	})
}

// TestUpgradeForce: --force lets a refused target through, printing each
// rule it overrides and recording them in history; it never overrides
// bad-versions.
func TestUpgradeForce(t *testing.T) {
	dir, cfg := fakeInstallAt(t, "compose", "", "v1.19.0", issue14Releases)
	appendFile(t, cfg, "skip = [\"v2.43.1\"]\n")
	out, errOut, code := runCLI(t, "--config", cfg, "upgrade", "--to", "v2.43.1", "--yes", "--force")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, w := range []string{
		"--force: installing v2.43.1 although the policy refuses it; overriding:\n" +
			"  skipped (release.skip): skipped by config (release.skip)\n" +
			"  not_next_hop (release.sequential_below): below v1.23.0 Twenty must visit every minor in order",
		"v1.19.0 → v2.43.1: success",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}
	if w := loadWorld(dir); w.Running != "v2.43.1" {
		t.Errorf("running %s", w.Running)
	}
	st, _ := state.Open(filepath.Join(dir, "state"))
	if h, _ := st.History(); len(h) != 1 || h[0].Facts.Forced != "skipped,not_next_hop" {
		t.Errorf("history does not record the overrides: %+v", h)
	}

	t.Run("not bad-versions", func(t *testing.T) {
		dir, cfg := fakeInstallAt(t, "compose", "", "v1.19.0", issue14Releases)
		st, _ := state.Open(filepath.Join(dir, "state"))
		must(t, st.MarkBad(version.MustParse("v1.20.3"), "rolled back"))
		_, errOut, code := runCLI(t, "--config", cfg, "upgrade", "--to", "v1.20.3", "--yes", "--force")
		if code != exitHeld || !strings.Contains(errOut, "failed_here ("+filepath.Join(dir, "state", "bad-versions")+"): failed here before: rolled back") ||
			!strings.Contains(errOut, "--force does not override failed_here") {
			t.Errorf("exit %d:\n%s", code, errOut)
		}
		if log := argvLog(t, dir); strings.Contains(log, " pull ") {
			t.Errorf("pulled:\n%s", log)
		}
	})
	t.Run("needs --to", func(t *testing.T) {
		_, cfg := fakeInstallAt(t, "compose", "", "v1.19.0", issue14Releases)
		if _, errOut, code := runCLI(t, "--config", cfg, "upgrade", "--force"); code != exitUsage || !strings.Contains(errOut, "--force needs --to") {
			t.Errorf("exit %d: %s", code, errOut)
		}
	})
}

// TestUpgradeYesApproves: without --to, --yes is approval (docs/policy.md)
// and takes the approved plan's first hop, like POST /api/v1/approve.
func TestUpgradeYesApproves(t *testing.T) {
	dir, cfg := fakeInstallAt(t, "compose", "", "v1.23.1", issue14Releases)
	out, errOut, code := runCLI(t, "--config", cfg, "upgrade", "--yes")
	if code != 0 || !strings.Contains(out, "--yes approves v2.43.1: the path is v1.23.1 → v2.43.1") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if w := loadWorld(dir); w.Running != "v2.43.1" {
		t.Errorf("running %s", w.Running)
	}
}

// TestDryRunSaysHeld (issue 14 §3): the dry run makes the checks the real
// run makes before it starts; where the real run would be held it still
// prints the plan, says the real run would be held and why, and exits 4.
func TestDryRunSaysHeld(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		args        []string
		bad         string
		want        []string
	}{
		{"in bad-versions", "", []string{"--to", "v1.20.3", "--yes"}, "v1.20.3", []string{
			"HELD: a real run would not start: held: --to v1.20.3 is refused by the policy",
			"failed_here (", "failed here before: rolled back", "--force does not override failed_here",
		}},
		{"skipped", "skip = [\"v1.20.3\"]\n", []string{"--to", "v1.20.3", "--yes"}, "", []string{
			"HELD: a real run would not start: held: --to v1.20.3 is refused by the policy", "skipped (release.skip)",
		}},
		{"beyond the next hop", "", []string{"--to", "v1.22.6", "--yes"}, "", []string{
			"HELD: a real run would not start", "v1.20.3 comes first", "run first: twenty-upgraded --config CONFIG upgrade --to v1.20.3 --yes",
		}},
		{"awaiting approval", "[window]\nrequire_approval = true\n", []string{"--to", "v1.20.3"}, "", []string{
			"HELD: a real run would not start: held: window.require_approval is set: approve with upgrade --yes",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, cfg := fakeInstallAt(t, "compose", "", "v1.19.0", issue14Releases)
			appendFile(t, cfg, tc.extra)
			if tc.bad != "" {
				st, _ := state.Open(filepath.Join(dir, "state"))
				must(t, st.MarkBad(version.MustParse(tc.bad), "rolled back"))
			}
			out, errOut, code := runCLI(t, append([]string{"--config", cfg, "upgrade", "--dry-run"}, tc.args...)...)
			if code != exitHeld {
				t.Fatalf("exit %d, want 4 (held, as the real run)\n%s%s", code, out, errOut)
			}
			for _, w := range append(tc.want, "dry run: compose upgrade v1.19.0 → ", "8. commit") {
				if w = strings.ReplaceAll(w, "CONFIG", cfg); !strings.Contains(out, w) {
					t.Errorf("dry run lacks %q:\n%s", w, out)
				}
			}
			if !strings.Contains(errOut, "dry run: the real run would be held") {
				t.Errorf("stderr: %s", errOut)
			}
			if log := argvLog(t, dir); strings.Contains(log, " pull ") {
				t.Errorf("dry run pulled:\n%s", log)
			}
		})
	}
	t.Run("what --force overrides", func(t *testing.T) {
		_, cfg := fakeInstallAt(t, "compose", "", "v1.19.0", issue14Releases)
		out, errOut, code := runCLI(t, "--config", cfg, "upgrade", "--dry-run", "--to", "v1.22.6", "--yes", "--force")
		if code != 0 || !strings.Contains(out, "--force: installing v1.22.6 although the policy refuses it; overriding:\n  not_next_hop") ||
			!strings.Contains(out, "--force overrides the policy's not_next_hop") || strings.Contains(out, "HELD") {
			t.Errorf("exit %d\n%s%s", code, out, errOut)
		}
	})
}

// TestDryRunShowsBackupCommands (issue 14 §3): the backup step shows its
// commands like every other step: the exact pg_dump argv of each database
// on the server and the file it writes, then the files archive and copies.
func TestDryRunShowsBackupCommands(t *testing.T) {
	for _, mode := range []string{"compose", "source"} {
		t.Run(mode, func(t *testing.T) {
			dir, cfg := fakeInstall(t, mode, "")
			b, err := os.ReadFile(cfg)
			must(t, err)
			must(t, os.WriteFile(cfg, []byte(strings.Replace(string(b), "files = \"none\"\n", "", 1)), 0o600)) // the default location
			files := "the volume twenty_server-local-data > files.tar   (read from its host folder " + filepath.Join(dir, "volumes", "twenty_server-local-data")
			if mode == "source" {
				files = filepath.Join(dir, "packages", "twenty-server", ".local-storage")
				must(t, os.MkdirAll(files, 0o700))
				files += " > files.tar   (by twenty-upgraded itself"
			}
			out, errOut, code := runCLI(t, "--config", cfg, "upgrade", "--to", "v1.1.0", "--dry-run", "--yes")
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
			for _, w := range []string{
				"  backup of v1.0.0 into a new set in " + filepath.Join(dir, "backups") + ":\n",
				// On the db container's ID (the fake compose ps answers db-cid), as Create runs them.
				"  run:  docker exec -i db-cid pg_dump -U postgres -d default --format=custom --compress=0 > db-default.dump\n",
				"  run:  docker exec -i db-cid pg_dumpall -U postgres --globals-only > globals.sql\n",
				"  do:   tar of " + files,
				"  do:   copy " + filepath.Join(dir, ".env") + " > env\n",
				"  do:   verify the set (backup.verify = none)\n",
			} {
				if !strings.Contains(out, w) {
					t.Errorf("dry run lacks %q:\n%s", w, out)
				}
			}
			if log := argvLog(t, dir); strings.Contains(log, "pg_dump ") || strings.Contains(log, "pg_dumpall ") {
				t.Errorf("dry run dumped:\n%s", log)
			}
		})
	}
}

// interrupt runs `upgrade --to v1.1.0 --yes` and cancels it (as SIGTERM or
// Ctrl-C would) once it reaches hang:step: the transaction stays open in
// state.json, exactly like a crash there.
func interrupt(t *testing.T, cfg, step string) {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "ready")
	t.Setenv(steps.EnvTesting, "1")
	t.Setenv(steps.EnvInject, "hang:"+step)
	t.Setenv(steps.EnvInjectReady, ready)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			if _, err := os.Stat(ready); err == nil {
				cancel()
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"--config", cfg, "upgrade", "--to", "v1.1.0", "--yes"}, strings.NewReader(""), &out, &errb); code != exitFailed ||
		!strings.Contains(errb.String(), "stays open at step "+step) {
		t.Fatalf("interrupted upgrade: exit %d\n%s%s", code, out.String(), errb.String())
	}
	t.Setenv(steps.EnvInject, "")
}

// TestUpgradeAfterResume (issue 14 §3): an interrupted transaction that had
// changed nothing is closed and the requested upgrade goes on; one the
// resume rolls back still stops, saying what it rolled back (exit 3).
func TestUpgradeAfterResume(t *testing.T) {
	t.Run("nothing had changed", func(t *testing.T) {
		dir, cfg := fakeInstall(t, "compose", "")
		interrupt(t, cfg, "pull")
		out, errOut, code := runCLI(t, "--config", cfg, "upgrade", "--to", "v1.1.0", "--yes")
		if code != 0 {
			t.Fatalf("exit %d, want 0 (go on)\n%s%s", code, out, errOut)
		}
		if !strings.Contains(out, "v1.0.0 → v1.1.0: failed in") ||
			!strings.Contains(out, "it had changed nothing (Twenty was never stopped) and is closed; going on with this upgrade") ||
			!strings.Contains(out, "v1.0.0 → v1.1.0: success") {
			t.Errorf("stdout:\n%s", out)
		}
		if w := loadWorld(dir); w.Running != "v1.1.0" {
			t.Errorf("running %s", w.Running)
		}
		st, _ := state.Open(filepath.Join(dir, "state"))
		if h, _ := st.History(); len(h) != 2 || h[0].Result != state.ResultFailed || h[1].Result != state.ResultSuccess {
			t.Errorf("history %+v", h)
		}
	})
	t.Run("the resume rolled back", func(t *testing.T) {
		dir, cfg := fakeInstall(t, "compose", "")
		interrupt(t, cfg, "backup") // after stop: Twenty is down
		before := len(argvLog(t, dir))
		out, errOut, code := runCLI(t, "--config", cfg, "upgrade", "--to", "v1.1.0", "--yes")
		if code != exitRolledBack {
			t.Fatalf("exit %d, want 3\n%s%s", code, out, errOut)
		}
		if !strings.Contains(out, "v1.0.0 → v1.1.0: rolled_back") ||
			!strings.Contains(errOut, "was resumed first and rolled back, so v1.0.0 runs again; nothing was done for this upgrade: run it again") {
			t.Errorf("stdout:\n%s\nstderr:\n%s", out, errOut)
		}
		if w := loadWorld(dir); w.Running != "v1.0.0" {
			t.Errorf("running %s", w.Running)
		}
		if log := argvLog(t, dir)[before:]; strings.Contains(log, " pull ") {
			t.Errorf("the upgrade went on after a rollback:\n%s", log)
		}
		st, _ := state.Open(filepath.Join(dir, "state"))
		if h, _ := st.History(); len(h) != 1 || h[0].Result != state.ResultRolledBack {
			t.Errorf("history %+v", h)
		}
	})
}

// TestUpgradeHonoursTheDaemonsApproval (issue 13: one decision rule): the
// CLI's upgrade decides with the daemon's rule, so an approval given to the
// daemon (approval.json, POST /api/v1/approve) lets it start without --yes;
// the old inWindow never read approvals and held it.
func TestUpgradeHonoursTheDaemonsApproval(t *testing.T) {
	dir, cfg := fakeInstallAt(t, "compose", "", "v1.19.0", issue14Releases)
	appendFile(t, cfg, "[window]\nrequire_approval = true\nschedule = \"* * * * *\"\nduration = \"2h\"\n")
	args := []string{"--config", cfg, "upgrade", "--dry-run", "--to", "v1.20.3"}
	if out, errOut, code := runCLI(t, args...); code != exitHeld || !strings.Contains(out, "window.require_approval is set") {
		t.Fatalf("unapproved: exit %d, want 4 naming require_approval\n%s%s", code, out, errOut)
	}
	st, err := state.Open(filepath.Join(dir, "state"))
	must(t, err)
	must(t, st.SetApproval(&state.Approval{Version: version.MustParse("v1.20.3"), ApprovedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), By: "api"}))
	if out, errOut, code := runCLI(t, args...); code != 0 || strings.Contains(out, "HELD") {
		t.Fatalf("approved through the daemon: exit %d, want 0\n%s%s", code, out, errOut)
	}
}
