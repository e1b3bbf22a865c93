package steps

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/twenty-upgraded/twenty-upgraded/internal/outcome"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

var (
	v1 = version.MustParse("v1.0.0")
	v2 = version.MustParse("v1.1.0")
)

func TestForwardOrder(t *testing.T) {
	for _, mode := range []string{"compose", "source"} {
		t.Run(mode, func(t *testing.T) {
			f := newFakeInstall(t, t.TempDir(), mode)
			obs := &recObserver{}
			e, st := f.engine(t, obs)
			en, err := e.Upgrade(context.Background(), v2, Options{Trigger: "cli"})
			if err != nil {
				t.Fatal(err)
			}
			if want := buildPlan(mode).names(); !slices.Equal(obs.phases, want) {
				t.Errorf("phases %v, want %v", obs.phases, want)
			}
			if en.Result != state.ResultSuccess || en.Backup != "set-1" || en.Trigger != "cli" {
				t.Errorf("entry %+v", en)
			}
			f.converged(t, "v1.1.0")
			if open, _ := st.Load(); open != nil {
				t.Errorf("state.json left after commit: %+v", open)
			}
			h, _ := st.History()
			if len(h) != 1 || h[0].Result != state.ResultSuccess || len(h[0].Steps) != len(obs.phases) {
				t.Errorf("history %+v", h)
			}
		})
	}
}

// TestRollbackFromEachStep fails every step in turn and checks that every
// started step was rolled back in reverse order and the old version runs on
// its own data.
func TestRollbackFromEachStep(t *testing.T) {
	for _, mode := range []string{"compose", "source"} {
		p := buildPlan(mode)
		for i, name := range p.names() {
			t.Run(mode+"/"+name, func(t *testing.T) {
				f := newFakeInstall(t, t.TempDir(), mode)
				obs := &recObserver{}
				e, st := f.engine(t, obs)
				en, err := e.Upgrade(context.Background(), v2, Options{Inject: map[string]string{name: "fail"}})
				if err == nil {
					t.Fatal("upgrade succeeded despite the injected failure")
				}
				fwd := p.names()[:i+1]
				var back []string
				for j := i; j >= 0; j-- {
					back = append(back, "rollback: "+fwd[j])
				}
				if want := append(slices.Clone(fwd), back...); !slices.Equal(obs.phases, want) {
					t.Errorf("phases\n got %v\nwant %v", obs.phases, want)
				}
				f.converged(t, "v1.0.0")
				beforeDowntime := i < slices.Index(p.names(), StepStop)
				switch {
				case beforeDowntime && (en.Result != state.ResultFailed || errors.Is(err, outcome.ErrRolledBack)):
					t.Errorf("failure before downtime: result %s err %v", en.Result, err)
				case !beforeDowntime && (en.Result != state.ResultRolledBack || !errors.Is(err, outcome.ErrRolledBack)):
					t.Errorf("failure after downtime: result %s err %v", en.Result, err)
				}
				bad, _ := st.BadVersions()
				_, marked := bad[v2]
				if wantBad := i > slices.Index(p.names(), p.change); marked != wantBad {
					t.Errorf("bad-versions has %s: %v, want %v", v2, marked, wantBad)
				}
				if open, _ := st.Load(); open != nil {
					t.Errorf("state.json left: %+v", open)
				}
			})
		}
	}
}

func TestRealCommandFailureRollsBack(t *testing.T) {
	f := newFakeInstall(t, t.TempDir(), "compose")
	f.failArgv = "up -d" // the new version does not start
	// only the first up fails: the world's fail string is cleared by the gate below
	e, _ := f.engine(t, nil)
	calls := 0
	r := e.runner
	e.runner = runnerFunc(func(ctx context.Context, c procCmd) (procResult, error) {
		if strings.Contains(strings.Join(c.Argv, " "), "up -d") {
			calls++
			if calls > 1 {
				f.failArgv = ""
			}
		}
		return r.Run(ctx, c)
	})
	_, err := e.Upgrade(context.Background(), v2, Options{})
	if !errors.Is(err, outcome.ErrRolledBack) || !strings.Contains(err.Error(), "fake failure of up -d") {
		t.Fatalf("err = %v", err)
	}
	f.converged(t, "v1.0.0")
}

