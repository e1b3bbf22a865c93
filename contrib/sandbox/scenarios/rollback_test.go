package scenarios

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox"
	"github.com/twenty-upgraded/twenty-upgraded/daemon"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/testreq"
	"github.com/twenty-upgraded/twenty-upgraded/steps"
)

// TestDaemonRollbacks drives the real daemon on one stack on v2.0.2: a
// broken release is rolled back with the data byte-identical and never
// retried; then the daemon is killed with SIGKILL inside the health gate
// (after the switch: the restart rolls back, and the release waits for the
// next window, not marked bad) and inside the backup (before the switch: the
// restart starts the old version, then upgrades again and commits).
func TestDaemonRollbacks(t *testing.T) {
	defer timed(t, "TestDaemonRollbacks")()
	s := sandbox.Start(t, sandbox.Options{Tag: "v2.0.2"})
	if err := s.SeedSentinels(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, part := range []struct {
		name string
		f    func(*testing.T, *sandbox.Stack)
	}{
		{"broken release", brokenRelease},
		{"kill -9 in the health gate", killInHealthGate},
		{"kill -9 in the backup", killInBackup},
	} {
		if !t.Run(part.name, func(t *testing.T) { defer timed(t, part.name)(); part.f(t, s) }) {
			return
		}
	}
}

// brokenRelease: v2.4.0 is Twenty #23012 (/healthz green, GraphQL 500).
func brokenRelease(t *testing.T, s *sandbox.Stack) {
	ctx := context.Background()
	before := checksums(t, s)
	sc := begin(t, s, ConfigOptions{})
	sc.start()
	sc.waitReady()
	sc.checked(time.Time{})
	p := s.StartProber("/healthz")
	if err := s.Registry.Publish(ctx, "v2.4.0"); err != nil {
		t.Fatal(err)
	}
	if code, b, err := sc.d.Post(ctx, "/api/v1/check", sc.su.Token, nil); err != nil || code != 202 {
		t.Fatalf("POST /api/v1/check: HTTP %d %s %v", code, b, err)
	}
	en := sc.waitResult(5*time.Minute, "v2.4.0")
	t.Logf("v2.0.2 → v2.4.0: %s in %.1fs, engine downtime %.1fs; prober: %s; error: %s", en.Result, en.Seconds, en.Downtime, p.Stop(), firstLine(en.Error))
	if en.Result != state.ResultRolledBack {
		t.Fatalf("result %s, want rolled_back: %s", en.Result, en.Error)
	}
	intact(t, s, "v2.0.2")
	if after := checksums(t, s); after != before {
		t.Errorf("database/files checksums changed by the rollback: %v → %v", before, after)
	}
	if b, _ := os.ReadFile(filepath.Join(sc.su.StateDir, "bad-versions")); !strings.Contains(string(b), "v2.4.0") {
		t.Errorf("bad-versions does not hold v2.4.0: %q", b)
	}
	wantStatusSteps(t, sc.n, "rolling back", "v2.0.2", "v2.4.0", "backup", "switch", "start")

	// The next check sees v2.4.0 again and holds it.
	since := time.Now()
	if err := sc.d.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	st := sc.checked(since)
	time.Sleep(2 * time.Second)
	if len(sc.history()) != 1 {
		t.Errorf("the daemon retried v2.4.0: history %+v", sc.history())
	}
	if !heldAs(st, "v2.4.0", "failed_here") || !st.Target.IsZero() {
		t.Errorf("status: target %s, held %+v; want nothing to do, v2.4.0 failed_here", st.Target, st.Held)
	}
	m := sc.metrics()
	wantMetric(t, m, 1, "twenty_upgraded_update_held", "reason", "failed_here")
	wantMetric(t, m, 1, "twenty_upgraded_upgrades_total", "result", "rolled_back")
	wantMetric(t, m, 1, "twenty_upgraded_installed_version_info", "version", "v2.0.2")
	sc.stop()
	if err := s.Registry.Unpublish(ctx, "v2.4.0"); err != nil { // the next parts use fresh state folders
		t.Fatal(err)
	}
}

// killInHealthGate: SIGKILL while the gate watches v2.7.0; the restarted
// daemon rolls back before READY=1. A crash is not the release's fault: v2.7.0
// is not marked bad, the attempt is recorded as interrupted, and it is tried
// once more from the next window start, which here is tomorrow (the window
// opened two minutes before the test), so it stays on v2.0.2 today.
func killInHealthGate(t *testing.T, s *sandbox.Stack) {
	ctx := context.Background()
	before := checksums(t, s)
	opened := time.Now().UTC().Add(-2 * time.Minute)
	sc := begin(t, s, ConfigOptions{Schedule: fmt.Sprintf("CRON_TZ=UTC %d %d * * *", opened.Minute(), opened.Hour()), Duration: "3h"})
	if err := s.Registry.Publish(ctx, "v2.7.0"); err != nil {
		t.Fatal(err)
	}
	p := s.StartProber("/healthz")
	killAt(t, sc, "hang:health")
	sc.start()
	en := sc.waitResult(5*time.Minute, "v2.7.0")
	t.Logf("resumed after kill -9 in health: %s after %d resume(s); prober over kill and restart: %s", en.Result, en.Resumes, p.Stop())
	if en.Result != state.ResultRolledBack || en.Resumes < 1 || !en.Interrupted {
		t.Fatalf("result %s (resumes %d, interrupted %v), want an interrupted rolled_back on resume: %s", en.Result, en.Resumes, en.Interrupted, en.Error)
	}
	// The status can read idle a moment before READY=1 reaches the socket.
	for end := time.Now().Add(testreq.Timeout(10 * time.Second)); sc.n.Index(0, "READY=1") < 0 && time.Now().Before(end); {
		time.Sleep(100 * time.Millisecond)
	}
	r, rb := sc.n.Index(0, "READY=1"), sc.n.Index(0, "STATUS=rolling back")
	if rb < 0 || r < rb {
		t.Errorf("want the rollback announced before READY=1 (resume comes first): %q", sc.n.Texts())
	}
	st := sc.checked(time.Time{})
	if !strings.Contains(st.Waiting, "tried once more at the next window") {
		t.Errorf("status waiting %q, want the interrupted v2.7.0 deferred to the next window", st.Waiting)
	}
	if heldAs(st, "v2.7.0", "failed_here") {
		t.Errorf("v2.7.0 held as failed_here after one interrupted attempt: %+v", st.Held)
	}
	if b, _ := os.ReadFile(filepath.Join(sc.su.StateDir, "bad-versions")); strings.Contains(string(b), "v2.7.0") {
		t.Errorf("bad-versions holds v2.7.0 after a crash, not a failure: %q", b)
	}
	intact(t, s, "v2.0.2")
	if after := checksums(t, s); after != before {
		t.Errorf("database/files checksums changed: %v → %v", before, after)
	}
	if h := sc.history(); len(h) != 1 {
		t.Errorf("history %+v, want only the interrupted attempt (no retry in the same window)", h)
	}
	sc.stop()
}

// killInBackup: SIGKILL inside the backup (server and worker stopped, TAG
// not switched yet); the restarted daemon starts v2.0.2 again without
// marking v2.7.0 bad, then upgrades to it and commits.
func killInBackup(t *testing.T, s *sandbox.Stack) {
	sc := begin(t, s, ConfigOptions{})
	if err := s.Registry.Publish(context.Background(), "v2.7.0"); err != nil {
		t.Fatal(err)
	}
	p := s.StartProber("/healthz")
	killAt(t, sc, "hang:backup")
	sc.start()
	st := sc.waitStatus(6*time.Minute, "the resumed transaction, then a committed upgrade to v2.7.0", func(st daemon.Status) bool {
		return st.LastResult != nil && st.LastResult.Result == state.ResultSuccess && st.State == daemon.StateIdle
	})
	en := *st.LastResult
	h := sc.history()
	t.Logf("after kill -9 in backup: %d transactions, last %s; prober over kill, resume and upgrade: %s", len(h), en.Result, p.Stop())
	if len(h) != 2 || h[0].Result != state.ResultRolledBack || h[0].Resumes < 1 || en.Result != state.ResultSuccess {
		t.Fatalf("history %+v, want the resumed transaction rolled_back, then a success to v2.7.0", h)
	}
	intact(t, s, "v2.7.0")
	sc.stop()
}

// killAt starts the daemon with a hang injected at point, waits until the
// hang is reached, and kills the daemon with SIGKILL; the transaction must be
// open in state.json.
func killAt(t *testing.T, sc *scenario, point string) {
	t.Helper()
	ready := filepath.Join(sc.su.Root, "inject-ready")
	sc.start(steps.EnvTesting+"=1", steps.EnvInject+"="+point, steps.EnvInjectReady+"="+ready)
	deadline := time.Now().Add(testreq.Timeout(4 * time.Minute))
	for {
		if b, err := os.ReadFile(ready); err == nil && len(b) > 0 {
			break
		}
		select {
		case <-sc.d.Exited():
			t.Fatalf("daemon exited before reaching %s", point)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon never reached %s", point)
		}
	}
	sc.d.Kill()
	st, err := state.Open(sc.su.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	txn, err := st.Load()
	if err != nil || txn == nil {
		t.Fatalf("no open transaction after kill -9 at %s: %v", point, err)
	}
	t.Logf("killed -9 at %s: open transaction in step %s (phase %s)", point, txn.Step, txn.Phase)
	sc.n.Reset()
}

func heldAs(st daemon.Status, v, code string) bool {
	for _, h := range st.Held {
		if h.Version.String() == v && h.Code == code {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
