package daemon

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/policy"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/drain"
	"github.com/twenty-upgraded/twenty-upgraded/internal/outcome"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

func TestCheckErrorsBackOffAndNeverCrash(t *testing.T) {
	h := newHarness(t)
	h.chk.set(CheckResult{}, errors.New("registry unreachable"))
	h.start(t)
	eventually(t, "three failed checks", func() bool { return h.chk.count() >= 3 })
	if got := testutil.ToFloat64(h.d.metrics.CheckErrors); got < 3 {
		t.Errorf("check_errors_total = %v, want ≥ 3", got)
	}
	if st := h.d.Status(); st.LastCheckError != "registry unreachable" || st.State != StateIdle {
		t.Errorf("status after failures: state %q error %q", st.State, st.LastCheckError)
	}
	// Recovery: the next good check clears the error.
	h.chk.set(CheckResult{Plan: policy.Plan{Current: v210, Newest: v210}}, nil)
	eventually(t, "a good check", func() bool { return h.d.Status().LastCheckError == "" })
	if got := testutil.ToFloat64(h.d.metrics.LastCheck); got == 0 {
		t.Error("last_check_timestamp_seconds not set after a good check")
	}
}

func TestClosedWindowDoesNotUpgrade(t *testing.T) {
	next := time.Now().Add(24 * time.Hour)
	h := newHarness(t, func(_ *config.Config, deps *Deps) {
		deps.NewWindow = func(string, time.Duration) (Window, error) { return fakeWindow{next: next}, nil }
	})
	h.chk.set(CheckResult{Plan: policy.Plan{Current: v1226, Newest: v210, Target: v210, Path: []version.V{v210}}}, nil)
	h.start(t)
	eventually(t, "the first check", func() bool { return h.d.Status().LastCheck != nil })
	if n := len(h.up.upgrades()); n != 0 {
		t.Fatalf("upgraded %d times outside the window", n)
	}
	if got := testutil.ToFloat64(h.d.metrics.NextWindow); int64(got) != next.Unix() {
		t.Errorf("next_window_start_timestamp_seconds = %v, want %d", got, next.Unix())
	}
	if got := testutil.ToFloat64(h.d.metrics.UpdateAvailable); got != 1 {
		t.Errorf("update_available = %v, want 1", got)
	}
}

// Check requests arriving while a transaction runs never start a second one.
func TestOneTransactionAtATime(t *testing.T) {
	h := newHarness(t, withToken("tok"))
	release := make(chan struct{})
	h.up.run = func(ctx context.Context, to version.V) (state.Entry, error) {
		<-release
		return state.Entry{ID: "t", From: v1226, To: to, Result: state.ResultRolledBack}, fmt.Errorf("health gate: %w", outcome.ErrRolledBack)
	}
	h.chk.set(CheckResult{Plan: policy.Plan{Current: v1226, Newest: v210, Target: v210, Path: []version.V{v210}}}, nil)
	addr, _ := h.start(t)
	eventually(t, "the upgrade to start", func() bool { return len(h.up.upgrades()) == 1 })
	for range 5 {
		post(t, addr+"/api/v1/check", "tok", "")
		h.d.CheckNow()
	}
	if st := h.d.Status(); st.State != StateUpgrading || st.Transaction == nil {
		t.Errorf("status during the upgrade: %q txn %v", st.State, st.Transaction)
	}
	close(release)
	eventually(t, "the queued check", func() bool { return h.chk.count() >= 2 })
	h.up.mu.Lock()
	overlap := h.up.overlap
	h.up.mu.Unlock()
	if overlap {
		t.Fatal("two transactions ran at once")
	}
	if got := testutil.ToFloat64(h.d.metrics.Upgrades.WithLabelValues("rolled_back")); got != 1 {
		t.Errorf("upgrades_total{result=rolled_back} = %v", got)
	}
	if got := testutil.ToFloat64(h.d.metrics.InProgress); got != 0 {
		t.Errorf("upgrade_in_progress = %v after the transaction", got)
	}
}

