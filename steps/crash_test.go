package steps

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
)

// TestCrashHelper is the process the crash tests kill: it runs one upgrade
// with the fault injection asked for in the environment (a hang in a chosen
// step) and is SIGKILLed there.
func TestCrashHelper(t *testing.T) {
	if os.Getenv("STEPS_CRASH_HELPER") != "1" {
		t.Skip("helper process of TestCrashAndResume; runs only when it re-runs the test binary")
	}
	f := newFakeInstall(t, os.Getenv("STEPS_CRASH_DIR"), os.Getenv("STEPS_CRASH_MODE"))
	e, _ := f.engine(t, nil)
	_, err := e.Upgrade(context.Background(), v2, Options{})
	t.Fatalf("helper was not killed; upgrade returned %v", err)
}

// TestCrashAndResume kills the engine with SIGKILL inside every step (before
// its work, after its work before it is recorded done, and inside its
// rollback), then resumes in a new process state and checks the transaction
// ends committed or rolled back, with the install on one version and its data.
func TestCrashAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process per crash point; skipped with -short")
	}
	var covered []string
	for _, mode := range []string{"compose", "source"} {
		names := buildPlan(mode).names()
		for _, name := range names {
			for _, fault := range []string{"hang", "hang_after", "fail:health,hang_rollback"} {
				if fault == "fail:health,hang_rollback" && slices.Index(names, name) > slices.Index(names, StepHealth) {
					continue // steps after health never started when health fails
				}
				inject := fault + ":" + name
				t.Run(mode+"/"+inject, func(t *testing.T) {
					crashAndResume(t, mode, inject)
				})
				covered = append(covered, mode+" "+inject)
			}
		}
	}
	t.Logf("crash points covered (%d):\n  %s", len(covered), strings.Join(covered, "\n  "))
}

func crashAndResume(t *testing.T, mode, inject string) {
	dir := t.TempDir()
	f := newFakeInstall(t, dir, mode)
	killIn(t, dir, mode, inject)
	e, st := f.engine(t, nil)
	open, err := st.Load()
	if err != nil || open == nil {
		t.Fatalf("no open transaction after the kill: %v", err)
	}
	resumed, en, err := e.Resume(context.Background())
	if !resumed {
		t.Fatalf("nothing resumed (err %v)", err)
	}
	if open, _ := st.Load(); open != nil {
		t.Fatalf("transaction still open after resume: %+v (err %v)", open, err)
	}
	h, _ := st.History()
	if len(h) != 1 || h[0].ID != open.ID || h[0].Resumes != 1 {
		t.Fatalf("history after resume: %+v", h)
	}
	want := promised(mode, inject)
	if en.Result != want.result {
		t.Fatalf("killed at %s (phase %s): result %q, docs/engine.md promises %q (err %v)", open.Step, open.Phase, en.Result, want.result, err)
	}
	if en.Result == state.ResultSuccess {
		f.converged(t, "v1.1.0")
	} else {
		f.converged(t, "v1.0.0")
	}
	bad, _ := st.BadVersions()
	if _, isBad := bad[v2]; isBad != want.bad {
		t.Errorf("killed at %s (phase %s): %s in bad-versions = %v, promised %v (%v)", open.Step, open.Phase, v2, isBad, want.bad, bad)
	}
	if h[0].Interrupted != want.interrupted {
		t.Errorf("killed at %s (phase %s): history interrupted = %v, promised %v", open.Step, open.Phase, h[0].Interrupted, want.interrupted)
	}
	t.Logf("killed at %s (phase %s) → %s, bad %v", open.Step, open.Phase, en.Result, want.bad)
}

// outcome is what docs/engine.md's crash table promises for a kill point.
type promise struct {
	result      string
	bad         bool // the version lands in bad-versions
	interrupted bool // counted as an interrupted attempt of the new version
}

// promised reads the table in docs/engine.md ("Crash and restart") for a
// kill at inject ("hang:S", "hang_after:S" or "fail:health,hang_rollback:S").
func promised(mode, inject string) promise {
	p := buildPlan(mode)
	names := p.names()
	at := func(n string) int { return slices.Index(names, n) }
	if strings.HasPrefix(inject, "fail:health,") {
		// The gate failed on its own; the kill came during the rollback.
		return promise{result: state.ResultRolledBack, bad: true}
	}
	_, step, _ := strings.Cut(inject, ":")
	i := at(step)
	switch {
	case i > at(StepHealth):
		return promise{result: state.ResultSuccess} // health done: finish commit
	case i < at(StepStop):
		return promise{result: state.ResultFailed} // nothing changed
	case i <= at(p.change):
		return promise{result: state.ResultRolledBack} // old version started again, never ran the new one
	default:
		// The new version ran and was interrupted, not failed: rolled back,
		// the attempt counted, not bad the first time.
		return promise{result: state.ResultRolledBack, interrupted: true}
	}
}

// TestInterruptedTwiceIsBad: the first kill in the health gate rolls back
// without blaming the release; the second interrupted attempt marks it bad.
func TestInterruptedTwiceIsBad(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes; skipped with -short")
	}
	dir := t.TempDir()
	f := newFakeInstall(t, dir, "compose")
	for attempt := 1; attempt <= 2; attempt++ {
		killIn(t, dir, "compose", "hang:"+StepHealth)
		e, st := f.engine(t, nil)
		_, en, err := e.Resume(context.Background())
		if en.Result != state.ResultRolledBack || !en.Interrupted {
			t.Fatalf("attempt %d: result %q interrupted %v (err %v)", attempt, en.Result, en.Interrupted, err)
		}
		f.converged(t, "v1.0.0")
		bad, _ := st.BadVersions()
		reason, isBad := bad[v2]
		if isBad != (attempt == 2) {
			t.Fatalf("attempt %d: bad = %v (%q)", attempt, isBad, reason)
		}
		if attempt == 2 && !strings.Contains(reason, "interrupted twice") {
			t.Fatalf("reason %q does not say why", reason)
		}
	}
}

// killIn runs one upgrade in a helper process with inject set and SIGKILLs
// it at the injected hang.
func killIn(t *testing.T, dir, mode, inject string) {
	t.Helper()
	ready := filepath.Join(dir, "ready")
	os.Remove(ready)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "STEPS_CRASH_HELPER=1", "STEPS_CRASH_DIR="+dir, "STEPS_CRASH_MODE="+mode,
		EnvTesting+"=1", EnvInject+"="+inject, EnvInjectReady+"="+ready)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	must(t, cmd.Start())
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("helper never reached the hang point:\n%s", out)
		}
		time.Sleep(5 * time.Millisecond)
	}
	must(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
}
