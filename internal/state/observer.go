package state

import "time"

// Action is what the engine does with a step: run it, or roll it back.
type Action string

const (
	ActionRun      Action = "run"
	ActionRollback Action = "rollback"
)

// Observer is what a running transaction reports its progress to: the
// engine (steps) calls it, the daemon implements it for metrics and systemd
// STATUS=, and neither imports the other. Calls are synchronous and must be
// quick.
type Observer interface {
	Phase(txn *Txn, step string, action Action) // a step's action starts
	StepDone(step string, action Action, d time.Duration, err error)
	BackupDone(size int64, d time.Duration, at time.Time)
	// HealthChecks is one round of the health gate: check name → passing
	// (health_check_up{check}).
	HealthChecks(up map[string]bool)
	Finished(e Entry) // after history is appended
}