func TestRollbackFailureNeedsAPerson(t *testing.T) {
	f := newFakeInstall(t, t.TempDir(), "compose")
	e, st := f.engine(t, nil)
	_, err := e.Upgrade(context.Background(), v2, Options{Inject: map[string]string{StepHealth: "fail", StepBackup: "fail_rollback"}})
	if err == nil || !strings.Contains(err.Error(), "MANUAL RECOVERY") || !strings.Contains(err.Error(), "twenty-upgraded restore set-1") {
		t.Fatalf("err = %v", err)
	}
	open, _ := st.Load()
	if open == nil || open.Phase != state.PhaseFailed || !strings.Contains(open.Recovery, "docker tag sha256:img-v1.0.0 twenty") {
		t.Fatalf("state after failed rollback: %+v", open)
	}
	h, _ := st.History()
	if len(h) != 1 || h[0].Result != state.ResultFailed || h[0].Recovery == "" {
		t.Fatalf("history %+v", h)
	}
	// never resumed automatically
	if resumed, _, err := e.Resume(context.Background()); !resumed || err == nil || !strings.Contains(err.Error(), "needs a person") {
		t.Fatalf("resume of rollback_failed: %v %v", resumed, err)
	}
	// a person fixes the cause and runs rollback
	en, err := e.Rollback(context.Background())
	if err != nil || en.Result != state.ResultRolledBack {
		t.Fatalf("manual rollback: %+v %v", en, err)
	}
	f.converged(t, "v1.0.0")
}

func TestRollbackOfCommittedTransaction(t *testing.T) {
	f := newFakeInstall(t, t.TempDir(), "compose")
	e, st := f.engine(t, nil)
	if _, err := e.Upgrade(context.Background(), v2, Options{}); err != nil {
		t.Fatal(err)
	}
	f.converged(t, "v1.1.0")
	en, err := e.Rollback(context.Background())
	if err != nil || en.Result != state.ResultRolledBack {
		t.Fatalf("rollback: %+v %v", en, err)
	}
	f.converged(t, "v1.0.0")
	if bad, _ := st.BadVersions(); bad[v2] == "" {
		t.Error("a version rolled back by hand is not in bad-versions")
	}
	if _, err := e.Rollback(context.Background()); err == nil || !strings.Contains(err.Error(), "nothing to roll back") {
		t.Errorf("second rollback: %v", err)
	}
}

func TestResumeCap(t *testing.T) {
	f := newFakeInstall(t, t.TempDir(), "compose")
	e, st := f.engine(t, nil)
	must(t, st.Save(&state.Txn{ID: "x", Mode: "compose", From: v1, To: v2, Phase: state.PhaseRollback,
		Started: []string{StepPreflight}, Resumes: 5}))
	resumed, _, err := e.Resume(context.Background())
	if !resumed || err == nil || !strings.Contains(err.Error(), "max_resumes") {
		t.Fatalf("resume past the cap: %v %v", resumed, err)
	}
	if open, _ := st.Load(); open == nil || open.Phase != state.PhaseFailed {
		t.Fatalf("state: %+v", open)
	}
}

func TestUpgradeRefusals(t *testing.T) {
	f := newFakeInstall(t, t.TempDir(), "compose")
	e, st := f.engine(t, nil)
	if _, err := e.Upgrade(context.Background(), v1, Options{}); !errors.Is(err, outcome.ErrHeld) {
		t.Errorf("same version: %v", err)
	}
	must(t, st.MarkBad(v2, "broke"))
	if _, err := e.Upgrade(context.Background(), v2, Options{}); !errors.Is(err, outcome.ErrHeld) || !strings.Contains(err.Error(), "bad-versions") {
		t.Errorf("bad version: %v", err)
	}
	// An external database with backup.database = "compose" is refused
	// before any downtime, with the exact fix.
	must(t, writeFile(f.envPath, "TAG=v1.0.0\nAPP_SECRET=s\nPG_DATABASE_HOST=pg.example.internal\nPG_DATABASE_USER=twenty\n"))
	en, err := e.Upgrade(context.Background(), version.MustParse("v1.2.0"), Options{})
	if !errors.Is(err, outcome.ErrHeld) || !strings.Contains(err.Error(), `database = "url"`) ||
		!strings.Contains(err.Error(), "postgres://twenty@pg.example.internal:5432/default") || en.Result != state.ResultFailed {
		t.Errorf("external database: %+v %v", en, err)
	}
	if log := strings.Join(f.load(t).Log, "\n"); strings.Contains(log, "stop server") {
		t.Errorf("the refused upgrade stopped Twenty:\n%s", log)
	}
	f.converged(t, "v1.0.0")
}

// An install.sh install has APP_SECRET and no ENCRYPTION_KEY: Twenty then
// encrypts with APP_SECRET, so nothing holds it at v2.5 (docs/twenty.md).
func TestNoEncryptionKeyIsNoHold(t *testing.T) {
	f := newFakeInstall(t, t.TempDir(), "compose")
	must(t, writeFile(f.envPath, "TAG=v1.0.0\nAPP_SECRET=from-install-sh\nPG_DATABASE_PASSWORD=p\n"))
	e, _ := f.engine(t, nil)
	if _, err := e.Upgrade(context.Background(), version.MustParse("v2.5.0"), Options{}); err != nil {
		t.Fatalf("v2.5.0 without ENCRYPTION_KEY: %v", err)
	}
	f.converged(t, "v2.5.0")
}

