package daemon

import (
	"context"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/notify"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/text"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// sourceFailingAfter is how many checks in a row must fail before a person
// is told (one failure is the network's, not theirs).
const sourceFailingAfter = 3

// message hands ev to the Messenger; it only enqueues (docs/notify.md).
// Send never waits for a receiver, so holding msgMu (read) is short.
func (d *Daemon) message(ev notify.Event) {
	d.msgMu.RLock()
	defer d.msgMu.RUnlock()
	if d.messages != nil {
		d.messages.Send(context.Background(), ev)
	}
}

func (d *Daemon) clearMessages(kind string) {
	d.msgMu.RLock()
	defer d.msgMu.RUnlock()
	if d.messages != nil {
		d.messages.Clear(kind)
	}
}

// txnMessage tells a person how a finished transaction ended. resumed: it
// was an interrupted transaction finished after a restart.
func (d *Daemon) txnMessage(e state.Entry, txn *state.Txn, resumed bool) {
	if e.ID == "" {
		return
	}
	base := notify.Event{Key: e.ID, From: e.From.String(), To: e.To.String(), BackupID: e.Backup}
	if resumed {
		ev := base
		ev.Kind = config.EventResumed
		ev.Why = "result " + e.Result
		d.message(ev)
	}
	switch {
	case txn != nil && txn.Phase == state.PhaseFailed:
		ev := base
		ev.Kind, ev.Error, ev.Recovery = config.EventRollbackFailed, txn.Error, txn.Recovery
		if ev.Recovery == "" {
			ev.Recovery = e.Recovery
		}
		d.message(ev)
	case e.Result == state.ResultSuccess:
		ev := base
		ev.Kind, ev.Downtime = config.EventSucceeded, time.Duration(e.Downtime*float64(time.Second))
		d.message(ev)
		d.clearMessages(config.EventRollbackFailed)
	case e.Result == state.ResultRolledBack:
		ev := base
		ev.Kind = config.EventRolledBack
		if f := e.Failure; f != nil {
			ev.Checks, ev.LogLines = f.Checks, f.Log
		}
		if len(ev.Checks) == 0 {
			// No check judged (another step failed, an interruption), or a
			// line written before Failure existed: the error says why.
			ev.Error = text.OneLine(e.Error, causeLen)
		}
		d.message(ev)
	}
}

// causeLen bounds the error a rolled_back message quotes when no check
// judged: readable on a phone, the whole text is in `history`.
const causeLen = 400

// approvalMessage tells a person that res waits for approve.
func (d *Daemon) approvalMessage(res CheckResult, dec decision) {
	var v, why string
	switch {
	case res.Approval != nil && !d.approved(res.Approval.Target):
		v = res.Approval.Target.String()
		for _, h := range res.Held {
			if h.Version == res.Approval.Target {
				why = h.Reason
			}
		}
		if why == "" {
			why = "it is beyond release.track"
		}
	case dec.Code == CodeAwaitingApproval && !dec.Target.IsZero():
		v, why = dec.Target.String(), "window.require_approval = true"
	default:
		return
	}
	d.message(notify.Event{Kind: config.EventHeldForApproval, Key: v, Version: v, Why: why})
}

// approved reports whether v is the approved version.
func (d *Daemon) approved(v version.V) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.approval != nil && d.approval.Version == v
}

// sourceMessage tells a person once the source failed sourceFailingAfter
// checks in a row; a check that succeeds re-arms it.
func (d *Daemon) sourceMessage(n int, err error, source string) {
	if n == sourceFailingAfter {
		d.message(notify.Event{Kind: config.EventSourceFailing, Failures: n, Error: err.Error(), Source: source})
	}
}
