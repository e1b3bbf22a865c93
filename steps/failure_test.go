package steps

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/health"
)

// brokenGate fails the new version as the real gate does, with a
// *health.Error; the old version is judged by the fake world.
type brokenGate struct{ fakeGate }

func (g brokenGate) Wait(ctx context.Context, want version.V, since time.Time) error {
	if want == v2 {
		return &health.Error{Reason: "not healthy within 90s", Failing: []health.Result{
			{Check: "graphql", Answer: "POST /graphql: HTTP 500 Internal server error"},
			{Check: "upgrade_status", Answer: "not run until the other checks pass", NotRun: true},
		}, LogTail: []string{"[Nest] LOG starting", "[Nest] ERROR QueryFailedError: column \"x\" does not exist", "[Nest] LOG listening"}}
	}
	return g.fakeGate.Wait(ctx, want, since)
}

// TestFailureIsTyped: a health gate failure reaches history as a typed
// Failure (step, the checks that were judged with their answers, the log
// lines that matter), also after the rollback failed and a person ran
// rollback in another process: the journal keeps it.
func TestFailureIsTyped(t *testing.T) {
	f := newFakeInstall(t, t.TempDir(), "compose")
	e, st := f.engine(t, nil)
	e.gate = brokenGate{fakeGate{t, f}}
	want := &state.Failure{Step: StepHealth,
		Checks: []state.CheckAnswer{{Check: "graphql", Answer: "POST /graphql: HTTP 500 Internal server error"}},
		Log:    []string{"[Nest] ERROR QueryFailedError: column \"x\" does not exist"}}
	_, err := e.Upgrade(context.Background(), v2, Options{Inject: map[string]string{StepBackup: "fail_rollback"}})
	if err == nil {
		t.Fatal("upgrade succeeded through a broken gate")
	}
	open, _ := st.Load()
	if open == nil || !sameFailure(open.Failure, want) {
		t.Fatalf("journal failure %+v, want %+v", open, want)
	}
	e2, _ := f.engine(t, nil) // the CLI's rollback, another process
	en, err := e2.Rollback(context.Background())
	if err != nil || en.Result != state.ResultRolledBack || !sameFailure(en.Failure, want) {
		t.Fatalf("manual rollback: failure %+v (%v), want %+v", en.Failure, err, want)
	}
	h, _ := st.History()
	if len(h) != 2 || !sameFailure(h[0].Failure, want) || !sameFailure(h[1].Failure, want) {
		t.Fatalf("history %+v", h)
	}
}

// A step that fails outside the gate names the step and no check.
func TestFailureOfOtherStep(t *testing.T) {
	f := newFakeInstall(t, t.TempDir(), "compose")
	e, _ := f.engine(t, nil)
	en, err := e.Upgrade(context.Background(), v2, Options{Inject: map[string]string{StepSwitch: "fail"}})
	if err == nil || en.Failure == nil || en.Failure.Step != StepSwitch || len(en.Failure.Checks) != 0 {
		t.Fatalf("failure %+v (%v), want step switch and no check", en.Failure, err)
	}
	if failureOf(errors.New("no step")) != nil {
		t.Error("an error naming no step got a Failure")
	}
}

func sameFailure(a, b *state.Failure) bool {
	return a != nil && b != nil && a.Step == b.Step && slices.Equal(a.Checks, b.Checks) && slices.Equal(a.Log, b.Log)
}