// A compose target whose image does not migrate by itself is held.
func TestComposeTargetBelowImageMigrates(t *testing.T) {
	f := newFakeInstall(t, t.TempDir(), "compose")
	must(t, writeFile(f.envPath, "TAG=v0.50.0\nAPP_SECRET=s\n"))
	w := f.load(t)
	w.Running, w.DB = "v0.50.0", "v0.50.0"
	f.save(t, w)
	e, _ := f.engine(t, nil)
	_, err := e.Upgrade(context.Background(), version.MustParse("v0.52.0"), Options{})
	if !errors.Is(err, outcome.ErrHeld) || !strings.Contains(err.Error(), "v0.53.0") {
		t.Fatalf("v0.52.0 in compose mode: %v", err)
	}
	f.converged(t, "v0.50.0")
}

func TestParsePostgresMajor(t *testing.T) {
	for in, want := range map[string]int{"postgres (PostgreSQL) 16.4": 16, "postgres (PostgreSQL) 14.11 (Debian 14.11-1)": 14, "postgres (PostgreSQL) 9.6.24": 9} {
		t.Run(in, func(t *testing.T) {
			got, _, err := parsePostgresMajor(in)
			if err != nil || got != want {
				t.Errorf("got %d %v, want %d", got, err, want)
			}
		})
	}
	if _, _, err := parsePostgresMajor("command not found"); err == nil {
		t.Error("garbage accepted")
	}
}

func TestSourceBuildEarly(t *testing.T) {
	for _, broken := range []bool{false, true} {
		t.Run(map[bool]string{false: "builds", true: "broken build"}[broken], func(t *testing.T) {
			f := newFakeInstall(t, t.TempDir(), "source")
			f.buildEarly = true
			e, _ := f.engine(t, nil)
			inner := e.runner
			var early []string
			e.runner = runnerFunc(func(ctx context.Context, c procCmd) (procResult, error) {
				if strings.HasSuffix(c.Dir, "prebuild") {
					early = append(early, strings.Join(c.Argv, " "))
					if broken && slices.Contains(c.Argv, "build") {
						return failCmd(c)
					}
				}
				return inner.Run(ctx, c)
			})
			en, err := e.Upgrade(context.Background(), v2, Options{})
			if want := []string{"yarn install", "npx nx build twenty-server"}; !slices.Equal(early, want) {
				t.Errorf("early build ran %v, want %v", early, want)
			}
			log := strings.Join(f.load(t).Log, "\n")
			if !strings.Contains(log, "worktree add --force --detach "+f.stateDir+"/prebuild refs/tags/v1.1.0") {
				t.Errorf("no worktree:\n%s", log)
			}
			if broken {
				if en.Result != state.ResultFailed || err == nil || strings.Contains(log, "stop server") {
					t.Errorf("broken early build: result %s err %v, log:\n%s", en.Result, err, log)
				}
				f.converged(t, "v1.0.0")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			f.converged(t, "v1.1.0")
		})
	}
}

// TestComposeRollbackFlushesCache: after the restore and before the old
// version is started and judged, the old image flushes Redis' cache, so
// nothing the new version cached is served by the old one.
func TestComposeRollbackFlushesCache(t *testing.T) {
	f := newFakeInstall(t, t.TempDir(), "compose")
	e, _ := f.engine(t, nil)
	_, err := e.Upgrade(context.Background(), v2, Options{Inject: map[string]string{StepHealth: "fail"}})
	if !errors.Is(err, outcome.ErrRolledBack) {
		t.Fatalf("err = %v", err)
	}
	log := f.load(t).Log
	at := func(sub string) int {
		for i := len(log) - 1; i >= 0; i-- {
			if strings.Contains(log[i], sub) {
				return i
			}
		}
		return -1
	}
	restore, flush, up := at("restore set-1"), at("run --rm --no-deps -T -e DISABLE_DB_MIGRATIONS=true"), at("up -d --no-deps server")
	if restore < 0 || flush < 0 || up < 0 || !(restore < flush && flush < up) {
		t.Fatalf("want restore < cache flush < up; got %d, %d, %d in\n%s", restore, flush, up, strings.Join(log, "\n"))
	}
	if !strings.HasSuffix(log[flush], "server yarn command:prod cache:flush") {
		t.Errorf("flush runs %q", log[flush])
	}
	// A failure before the switch touched nothing: no flush.
	g := newFakeInstall(t, t.TempDir(), "compose")
	e, _ = g.engine(t, nil)
	_, _ = e.Upgrade(context.Background(), v2, Options{Inject: map[string]string{StepBackup: "fail"}})
	if s := strings.Join(g.load(t).Log, "\n"); strings.Contains(s, "cache:flush") {
		t.Errorf("flushed although the new version never ran:\n%s", s)
	}
}
