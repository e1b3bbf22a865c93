package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twenty-upgraded/twenty-upgraded/internal/outcome"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
)

// ErrNothingChanged is in the error of a Resume that closed a transaction
// which had changed nothing: it was interrupted before Twenty was stopped
// (a pulled image or fetched git objects may stay). It is recorded as
// failed, Twenty runs as before, and the caller may go on with what it was
// asked to do (`upgrade --to` does).
var ErrNothingChanged = outcome.ErrNothingChanged

// Resume continues an open transaction after a crash (kill -9, power loss,
// daemon stop mid-step). It returns false when none is open. Each call counts
// against daemon.max_resumes; past it the engine stops and asks for a person.
// Its error wraps ErrNothingChanged when the transaction it closed had
// changed nothing, outcome.ErrRolledBack when it rolled back.
func (e *Engine) Resume(ctx context.Context) (bool, state.Entry, error) {
	t, err := e.store.Load()
	if err != nil || t == nil {
		return false, state.Entry{}, err
	}
	if en, ok, err := e.concluded(t); err != nil {
		return true, state.Entry{}, err
	} else if ok {
		// Its result is in history: the process died before removing
		// state.json. Nothing runs again; it is not recorded twice.
		en, err := e.closeRecorded(en)
		return true, en, err
	}
	if t.Phase == state.PhaseFailed {
		// A failed rollback is never retried automatically: a person looks
		// first, then runs `twenty-upgraded rollback`.
		return true, state.Entry{}, fmt.Errorf("transaction %s (%s → %s) needs a person: its rollback failed and is never retried automatically; fix the cause, then run twenty-upgraded rollback\n%s", t.ID, t.From, t.To, t.Recovery)
	}
	c, cerr := e.open(ctx)
	t.Resumes++
	r := e.newRunner(t, c, nil)
	r.u.Log.Warn("resuming transaction", "step", t.Step, "phase", t.Phase, "resumes", t.Resumes)
	max := e.cfg.Daemon.MaxResumes
	if max <= 0 {
		max = 5
	}
	if t.Resumes > max {
		en, err := e.rollbackFailed(r, errors.New(t.Error), fmt.Errorf("resumed %d times without finishing (daemon.max_resumes = %d): stopped so a person can look", t.Resumes-1, max))
		return true, en, err
	}
	if err := r.save(); err != nil {
		return true, state.Entry{}, err
	}
	if cerr != nil {
		return true, state.Entry{}, fmt.Errorf("resume transaction %s: %w", t.ID, cerr)
	}
	cause := fmt.Errorf("interrupted at step %s (%s), resume %d", t.Step, t.Phase, t.Resumes)
	if t.Error != "" {
		cause = fmt.Errorf("%s; %w", t.Error, cause)
	}
	// No step failed on its own: a kill, a power loss or a stop ended it. The
	// release is not at fault (yet); see rollbackAndFinish.
	r.interrupted = t.Error == ""
	// One rule per position (docs/engine.md, "Crash and restart"):
	//   - the gate passed and no rollback began: only commit was left or was
	//     running; finish it (prune and post_upgrade are safe to repeat);
	//   - anywhere else, roll back what was started, newest first, skipping
	//     what is already undone (every rollback action is idempotent). What
	//     that does depends on how far it got: before "stop" nothing changed
	//     (recorded as failed, ErrNothingChanged); before the switch stop's
	//     rollback starts the old version again; after it everything is
	//     restored. rollbackAndFinish decides whether the version is bad.
	if t.Phase != state.PhaseRollback && slices.Contains(t.Done, StepHealth) {
		en, err := e.conclude(ctx, r, r.forward(ctx))
		return true, en, err
	}
	nothingChanged := t.Phase != state.PhaseRollback && !r.u.Started(StepStop)
	en, err := e.rollbackAndFinish(ctx, r, cause)
	if nothingChanged && errors.Is(err, cause) { // recorded and closed, as failed
		err = fmt.Errorf("%w: %w", ErrNothingChanged, err)
	}
	return true, en, err
}
