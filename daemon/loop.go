package daemon

import (
	"context"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// Run is the service: resume an open transaction, serve HTTP on ln (nil: no
// HTTP), send READY=1, then check, decide and upgrade until ctx ends. It
// returns nil on a clean stop; the journal is consistent whenever it returns.
func (d *Daemon) Run(ctx context.Context, ln net.Listener) error {
	var stopOnce sync.Once
	stopping := func() { stopOnce.Do(func() { d.send(sd.SdNotifyStopping) }) }
	d.setStatus("starting: resuming any open transaction")
	d.resume(ctx, stopping)

	bg, cancelBG := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBG()
	var srvDone chan error
	if ln != nil {
		d.warnRemote(ln)
		srv := d.server()
		srvDone = make(chan error, 1)
		go func() { srvDone <- srv.Serve(ln) }()
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
	}
	go d.watchdog(bg)

	d.mu.Lock()
	d.st.started = true
	d.mu.Unlock()
	d.send(sd.SdNotifyReady)
	d.log.Info("daemon ready")

	tick := time.NewTicker(d.timing.tick)
	defer tick.Stop()
	next := time.NewTimer(0) // first check right away
	defer next.Stop()
	for {
		d.beat.beat(2*d.timing.tick + d.timing.slack)
		select {
		case <-ctx.Done():
			stopping()
			d.setStatus("stopping")
			d.log.Info("daemon stopping")
			return nil
		case err := <-srvDone:
			return err
		case <-tick.C:
			continue
		case <-d.checkNow:
		case <-next.C:
		}
		next.Reset(d.cycle(ctx, stopping))
	}
}

// CheckNow asks the loop to check at its next turn (SIGUSR1, POST
// /api/v1/check, approval, reload). It never blocks.
func (d *Daemon) CheckNow() {
	select {
	case d.checkNow <- struct{}{}:
	default:
	}
}

// cycle checks once, publishes the result, upgrades when allowed, and
// returns how long to wait before the next check.
func (d *Daemon) cycle(ctx context.Context, stopping func()) time.Duration {
	cfg, p := d.config()
	interval := d.jittered(cfg.Release.CheckInterval)
	if p.checker == nil {
		d.publishIdle()
		return interval
	}
	res, err := d.check(ctx, p.checker)
	if err != nil {
		return d.checkFailed(err)
	}
	dec := d.publish(res)
	if dec.Next.IsZero() || p.upgrader == nil || ctx.Err() != nil || d.recentlyFailed(dec.Next, cfg.Release.CheckInterval) {
		return d.untilNext(dec, interval)
	}
	if ok := d.upgrade(ctx, p.upgrader, dec.Next, stopping); ok {
		return 0 // continue a sequential path, or confirm the new version
	}
	d.mu.Lock()
	d.st.failedTo, d.st.failedAt = dec.Next, d.deps.Now()
	d.mu.Unlock()
	return interval
}

// recentlyFailed keeps a check-now (SIGUSR1, POST /api/v1/check) from
// retrying a version whose transaction just failed: the engine's
// bad-versions list stops a rolled-back release for good, and a release
// that failed before any change waits one check_interval.
func (d *Daemon) recentlyFailed(v version.V, interval time.Duration) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.st.failedTo != v || d.deps.Now().Sub(d.st.failedAt) >= interval {
		return false
	}
	d.st.waiting = v.String() + " failed at " + d.st.failedAt.UTC().Format(time.RFC3339) + "; not retried before " +
		d.st.failedAt.Add(interval).UTC().Format(time.RFC3339)
	return true
}

// check runs one release check under the check timeout; the heartbeat budget
// covers it, so a check that hangs past it stops the watchdog.
func (d *Daemon) check(ctx context.Context, c Checker) (CheckResult, error) {
	d.beat.beat(d.timing.checkTimeout + d.timing.slack)
	d.mu.Lock()
	prev := d.st.state
	if prev == StateIdle {
		d.st.state = StateChecking
	}
	d.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, d.timing.checkTimeout)
	defer cancel()
	res, err := c.Check(cctx)
	d.mu.Lock()
	if d.st.state == StateChecking {
		d.st.state = StateIdle
	}
	d.mu.Unlock()
	return res, err
}

// checkFailed counts the error and backs off: retryMin doubling per
// consecutive failure, capped at retryMax and at check_interval.
func (d *Daemon) checkFailed(err error) time.Duration {
	d.metrics.CheckErrors.Inc()
	cfg, _ := d.config()
	d.mu.Lock()
	d.st.checkErr = err.Error()
	d.st.failures++
	n := d.st.failures
	d.mu.Unlock()
	wait := d.timing.retryMin
	for i := 1; i < n && wait < d.timing.retryMax; i++ {
		wait *= 2
	}
	wait = min(wait, d.timing.retryMax, max(cfg.Release.CheckInterval, d.timing.retryMin))
	d.log.Warn("release check failed", "err", err, "retry_in_seconds", wait.Seconds(), "consecutive_failures", n)
	d.sourceMessage(n, err, cfg.Release.Source)
	d.setStatus(d.idleStatus("release check failed, retrying in " + wait.Round(time.Second).String()))
	return wait
}

// untilNext is the wait before the next check: the interval, or sooner when
// a window opens before it (so the target is installed at the window start).
func (d *Daemon) untilNext(dec decision, interval time.Duration) time.Duration {
	if dec.Target.IsZero() || dec.NextWindow.IsZero() {
		return interval
	}
	// A window that fits now and still no upgrade: the reason is not the
	// window (approval, a failed release, a failed rollback), so asking
	// again sooner than check_interval would only poll the source.
	until := dec.NextWindow.Sub(d.deps.Now())
	if until <= 0 {
		return interval
	}
	return min(interval, max(until, time.Second))
}

// jittered adds up to timing.jitter × interval at random, so a fleet of
// daemons does not ask the registry at the same second.
func (d *Daemon) jittered(interval time.Duration) time.Duration {
	if interval <= 0 {
		interval = time.Hour
	}
	if d.timing.jitter <= 0 {
		return interval
	}
	return interval + time.Duration(rand.Float64()*d.timing.jitter*float64(interval))
}
