package daemon

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/policy"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// notifySocket listens on a unixgram socket set as $NOTIFY_SOCKET and
// collects what the daemon sends through the real SystemdNotifier.
type notifySocket struct {
	mu   sync.Mutex
	msgs []string
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	ns := &notifySocket{}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			ns.mu.Lock()
			ns.msgs = append(ns.msgs, string(buf[:n]))
			ns.mu.Unlock()
		}
	}()
	return ns
}

func (n *notifySocket) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.msgs...)
}

func (n *notifySocket) count(prefix string) int {
	c := 0
	for _, m := range n.all() {
		if strings.HasPrefix(m, prefix) {
			c++
		}
	}
	return c
}

// index returns the position of the first message starting with prefix at
// or after from, or -1.
func index(msgs []string, prefix string, from int) int {
	for i := from; i < len(msgs); i++ {
		if strings.HasPrefix(msgs[i], prefix) {
			return i
		}
	}
	return -1
}

func TestNotifyOrder(t *testing.T) {
	ns := listenNotify(t)
	h := newHarness(t, func(_ *config.Config, deps *Deps) { deps.Notifier = SystemdNotifier{} })
	h.d.timing.watchdog = 20 * time.Millisecond
	h.chk.set(CheckResult{Plan: policy.Plan{Current: v210, Newest: v210}}, nil)
	h.d.deps.LoadConfig = func() (config.Config, error) { return h.cfg, nil }
	_, stop := h.start(t)
	eventually(t, "a watchdog ping", func() bool { return ns.count("WATCHDOG=1") > 0 })
	if err := h.d.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "STOPPING=1 to arrive", func() bool { return ns.count("STOPPING=1") > 0 })
	msgs := ns.all()
	at := 0
	for _, want := range []string{"STATUS=starting", "READY=1", "STATUS=idle", "WATCHDOG=1", "RELOADING=1", "READY=1", "STOPPING=1"} {
		i := index(msgs, want, at)
		if i < 0 {
			t.Fatalf("no %q after message %d in %q", want, at, msgs)
		}
		at = i + 1
	}
	if i := index(msgs, "RELOADING=1", 0); !strings.Contains(msgs[i], "MONOTONIC_USEC=") {
		t.Errorf("RELOADING=1 without MONOTONIC_USEC: %q", msgs[i])
	}
	if i := index(msgs, "STATUS=idle", 0); !strings.Contains(msgs[i], "up to date (v2.1.0)") {
		t.Errorf("idle status %q does not say what is installed", msgs[i])
	}
}

// A loop made to hang (a check that never returns and ignores its context)
// misses its heartbeat: the watchdog pings stop and /-/healthy fails, so
// systemd restarts the daemon.
func TestWatchdogStopsWhenLoopHangs(t *testing.T) {
	ns := listenNotify(t)
	h := newHarness(t, func(_ *config.Config, deps *Deps) { deps.Notifier = SystemdNotifier{} })
	h.d.timing.watchdog = 20 * time.Millisecond
	h.chk.set(CheckResult{Plan: policy.Plan{Current: v210, Newest: v210}}, nil)
	addr, _ := h.start(t)
	block := make(chan struct{})
	t.Cleanup(func() { close(block) }) // runs before the harness stops Run
	eventually(t, "pings while alive", func() bool { return ns.count("WATCHDOG=1") >= 3 })
	if code := get(t, addr+"/-/healthy"); code != 200 {
		t.Fatalf("/-/healthy = %d while alive", code)
	}
	h.chk.mu.Lock()
	h.chk.block = block
	h.chk.mu.Unlock()
	h.d.CheckNow()
	// The budget is checkTimeout + slack = 250ms; after it no pings.
	time.Sleep(400 * time.Millisecond)
	before := ns.count("WATCHDOG=1")
	time.Sleep(200 * time.Millisecond)
	if after := ns.count("WATCHDOG=1"); after != before {
		t.Fatalf("watchdog still pinged while the loop hung: %d → %d", before, after)
	}
	if code := get(t, addr+"/-/healthy"); code != 503 {
		t.Errorf("/-/healthy = %d while wedged, want 503", code)
	}
	if code := get(t, addr+"/-/ready"); code != 503 {
		t.Errorf("/-/ready = %d while wedged, want 503", code)
	}
}

// A long step (the health gate waiting) is not "wedged": every Observer call
// renews the heartbeat with the step budget.
func TestWatchdogKeepsPingingDuringLongStep(t *testing.T) {
	rec := &recNotifier{}
	h := newHarness(t, func(_ *config.Config, deps *Deps) { deps.Notifier = rec })
	h.d.timing.watchdog = 20 * time.Millisecond
	release := make(chan struct{})
	h.up.run = func(ctx context.Context, to version.V) (state.Entry, error) {
		<-release
		return state.Entry{ID: "t1", From: v1226, To: to, Result: state.ResultSuccess}, nil
	}
	h.chk.set(CheckResult{Plan: policy.Plan{Current: v1226, Newest: v210, Target: v210, Path: []version.V{v210}}}, nil)
	h.start(t)
	eventually(t, "the upgrade to start", func() bool { return len(h.up.upgrades()) == 1 })
	// Far past the idle and check budgets, inside the step budget.
	time.Sleep(400 * time.Millisecond)
	n := countPrefix(rec, "WATCHDOG=1")
	time.Sleep(100 * time.Millisecond)
	if countPrefix(rec, "WATCHDOG=1") <= n {
		t.Error("watchdog stopped during a long step")
	}
	close(release)
}

func countPrefix(r *recNotifier, p string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := 0
	for _, m := range r.msgs {
		if strings.HasPrefix(m, p) {
			c++
		}
	}
	return c
}
