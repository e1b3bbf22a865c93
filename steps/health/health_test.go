package health

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install/installtest"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

func TestTracker(t *testing.T) {
	start := time.Unix(0, 0)
	ok := []Result{{Check: "a", OK: true}}
	bad := []Result{{Check: "a", Answer: "HTTP 503"}}
	fatal := []Result{{Check: "log", Fatal: true, Answer: "Upgrade failed"}}
	at := func(s int) time.Time { return start.Add(time.Duration(s) * time.Second) }
	type obs struct {
		t  int
		rs []Result
	}
	for _, tc := range []struct {
		name    string
		rounds  []obs
		done    bool
		errWant string
	}{
		{"stable", []obs{{0, ok}, {30, ok}, {60, ok}}, true, ""},
		{"not yet stable", []obs{{0, ok}, {30, ok}}, false, ""},
		{"a failing round restarts the clock", []obs{{0, ok}, {50, bad}, {55, ok}, {100, ok}}, false, ""},
		{"fatal fails at once", []obs{{0, ok}, {5, fatal}}, false, "failed fast on check log"},
		{"timeout names the failing check", []obs{{0, bad}, {600, bad}}, false, "a: HTTP 503"},
		{"timeout while stabilising", []obs{{0, bad}, {590, ok}, {600, ok}}, false, "passing for only 10s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &Tracker{StableFor: 60 * time.Second, Timeout: 600 * time.Second, Start: start}
			var done bool
			var err error
			for _, o := range tc.rounds {
				if done, err = tr.Observe(at(o.t), o.rs); done || err != nil {
					break
				}
			}
			if done != tc.done {
				t.Errorf("done = %v", done)
			}
			if (err == nil) != (tc.errWant == "") || err != nil && !strings.Contains(err.Error(), tc.errWant) {
				t.Errorf("err = %v, want %q", err, tc.errWant)
			}
		})
	}
}

func TestJudges(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  Result
		ok   bool
	}{
		{"upgrade:status clean", UpgradeStatus("Instance: Up to date\nWorkspaces: 3 up to date, 0 behind, 0 failed\n"), true},
		{"upgrade:status colored", UpgradeStatus("\x1b[32mInstance: Up to date\x1b[0m\n3 up to date, 0 behind, 0 failed"), true},
		{"upgrade:status behind", UpgradeStatus("Instance: Up to date\n2 up to date, 10 behind, 0 failed"), false},
		{"upgrade:status failed", UpgradeStatus("Instance: Up to date\n2 up to date, 0 behind, 1 failed"), false},
		{"upgrade:status instance behind", UpgradeStatus("Instance: 1 migration pending\n0 behind, 0 failed"), false},
		{"upgrade:status as Twenty prints it", UpgradeStatus("APP_VERSION: v1.23.0\n\nInstance\n  Status:           Up to date\n\nSummary\n  Instance: Up to date\n  Workspaces: 2 up to date, 0 behind, 0 failed (2 total)\n"), true},
		{"upgrade:status no workspaces", UpgradeStatus("APP_VERSION: v1.23.0\n  Instance: Up to date\n  No workspaces\n"), true},
		{"upgrade:status no workspaces, instance behind", UpgradeStatus("  Instance: Behind\n  No workspaces\n"), false},
		{"upgrade:status internal error (exit 0)", UpgradeStatus("Failed to retrieve upgrade status: connect ECONNREFUSED\n"), false},
		{"upgrade:status one failed", UpgradeStatus("  Instance: Up to date\n  Workspaces: 1 up to date, 0 behind, 1 failed (2 total)\n    1 failed at: 1-23-x\n"), false},
		{"graphql key, data", GraphQLAnswer(200, []byte(`{"data":{"__typename":"Query"}}`), true), true},
		{"graphql key, errors", GraphQLAnswer(200, []byte(`{"errors":[{"message":"Unauthenticated"}]}`), true), false},
		{"graphql key, 500", GraphQLAnswer(500, []byte(`{"errors":[{"message":"Internal server error"}]}`), true), false},
		{"graphql anonymous, empty schema", GraphQLAnswer(200, []byte(`{"errors":[{"message":"Schema is not configured to execute query operation."}]}`), false), true},
		{"graphql anonymous, data (core schema merged)", GraphQLAnswer(200, []byte(`{"data":{"__typename":"Query"}}`), false), true},
		{"graphql anonymous, 400 with errors", GraphQLAnswer(400, []byte(`{"errors":[{"message":"x"}]}`), false), true},
		{"graphql anonymous, 500", GraphQLAnswer(500, []byte(`{"errors":[{"message":"Internal server error"}]}`), false), false},
		{"graphql anonymous, 502 from a proxy", GraphQLAnswer(502, []byte(`<html>bad gateway</html>`), false), false},
		{"graphql anonymous, HTML 200", GraphQLAnswer(200, []byte(`<html>front</html>`), false), false},
		{"graphql anonymous, JSON without data or errors", GraphQLAnswer(200, []byte(`{"status":"ok"}`), false), false},
		{"container healthy", ContainerState("running healthy"), true},
		{"container no healthcheck", ContainerState("running none"), true},
		{"container starting", ContainerState("running starting"), false},
		{"container exited", ContainerState("exited none"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got.OK != tc.ok {
				t.Errorf("OK = %v (answer %q)", tc.got.OK, tc.got.Answer)
			}
		})
	}
	r, tail := LogResult("boot\nSuccessfully migrated DB!\n")
	if !r.OK || r.Fatal || len(tail) != 2 {
		t.Errorf("clean log: %+v %v", r, tail)
	}
	r, _ = LogResult("x\n[Nest] Upgrade completed with 2 workspace failure(s)\n")
	if !r.Fatal || !strings.Contains(r.Answer, "workspace failure") {
		t.Errorf("failure line: %+v", r)
	}
}

