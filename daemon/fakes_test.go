package daemon

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

var (
	v1226 = version.MustParse("v1.22.6")
	v210  = version.MustParse("v2.1.0")
	v220  = version.MustParse("v2.2.0")
)

// fakeChecker returns res (or err) and counts calls; block makes it hang.
type fakeChecker struct {
	mu    sync.Mutex
	res   CheckResult
	err   error
	calls int
	block chan struct{} // when set, Check waits on it, ignoring ctx
}

func (f *fakeChecker) Check(ctx context.Context) (CheckResult, error) {
	f.mu.Lock()
	f.calls++
	res, err, block := f.res, f.err, f.block
	f.mu.Unlock()
	if block != nil {
		<-block
	}
	return res, err
}

func (f *fakeChecker) set(res CheckResult, err error) {
	f.mu.Lock()
	f.res, f.err = res, err
	f.mu.Unlock()
}

func (f *fakeChecker) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// fakeUpgrader records upgrades; run, when set, decides the outcome.
type fakeUpgrader struct {
	mu      sync.Mutex
	obs     state.Observer
	to      []version.V
	running int
	overlap bool
	run     func(ctx context.Context, to version.V) (state.Entry, error)
	resumed bool
}

func (f *fakeUpgrader) Upgrade(ctx context.Context, to version.V, trigger string) (state.Entry, error) {
	f.mu.Lock()
	f.running++
	if f.running > 1 {
		f.overlap = true
	}
	f.to = append(f.to, to)
	run := f.run
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.running--; f.mu.Unlock() }()
	now := time.Now()
	e := state.Entry{ID: "t1", From: v1226, To: to, Result: state.ResultSuccess, StartedAt: now, FinishedAt: now, Trigger: trigger}
	f.obs.Phase(&state.Txn{From: v1226, To: to, Phase: state.PhaseForward}, "backup", state.ActionRun)
	var err error
	if run != nil {
		e, err = run(ctx, to)
	}
	f.obs.Finished(e)
	return e, err
}

func (f *fakeUpgrader) Resume(ctx context.Context) (bool, state.Entry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resumed = true
	return false, state.Entry{}, nil
}

func (f *fakeUpgrader) upgrades() []version.V {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]version.V(nil), f.to...)
}

// fakeWindow is open or closed; next is the next fitting start when closed.
type fakeWindow struct {
	open bool
	next time.Time
}

func (w fakeWindow) Open(t time.Time) (bool, time.Time) { return w.open, t.Add(time.Hour) }
func (w fakeWindow) Next(t time.Time) time.Time         { return w.next }
func (w fakeWindow) Fits(t time.Time, d time.Duration) bool {
	return w.open
}
func (w fakeWindow) NextFit(t time.Time, d time.Duration) (time.Time, bool) {
	if w.open {
		return t, true
	}
	return w.next, true
}

// recNotifier records notify messages.
type recNotifier struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recNotifier) Notify(s string) error {
	r.mu.Lock()
	r.msgs = append(r.msgs, s)
	r.mu.Unlock()
	return nil
}

func (r *recNotifier) has(prefix string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.msgs {
		if strings.HasPrefix(m, prefix) {
			return true
		}
	}
	return false
}

// harness builds a daemon over a temp state folder with fast timings.
type harness struct {
	d    *Daemon
	reg  *prometheus.Registry
	chk  *fakeChecker
	up   *fakeUpgrader
	note *recNotifier
	cfg  config.Config
}

type harnessOpt func(*config.Config, *Deps)

func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Daemon.StateDir = store.Dir
	cfg.Release.CheckInterval = time.Hour
	cfg.Daemon.StopGrace = 200 * time.Millisecond
	h := &harness{reg: prometheus.NewRegistry(), chk: &fakeChecker{}, up: &fakeUpgrader{}, note: &recNotifier{}}
	deps := Deps{
		Registerer: h.reg, Gatherer: h.reg, Store: store, Notifier: h.note, Version: "test",
		NewChecker: func(config.Config) (Checker, error) { return h.chk, nil },
		NewUpgrader: func(_ config.Config, obs state.Observer) (Upgrader, error) {
			h.up.obs = obs
			return h.up, nil
		},
		NewWindow: func(string, time.Duration) (Window, error) { return fakeWindow{open: true}, nil },
	}
	for _, o := range opts {
		o(&cfg, &deps)
	}
	h.cfg = cfg
	d, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	d.timing = fastTiming()
	h.d = d
	return h
}

func fastTiming() timing {
	return timing{
		tick: 10 * time.Millisecond, checkTimeout: 200 * time.Millisecond, slack: 50 * time.Millisecond,
		retryMin: 20 * time.Millisecond, retryMax: 100 * time.Millisecond, extendEvery: 30 * time.Millisecond,
	}
}

// start runs the daemon on a loopback listener; stop cancels and waits.
func (h *harness) start(t *testing.T) (addr string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.d.Run(ctx, ln) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return after stop")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + ln.Addr().String(), stop
}

// eventually polls cond for up to 3 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
