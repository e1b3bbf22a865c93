package daemon

import (
	"strings"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
)

// publish records a successful check: metrics, the decision, STATUS=.
func (d *Daemon) publish(res CheckResult) decision {
	now := d.deps.Now()
	cfg, p := d.config()
	d.mu.Lock()
	r := res
	d.st.last = &r
	d.st.lastCheck = now
	d.st.checkErr = ""
	d.st.failures = 0
	in := decideInput{
		Result:          res,
		Approval:        d.approval,
		RequireApproval: cfg.Window.RequireApproval,
		Window:          p.window,
		Now:             now,
		Expected:        d.st.expected,
		RollbackFailed:  d.st.state == StateRollbackFailed,
		Interrupted:     d.st.interrupt,
	}
	d.mu.Unlock()
	dec := decide(in)
	if in.Result.Approval != nil || dec.Code == CodeAwaitingApproval {
		d.approvalMessage(res, dec)
	}
	d.clearMessages(config.EventSourceFailing)
	d.mu.Lock()
	d.st.nextWindow = dec.NextWindow
	d.st.waiting = dec.Wait
	d.st.decision = dec
	d.mu.Unlock()

	m := d.metrics
	m.LastCheck.Set(unix(now))
	m.setVersions(res.Current.String(), res.Newest.String())
	available := !dec.Target.IsZero() || res.Approval != nil
	m.UpdateAvailable.Set(b2f(available))
	m.setHeld(res.Held, dec.Code)
	m.NextWindow.Set(unix(dec.NextWindow))
	m.ExpectedDuration.Set(in.Expected.Seconds())
	for _, w := range res.Warnings {
		d.log.Warn("release check", "warning", w)
	}
	d.log.Debug("checked", "current", res.Current.String(), "newest", res.Newest.String(),
		"target", dec.Target.String(), "next", dec.Next.String(), "waiting", dec.Wait, "requests", res.Requests)
	if dec.Next.IsZero() {
		d.setStatus(d.idleStatus(""))
	}
	return dec
}

// publishIdle is publish without a checker (reports the window only).
func (d *Daemon) publishIdle() {
	_, p := d.config()
	if p.window != nil {
		d.mu.Lock()
		next, _ := p.window.NextFit(d.deps.Now(), d.st.expected)
		d.st.nextWindow = next
		d.mu.Unlock()
		d.metrics.NextWindow.Set(unix(next))
	}
	d.setStatus(d.idleStatus("no release checker configured"))
}

// idleStatus is the STATUS= text while no transaction runs, e.g.
// "idle, next window 2026-11-28 03:00 UTC, v2.1.0 available".
func (d *Daemon) idleStatus(extra string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.st.state == StateRollbackFailed {
		return "rollback failed: manual recovery needed (run twenty-upgraded status)"
	}
	parts := []string{"idle"}
	switch nw := d.st.nextWindow; {
	case nw.IsZero():
	case !nw.After(d.deps.Now()):
		parts = append(parts, "in the window")
	default:
		parts = append(parts, "next window "+nw.UTC().Format("2006-01-02 15:04")+" UTC")
	}
	if r := d.st.last; r != nil {
		dec := d.st.decision
		switch {
		case !dec.Target.IsZero():
			parts = append(parts, dec.Target.String()+" available")
			if dec.Wait != "" && !strings.HasPrefix(dec.Wait, "waiting for the window") {
				parts = append(parts, dec.Wait)
			}
		case dec.Wait != "" && dec.Wait != "up to date":
			parts = append(parts, dec.Wait)
		case !r.Current.IsZero():
			parts = append(parts, "up to date ("+r.Current.String()+")")
		}
	}
	if extra != "" {
		parts = append(parts, extra)
	}
	return strings.Join(parts, ", ")
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
