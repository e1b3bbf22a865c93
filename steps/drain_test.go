package steps

import (
	"context"
	"slices"
	"testing"

	"github.com/twenty-upgraded/twenty-upgraded/internal/drain"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
)

// drainObserver closes the drain channel when the named step starts.
type drainObserver struct {
	recObserver
	at string
	ch chan struct{}
}

func (o *drainObserver) Phase(t *state.Txn, step string, a state.Action) {
	o.recObserver.Phase(t, step, a)
	if phaseName(step, a) == o.at {
		close(o.ch)
	}
}

// TestDrain: a daemon stopping (SIGTERM) starts no new step while Twenty
// still runs, and lets a transaction already in its downtime finish.
func TestDrain(t *testing.T) {
	tests := []struct {
		at        string // step during which the stop is requested
		committed bool
	}{
		{"preflight", false},
		{"pull", false},
		{"stop", true},
		{"health", true},
	}
	for _, tt := range tests {
		t.Run(tt.at, func(t *testing.T) {
			f := newFakeInstall(t, t.TempDir(), "compose")
			obs := &drainObserver{at: tt.at, ch: make(chan struct{})}
			e, st := f.engine(t, obs)
			ctx := drain.With(context.Background(), obs.ch)
			en, err := e.Upgrade(ctx, v2, Options{Trigger: "daemon"})
			if tt.committed {
				if err != nil || en.Result != state.ResultSuccess {
					t.Fatalf("in the downtime the transaction must finish: %+v %v", en, err)
				}
				f.converged(t, "v1.1.0")
				return
			}
			if err == nil {
				t.Fatalf("drain during %s: the upgrade went on (%v)", tt.at, obs.phases)
			}
			if slices.Contains(obs.phases, "stop") {
				t.Fatalf("drain during %s: a new step started: %v", tt.at, obs.phases)
			}
			open, _ := st.Load()
			if open == nil {
				t.Fatal("the interrupted transaction is not left open for the next start")
			}
			f.converged(t, "v1.0.0")
			// The next start resumes it: nothing to undo, and the release
			// is not marked bad (it never failed).
			if _, _, err := e.Resume(context.Background()); err != nil {
				t.Logf("resume: %v", err)
			}
			f.converged(t, "v1.0.0")
			if bad, _ := st.BadVersions(); len(bad) != 0 {
				t.Fatalf("a drained release was marked bad: %v", bad)
			}
			if open, _ := st.Load(); open != nil {
				t.Fatalf("transaction still open after resume: %+v", open)
			}
		})
	}
}
