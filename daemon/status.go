package daemon

import (
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/policy"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// Status is the document of GET /api/v1/status and `status --json`. Keys are
// stable snake_case and always present; unknown values are null or "".
type Status struct {
	State           string        `json:"state"` // idle, checking, upgrading, rollback_failed, stopping; the CLI adds stopped, interrupted
	DaemonRunning   bool          `json:"daemon_running"`
	Installed       version.V     `json:"installed"`
	Latest          version.V     `json:"latest"`
	Target          version.V     `json:"target"`
	Path            []version.V   `json:"path"`
	Held            []policy.Held `json:"held"`
	UpdateAvailable bool          `json:"update_available"`
	// Waiting says why the target is not being installed now ("waiting for
	// the window", "waiting for approval of v2.1.0 ...", "up to date").
	Waiting                 string          `json:"waiting"`
	NextWindow              *time.Time      `json:"next_window"`
	ExpectedDurationSeconds float64         `json:"expected_duration_seconds"`
	LastCheck               *time.Time      `json:"last_check"`
	LastCheckError          string          `json:"last_check_error"`
	LastResult              *state.Entry    `json:"last_result"`
	Transaction             *state.Txn      `json:"transaction"`
	Approval                *state.Approval `json:"approval"`
	Warnings                []string        `json:"warnings"`
}

// Status returns the live document.
func (d *Daemon) Status() Status {
	d.mu.Lock()
	st := Status{
		State:                   d.st.state,
		DaemonRunning:           true,
		Waiting:                 d.st.waiting,
		NextWindow:              timePtr(d.st.nextWindow),
		ExpectedDurationSeconds: d.st.expected.Seconds(),
		LastCheck:               timePtr(d.st.lastCheck),
		LastCheckError:          d.st.checkErr,
		Transaction:             d.st.txn,
		Approval:                d.approval,
		Path:                    []version.V{},
		Held:                    []policy.Held{},
		Warnings:                []string{},
	}
	if r := d.st.last; r != nil {
		dec := d.st.decision
		st.Installed, st.Latest, st.Target = r.Current, r.Newest, dec.Target
		st.Path = append(st.Path, dec.Path...)
		st.Held = append(st.Held, r.Held...)
		st.Warnings = append(st.Warnings, r.Warnings...)
		st.UpdateAvailable = !dec.Target.IsZero() || r.Approval != nil
	}
	if t := d.st.txn; t != nil {
		cp := *t
		st.Transaction = &cp
	}
	d.mu.Unlock()
	if hist, err := d.deps.Store.History(); err == nil && len(hist) > 0 {
		st.LastResult = &hist[len(hist)-1]
	}
	return st
}

// OfflineStatus builds the document from the state folder alone, for
// `status` when no daemon answers. win may be nil; installed may be zero
// (then the last recorded version from history is shown).
func OfflineStatus(store *state.Store, win Window, installed version.V, now time.Time) (Status, error) {
	st := Status{State: StateStopped, Path: []version.V{}, Held: []policy.Held{}, Warnings: []string{}}
	hist, err := store.History()
	if err != nil {
		return st, err
	}
	txn, err := store.Load()
	if err != nil {
		return st, err
	}
	ap, err := store.Approval()
	if err != nil {
		return st, err
	}
	st.Transaction, st.Approval = txn, ap
	exp := ExpectedDuration(hist)
	st.ExpectedDurationSeconds = exp.Seconds()
	if len(hist) > 0 {
		last := hist[len(hist)-1]
		st.LastResult = &last
		if installed.IsZero() {
			installed = last.From
			if last.Result == state.ResultSuccess {
				installed = last.To
			}
		}
	}
	st.Installed = installed
	switch {
	case txn != nil && txn.Phase == state.PhaseFailed:
		st.State = StateRollbackFailed
	case txn != nil:
		st.State = "interrupted" // the next daemon start (or any command) resumes it
	}
	if win != nil {
		if at, ok := win.NextFit(now, exp); ok {
			st.NextWindow = &at
		}
	}
	return st, nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
