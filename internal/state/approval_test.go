package state

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

func TestApprovalRoundTrip(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if a, err := s.Approval(); a != nil || err != nil {
		t.Fatalf("no file: Approval() = %v, %v; want nil, nil", a, err)
	}
	want := &Approval{Version: version.MustParse("v2.1.0"), ApprovedAt: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), By: "cli"}
	if err := s.SetApproval(want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Approval()
	if err != nil || got == nil || *got != *want {
		t.Fatalf("Approval() = %+v, %v; want %+v", got, err, want)
	}
	if fi, err := os.Stat(s.path(approvalFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("approval.json mode = %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	if err := s.SetApproval(nil); err != nil {
		t.Fatal(err)
	}
	if a, err := s.Approval(); a != nil || err != nil {
		t.Fatalf("after clear: Approval() = %v, %v; want nil, nil", a, err)
	}
	if err := s.SetApproval(nil); err != nil {
		t.Errorf("clearing twice: %v", err)
	}
	if err := os.WriteFile(s.path(approvalFile), []byte("{torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Approval(); err == nil || !strings.Contains(err.Error(), "delete it and approve again") {
		t.Errorf("damaged file: err = %v, want one that says what to do", err)
	}
}
