// Package e2e runs the upgrade engine against the sandbox: a Twenty
// look-alike stack on the real Docker engine with a local registry
// (contrib/sandbox). Every scenario ends with Twenty healthy on a known
// version and every sentinel row and file present.
//
// The tests run with TWENTY_UPGRADED_E2E=1 (make engine-e2e); without it, or
// without a usable Docker, they skip and say why.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox"
	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox/scenarios"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/outcome"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps"
	"github.com/twenty-upgraded/twenty-upgraded/steps/backup"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

func needE2E(t *testing.T) {
	t.Helper()
	if os.Getenv("TWENTY_UPGRADED_E2E") != "1" {
		t.Skip("end-to-end on real Docker: set TWENTY_UPGRADED_E2E=1 (make engine-e2e)")
	}
}

// setup starts a stack on from with tags published, seeds sentinels and
// builds an engine configured for it.
func setup(t *testing.T, from string, publish ...string) (*sandbox.Stack, *steps.Engine, *state.Store) {
	return setupWith(t, sandbox.Options{Tag: from, Publish: append([]string{from}, publish...)})
}

func setupWith(t *testing.T, opts sandbox.Options) (*sandbox.Stack, *steps.Engine, *state.Store) {
	return setupEdit(t, opts, nil)
}

