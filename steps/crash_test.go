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
	ready := filepath.Join(dir, "ready")
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
	switch en.Result {
	case state.ResultSuccess:
		f.converged(t, "v1.1.0")
	case state.ResultRolledBack, state.ResultFailed:
		f.converged(t, "v1.0.0")
	default:
		t.Fatalf("result %q, err %v", en.Result, err)
	}
	t.Logf("killed at %s (phase %s) → %s", open.Step, open.Phase, en.Result)
}
