package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install/installtest"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// world is the shared fake install (installtest.World) plus what only the
// engine's tests need: the backups and every argv run. The .env is a real
// file rewritten by the real envfile code.
type world struct {
	installtest.World
	Backups map[string]string `json:"backups"` // id → DB version saved
	Log     []string          `json:"log"`     // every argv run, in order
}

type fakeInstall struct {
	dir, envPath, worldPath string
	stateDir                string
	mode                    string
	failArgv                string // a command containing this fails
	buildEarly              bool
}

func newFakeInstall(t testing.TB, dir, mode string) *fakeInstall {
	f := &fakeInstall{dir: dir, envPath: filepath.Join(dir, ".env"), worldPath: filepath.Join(dir, "world.json"),
		stateDir: filepath.Join(dir, "state"), mode: mode}
	if _, err := os.Stat(f.worldPath); err == nil {
		return f
	}
	must(t, os.WriteFile(f.envPath, []byte("# Twenty\nTAG=v1.0.0\nENCRYPTION_KEY=k\n"), 0o600))
	f.save(t, world{World: installtest.NewWorld("v1.0.0", mode == "source"), Backups: map[string]string{}})
	return f
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fakeInstall) load(t testing.TB) world {
	b, err := os.ReadFile(f.worldPath)
	must(t, err)
	var w world
	must(t, json.Unmarshal(b, &w))
	return w
}

func (f *fakeInstall) save(t testing.TB, w world) {
	b, _ := json.Marshal(w)
	must(t, os.WriteFile(f.worldPath, b, 0o600))
}

func (f *fakeInstall) config() config.Config {
	cfg := config.Default()
	cfg.Install.Mode = f.mode
	cfg.Install.Dir = f.dir
	cfg.Install.EnvFile = f.envPath
	cfg.Install.ComposeCommand = []string{"docker", "compose"}
	cfg.Daemon.StateDir = f.stateDir
	cfg.Hooks.PreUpgrade = []string{"hook", "pre"}
	cfg.Hooks.OnRollback = []string{"hook", "rollback"}
	cfg.Source.BuildEarly = f.buildEarly
	return cfg
}

// runner answers like docker, compose and git would, changing the world
// (installtest.World.Answer); a command containing failArgv fails.
func (f *fakeInstall) runner(t testing.TB) *proc.Fake {
	return &proc.Fake{Respond: func(c proc.Cmd) (proc.Result, error) {
		if res, ok, err := installtest.Answer(c); ok {
			return res, err
		}
		w := f.load(t)
		defer func() { f.save(t, w) }()
		s := strings.Join(c.Argv, " ")
		w.Log = append(w.Log, s)
		if f.failArgv != "" && strings.Contains(s, f.failArgv) {
			return proc.Fail(c, 1, "fake failure of "+f.failArgv)
		}
		tag := installtest.EnvValue(f.envPath, "TAG")
		out, code, _ := w.Answer(c.Argv, tag)
		if code != 0 {
			return proc.Fail(c, code, out)
		}
		return proc.Result{Stdout: []byte(out)}, nil
	}}
}

// fakeBackups saves and restores the world's database version.
type fakeBackups struct {
	t testing.TB
	f *fakeInstall
}

func (b fakeBackups) Create(_ context.Context, m BackupMeta) (BackupSet, error) {
	w := b.f.load(b.t)
	if w.Running != "" {
		return BackupSet{}, errors.New("fake backup: writers still running")
	}
	id := fmt.Sprintf("set-%d", len(w.Backups)+1)
	w.Backups[id] = w.DB
	b.f.save(b.t, w)
	return BackupSet{ID: id, Dir: filepath.Join(b.f.dir, id), Size: 42}, nil
}

func (b fakeBackups) Restore(_ context.Context, id string, o RestoreOptions) error {
	w := b.f.load(b.t)
	v, ok := w.Backups[id]
	if !ok {
		return fmt.Errorf("fake restore: no set %s", id)
	}
	w.Running, w.DB = "", v
	w.Log = append(w.Log, "restore "+id)
	b.f.save(b.t, w)
	return nil
}

func (b fakeBackups) Prune(protect ...string) ([]string, error) { return nil, nil }
func (b fakeBackups) CheckSpace(context.Context) error          { return nil }
func (b fakeBackups) Describe(context.Context, *install.Install) []BackupAction {
	return []BackupAction{{What: "fake backup of everything"}}
}

// fakeGate passes when the world runs want on data migrated to want.
type fakeGate struct {
	t testing.TB
	f *fakeInstall
}

func (g fakeGate) Wait(_ context.Context, want version.V, _ time.Time) error {
	w := g.f.load(g.t)
	if w.Running != want.String() || w.DB != want.String() {
		return fmt.Errorf("fake gate: running %q on data of %q, want %s", w.Running, w.DB, want)
	}
	return nil
}

func (g fakeGate) WaitStarted(context.Context, version.V, time.Time) error { return nil }

// recObserver records phases: the step, or "rollback: <step>".
type recObserver struct{ phases []string }

func (o *recObserver) Phase(_ *state.Txn, step string, a state.Action) {
	o.phases = append(o.phases, phaseName(step, a))
}
func (o *recObserver) StepDone(string, state.Action, time.Duration, error) {}

func phaseName(step string, a state.Action) string {
	if a == state.ActionRollback {
		return "rollback: " + step
	}
	return step
}
func (o *recObserver) BackupDone(int64, time.Duration, time.Time) {}
func (o *recObserver) Finished(state.Entry)                       {}
func (o *recObserver) HealthChecks(map[string]bool)               {}

func (f *fakeInstall) engine(t testing.TB, obs state.Observer) (*Engine, *state.Store) {
	st, err := state.Open(f.stateDir)
	must(t, err)
	return New(f.config(), Deps{Runner: f.runner(t), Store: st, Backups: fakeBackups{t, f}, Gate: fakeGate{t, f}, Observer: obs}), st
}

// converged checks the install ended on exactly one version, with its data.
func (f *fakeInstall) converged(t testing.TB, want string) {
	t.Helper()
	w := f.load(t)
	tag := installtest.EnvValue(f.envPath, "TAG")
	if w.Running != want || w.DB != want {
		t.Errorf("world runs %q on data of %q, want %s on %s", w.Running, w.DB, want, want)
	}
	if f.mode == "compose" && tag != want {
		t.Errorf(".env TAG=%s, want %s", tag, want)
	}
	if f.mode == "source" && (w.CheckedOut != want || w.Built != want) {
		t.Errorf("checked out %s built %s, want %s", w.CheckedOut, w.Built, want)
	}
}

type (
	procCmd    = proc.Cmd
	procResult = proc.Result
)

type runnerFunc func(ctx context.Context, c proc.Cmd) (proc.Result, error)

func (f runnerFunc) Run(ctx context.Context, c proc.Cmd) (proc.Result, error) { return f(ctx, c) }

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o600) }

func failCmd(c proc.Cmd) (proc.Result, error) { return proc.Fail(c, 1, "fake build failure") }
