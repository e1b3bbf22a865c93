package daemon

import (
	"errors"
	"fmt"

	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// ErrNothingToApprove is returned by Approve when no held target needs it.
var ErrNothingToApprove = errors.New("nothing to approve")

// approvable returns the version approval would allow now: the approval
// target of the last check, else (window.require_approval) its target.
func approvable(r *CheckResult, requireApproval bool) version.V {
	if r == nil {
		return version.V{}
	}
	if at, _ := r.approval(); !at.IsZero() {
		return at
	}
	if requireApproval {
		return r.Target
	}
	return version.V{}
}

// Approve approves the held target. want, when not zero, must be exactly the
// version approval would allow (so an admin never approves a release that
// appeared after they looked).
func (d *Daemon) Approve(want version.V, by string) (*state.Approval, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v := approvable(d.st.last, d.cfg.Window.RequireApproval)
	if v.IsZero() {
		return nil, fmt.Errorf("%w: no release waits for approval (run twenty-upgraded check)", ErrNothingToApprove)
	}
	if !want.IsZero() && want != v {
		return nil, fmt.Errorf("%w: %s is not the release waiting for approval (%s is)", ErrNothingToApprove, want, v)
	}
	a := &state.Approval{Version: v, ApprovedAt: d.deps.Now().UTC(), By: by}
	if err := d.deps.Store.SetApproval(a); err != nil {
		return nil, err
	}
	d.approval = a
	d.log.Info("release approved", "version", v.String(), "by", by)
	return a, nil
}
