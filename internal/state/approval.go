package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/atomicfile"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// approvalFile is the approval's file name in the state folder.
const approvalFile = "approval.json"

// Approval allows the daemon to install exactly Version (and the hops on its
// path) although it needs approval. It is kept on disk so a restart keeps it,
// and removed once Version is installed.
type Approval struct {
	Version    version.V `json:"version"`
	ApprovedAt time.Time `json:"approved_at"`
	By         string    `json:"by,omitempty"` // "api" or "cli"
}

// Approval reads approval.json; nil when there is none.
func (s *Store) Approval() (*Approval, error) {
	p := s.path(approvalFile)
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

// SetApproval writes approval.json atomically; nil removes it.
func (s *Store) SetApproval(a *Approval) error {
	p := s.path(approvalFile)
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
