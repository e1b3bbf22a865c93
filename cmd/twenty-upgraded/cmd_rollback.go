package main

import (
	"context"
	"fmt"
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
	return err
}
