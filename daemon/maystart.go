package daemon

import (
	"fmt"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/policy"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/outcome"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// MayStart is the daemon's own decision (decide) for one transaction to
// target started by the CLI's `upgrade` without --yes: an approval given
// with POST /api/v1/approve or `upgrade --yes` counts, the window must fit
// the expected duration, an interrupted attempt waits for the next window,
// a failed rollback blocks. nil means it may start now; otherwise the error
// wraps outcome.ErrHeld and says why and what overrides it.
func MayStart(cfg config.Config, store *state.Store, target version.V, now time.Time) error {
	hist, err := store.History()
	if err != nil {
		return err
	}
	appr, err := store.Approval()
	if err != nil {
		return err
	}
	txn, err := store.Load()
	if err != nil {
		return err
	}
	in := decideInput{
		Result:          CheckResult{Plan: policy.Plan{Target: target, Path: []version.V{target}}},
		Approval:        appr,
		RequireApproval: cfg.Window.RequireApproval,
		Window:          cfg.Window.Typed,
		Now:             now,
		Expected:        ExpectedDuration(hist),
		RollbackFailed:  txn != nil && txn.Phase == state.PhaseFailed,
		Interrupted:     interruptedAttempts(hist),
	}
	dec := decide(in)
	if dec.Next == target {
		return nil
	}
	next := "none within a year"
	if !dec.NextWindow.IsZero() {
		next = dec.NextWindow.UTC().Format(time.RFC3339)
	}
	switch dec.why {
	case waitApproval:
		return fmt.Errorf("%w: window.require_approval is set: approve with upgrade --yes (or POST /api/v1/approve to the daemon)", outcome.ErrHeld)
	case waitRollbackFailed:
		return fmt.Errorf("%w: %s", outcome.ErrHeld, dec.Wait)
	case waitWindow:
		return fmt.Errorf("%w: outside the maintenance window %s for an expected %s (next fit: %s); --yes upgrades now", outcome.ErrHeld, cfg.Window.Typed, in.Expected, next)
	default:
		return fmt.Errorf("%w: %s (next fit: %s); --yes upgrades now", outcome.ErrHeld, dec.Wait, next)
	}
}