func TestFindKey(t *testing.T) {
	var doc any
	_ = json.Unmarshal([]byte(`{"clientConfig":{"flags":[1],"meta":{"appVersion":"v1.23.0"}}}`), &doc)
	if v, ok := FindKey(doc, "appVersion"); !ok || v != "v1.23.0" {
		t.Errorf("nested: %q %v", v, ok)
	}
	if _, ok := FindKey(map[string]any{"x": []any{1.0}}, "appVersion"); ok {
		t.Error("found a missing key")
	}
}

// twenty is an httptest look-alike of Twenty's health endpoints.
type fakeTwenty struct {
	auth     atomic.Value // string: the last Authorization header on /graphql
	version  atomic.Value // string
	dbDown   atomic.Bool
	requests atomic.Int64
}

func (tw *fakeTwenty) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"status":"ok"}`)) })
	mux.HandleFunc("GET /healthz/database", func(w http.ResponseWriter, r *http.Request) {
		if tw.dbDown.Load() {
			w.WriteHeader(503)
			w.Write([]byte(`{"status":"error","info":{"database":"down"}}`))
			return
		}
		w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("GET /healthz/worker", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"status":"ok"}`)) })
	mux.HandleFunc("GET /healthz/app", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"status":"ok"}`)) })
	mux.HandleFunc("POST /graphql", func(w http.ResponseWriter, r *http.Request) {
		tw.auth.Store(r.Header.Get("Authorization"))
		if r.Header.Get("Authorization") == "" {
			// Twenty without a workspace: the empty schema (docs/twenty.md).
			w.Write([]byte(`{"errors":[{"message":"Schema is not configured to execute query operation."}]}`))
			return
		}
		w.Write([]byte(`{"data":{"__typename":"Query"}}`))
	})
	mux.HandleFunc("GET /client-config", func(w http.ResponseWriter, r *http.Request) {
		tw.requests.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"clientConfig": map[string]any{"appVersion": tw.version.Load()}})
	})
	return mux
}

func newGate(t *testing.T, url string, checks []string, logs string) (*Gate, *time.Time) {
	now := time.Unix(1000, 0)
	fake := &proc.Fake{Respond: func(c proc.Cmd) (proc.Result, error) {
		if res, ok, err := installtest.Answer(c); ok {
			return res, err
		}
		s := strings.Join(c.Argv, " ")
		switch {
		case strings.Contains(s, "ps -q"):
			return proc.Result{Stdout: []byte("cid\n")}, nil
		case strings.Contains(s, "docker inspect"):
			return proc.Result{Stdout: []byte("sha256:abc twentycrm/twenty:v1.1.0 running healthy\nAPP_VERSION=v1.1.0\n")}, nil
		case strings.Contains(s, "upgrade:status"):
			return proc.Result{Stdout: []byte("Instance: Up to date\n1 up to date, 0 behind, 0 failed\n")}, nil
		case strings.Contains(s, " logs "):
			return proc.Result{Stdout: []byte(logs)}, nil
		}
		return proc.Fail(c, 1, "unexpected")
	}}
	g := &Gate{Cfg: config.Health{URL: url, Timeout: time.Minute, StableFor: 10 * time.Second, Interval: 5 * time.Second, Checks: checks},
		Runner: fake, In: openInstall(t, fake), Now: func() time.Time { return now }, CommandTimeout: time.Second}
	g.Sleep = func(ctx context.Context, d time.Duration) error { now = now.Add(d); return ctx.Err() }
	return g, &now
}

func TestGateWait(t *testing.T) {
	tw := &fakeTwenty{}
	tw.version.Store("v1.1.0")
	srv := httptest.NewServer(tw.handler())
	defer srv.Close()
	want := version.MustParse("v1.1.0")

	t.Run("healthy", func(t *testing.T) {
		g, _ := newGate(t, srv.URL, config.AllChecks(), "Successfully migrated DB!\n")
		if err := g.Wait(context.Background(), want, time.Unix(900, 0)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wrong version times out naming it", func(t *testing.T) {
		g, now := newGate(t, srv.URL, config.AllChecks(), "line1\nline2\n")
		start := *now
		err := g.Wait(context.Background(), version.MustParse("v1.22.0"), time.Time{})
		var he *Error
		if !errors.As(err, &he) || !strings.Contains(err.Error(), `version: appVersion "v1.1.0", want v1.22.0`) ||
			!strings.Contains(err.Error(), "upgrade_status: not run until") || !strings.Contains(err.Error(), "line2") {
			t.Fatalf("err = %v", err)
		}
		if d := now.Sub(start); d < time.Minute {
			t.Errorf("gave up after %s, before the timeout", d)
		}
	})
	t.Run("failure line fails fast", func(t *testing.T) {
		g, now := newGate(t, srv.URL, config.AllChecks(), "Upgrade failed: column x\n")
		start := *now
		err := g.Wait(context.Background(), want, time.Time{})
		if err == nil || !strings.Contains(err.Error(), "Upgrade failed: column x") || now.Sub(start) > 0 {
			t.Fatalf("err = %v after %s", err, now.Sub(start))
		}
	})
	t.Run("database down", func(t *testing.T) {
		tw.dbDown.Store(true)
		defer tw.dbDown.Store(false)
		g, _ := newGate(t, srv.URL, []string{config.CheckHealthz, config.CheckDatabase}, "")
		err := g.Wait(context.Background(), want, time.Time{})
		if err == nil || !strings.Contains(err.Error(), "database: GET /healthz/database: HTTP 503") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("server down", func(t *testing.T) {
		g, _ := newGate(t, "http://127.0.0.1:1", []string{config.CheckHealthz}, "")
		if err := g.Wait(context.Background(), want, time.Time{}); err == nil || !strings.Contains(err.Error(), "healthz: GET /healthz") {
			t.Fatalf("err = %v", err)
		}
	})
}

// openInstall reads a compose install in a temp folder through the fake.
func openInstall(t *testing.T, r proc.Runner) *install.Install {
	t.Helper()
	cfg := config.Default()
	cfg.Install.Dir = t.TempDir()
	cfg.Install.EnvFile = filepath.Join(cfg.Install.Dir, ".env")
	if err := os.WriteFile(cfg.Install.EnvFile, []byte("TAG=v1.1.0\nAPP_SECRET=s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := install.Open(context.Background(), cfg, r)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestApplicable(t *testing.T) {
	all := config.AllChecks()
	for _, tc := range []struct {
		v       string
		left    []string
		notLeft []string
	}{
		{"v0.42.0", []string{"database", "worker", "app", "upgrade_status"}, []string{"healthz", "graphql", "version", "container", "log"}},
		{"v0.43.0", []string{"app", "upgrade_status"}, []string{"database", "worker"}},
		{"v1.21.2", []string{"upgrade_status"}, []string{"database", "worker", "app"}},
		{"v1.22.0", nil, []string{"upgrade_status", "app"}},
		{"v2.7.0", nil, all},
	} {
		run, left := Applicable(version.MustParse(tc.v), all)
		leftNames := map[string]string{}
		for _, l := range left {
			leftNames[l.Check] = l.Why
			if l.Why == "" || !strings.Contains(l.Why, tc.v) {
				t.Errorf("%s: %s left out without a reason naming the version: %q", tc.v, l.Check, l.Why)
			}
		}
		for _, c := range tc.left {
			if _, ok := leftNames[c]; !ok {
				t.Errorf("%s: %s should be left out (run %v)", tc.v, c, run)
			}
		}
		for _, c := range tc.notLeft {
			if why, ok := leftNames[c]; ok {
				t.Errorf("%s: %s left out: %s", tc.v, c, why)
			}
		}
		if len(run)+len(left) != len(all) {
			t.Errorf("%s: %d run + %d left != %d configured", tc.v, len(run), len(left), len(all))
		}
	}
}

func TestGateAPIKeyAndVersionByAge(t *testing.T) {
	tw := &fakeTwenty{}
	tw.version.Store("v1.1.0")
	srv := httptest.NewServer(tw.handler())
	defer srv.Close()
	g, _ := newGate(t, srv.URL, []string{config.CheckGraphQL}, "")
	rs, _ := g.Round(context.Background(), version.MustParse("v1.1.0"), time.Time{}, []string{config.CheckGraphQL})
	if !rs[0].OK || tw.auth.Load() != "" || !strings.Contains(rs[0].Answer, "anonymous") {
		t.Errorf("anonymous: %+v, auth %q", rs[0], tw.auth.Load())
	}
	g.APIKey = "key-123"
	rs, _ = g.Round(context.Background(), version.MustParse("v1.1.0"), time.Time{}, []string{config.CheckGraphQL})
	if !rs[0].OK || tw.auth.Load() != "Bearer key-123" || strings.Contains(rs[0].Answer, "key-123") {
		t.Errorf("with key: %+v, auth %q", rs[0], tw.auth.Load())
	}
	// Below REST /client-config the version is the container's APP_VERSION
	// (the fake container says v1.1.0); no request reaches /client-config.
	before := tw.requests.Load()
	rs, _ = g.Round(context.Background(), version.MustParse("v0.54.0"), time.Time{}, []string{config.CheckVersion})
	if rs[0].OK || !strings.Contains(rs[0].Answer, `APP_VERSION "v1.1.0"`) || tw.requests.Load() != before {
		t.Errorf("v0.54 version check: %+v (client-config requests %d)", rs[0], tw.requests.Load()-before)
	}
}

func TestUpgradeStatusMissingCommand(t *testing.T) {
	missing := &proc.Fake{Respond: func(c proc.Cmd) (proc.Result, error) {
		if res, ok, err := installtest.Answer(c); ok {
			return res, err
		}
		return proc.Fail(c, 1, "error: unknown command 'upgrade:status'")
	}}
	g := &Gate{Runner: missing, In: openInstall(t, missing), CommandTimeout: time.Second}
	if r := g.upgradeStatus(context.Background(), version.MustParse("v1.22.4")); !r.OK {
		t.Errorf("v1.22.4 without the command failed: %+v", r)
	}
	if r := g.upgradeStatus(context.Background(), version.MustParse("v1.23.0")); r.OK {
		t.Errorf("v1.23.0 without the command passed: %+v", r)
	}
}
