package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/atomicfile"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// ApprovalFile is the approval's file name in daemon.state_dir.
const ApprovalFile = "approval.json"

// Approval allows the daemon to install exactly Version (and the hops on its
// path) although it needs approval. It is kept on disk so a restart keeps it,
// and removed once Version is installed.
type Approval struct {
	Version    version.V `json:"version"`
	ApprovedAt time.Time `json:"approved_at"`
	By         string    `json:"by,omitempty"` // "api" or "cli"
}

// LoadApproval reads approval.json from dir; nil when there is none.
func LoadApproval(dir string) (*Approval, error) { return loadApproval(dir) }

func loadApproval(dir string) (*Approval, error) {
	p := filepath.Join(dir, ApprovalFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("approval: %w", err)
	}
	var a Approval
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("approval file %s is damaged: %w (delete it and approve again)", p, err)
	}
	if a.Version.IsZero() {
		return nil, nil
	}
	return &a, nil
}

func saveApproval(dir string, a *Approval) error {
	p := filepath.Join(dir, ApprovalFile)
	if a == nil {
		err := os.Remove(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("approval: %w", err)
		}
		return nil
	}
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(p, append(b, '\n'), 0o600)
}

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
func (d *Daemon) Approve(want version.V, by string) (*Approval, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v := approvable(d.st.last, d.cfg.Window.RequireApproval)
	if v.IsZero() {
		return nil, fmt.Errorf("%w: no release waits for approval (run twenty-upgraded check)", ErrNothingToApprove)
	}
	if !want.IsZero() && want != v {
		return nil, fmt.Errorf("%w: %s is not the release waiting for approval (%s is)", ErrNothingToApprove, want, v)
	}
	a := &Approval{Version: v, ApprovedAt: d.deps.Now().UTC(), By: by}
	if err := saveApproval(d.deps.Store.Dir, a); err != nil {
		return nil, err
	}
	d.approval = a
	d.log.Info("release approved", "version", v.String(), "by", by)
	return a, nil
}
