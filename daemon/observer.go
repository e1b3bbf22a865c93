package daemon

import (
	"fmt"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/notify"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
)

// The engine calls these (state.Observer) while a transaction runs. Every
// call is progress: it renews the heartbeat with the step budget, so a long
// health-gate wait inside one step's timeout is not "wedged".

// Phase reports the step the engine is about to run (or roll back).
func (d *Daemon) Phase(txn *state.Txn, step string, action state.Action) {
	d.beat.beat(d.stepBudget())
	var from, to string
	d.mu.Lock()
	if txn != nil {
		cp := *txn
		d.st.txn = &cp
		from, to = txn.From.String(), txn.To.String()
	}
	rollingBack := action == state.ActionRollback
	d.st.phase = step // status "phase": the step, or "rollback: <step>"
	if rollingBack {
		d.st.phase = "rollback: " + step
	}
	d.st.state = StateUpgrading
	d.mu.Unlock()
	d.metrics.InProgress.Set(1)
	verb := "upgrading"
	if rollingBack || (txn != nil && txn.Phase == state.PhaseRollback) {
		verb = "rolling back"
	}
	d.setStatus(fmt.Sprintf("%s %s → %s: %s", verb, orUnknown(from), orUnknown(to), step))
	d.log.Info("phase", "phase", step, "action", string(action), "from", from, "to", to)
}

// StepDone records one step's (or one rollback action's) duration and result.
func (d *Daemon) StepDone(step string, action state.Action, dur time.Duration, err error) {
	d.beat.beat(d.stepBudget())
	label := step
	if action == state.ActionRollback {
		label = step + "_rollback"
	}
	d.metrics.StepDuration.WithLabelValues(label).Set(dur.Seconds())
	if err != nil {
		d.metrics.StepFailures.WithLabelValues(label).Inc()
		if step == "backup" && action != state.ActionRollback {
			// One message per failure: the key is when it failed.
			d.message(notify.Event{Kind: config.EventBackupFailed, Key: d.deps.Now().UTC().Format(time.RFC3339Nano), Error: err.Error()})
		}
	}
}

// BackupDone records a verified backup set.
func (d *Daemon) BackupDone(size int64, dur time.Duration, at time.Time) {
	d.beat.beat(d.stepBudget())
	d.metrics.BackupSize.Set(float64(size))
	d.metrics.BackupDuration.Set(dur.Seconds())
	d.metrics.LastBackup.Set(unix(at))
}

// Finished records a transaction's result (also for a resumed one).
func (d *Daemon) Finished(e state.Entry) {
	d.beat.beat(d.stepBudget())
	d.metrics.Upgrades.WithLabelValues(e.Result).Inc()
	d.metrics.LastUpgrade.WithLabelValues(e.Result).Set(unix(e.FinishedAt))
	d.metrics.Downtime.Set(e.Downtime)
	d.metrics.InProgress.Set(0)
	failed := e.Result == state.ResultFailed && e.Recovery != ""
	if failed {
		d.metrics.RollbackFailed.Set(1)
	} else if e.Result == state.ResultSuccess {
		d.metrics.RollbackFailed.Set(0)
	}
	d.mu.Lock()
	d.st.txn, d.st.phase = nil, ""
	d.st.state = StateIdle
	if failed {
		d.st.state = StateRollbackFailed
	}
	d.mu.Unlock()
	d.log.Info("transaction finished", "upgrade_id", e.ID, "result", e.Result,
		"from", e.From.String(), "to", e.To.String(), "duration_seconds", e.Seconds, "downtime_seconds", e.Downtime)
}

// healthCheck records one health-gate check result (health_check_up{check}).
func (d *Daemon) healthCheck(check string, up bool) {
	d.beat.beat(d.stepBudget())
	v := 0.0
	if up {
		v = 1
	}
	d.metrics.HealthCheckUp.WithLabelValues(check).Set(v)
}

// stepBudget is how long one step may take before the loop counts as wedged:
// the longest configured timeout (health gate included) plus slack.
func (d *Daemon) stepBudget() time.Duration {
	d.mu.Lock()
	t, h := d.cfg.Timeouts, d.cfg.Health.Timeout
	d.mu.Unlock()
	longest := max(t.Command, t.Pull, t.Stop, t.Backup, t.Restore, t.Start, t.Build, t.Hook, h)
	return longest + d.timing.slack
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

// HealthChecks records one round of the health gate (state.Observer):
// every configured check with whether it passed.
func (d *Daemon) HealthChecks(up map[string]bool) {
	for check, ok := range up {
		d.healthCheck(check, ok)
	}
}

// The engine fills health_check_up{check} through HealthChecks; the daemon
// must keep satisfying the whole interface.
var _ state.Observer = (*Daemon)(nil)
