package main

import (
	"context"
	"fmt"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/notify"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
)

// cmdRollback puts back the state before the last transaction: it resumes
// the rollback of an open (interrupted or rollback_failed) transaction, or
// undoes the last committed one from its backup.
func cmdRollback(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("rollback", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("rollback takes no arguments")
	}
	cfg, store, unlock, err := e.openLocked("rollback")
	if err != nil {
		return err
	}
	defer unlock()
	en, err := newEngine(e, cfg, store).Rollback(ctx)
	if en.ID != "" {
		fmt.Fprintln(e.stdout, describe(en))
	}
	if err == nil && en.Result == state.ResultRolledBack {
		endRollbackFailed(e, store.Dir)
	}
	return err
}

// endRollbackFailed ends the hourly rollback_failed notification once a
// rollback or restore succeeded (docs/notify.md), through the record the
// daemon keeps; the caller holds the state lock, so no daemon runs.
func endRollbackFailed(e *env, stateDir string) {
	cleared, err := notify.ClearSent(stateDir, config.EventRollbackFailed)
	switch {
	case err != nil:
		fmt.Fprintf(e.stderr, "warning: the hourly \"rollback failed\" notification could not be ended: %v\n", err)
	case cleared:
		fmt.Fprintln(e.stdout, "notifications: the hourly \"rollback failed\" message ends")
	}
}
