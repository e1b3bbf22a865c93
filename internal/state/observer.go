package state

import "time"

// Observer is what a running transaction reports its progress to: the
// engine (steps) calls it, the daemon implements it for metrics and systemd
// STATUS=, and neither imports the other. Calls are synchronous and must be
// quick.
type Observer interface {
	Phase(txn *Txn, phase string)                             // step name or "rollback: <step>"
	StepDone(step, action string, d time.Duration, err error) // action "run" or "rollback"
	BackupDone(size int64, d time.Duration, at time.Time)
	// HealthChecks is one round of the health gate: check name → passing
	// (health_check_up{check}).
	HealthChecks(up map[string]bool)
	Finished(e Entry) // after history is appended
}
