package steps

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/outcome"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
)

// Rollback is the CLI's `rollback`. With an open transaction (interrupted,
// or rollback_failed after a person fixed the cause) it runs that
// transaction's rollback again; after rollback_failed as a transaction of
// its own (see reopen). Otherwise it undoes the last committed
// transaction from its backup: restore database, files and .env, pin the old
// image, up, health gate on the old version. Data written since that commit
// is lost; the version is added to bad-versions.
func (e *Engine) Rollback(ctx context.Context) (state.Entry, error) {
	t, err := e.store.Load()
	if err != nil {
		return state.Entry{}, err
	}
	if t != nil {
		if t, err = e.reopen(t); err != nil {
			return state.Entry{}, err
		}
	}
	if t == nil {
		if t, err = e.committedTxn(); err != nil {
			return state.Entry{}, err
		}
	}
	c, err := e.open(ctx)
	if err != nil {
		return state.Entry{}, err
	}
	cause := errors.New("rollback requested by hand")
	if t.Error != "" {
		cause = fmt.Errorf("%s; %w", t.Error, cause)
	}
	t.Phase, t.Recovery = state.PhaseRollback, ""
	r := e.newRunner(t, c, nil)
	r.u.Log.Warn("rollback requested", "from", t.From.String(), "to", t.To.String())
	en, err := e.rollbackAndFinish(ctx, r, cause)
	if errors.Is(err, outcome.ErrRolledBack) {
		return en, nil // what was asked for
	}
	return en, err
}

// committedTxn rebuilds the last committed transaction, fully done, ready to
// be rolled back.
func (e *Engine) committedTxn() (*state.Txn, error) {
	h, err := e.store.History()
	if err != nil {
		return nil, err
	}
	if len(h) == 0 {
		return nil, errors.New("nothing to roll back: history is empty")
	}
	last := h[len(h)-1]
	if last.Result != state.ResultSuccess {
		return nil, fmt.Errorf("nothing to roll back: the last transaction %s (%s → %s) ended %s, %s runs", last.ID, last.From, last.To, last.Result, last.From)
	}
	if last.Backup == "" {
		return nil, fmt.Errorf("cannot roll back %s: it recorded no backup set", last.ID)
	}
	names := buildPlan(last.Mode).names()
	now := e.now().UTC()
	id, err := e.manualID(last.ID)
	if err != nil {
		return nil, err
	}
	t := &state.Txn{ID: id, Mode: last.Mode, From: last.From, To: last.To,
		Phase: state.PhaseRollback, Started: names, Done: names, StartedAt: now, Facts: last.Facts}
	t.Facts.BackupID, t.Facts.Manual, t.Facts.Trigger = last.Backup, last.ID, "cli"
	t.Facts.StoppedAt, t.Facts.HealthyAt = now, time.Time{}
	return t, nil
}

// reopen prepares the open transaction t for a rollback by hand. One whose
// result history already holds (a crash before state.json was removed) is
// closed, and nil returned: the last committed transaction is the one to
// undo. One whose failed rollback history holds becomes a new transaction
// with its own ID: history keeps the failure as it happened and gains the
// rollback the person ran, its manual fact naming the transaction it closes.
// Its duration counts from now; its downtime still from the original stop.
func (e *Engine) reopen(t *state.Txn) (*state.Txn, error) {
	if en, ok, err := e.concluded(t); err != nil {
		return nil, err
	} else if ok {
		_, err := e.closeRecorded(en)
		if errors.Is(err, outcome.ErrRolledBack) {
			err = nil
		}
		return nil, err
	}
	if _, ok, err := e.recorded(t.ID); err != nil || !ok {
		return t, err
	}
	of := t.Facts.Manual
	if of == "" {
		of = t.ID
	}
	id, err := e.manualID(of)
	if err != nil {
		return nil, err
	}
	t.ID, t.StartedAt, t.Timings, t.Resumes = id, e.now().UTC(), nil, 0
	t.Facts.Manual, t.Facts.Trigger = of, "cli"
	return t, nil
}
