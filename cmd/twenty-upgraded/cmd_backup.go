package main

import (
	"context"
	"fmt"

	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/steps/backup"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// cmdBackup takes a set now. For a consistent dump it stops server and
// worker first (db and redis stay up) and starts them again afterwards,
// whatever happened; --online leaves them running.
func cmdBackup(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("backup", "[--online] [--reason TEXT]")
	online := fs.Bool("online", false, "leave server and worker running (no downtime, but writes made during the dump may be missing)")
	reason := fs.String("reason", "manual", "why this set was taken (recorded in its manifest)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("backup takes no arguments, got %q", fs.Args())
	}
	cfg, store, unlock, err := e.openLocked("backup")
	if err != nil {
		return err
	}
	defer unlock()

	m := newBackupManager(e, cfg)
	meta := backup.Meta{Reason: *reason, Online: *online, Images: map[string]string{}}
	var inst install.Installed
	in, err := install.Open(ctx, cfg, proc.Exec{})
	if err == nil {
		meta.Install = in
		inst, err = in.Current(ctx)
	}
	if err != nil {
		e.logger.Warn("installed version unknown; the set is named without it", "err", err)
	}
	meta.Version = inst.Version
	if inst.Image != "" {
		meta.Images[cfg.Install.ServerService] = inst.Image
	}
	if err := m.CheckSpace(ctx); err != nil {
		return err
	}
	if !*online {
		running, err := m.Writers(ctx)
		if err != nil {
			return err
		}
		if err := m.StopWriters(ctx); err != nil {
			return err
		}
		defer func() {
			if err := m.StartWriters(context.WithoutCancel(ctx), running); err != nil {
				e.logger.Error("could not start the writers again; start them by hand", "services", running, "err", err)
			}
		}()
	}
	set, err := m.Create(ctx, meta)
	if err != nil {
		return err
	}
	printSet(e.stdout, set)
	if removed, err := m.Prune(protectedSets(store)...); err != nil {
		e.logger.Warn("pruning old sets failed", "err", err)
	} else if len(removed) > 0 {
		fmt.Fprintf(e.stdout, "pruned (backup.keep = %d): %v\n", cfg.Backup.Keep, removed)
	}
	return nil
}

// protectedSets is the backup an open transaction may still need.
func protectedSets(store *state.Store) []string {
	txn, err := store.Load()
	if err != nil || txn == nil || txn.Facts.BackupID == "" {
		return nil
	}
	return []string{txn.Facts.BackupID}
}
