package main

import (
	"context"
	"fmt"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/daemon"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/outcome"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps"
	"github.com/twenty-upgraded/twenty-upgraded/steps/backup"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// upgradeOptions are the flags of `upgrade`.
type upgradeOptions struct {
	to     string
	dryRun bool
	yes    bool
}

func cmdUpgrade(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("upgrade", "[--to vX.Y.Z] [--dry-run] [--yes]")
	var o upgradeOptions
	fs.StringVar(&o.to, "to", "", "target `version` vX.Y.Z (default: the next target `check` plans)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "print every step and command a real run would execute; change nothing")
	fs.BoolVar(&o.yes, "yes", false, "run now: skip the maintenance window and the approval")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("upgrade takes no arguments (use --to vX.Y.Z)")
	}
	return runUpgrade(ctx, e, o)
}

func runUpgrade(ctx context.Context, e *env, o upgradeOptions) error {
	var target version.V
	if o.to != "" {
		v, err := version.Parse(o.to)
		if err != nil {
			return usageErr("--to: %v", err)
		}
		target = v
	}
	cfg, err := e.loadConfig()
	if err != nil {
		return err
	}
	store, err := state.Open(cfg.Daemon.StateDir)
	if err != nil {
		return err
	}
	if target.IsZero() {
		rep, err := e.checkNow(ctx, "")
		if err != nil {
			return err
		}
		if target = rep.Next; target.IsZero() {
			return fmt.Errorf("%w: no upgrade to do from %s (run twenty-upgraded check to see why; --to picks a version)", outcome.ErrHeld, orNone(rep.Current))
		}
	}
	eng := newEngine(e, cfg, store)
	if o.dryRun {
		_, err := eng.Upgrade(ctx, target, steps.Options{DryRun: true, DryRunOut: e.stdout, Trigger: "cli"})
		return err
	}
	lock, err := store.Lock("upgrade --to " + target.String())
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if resumed, en, err := eng.Resume(ctx); resumed {
		fmt.Fprintf(e.stdout, "an interrupted transaction was open and has been resumed first: %s\n", describe(en))
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: run the upgrade again now that the interrupted transaction is closed", outcome.ErrHeld)
	} else if err != nil {
		return err
	}
	if !o.yes {
		if err := inWindow(e, cfg, store); err != nil {
			return err
		}
	}
	en, err := eng.Upgrade(ctx, target, steps.Options{Trigger: "cli"})
	if en.ID != "" {
		fmt.Fprintln(e.stdout, describe(en))
	}
	return err
}

// inWindow holds a CLI upgrade outside the window or without approval.
func inWindow(e *env, cfg config.Config, store *state.Store) error {
	if cfg.Window.RequireApproval {
		return fmt.Errorf("%w: window.require_approval is set: approve with upgrade --yes (or POST /api/v1/approve to the daemon)", outcome.ErrHeld)
	}
	w := cfg.Window.Typed
	hist, err := store.History()
	if err != nil {
		return err
	}
	expected, now := daemon.ExpectedDuration(hist), e.now()
	if w.Fits(now, expected) {
		return nil
	}
	next := "none within a year"
	if at, ok := w.NextFit(now, expected); ok {
		next = at.UTC().Format(time.RFC3339)
	}
	return fmt.Errorf("%w: outside the maintenance window %s for an expected %s (next fit: %s); --yes upgrades now", outcome.ErrHeld, w, expected, next)
}

// newEngine builds the engine with the real runner and backup manager.
func newEngine(e *env, cfg config.Config, store *state.Store) *steps.Engine {
	r := proc.Exec{}
	return steps.New(cfg, steps.Deps{Runner: r, Store: store, Backups: backup.New(cfg, r, e.logger), Logger: e.logger, Now: e.now})
}

func describe(en state.Entry) string {
	if en.ID == "" {
		return "no result recorded"
	}
	s := fmt.Sprintf("%s %s → %s: %s in %s (downtime %s)", en.ID, en.From, en.To, en.Result,
		time.Duration(en.Seconds*float64(time.Second)).Round(time.Second), time.Duration(en.Downtime*float64(time.Second)).Round(time.Second))
	if en.Backup != "" {
		s += ", backup " + en.Backup
	}
	return s
}
