package steps

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/backup"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// Journal is where the engine persists transactions; *state.Store satisfies it.
type Journal interface {
	Load() (*state.Txn, error)
	Save(t *state.Txn) error
	Clear() error
	Append(e state.Entry) error
	History() ([]state.Entry, error)
	MarkBad(v version.V, reason string) error
}

// The backup package's types, so *backup.Manager satisfies Backups as is.
type (
	BackupMeta     = backup.Meta
	BackupSet      = backup.Set
	RestoreOptions = backup.RestoreOptions
	BackupAction   = backup.Action
)

// Backups is what the engine needs from the backup manager; *backup.Manager
// satisfies it, tests use a fake.
type Backups interface {
	Create(ctx context.Context, m BackupMeta) (BackupSet, error)
	Restore(ctx context.Context, id string, o RestoreOptions) error
	Prune(protect ...string) ([]string, error)
	CheckSpace(ctx context.Context) error
	// Describe lists, for the dry run, what a backup of in does: each
	// command with the file it writes, or the work in words. It only reads.
	Describe(ctx context.Context, in *install.Install) []BackupAction
}

// Gate waits until Twenty is really up on want, or fails naming each failing
// check. since is when the server was started (for its log). *health.Gate
// satisfies it.
type Gate interface {
	// Wait runs every configured check that exists on want until all pass
	// for health.stable_for.
	Wait(ctx context.Context, want version.V, since time.Time) error
	// WaitStarted only watches the server container until it is healthy (a
	// failure line in its log fails it at once): the start step waits for
	// it before starting the worker.
	WaitStarted(ctx context.Context, want version.V, since time.Time) error
}

// Deps are the engine's collaborators. Runner, Store and Backups are
// required; the rest have defaults.
type Deps struct {
	Runner   proc.Runner
	Store    Journal
	Backups  Backups
	Logger   *slog.Logger
	Now      func() time.Time
	Observer state.Observer
	HTTP     *http.Client
	// Gate overrides the health gate (tests); nil builds a *health.Gate.
	Gate Gate
}

// Options of one Upgrade call.
type Options struct {
	DryRun    bool
	DryRunOut io.Writer
	Trigger   string // "daemon" or "cli"
	// Held, in a dry run, is why the caller would not start the real run
	// (policy, window, approval): the dry run says so and ends held. Without
	// it the dry run checks bad-versions itself.
	Held error
	// Forced lists the policy rules (daemon/policy codes) `upgrade --to …
	// --force` overrode for this target; the history entry records them.
	Forced []string
	// Inject is fault injection for tests (see inject.go): step → "fail",
	// "hang", "hang_after", "fail_rollback" or "hang_rollback" ("+" joins several).
	Inject map[string]string
}

type nopObserver struct{}

func (nopObserver) Phase(*state.Txn, string, state.Action)              {}
func (nopObserver) StepDone(string, state.Action, time.Duration, error) {}
func (nopObserver) BackupDone(int64, time.Duration, time.Time)          {}
func (nopObserver) Finished(state.Entry)                                {}
func (nopObserver) HealthChecks(map[string]bool)                        {}

var _ Backups = (*backup.Manager)(nil)
