package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/drain"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
)

// StepError is a step's Run or Rollback failure.
type StepError struct {
	Step   string
	Action state.Action
	Err    error
}

func (e *StepError) Error() string {
	if e.Action == state.ActionRollback {
		return fmt.Sprintf("rollback of step %s: %v", e.Step, e.Err)
	}
	return fmt.Sprintf("step %s: %v", e.Step, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// errInterrupted marks a transaction left open because the context ended
// (daemon stopping, Ctrl-C): it is resumed on the next start.
var errInterrupted = errors.New("interrupted")

// txnRunner runs one transaction's steps, persisting before each action.
type txnRunner struct {
	e      *Engine
	u      *Upgrade
	plan   plan
	inject inject
	// interrupted: this rollback runs because the process was killed or
	// stopped, not because a step failed (Resume with no recorded error).
	interrupted bool
}

func (r *txnRunner) save() error {
	if err := r.e.store.Save(r.u.Txn); err != nil {
		return fmt.Errorf("persist the transaction: %w", err)
	}
	return nil
}

// forward runs every step not yet done, in order. It returns the failing
// step's *StepError, or an error wrapping errInterrupted when ctx ended.
func (r *txnRunner) forward(ctx context.Context) error {
	t := r.u.Txn
	for _, s := range r.plan.steps {
		name := s.Name()
		if slices.Contains(t.Done, name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%w before step %s: %w", errInterrupted, name, err)
		}
		if drain.Requested(ctx) && t.Facts.StoppedAt.IsZero() {
			// The daemon is stopping and Twenty still runs: start no new
			// step. Once the downtime has begun the transaction goes on
			// (within the daemon's stop_grace), since stopping there would
			// leave Twenty down until the daemon starts again.
			return fmt.Errorf("%w before step %s: the daemon is stopping (nothing was stopped yet)", errInterrupted, name)
		}
		if !slices.Contains(t.Started, name) {
			t.Started = append(t.Started, name)
		}
		err := r.act(ctx, name, state.ActionRun, func(ctx context.Context) error {
			err := r.inject.before(ctx, name)
			if err == nil {
				err = s.Run(ctx, r.u)
			}
			if err == nil {
				err = r.inject.after(ctx, name)
			}
			return err
		})
		if err != nil {
			return err
		}
		t.Done = append(t.Done, name)
	}
	return r.save()
}

// rollback undoes, in reverse order, every started step not yet undone.
func (r *txnRunner) rollback(ctx context.Context) error {
	t := r.u.Txn
	t.Phase = state.PhaseRollback
	for i := len(t.Started) - 1; i >= 0; i-- {
		name := t.Started[i]
		if slices.Contains(t.Undone, name) {
			continue
		}
		s := r.plan.step(name)
		if s == nil {
			return &StepError{Step: name, Action: state.ActionRollback, Err: fmt.Errorf("unknown step %q in the journal (written by another version?)", name)}
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%w before rolling back step %s: %w", errInterrupted, name, err)
		}
		err := r.act(ctx, name, state.ActionRollback, func(ctx context.Context) error {
			err := r.inject.rollback(ctx, name)
			if err == nil {
				err = s.Rollback(ctx, r.u)
			}
			return err
		})
		if err != nil {
			return err
		}
		t.Undone = append(t.Undone, name)
	}
	return r.save()
}

// act runs one action of step name under the rules
// both directions share: persist the position, then act; time it and tell
// the observer; an error while ctx has ended is an interruption (the
// transaction stays open), any other is the step's failure (*StepError).
func (r *txnRunner) act(ctx context.Context, name string, action state.Action, do func(context.Context) error) error {
	t := r.u.Txn
	t.Step = name
	if err := r.save(); err != nil { // persist, then act
		return &StepError{Step: name, Action: action, Err: err}
	}
	verb, where := "step", "in step"
	if action == state.ActionRollback {
		verb, where = "rollback", "while rolling back step"
	}
	r.e.obs.Phase(t, name, action)
	log := r.u.Log.With("step", name)
	log.Info(verb + " started")
	start := r.e.now()
	err := do(ctx)
	d := r.e.now().Sub(start)
	r.timing(name, action, d, err)
	r.e.obs.StepDone(name, action, d, err)
	if err != nil {
		if ctx.Err() != nil {
			log.Warn(verb+" interrupted", "err", err)
			return fmt.Errorf("%w %s %s: %w", errInterrupted, where, name, err)
		}
		log.Error(verb+" failed", "err", err, "duration_seconds", d.Seconds())
		return &StepError{Step: name, Action: action, Err: err}
	}
	log.Info(verb+" done", "duration_seconds", d.Seconds())
	return nil
}

func (r *txnRunner) timing(step string, action state.Action, d time.Duration, err error) {
	st := state.StepTiming{Step: step, Action: action, Seconds: d.Seconds(), Finished: err == nil}
	if err != nil {
		st.Error = err.Error()
	}
	r.u.Txn.Timings = append(r.u.Txn.Timings, st)
}
