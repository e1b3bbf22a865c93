package scenarios

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox"
	"github.com/twenty-upgraded/twenty-upgraded/daemon"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
)

// TestDaemonUpgrades drives the real daemon on one stack, oldest first, each
// part starting where the previous one left Twenty: a release appears and is
// installed (v1.22.0 → v1.22.4); a closed window holds the next one
// (v1.23.0); approval gates it until POST /api/v1/approve; the CLI is
// refused (exit 75) while the daemon upgrades (v1.23.0 → v2.0.0).
func TestDaemonUpgrades(t *testing.T) {
	defer timed(t, "TestDaemonUpgrades")()
	s := sandbox.Start(t, sandbox.Options{Tag: "v1.22.0"})
	if err := s.SeedSentinels(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, part := range []struct {
		name string
		f    func(*testing.T, *sandbox.Stack)
	}{
		{"happy path", happyPath},
		{"window closed", windowClosed},
		{"approval", approval},
		{"cli while daemon upgrades", cliWhileDaemonUpgrades},
	} {
		if !t.Run(part.name, func(t *testing.T) { defer timed(t, part.name)(); part.f(t, s) }) {
			return // the next part starts from this one's end state
		}
	}
}

func happyPath(t *testing.T, s *sandbox.Stack) {
	ctx := context.Background()
	sc := begin(t, s, ConfigOptions{})
	sc.start()
	sc.waitReady()
	st := sc.checked(time.Time{})
	if st.Installed.String() != "v1.22.0" || !st.Target.IsZero() {
		t.Fatalf("before the release: installed %s target %s, want v1.22.0 and nothing to do", st.Installed, st.Target)
	}
	scr := StartScraper(sc.d, 500*time.Millisecond)
	p := s.StartProber("/healthz")
	if err := s.Registry.Publish(ctx, "v1.22.4"); err != nil { // a newer release appears
		t.Fatal(err)
	}
	if err := sc.d.Signal(syscall.SIGUSR1); err != nil { // check now
		t.Fatal(err)
	}
	en := sc.waitResult(4*time.Minute, "v1.22.4")
	rep := p.Stop()
	samples := scr.Stop()
	if en.Result != state.ResultSuccess || en.Trigger != "daemon" {
		t.Fatalf("result %s (trigger %s), want success by the daemon: %s", en.Result, en.Trigger, en.Error)
	}
	t.Logf("upgrade v1.22.0 → v1.22.4: %.1fs, engine downtime %.1fs; prober: %s", en.Seconds, en.Downtime, rep)
	if rep.Downtime <= 0 || rep.Downtime > time.Minute {
		t.Errorf("prober downtime %s, want some and under a minute", rep.Downtime)
	}
	m := sc.metrics()
	wantMetric(t, m, 1, "twenty_upgraded_upgrades_total", "result", "success")
	wantMetric(t, m, 0, "twenty_upgraded_upgrades_total", "result", "rolled_back")
	wantMetric(t, m, 1, "twenty_upgraded_installed_version_info", "version", "v1.22.4")
	wantMetric(t, m, 0, "twenty_upgraded_upgrade_in_progress")
	if v, _ := m.Get("twenty_upgraded_backup_size_bytes"); v <= 0 {
		t.Errorf("backup_size_bytes %v, want > 0", v)
	}
	if v, _ := m.Get("twenty_upgraded_downtime_seconds"); v <= 0 {
		t.Errorf("downtime_seconds %v, want > 0", v)
	}
	if v, _ := MaxOf(samples, "twenty_upgraded_upgrade_in_progress"); v != 1 {
		t.Errorf("upgrade_in_progress never 1 in %d scrapes during the upgrade", len(samples))
	}
	readyBefore(t, sc.n, "STATUS=upgrading")
	wantStatusSteps(t, sc.n, "upgrading", "v1.22.0", "v1.22.4", "preflight", "pull", "stop", "backup", "switch", "start", "health", "commit")
	intact(t, s, "v1.22.4")
	sc.stop()
}

// windowClosed: a release is there, the window opens only in twelve hours:
// the daemon says so and changes nothing.
func windowClosed(t *testing.T, s *sandbox.Stack) {
	ctx := context.Background()
	if err := s.Registry.Publish(ctx, "v1.23.0"); err != nil {
		t.Fatal(err)
	}
	closed := "0 " + strconv.Itoa((time.Now().UTC().Hour()+12)%24) + " * * *"
	sc := begin(t, s, ConfigOptions{Schedule: "CRON_TZ=UTC " + closed, Duration: "1h"})
	sc.start()
	sc.waitReady()
	st := sc.checked(time.Time{})
	before := time.Now()
	if err := sc.d.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	st = sc.checked(before)
	time.Sleep(3 * time.Second) // would anything start after the check?
	st, err := sc.d.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("window closed: state %s, waiting %q, next window %v", st.State, st.Waiting, st.NextWindow)
	if st.State != daemon.StateIdle || st.Transaction != nil || st.Target.String() != "v1.23.0" {
		t.Errorf("state %s, transaction %v, target %s: want idle, none, v1.23.0 waiting", st.State, st.Transaction, st.Target)
	}
	if !strings.Contains(st.Waiting, "window") {
		t.Errorf("waiting %q does not mention the window", st.Waiting)
	}
	if st.NextWindow == nil || time.Until(*st.NextWindow) < 10*time.Hour {
		t.Errorf("next window %v, want about 12 h away", st.NextWindow)
	}
	m := sc.metrics()
	wantMetric(t, m, 1, "twenty_upgraded_update_available")
	wantMetric(t, m, 1, "twenty_upgraded_installed_version_info", "version", "v1.22.4")
	if h := sc.history(); len(h) != 0 {
		t.Errorf("history has %d entries, want none", len(h))
	}
	if sc.n.Index(0, "STATUS=upgrading") >= 0 {
		t.Errorf("an upgrade was announced: %q", sc.n.Texts())
	}
	intact(t, s, "v1.22.4")
	sc.stop()
}

// approval: window open but require_approval: the daemon waits, refuses
// unauthenticated approval, and upgrades once approved with the token.
func approval(t *testing.T, s *sandbox.Stack) {
	ctx := context.Background()
	sc := begin(t, s, ConfigOptions{RequireApproval: true})
	sc.start()
	sc.waitReady()
	st := sc.checked(time.Time{})
	time.Sleep(3 * time.Second)
	if st, _ = sc.d.Status(ctx); st.State != daemon.StateIdle || st.Transaction != nil {
		t.Fatalf("state %s before approval, want idle", st.State)
	}
	if !strings.Contains(st.Waiting, "waiting for approval of v1.23.0") || st.Target.String() != "v1.23.0" {
		t.Errorf("status does not say v1.23.0 awaits approval: waiting %q, target %s", st.Waiting, st.Target)
	}
	wantMetric(t, sc.metrics(), 1, "twenty_upgraded_update_held", "reason", "awaiting_approval")
	body := []byte(`{"version":"v1.23.0"}`)
	if code, b, _ := sc.d.Post(ctx, "/api/v1/approve", "", body); code != http.StatusUnauthorized {
		t.Errorf("approve without a token: HTTP %d %s, want 401", code, b)
	}
	if code, b, _ := sc.d.Post(ctx, "/api/v1/approve", "wrong"+sc.su.Token, body); code != http.StatusUnauthorized {
		t.Errorf("approve with a wrong token: HTTP %d %s, want 401", code, b)
	}
	if tag, _ := s.Tag(); tag != "v1.22.4" {
		t.Fatalf("TAG=%s before approval, want v1.22.4", tag)
	}
	p := s.StartProber("/healthz")
	code, b, err := sc.d.Post(ctx, "/api/v1/approve", sc.su.Token, body)
	if err != nil || code != http.StatusOK {
		t.Fatalf("approve: HTTP %d %s %v", code, b, err)
	}
	en := sc.waitResult(4*time.Minute, "v1.23.0")
	t.Logf("approved upgrade v1.22.4 → v1.23.0: %s in %.1fs; prober: %s", en.Result, en.Seconds, p.Stop())
	if en.Result != state.ResultSuccess {
		t.Fatalf("result %s: %s", en.Result, en.Error)
	}
	intact(t, s, "v1.23.0")
	sc.stop()
}

// cliWhileDaemonUpgrades: an admin runs `upgrade` while the daemon is in a
// transaction: exit 75 (lock held), and the daemon's transaction commits.
func cliWhileDaemonUpgrades(t *testing.T, s *sandbox.Stack) {
	ctx := context.Background()
	if err := s.Registry.Publish(ctx, "v2.0.0"); err != nil {
		t.Fatal(err)
	}
	sc := begin(t, s, ConfigOptions{Track: "major"})
	sc.start()
	sc.waitStatus(2*time.Minute, "the daemon upgrading", func(st daemon.Status) bool {
		return st.State == daemon.StateUpgrading && st.Transaction != nil
	})
	for _, args := range [][]string{{"upgrade", "--to", "v2.0.0", "--yes"}, {"rollback"}} {
		out, code := CLI(ctx, bin, sc.su.Config, args...)
		t.Logf("%s while the daemon upgrades: exit %d: %s", args[0], code, strings.TrimSpace(out))
		if code != 75 {
			t.Errorf("%s: exit %d, want 75 (lock held)", args[0], code)
		}
	}
	en := sc.waitResult(4*time.Minute, "v2.0.0")
	if en.Result != state.ResultSuccess || en.Trigger != "daemon" {
		t.Fatalf("daemon's transaction: %s (trigger %s): %s", en.Result, en.Trigger, en.Error)
	}
	if h := sc.history(); len(h) != 1 {
		t.Errorf("history has %d entries, want only the daemon's", len(h))
	}
	intact(t, s, "v2.0.0")
	sc.stop()
}
