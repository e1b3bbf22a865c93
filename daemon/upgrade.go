package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/notify"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/drain"
	"github.com/twenty-upgraded/twenty-upgraded/internal/outcome"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// resume lets the engine finish or undo a transaction left open by a crash,
// before READY=1.
func (d *Daemon) resume(ctx context.Context, stopping func()) {
	_, p := d.config()
	if p.upgrader == nil {
		return
	}
	d.runTxn(ctx, stopping, func(work context.Context) {
		resumed, e, err := p.upgrader.Resume(work)
		switch {
		case errors.Is(err, outcome.ErrNothingChanged):
			d.log.Warn("resumed an interrupted transaction that had changed nothing; Twenty runs as before", "upgrade_id", e.ID, "detail", err)
		case err != nil && !errors.Is(err, outcome.ErrRolledBack):
			d.log.Error("resume failed", "err", err, "upgrade_id", e.ID)
		case resumed:
			d.log.Info("resumed open transaction", "upgrade_id", e.ID, "result", e.Result)
		}
		d.afterTxn(e, resumed)
	})
}

// upgrade runs one transaction to v and reports whether it succeeded. The
// mutex makes "never two at a time" hold even against future callers.
func (d *Daemon) upgrade(ctx context.Context, u Upgrader, v version.V, stopping func()) bool {
	d.upgradeMu.Lock()
	defer d.upgradeMu.Unlock()
	d.mu.Lock()
	d.st.state = StateUpgrading
	from := version.V{}
	if d.st.last != nil {
		from = d.st.last.Current
	}
	d.mu.Unlock()
	d.metrics.InProgress.Set(1)
	d.setStatus("upgrading " + orUnknown(from.String()) + " → " + v.String() + ": starting")
	d.log.Info("upgrade starting", "from", from.String(), "to", v.String())
	d.message(notify.Event{Kind: config.EventStarted, Key: d.deps.Now().UTC().Format(time.RFC3339Nano), From: orUnknown(from.String()), To: v.String()})
	ok := false
	d.runTxn(ctx, stopping, func(work context.Context) {
		e, err := u.Upgrade(work, v, "daemon")
		switch {
		case errors.Is(err, outcome.ErrRolledBack):
			d.log.Warn("upgrade rolled back", "to", v.String(), "upgrade_id", e.ID, "err", err)
		case err != nil:
			d.log.Error("upgrade failed", "to", v.String(), "upgrade_id", e.ID, "err", err)
		default:
			ok = e.Result == state.ResultSuccess
		}
		d.afterTxn(e, false)
	})
	return ok
}

// afterTxn clears the in-progress state and the approval once its version
// is installed.
func (d *Daemon) afterTxn(e state.Entry, resumed bool) {
	d.metrics.InProgress.Set(0)
	hist, err := d.deps.Store.History()
	if err != nil {
		d.log.Warn("history unreadable", "err", err)
	}
	txn, err := d.deps.Store.Load()
	if err != nil {
		d.log.Warn("state unreadable", "err", err)
	}
	d.txnMessage(e, txn, resumed)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.st.txn, d.st.phase = txn, ""
	if txn != nil && txn.Phase == state.PhaseFailed {
		d.st.state = StateRollbackFailed
		d.metrics.RollbackFailed.Set(1)
	} else if d.st.state != StateRollbackFailed {
		d.st.state = StateIdle
	}
	if hist != nil {
		d.st.expected = ExpectedDuration(hist)
		d.st.interrupt = interruptedAttempts(hist)
	}
	if a := d.approval; a != nil && e.Result == state.ResultSuccess && !e.To.Less(a.Version) {
		if err := d.deps.Store.SetApproval(nil); err != nil {
			d.log.Warn("approval not cleared", "err", err)
		}
		d.approval = nil
	}
}

// runTxn runs fn (a transaction) with a context that outlives ctx: when ctx
// ends (SIGTERM) the daemon sends STOPPING=1 and asks the engine, through a
// drain signal, to start no new step while Twenty still runs; a step that
// runs (or a transaction already in its downtime) goes on for
// daemon.stop_grace, extending systemd's stop timeout meanwhile, and only
// then is cancelled. The engine persists before it acts, so a drained or
// cancelled transaction is resumed on the next start.
func (d *Daemon) runTxn(ctx context.Context, stopping func(), fn func(work context.Context)) {
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	drainCh := make(chan struct{})
	work = drain.With(work, drainCh)
	done := make(chan struct{})
	watcherDone := make(chan struct{})
	go func() {
		defer close(watcherDone)
		d.graceWatch(ctx, done, func() { close(drainCh) }, cancel, stopping)
	}()
	fn(work)
	close(done)
	<-watcherDone
}

func (d *Daemon) graceWatch(ctx context.Context, done <-chan struct{}, drainNow func(), cancel context.CancelFunc, stopping func()) {
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	cfg, _ := d.config()
	stopping()
	drainNow()
	d.mu.Lock()
	phase := d.st.phase
	d.mu.Unlock()
	d.setStatus("stopping: letting step " + orUnknown(phase) + " finish (up to " + cfg.Daemon.StopGrace.String() + ")")
	d.log.Info("stop requested during a transaction; waiting for the step", "step", phase, "stop_grace_seconds", cfg.Daemon.StopGrace.Seconds())
	extend := 3 * d.timing.extendEvery
	d.extendTimeout(extend)
	ext := time.NewTicker(d.timing.extendEvery)
	defer ext.Stop()
	grace := time.NewTimer(cfg.Daemon.StopGrace)
	defer grace.Stop()
	for {
		select {
		case <-done:
			return
		case <-ext.C:
			d.extendTimeout(extend)
		case <-grace.C:
			d.log.Warn("stop grace over; cancelling the running step (the next start resumes the transaction)")
			cancel()
		}
	}
}
