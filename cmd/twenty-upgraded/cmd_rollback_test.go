package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/notify"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
)

// seedRollbackFailed has a notifier on stateDir send rollback_failed, as the
// daemon does when a rollback failed; it then repeats hourly from the record.
func seedRollbackFailed(t *testing.T, stateDir string) {
	t.Helper()
	sent := make(chan struct{}, 1)
	n, err := notify.New(notify.Options{URLs: []string{"fake://"}, StateDir: stateDir,
		Send: func(context.Context, string, string, string) error { sent <- struct{}{}; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	n.Send(context.Background(), notify.Event{Kind: config.EventRollbackFailed, Key: "tx1", From: "v1.0.0", To: "v1.1.0"})
	select {
	case <-sent:
	case <-time.After(5 * time.Second):
		t.Fatal("rollback_failed not sent")
	}
	n.Close()
}

// repeats reports whether a daemon started on stateDir two hours later
// sends rollback_failed again. A marker event sent after Repeat comes after
// anything Repeat queued (one URL's messages go in order), so once it
// arrives the answer is final.
func repeats(t *testing.T, stateDir string) bool {
	t.Helper()
	got := make(chan string, 4)
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	n, err := notify.New(notify.Options{URLs: []string{"fake://"}, StateDir: stateDir, Now: later,
		Send: func(_ context.Context, _, title, _ string) error { got <- title; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	n.Repeat()
	marker := time.Now().Format(time.RFC3339Nano)
	n.Send(context.Background(), notify.Event{Kind: config.EventHeldForApproval, Key: marker, Version: marker})
	repeated := false
	for {
		select {
		case title := <-got:
			if strings.Contains(title, marker) {
				return repeated
			}
			repeated = repeated || strings.HasPrefix(title, "ROLLBACK FAILED")
		case <-time.After(10 * time.Second):
			t.Fatal("the marker message never came")
		}
	}
}

// A successful `rollback` or `restore` ends the hourly rollback_failed
// message; a failed one does not.
func TestRollbackAndRestoreEndRollbackFailedRepeat(t *testing.T) {
	dir, cfg := fakeInstall(t, "compose", "")
	stateDir := filepath.Join(dir, "state")
	if out, errOut, code := runCLI(t, "--config", cfg, "upgrade", "--to", "v1.1.0", "--yes"); code != 0 {
		t.Fatalf("upgrade: exit %d\n%s%s", code, out, errOut)
	}
	seedRollbackFailed(t, stateDir)
	if !repeats(t, stateDir) {
		t.Fatal("the seeded rollback_failed does not repeat: the test proves nothing")
	}
	out, errOut, code := runCLI(t, "--config", cfg, "rollback")
	if code != 0 || !strings.Contains(out, `notifications: the hourly "rollback failed" message ends`) {
		t.Fatalf("rollback: exit %d\n%s%s", code, out, errOut)
	}
	if repeats(t, stateDir) {
		t.Error("rollback_failed still repeats after a successful rollback")
	}

	seedRollbackFailed(t, stateDir)
	if _, errOut, code := runCLI(t, "--config", cfg, "rollback"); code == 0 {
		t.Fatalf("a second rollback succeeded: %s", errOut)
	}
	if !repeats(t, stateDir) {
		t.Error("a failed rollback ended the rollback_failed repeat")
	}
	st, _ := state.Open(stateDir)
	h, _ := st.History()
	id := h[0].Backup
	out, errOut, code = runCLI(t, "--config", cfg, "restore", "--yes", "--no-start", id)
	if code != 0 || !strings.Contains(out, `notifications: the hourly "rollback failed" message ends`) {
		t.Fatalf("restore %s: exit %d\n%s%s", id, code, out, errOut)
	}
	if repeats(t, stateDir) {
		t.Error("rollback_failed still repeats after a successful restore")
	}
}