// SIGTERM during a step: STOPPING=1, EXTEND_TIMEOUT_USEC while the step may
// finish, the engine's context cancelled only after stop_grace, exit clean.
func TestStopGrace(t *testing.T) {
	h := newHarness(t)
	cancelledAfter := make(chan time.Duration, 1)
	drainedFirst := make(chan bool, 1)
	var stopAt time.Time
	h.up.run = func(ctx context.Context, to version.V) (state.Entry, error) {
		// The engine is asked to start no new step (drain) before its
		// context is ever cancelled.
		for !drain.Requested(ctx) && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		drainedFirst <- ctx.Err() == nil
		<-ctx.Done()
		cancelledAfter <- time.Since(stopAt)
		return state.Entry{ID: "t", From: v1226, To: to, Result: state.ResultFailed}, ctx.Err()
	}
	h.chk.set(CheckResult{Plan: policy.Plan{Current: v1226, Newest: v210, Target: v210, Path: []version.V{v210}}}, nil)
	_, stop := h.start(t)
	eventually(t, "the upgrade to start", func() bool { return len(h.up.upgrades()) == 1 })
	stopAt = time.Now()
	if err := stop(); err != nil {
		t.Fatalf("Run returned %v on stop", err)
	}
	if !<-drainedFirst {
		t.Error("the engine's context was cancelled without a drain request first")
	}
	if d := <-cancelledAfter; d < h.cfg.Daemon.StopGrace {
		t.Errorf("engine cancelled %s after stop, before stop_grace %s", d, h.cfg.Daemon.StopGrace)
	}
	for _, want := range []string{"STOPPING=1", "EXTEND_TIMEOUT_USEC=", "STATUS=stopping: letting step backup finish"} {
		if !h.note.has(want) {
			t.Errorf("no %q in %q", want, h.note.msgs)
		}
	}
	if n := countPrefix(h.note, "STOPPING=1"); n != 1 {
		t.Errorf("STOPPING=1 sent %d times", n)
	}
}

func TestResumeBeforeReady(t *testing.T) {
	h := newHarness(t)
	h.start(t)
	eventually(t, "READY=1", func() bool { return h.note.has("READY=1") })
	h.up.mu.Lock()
	defer h.up.mu.Unlock()
	if !h.up.resumed {
		t.Error("Resume not called before READY=1")
	}
}

func TestBadReloadKeepsOldConfig(t *testing.T) {
	h := newHarness(t)
	h.d.deps.LoadConfig = func() (config.Config, error) {
		return config.Config{}, &config.Error{Problems: []string{"x.toml:3:1: unknown key \"nope\""}}
	}
	if err := h.d.Reload(); err == nil {
		t.Fatal("bad reload returned no error")
	}
	if cfg, _ := h.d.config(); cfg.Release.CheckInterval != time.Hour {
		t.Errorf("config replaced by a bad one: %+v", cfg.Release)
	}
	if !h.note.has("RELOADING=1") || !h.note.has("READY=1") {
		t.Errorf("reload messages: %q", h.note.msgs)
	}
}

// A release awaiting approval in an open window is not a reason to ask the
// source again: the loop waits check_interval (an approval wakes it at once).
// It used to shorten the wait to "the next window start", which in an open
// window is now, and so polled the source every second.
func TestAwaitingApprovalInOpenWindowDoesNotPoll(t *testing.T) {
	h := newHarness(t, func(cfg *config.Config, _ *Deps) { cfg.Window.RequireApproval = true })
	h.chk.set(CheckResult{Plan: policy.Plan{Current: v1226, Newest: v210, Target: v210, Path: []version.V{v210}}}, nil)
	h.start(t)
	eventually(t, "the first check", func() bool { return h.d.Status().LastCheck != nil })
	time.Sleep(1500 * time.Millisecond)
	if n := h.chk.count(); n != 1 {
		t.Errorf("%d checks in 1.5 s while awaiting approval, want 1 (check_interval is 1h)", n)
	}
	if n := len(h.up.upgrades()); n != 0 {
		t.Errorf("upgraded %d times without approval", n)
	}
}

// The same for a release that just failed in an open window.
func TestUntilNextInOpenWindowIsTheInterval(t *testing.T) {
	h := newHarness(t)
	now := time.Now()
	h.d.deps.Now = func() time.Time { return now }
	dec := decision{Target: v210, Path: []version.V{v210}, NextWindow: now}
	if got := h.d.untilNext(dec, time.Hour); got != time.Hour {
		t.Errorf("untilNext with the window open now = %v, want the interval 1h", got)
	}
	dec.NextWindow = now.Add(10 * time.Minute)
	if got := h.d.untilNext(dec, time.Hour); got != 10*time.Minute {
		t.Errorf("untilNext with the window 10 min away = %v, want 10m", got)
	}
}