// seededStack starts a sandbox stack with its sentinel rows and files, and
// a config for it that keeps backups in root/backups.
func seededStack(t *testing.T, opts sandbox.Options) (s *sandbox.Stack, cfg config.Config, root string) {
	s = sandbox.Start(t, opts)
	if err := s.SeedSentinels(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg = config.Default()
	cfg.Install.Dir, cfg.Install.EnvFile, cfg.Install.Project = s.Dir, s.EnvFile, s.Project
	cfg.Install.ComposeCommand = s.ComposeCmd
	root = t.TempDir()
	cfg.Backup.Dir = filepath.Join(root, "backups")
	return s, cfg, root
}

// setupEdit is setupWith with a chance to change the config first.
func setupEdit(t *testing.T, opts sandbox.Options, edit func(*config.Config)) (*sandbox.Stack, *steps.Engine, *state.Store) {
	needE2E(t)
	s, cfg, root := seededStack(t, opts)
	cfg.Daemon.StateDir = filepath.Join(root, "state")
	cfg.Health.URL = s.BaseURL
	cfg.Health.Timeout, cfg.Health.StableFor, cfg.Health.Interval = 45*time.Second, 3*time.Second, time.Second
	cfg.Health.APIKeyFile = s.APIKeyFile // the workspace key SeedSentinels made
	if edit != nil {
		edit(&cfg)
	}
	st, err := state.Open(cfg.Daemon.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	r := proc.Exec{}
	m := backup.New(cfg, r, log).WithFilesHelper(filesHelper(t))
	e := steps.New(cfg, steps.Deps{Runner: r, Store: st, Backups: m, Logger: log})
	return s, e, st
}

func TestMain(m *testing.M) {
	code := m.Run()
	if helperOnce.bin != "" {
		os.RemoveAll(filepath.Dir(helperOnce.bin))
	}
	os.Exit(code)
}

var helperOnce struct {
	sync.Once
	bin string
	err error
}

// filesHelper is a static build of twenty-upgraded, built once: the restore
// runs it in a one-off container to write the files volume, where this
// dynamically linked test binary would not start.
func filesHelper(t *testing.T) string {
	t.Helper()
	helperOnce.Do(func() {
		dir, err := os.MkdirTemp("", "twenty-upgraded-e2e-")
		if err == nil {
			helperOnce.bin, err = scenarios.BuildBinary(context.Background(), dir)
		}
		helperOnce.err = err
	})
	if helperOnce.err != nil {
		t.Fatal(helperOnce.err)
	}
	return helperOnce.bin
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// healthyOn checks the stack runs want with every sentinel present.
func healthyOn(t *testing.T, s *sandbox.Stack, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.Check(ctx, want); err != nil {
		t.Errorf("not healthy on %s: %v", want, err)
	}
	if err := s.CheckSentinels(ctx); err != nil {
		t.Errorf("sentinels: %v", err)
	}
}

// TestHappyPath crosses the v1.23 floor: every check that exists on v1.23.0
// runs, upgrade:status and the authenticated GraphQL check included.
func TestHappyPath(t *testing.T) {
	s, e, st := setup(t, "v1.22.4", "v1.23.0")
	en, err := e.Upgrade(context.Background(), version.MustParse("v1.23.0"), steps.Options{Trigger: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("upgraded in %.1fs, downtime %.1fs, backup %s", en.Seconds, en.Downtime, en.Backup)
	healthyOn(t, s, "v1.23.0")
	if open, _ := st.Load(); open != nil {
		t.Errorf("state.json left: %+v", open)
	}
}

// TestBrokenReleases upgrades to each broken release and expects a rollback
// to the old version on its data.
func TestBrokenReleases(t *testing.T) {
	for _, tag := range []string{"v2.1.0", "v2.2.0", "v2.3.0", "v2.4.0", "v2.5.0", "v2.6.0"} {
		t.Run(tag, func(t *testing.T) {
			s, e, st := setup(t, "v2.0.2", tag)
			en, err := e.Upgrade(context.Background(), version.MustParse(tag), steps.Options{})
			if !errors.Is(err, outcome.ErrRolledBack) {
				t.Fatalf("want a rollback, got %v (entry %+v)", err, en)
			}
			t.Logf("rolled back in %.1fs, downtime %.1fs: %v", en.Seconds, en.Downtime, err)
			healthyOn(t, s, "v2.0.2")
			lastFlushByOld(t, s, "v2.0.2", tag)
			if bad, _ := st.BadVersions(); bad[version.MustParse(tag)] == "" {
				t.Errorf("%s not in bad-versions", tag)
			}
		})
	}
}

// TestKill9 runs the real binary (`upgrade --yes`), SIGKILLs it inside a
// step, then resumes in a fresh engine: the old version must come back on its
// data (or, past the health gate, the new one commits).
func TestKill9(t *testing.T) {
	for _, tc := range []struct{ inject, want string }{
		{"hang:backup", "v1.22.4"},      // between stop and switch: start the old version again
		{"hang_after:start", "v1.22.4"}, // after switch: roll back
		{"hang:commit", "v1.23.0"},      // the gate passed: finish the commit
	} {
		t.Run(tc.inject, func(t *testing.T) {
			s, e, st := setup(t, "v1.22.4", "v1.23.0")
			bin := buildBinary(t)
			ready := filepath.Join(t.TempDir(), "ready")
			cmd := exec.Command(bin, "--config", writeConfig(t, s, st.Dir), "upgrade", "--to", "v1.23.0", "--yes")
			cmd.Env = append(os.Environ(), steps.EnvTesting+"=1", steps.EnvInject+"="+tc.inject, steps.EnvInjectReady+"="+ready)
			out := &strings.Builder{}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(3 * time.Minute)
			for {
				if _, err := os.Stat(ready); err == nil {
					break
				}
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					t.Fatalf("never reached %s:\n%s", tc.inject, out)
				}
				time.Sleep(20 * time.Millisecond)
			}
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			open, _ := st.Load()
			if open == nil {
				t.Fatalf("no open transaction after kill -9:\n%s", out)
			}
			resumed, en, err := e.Resume(context.Background())
			t.Logf("killed in %s (%s); resumed: %s, downtime %.1fs, err %v", open.Step, open.Phase, en.Result, en.Downtime, err)
			if !resumed || en.Result == "" {
				t.Fatalf("resume: %v %+v %v", resumed, en, err)
			}
			healthyOn(t, s, tc.want)
		})
	}
}

var built struct {
	once sync.Once
	path string
	err  error
}

func buildBinary(t *testing.T) string {
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "twenty-upgraded-e2e")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "twenty-upgraded")
		out, err := exec.Command("go", "build", "-o", built.path, "github.com/twenty-upgraded/twenty-upgraded/cmd/twenty-upgraded").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

func writeConfig(t *testing.T, s *sandbox.Stack, stateDir string) string {
	q := func(v string) string { return strconv.Quote(v) }
	argv := make([]string, len(s.ComposeCmd))
	for i, a := range s.ComposeCmd {
		argv[i] = q(a)
	}
	p := filepath.Join(t.TempDir(), "config.toml")
	// The sandbox registry is the release source: `upgrade --to` is judged
	// against what it lists (docs/policy.md).
	body := "[install]\ndir = " + q(s.Dir) + "\nenv_file = " + q(s.EnvFile) + "\nproject = " + q(s.Project) +
		"\ncompose_command = [" + strings.Join(argv, ", ") + "]\n[backup]\ndir = " + q(filepath.Join(filepath.Dir(stateDir), "backups")) +
		"\n[release]\nsource = \"registry\"\nurl = " + q("http://"+s.Registry.Addr) + "\nimage = \"twentycrm/twenty\"\nmin_age = \"0s\"" +
		"\n[health]\nurl = " + q(s.BaseURL) + "\napi_key_file = " + q(s.APIKeyFile) + "\ntimeout = \"45s\"\nstable_for = \"3s\"\ninterval = \"1s\"\n[daemon]\nstate_dir = " + q(stateDir) + "\n"
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRollbackPinsOldImage moves the old tag to another image (as a registry
// tag rewritten upstream and pulled would) before a failing upgrade: the
// rollback must run the exact image the old version ran, by its ID.
func TestRollbackPinsOldImage(t *testing.T) {
	s, e, _ := setup(t, "v2.0.2", "v2.2.0")
	ctx := context.Background()
	img := s.Registry.Image()
	for _, argv := range [][]string{{"docker", "pull", "-q", img + ":v2.2.0"}, {"docker", "tag", img + ":v2.2.0", img + ":v2.0.2"}} {
		if out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", argv, err, out)
		}
	}
	_, err := e.Upgrade(ctx, version.MustParse("v2.2.0"), steps.Options{})
	if !errors.Is(err, outcome.ErrRolledBack) {
		t.Fatalf("want a rollback, got %v", err)
	}
	healthyOn(t, s, "v2.0.2")
}
