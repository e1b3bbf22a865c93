// Package outcome holds the few error classes the CLI maps to exit codes
// (README.md: 3 rolled back, 4 held). Packages wrap them with %w; only
// cmd/twenty-upgraded turns them into exit codes.
package outcome

import "errors"

var (
	// ErrRolledBack: the upgrade failed and the old version runs again (exit 3).
	ErrRolledBack = errors.New("upgrade rolled back")
	// ErrHeld: nothing done because of policy, window or approval (exit 4).
	ErrHeld = errors.New("held")
	// ErrUsage: the command line is wrong (exit 2).
	ErrUsage = errors.New("usage")
	// ErrNothingChanged: a resumed transaction was closed without having
	// changed anything (interrupted before Twenty was stopped); the caller
	// may go on. Not an exit code of its own (steps.ErrNothingChanged).
	ErrNothingChanged = errors.New("the interrupted transaction had changed nothing (Twenty was never stopped)")
)
