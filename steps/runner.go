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
	Action string // run or rollback
	Err    error
}

func (e *StepError) Error() string {
	if e.Action == "rollback" {
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
		if drain.Requested(ctx) && t.Facts[FactStoppedAt] == "" {
			// The daemon is stopping and Twenty still runs: start no new
			// step. Once the downtime has begun the transaction goes on
			// (within the daemon's stop_grace), since stopping there would
			// leave Twenty down until the daemon starts again.
			return fmt.Errorf("%w before step %s: the daemon is stopping (nothing was stopped yet)", errInterrupted, name)
		}
		t.Step = name
		if !slices.Contains(t.Started, name) {
			t.Started = append(t.Started, name)
		}
		if err := r.save(); err != nil { // persist, then act
			return &StepError{Step: name, Action: "run", Err: err}
		}
		r.e.obs.Phase(t, name)
		log := r.u.Log.With("step", name)
		log.Info("step started")
		start := r.e.now()
		err := r.inject.before(ctx, name)
		if err == nil {
			err = s.Run(ctx, r.u)
		}
		if err == nil {
			err = r.inject.after(ctx, name)
		}
		d := r.e.now().Sub(start)
		r.timing(name, "run", d, err)
		r.e.obs.StepDone(name, "run", d, err)
		if err != nil {
			if ctx.Err() != nil {
				log.Warn("step interrupted", "err", err)
				return fmt.Errorf("%w in step %s: %w", errInterrupted, name, err)
			}
			log.Error("step failed", "err", err, "duration_seconds", d.Seconds())
			return &StepError{Step: name, Action: "run", Err: err}
		}
		log.Info("step done", "duration_seconds", d.Seconds())
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
			return &StepError{Step: name, Action: "rollback", Err: fmt.Errorf("unknown step %q in the journal (written by another version?)", name)}
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%w before rolling back step %s: %w", errInterrupted, name, err)
		}
		t.Step = name
		if err := r.save(); err != nil { // persist, then act
			return &StepError{Step: name, Action: "rollback", Err: err}
		}
		r.e.obs.Phase(t, "rollback: "+name)
		log := r.u.Log.With("step", name)
		log.Info("rollback started")
		start := r.e.now()
		err := r.inject.rollback(ctx, name)
		if err == nil {
			err = s.Rollback(ctx, r.u)
		}
		d := r.e.now().Sub(start)
		r.timing(name, "rollback", d, err)
		r.e.obs.StepDone(name, "rollback", d, err)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%w while rolling back step %s: %w", errInterrupted, name, err)
			}
			log.Error("rollback failed", "err", err, "duration_seconds", d.Seconds())
			return &StepError{Step: name, Action: "rollback", Err: err}
		}
		log.Info("rollback done", "duration_seconds", d.Seconds())
		t.Undone = append(t.Undone, name)
	}
	return r.save()
}

func (r *txnRunner) timing(step, action string, d time.Duration, err error) {
	st := state.StepTiming{Step: step, Action: action, Seconds: d.Seconds(), Finished: err == nil}
	if err != nil {
		st.Error = err.Error()
	}
	r.u.Txn.Timings = append(r.u.Txn.Timings, st)
}
