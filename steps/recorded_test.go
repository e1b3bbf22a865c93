package steps

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/outcome"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
)

// clearFails is the journal of a process that dies after recording a result
// in history and before removing state.json.
type clearFails struct {
	*state.Store
	fail bool
}

func (j *clearFails) Clear() error {
	if j.fail {
		return errors.New("killed before clearing state.json")
	}
	return j.Store.Clear()
}

func ids(h []state.Entry) []string {
	out := make([]string, len(h))
	for i, e := range h {
		out[i] = e.ID + ":" + e.Result
	}
	return out
}

// A crash between appending to history and clearing state.json leaves a
// transaction that is already recorded: resuming it must neither record it
// a second time nor undo or redo what it concluded.
func TestResumeOfRecordedTransaction(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inject map[string]string
		result string
		want   string // the version that runs afterwards
	}{
		{"committed", nil, state.ResultSuccess, "v1.1.0"},
		{"rolled back", map[string]string{StepHealth: "fail"}, state.ResultRolledBack, "v1.0.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeInstall(t, t.TempDir(), "compose")
			e, st := f.engine(t, nil)
			j := &clearFails{Store: st, fail: true}
			e.store = j
			e.Upgrade(context.Background(), v2, Options{Inject: tc.inject})
			if open, _ := st.Load(); open == nil {
				t.Fatal("the fake crash did not leave state.json")
			}
			j.fail = false
			before := len(f.load(t).Log)
			resumed, en, err := e.Resume(context.Background())
			wantErr := error(nil)
			if tc.result == state.ResultRolledBack {
				wantErr = outcome.ErrRolledBack
			}
			if !resumed || !errors.Is(err, wantErr) || en.Result != tc.result {
				t.Fatalf("resume: %v %+v %v", resumed, en, err)
			}
			h, _ := st.History()
			if len(h) != 1 || h[0].Result != tc.result {
				t.Fatalf("history = %v, want the transaction once, %s", ids(h), tc.result)
			}
			if open, _ := st.Load(); open != nil {
				t.Errorf("state.json kept: %+v", open)
			}
			if log := f.load(t).Log[before:]; len(log) != 0 {
				t.Errorf("resuming a concluded transaction ran commands: %q", log)
			}
			f.converged(t, tc.want)
		})
	}
}

// A manual rollback after rollback_failed is its own history entry, with its
// own ID naming the transaction it closed; the failure stays recorded as it
// happened.
func TestManualRollbackAfterFailedRollbackIsRecorded(t *testing.T) {
	f := newFakeInstall(t, t.TempDir(), "compose")
	e, st := f.engine(t, nil)
	_, err := e.Upgrade(context.Background(), v2, Options{Inject: map[string]string{StepHealth: "fail", StepBackup: "fail_rollback"}})
	if err == nil {
		t.Fatal("the rollback did not fail")
	}
	failed, _ := st.Load()
	en, err := e.Rollback(context.Background())
	if err != nil || en.Result != state.ResultRolledBack {
		t.Fatalf("manual rollback: %+v %v", en, err)
	}
	h, _ := st.History()
	if len(h) != 2 {
		t.Fatalf("history = %v, want the failed rollback and the manual one", ids(h))
	}
	if h[0].ID != failed.ID || h[0].Result != state.ResultFailed || h[0].Recovery == "" {
		t.Errorf("first entry %s:%s, want %s:failed with its recovery", h[0].ID, h[0].Result, failed.ID)
	}
	if h[1].ID == h[0].ID || !strings.Contains(h[1].ID, "-rollback-"+failed.ID) || h[1].Result != state.ResultRolledBack {
		t.Errorf("second entry %s:%s, want its own ID rolling back %s", h[1].ID, h[1].Result, failed.ID)
	}
	if h[1].Facts.Manual != failed.ID {
		t.Errorf("manual rollback's manual fact = %q, want %s", h[1].Facts.Manual, failed.ID)
	}
	if open, _ := st.Load(); open != nil {
		t.Errorf("state.json kept: %+v", open)
	}
	f.converged(t, "v1.0.0")
}

