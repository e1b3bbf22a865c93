package daemon

import (
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// Expected-duration rule (docs/daemon.md): the longest of the last
// expectedSample successful transactions × expectedFactor, at least
// expectedFloor; DefaultExpected when history has no success yet.
const (
	DefaultExpected = 45 * time.Minute
	expectedFloor   = 15 * time.Minute
	expectedFactor  = 1.5
	expectedSample  = 10
)

// CodeAwaitingApproval is the update_held reason while window.require_approval
// waits for POST /api/v1/approve.
const CodeAwaitingApproval = "awaiting_approval"

// ExpectedDuration estimates how long the next transaction takes from
// history; `check` and `status` use it to name the same next window as the
// daemon.
func ExpectedDuration(hist []state.Entry) time.Duration {
	var longest float64
	n := 0
	for i := len(hist) - 1; i >= 0 && n < expectedSample; i-- {
		if hist[i].Result != state.ResultSuccess || hist[i].Seconds <= 0 {
			continue
		}
		n++
		longest = max(longest, hist[i].Seconds)
	}
	if n == 0 {
		return DefaultExpected
	}
	d := time.Duration(longest * expectedFactor * float64(time.Second)).Round(time.Second)
	return max(d, expectedFloor)
}

// decision is what the loop does with a check result now.
type decision struct {
	Target     version.V   // the release the path ends at (zero: nothing to do)
	Path       []version.V // hops, one transaction each
	Next       version.V   // the hop to install now; zero when waiting
	Wait       string      // why not now, in words
	Code       string      // CodeAwaitingApproval when that is why
	NextWindow time.Time   // next window start the expected duration fits in
	why        waitKind    // why Next is zero, for callers that word it their own way
}

// waitKind classifies decision.Wait.
type waitKind int

const (
	goNow waitKind = iota
	waitNothing
	waitRollbackFailed
	waitApproval
	waitWindow      // closed, or too little time left in it
	waitInterrupted // an interrupted attempt waits for the next window
)

// decideInput is everything decide looks at.
type decideInput struct {
	Result          CheckResult
	Approval        *state.Approval
	RequireApproval bool
	Window          Window // nil: always open
	Now             time.Time
	Expected        time.Duration
	RollbackFailed  bool
	// Interrupted is when each version's last attempt was rolled back after
	// a crash (state.Entry.Interrupted): not its fault, so it is tried once
	// more, from the first window start after the crash, not in the same
	// window (where whatever killed it may still be going on).
	Interrupted map[version.V]time.Time
}

// decide is the pure core of the loop: given a check result, the approval,
// the window and the time, install the next hop now or say why not.
func decide(in decideInput) decision {
	r := in.Result
	approvalTarget, approvalPath := r.approval()
	dec := decision{Target: r.Target, Path: r.Path}
	approved := false
	if a := in.Approval; a != nil {
		switch {
		case !approvalTarget.IsZero() && a.Version == approvalTarget:
			dec.Target, dec.Path, approved = approvalTarget, approvalPath, true
		case !r.Target.IsZero() && a.Version == r.Target:
			approved = true
		}
	}
	if in.Window != nil {
		dec.NextWindow, _ = in.Window.NextFit(in.Now, in.Expected)
	}
	switch {
	case dec.Target.IsZero() || len(dec.Path) == 0:
		dec.Target, dec.Path = version.V{}, nil
		if !approvalTarget.IsZero() {
			dec.Wait, dec.why = approvalTarget.String()+" needs approval (POST /api/v1/approve)", waitApproval
			return dec
		}
		dec.Wait, dec.why = "up to date", waitNothing
		return dec
	case in.RollbackFailed:
		dec.Wait, dec.why = "rollback failed: manual recovery needed (twenty-upgraded status)", waitRollbackFailed
		return dec
	case in.RequireApproval && !approved:
		dec.Wait = "waiting for approval of " + dec.Target.String() + " (POST /api/v1/approve)"
		dec.Code, dec.why = CodeAwaitingApproval, waitApproval
		return dec
	}
	if in.Window != nil {
		if open, _ := in.Window.Open(in.Now); !open {
			dec.Wait, dec.why = "waiting for the window", waitWindow
			return dec
		}
		if !in.Window.Fits(in.Now, in.Expected) {
			dec.Wait, dec.why = "too little time left in this window for "+in.Expected.String(), waitWindow
			return dec
		}
		if at, ok := in.Interrupted[dec.Path[0]]; ok {
			if again := in.Window.Next(at); in.Now.Before(again) {
				dec.Wait = dec.Path[0].String() + " was interrupted at " + at.UTC().Format(time.RFC3339) +
					" (a crash or stop, not its own failure); it is tried once more at the next window"
				dec.NextWindow, _ = in.Window.NextFit(again, in.Expected)
				dec.why = waitInterrupted
				return dec
			}
		}
	}
	dec.Next = dec.Path[0]
	return dec
}

// interruptedAttempts maps each version whose last transaction was rolled
// back after an interruption to when that ended.
func interruptedAttempts(hist []state.Entry) map[version.V]time.Time {
	m := map[version.V]time.Time{}
	for _, e := range hist {
		if e.Interrupted {
			m[e.To] = e.FinishedAt
		} else {
			delete(m, e.To)
		}
	}
	return m
}
