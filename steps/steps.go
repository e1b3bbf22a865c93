// Package steps is the upgrade engine: one transaction from version A to
// version B that either commits with Twenty healthy on B, or ends with Twenty
// healthy on A with its data exactly as before.
//
// A transaction is a list of Steps. The runner persists the transaction to
// the journal before each step and before each rollback action (persist,
// then act), runs the steps forward and, when one fails, rolls back every
// step whose Run started, in reverse order. After a crash, Resume maps "where
// we died" to "what now" with one rule per step (resume.go).
package steps

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// Step is one stable, named part of a transaction.
//
// Run does the step's work. Rollback undoes it: the runner calls Rollback in
// reverse order for every step whose Run started, including the one that
// failed (its Run may have done half its work), and again after a crash in
// the middle of a rollback, so Rollback must be idempotent and must cope with
// a Run that did nothing, part or all of its work. A step with nothing to
// undo says so with an explicit no-op.
type Step interface {
	Name() string
	Run(ctx context.Context, u *Upgrade) error
	Rollback(ctx context.Context, u *Upgrade) error
}

// Step names: stable, written to state.json and history.jsonl.
const (
	StepPreflight = "preflight"
	StepPull      = "pull"
	StepStop      = "stop"
	StepBackup    = "backup"
	StepSwitch    = "switch"
	StepStart     = "start"
	StepHealth    = "health"
	StepCommit    = "commit"
	StepFetch     = "fetch"
	StepPrebuild  = "prebuild"
	StepCheckout  = "checkout"
	StepClean     = "clean"
	StepInstall   = "install"
	StepBuild     = "build"
	StepMigrate   = "migrate"
	// StepUpgradeWorkspaces runs the workspace migrations (yarn command:prod
	// upgrade), which database:migrate:prod no longer runs.
	StepUpgradeWorkspaces = "upgrade_workspaces"
	StepFlushCache        = "flush_cache"
	StepUp                = "up"
)

// Upgrade is everything a step may use: typed, not a bag.
type Upgrade struct {
	Cfg      config.Config
	From, To version.V
	In       *install.Install // the install: every docker, compose and git argv comes from it
	Runner   proc.Runner
	Backups  Backups
	Gate     Gate
	Log      *slog.Logger
	HTTP     *http.Client
	Now      func() time.Time
	Txn      *state.Txn

	// DryRun makes steps print their file changes to Out instead of making them.
	DryRun bool
	Out    io.Writer

	persist func() error // saves Txn to the journal
	plan    plan         // the transaction's steps (buildPlan of Txn.Mode)
	obs     state.Observer
	srcNew  *install.SourcePlan // source mode: the new tag's commands, read once
}

// Persist saves the transaction now: a step calls it after recording a fact
// it needs to survive a crash and before acting on it.
func (u *Upgrade) Persist() error {
	if u.persist == nil {
		return nil
	}
	return u.persist()
}

// Started reports whether the Run of step name began.
func (u *Upgrade) Started(name string) bool { return slices.Contains(u.Txn.Started, name) }

// cmd runs c with the given timeout (cfg.Timeouts.Command when zero).
func (u *Upgrade) run(ctx context.Context, c proc.Cmd) (proc.Result, error) {
	if c.Timeout == 0 {
		c.Timeout = u.Cfg.Timeouts.Command
	}
	u.Log.Debug("run", "argv", c.String())
	return u.Runner.Run(ctx, c)
}