// The engine never writes one ID twice, whatever path gets it there.
func TestRecordOnce(t *testing.T) {
	f := newFakeInstall(t, t.TempDir(), "compose")
	e, st := f.engine(t, nil)
	must(t, st.Append(state.Entry{ID: "x", Result: state.ResultSuccess}))
	must(t, e.record(state.Entry{ID: "x", Result: state.ResultSuccess}))
	must(t, e.record(state.Entry{ID: "y", Result: state.ResultSuccess}))
	if h, _ := st.History(); len(h) != 2 {
		t.Fatalf("history = %v", ids(h))
	}
}

// A failed rollback recorded in history whose state.json save was lost still
// waits for a person: it is not closed as concluded nor rolled back again.
func TestRecordedFailedRollbackWaitsForAPerson(t *testing.T) {
	f := newFakeInstall(t, t.TempDir(), "compose")
	e, st := f.engine(t, nil)
	must(t, st.Save(&state.Txn{ID: "x", Mode: "compose", From: v1, To: v2, Phase: state.PhaseRollback, Started: []string{StepPreflight}}))
	must(t, st.Append(state.Entry{ID: "x", Result: state.ResultFailed, Recovery: "MANUAL RECOVERY ..."}))
	resumed, _, err := e.Resume(context.Background())
	if !resumed || err == nil || !strings.Contains(err.Error(), "needs a person") {
		t.Fatalf("resume: %v %v", resumed, err)
	}
	if open, _ := st.Load(); open == nil || open.Phase != state.PhaseFailed || open.Recovery == "" {
		t.Fatalf("state: %+v", open)
	}
}

// Two transactions to one version in the same second (a retry right after
// a failure before any change, or the upgrade that goes on after a resume
// closed one) get distinct IDs: each result is recorded.
func TestTransactionIDUniqueInHistory(t *testing.T) {
	f := newFakeInstall(t, t.TempDir(), "compose")
	e, st := f.engine(t, nil)
	at := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	e.now = func() time.Time { return at }
	if _, err := e.Upgrade(context.Background(), v2, Options{Inject: map[string]string{StepPull: "fail"}}); err == nil {
		t.Fatal("the injected pull failure did not fail")
	}
	if _, err := e.Upgrade(context.Background(), v2, Options{}); err != nil {
		t.Fatal(err)
	}
	h, _ := st.History()
	if got := ids(h); len(got) != 2 || got[0] != "20260301T030000Z-v1.1.0:failed" || got[1] != "20260301T030000Z-v1.1.0-2:success" {
		t.Fatalf("history %v", got)
	}
	f.converged(t, "v1.1.0")
}

// TestResumeNothingChanged: a transaction interrupted before stop is closed
// as failed and the error says it changed nothing (ErrNothingChanged);
// one interrupted after stop is rolled back, and does not say so.
func TestResumeNothingChanged(t *testing.T) {
	for _, tc := range []struct {
		started   []string
		result    string
		unchanged bool
	}{
		{[]string{StepPreflight, StepPull}, state.ResultFailed, true},
		{[]string{StepPreflight, StepPull, StepStop}, state.ResultRolledBack, false},
	} {
		f := newFakeInstall(t, t.TempDir(), "compose")
		e, st := f.engine(t, nil)
		must(t, st.Save(&state.Txn{ID: "x", Mode: "compose", From: v1, To: v2, Phase: state.PhaseForward,
			Step: tc.started[len(tc.started)-1], Started: tc.started, Done: tc.started[:len(tc.started)-1],
			Facts: state.Facts{OldTag: "v1.0.0"}}))
		resumed, en, err := e.Resume(context.Background())
		if !resumed || en.Result != tc.result || errors.Is(err, ErrNothingChanged) != tc.unchanged {
			t.Errorf("resume after %v: %v %s %v", tc.started, resumed, en.Result, err)
		}
		if open, _ := st.Load(); open != nil {
			t.Errorf("state.json kept: %+v", open)
		}
		f.converged(t, "v1.0.0")
	}
}
