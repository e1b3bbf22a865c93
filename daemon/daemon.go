// Package daemon is twenty-upgraded's long-running service: the loop that
// asks for releases every release.check_interval, waits for the maintenance
// window (and approval where required), runs one upgrade transaction at a
// time, and shows what it does to systemd (sd_notify STATUS=, READY=,
// WATCHDOG=, RELOADING=, STOPPING=), to Prometheus (/metrics) and to people
// (/api/v1/status, `twenty-upgraded status`).
//
// Everything it talks to is injected through Deps: the release checker, the
// upgrade engine, the window, the state store, the notifier and the clock.
// docs/daemon.md describes the loop, the watchdog rule and every metric.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/notify"
	"github.com/twenty-upgraded/twenty-upgraded/daemon/policy"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// CheckResult is one release check: the policy's plan as it is, plus how
// many HTTP requests the check made (for the bench).
type CheckResult struct {
	policy.Plan
	Requests int
}

// approval returns what approval would allow: zero and nil when it changes
// nothing.
func (r CheckResult) approval() (version.V, []version.V) {
	if r.Approval == nil {
		return version.V{}, nil
	}
	return r.Approval.Target, r.Approval.Path
}

// Checker asks the release source and plans from the installed version.
type Checker interface {
	Check(ctx context.Context) (CheckResult, error)
}

// Upgrader runs upgrade transactions (an adapter wraps steps.Engine).
// Upgrade's error wraps outcome.ErrRolledBack when the old version runs again.
type Upgrader interface {
	Upgrade(ctx context.Context, to version.V, trigger string) (state.Entry, error)
	Resume(ctx context.Context) (bool, state.Entry, error)
}

// Window is the maintenance window (internal/window implements it).
type Window interface {
	Open(t time.Time) (bool, time.Time)
	Next(t time.Time) time.Time
	Fits(t time.Time, expected time.Duration) bool
	// NextFit is the earliest time at or after t a transaction of the
	// expected duration fits in; ok false when none within a year.
	NextFit(t time.Time, expected time.Duration) (at time.Time, ok bool)
}

// Notifier sends sd_notify messages; SystemdNotifier is the real one.
type Notifier interface {
	Notify(state string) error
}

// Deps is everything the daemon uses from outside. The factories are called
// by New and again on every successful reload, so a changed [release],
// [install] or [window] section takes effect without a restart.
type Deps struct {
	Logger     *slog.Logger          // nil: discard
	Registerer prometheus.Registerer // nil: a private registry
	Gatherer   prometheus.Gatherer   // served on /metrics; nil: the private registry
	Now        func() time.Time      // nil: time.Now
	Store      *state.Store          // required
	Notifier   Notifier              // nil: SystemdNotifier
	Version    string                // build version for build_info

	NewChecker  func(cfg config.Config) (Checker, error)                      // nil: no checks (reports only)
	NewUpgrader func(cfg config.Config, obs state.Observer) (Upgrader, error) // nil: never upgrades
	NewWindow   func(schedule string, d time.Duration) (Window, error)        // nil: the window is always open
	// LoadConfig reloads the config on SIGHUP; nil: reload keeps the config.
	LoadConfig func() (config.Config, error)
	// NewMessenger builds the notifications to a person (daemon/notify)
	// from cfg's [notify]; result is the metric hook. Called by New and on
	// every reload (the URLs file is read again). nil: no notifications.
	NewMessenger func(cfg config.Config, result func(event, result string)) (Messenger, error)
}

// Messenger sends notifications to a person; *notify.Notifier is one.
type Messenger interface {
	Send(ctx context.Context, ev notify.Event)
	Clear(kind string)
	Close()
}

// Daemon is the service. Build it with New, then call Run.
type Daemon struct {
	deps    Deps
	log     *slog.Logger
	metrics *Metrics
	gather  prometheus.Gatherer
	notify  Notifier
	// messages is nil without NewMessenger (message() checks); msgMu
	// guards it: a reload swaps it while the loop and the engine send.
	msgMu    sync.RWMutex
	messages Messenger
	timing   timing
	beat     heartbeat

	checkNow  chan struct{}
	reloadCh  chan chan error
	upgradeMu sync.Mutex // held while a transaction runs: never two

	mu       sync.Mutex // guards everything below
	cfg      config.Config
	parts    parts
	token    string
	st       liveState
	approval *state.Approval
}

// parts are the config-derived collaborators, rebuilt on reload.
type parts struct {
	checker  Checker
	upgrader Upgrader
	window   Window
}

// liveState is what the loop knows now, for STATUS=, metrics and the API.
type liveState struct {
	state      string // StateIdle, StateChecking, StateUpgrading, StateRollbackFailed, StateStopping
	started    bool
	last       *CheckResult
	lastCheck  time.Time
	checkErr   string
	failures   int // consecutive failed checks (back-off)
	failedTo   version.V
	failedAt   time.Time
	decision   decision
	txn        *state.Txn
	phase      string
	nextWindow time.Time
	expected   time.Duration
	interrupt  map[version.V]time.Time // interruptedAttempts of history
	waiting    string                  // why the target is not installed now
	status     string                  // the last STATUS= text
}

// Daemon states (Status.State).
const (
	StateIdle           = "idle"
	StateChecking       = "checking"
	StateUpgrading      = "upgrading"
	StateRollbackFailed = "rollback_failed"
	StateStopping       = "stopping"
	StateStopped        = "stopped" // the CLI's word when no daemon answers
)

// New builds the daemon from a loaded config. It reads the API token and the
// persisted approval, builds the checker, engine and window, registers the
// metrics and initialises them from history and state.json.
func New(cfg config.Config, deps Deps) (*Daemon, error) {
	if deps.Store == nil {
		return nil, errors.New("daemon: no state store")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Notifier == nil {
		deps.Notifier = SystemdNotifier{}
	}
	if deps.Registerer == nil {
		reg := prometheus.NewRegistry()
		deps.Registerer, deps.Gatherer = reg, reg
	}
	if deps.Gatherer == nil {
		deps.Gatherer = prometheus.DefaultGatherer
	}
	d := &Daemon{
		deps:     deps,
		log:      deps.Logger,
		gather:   deps.Gatherer,
		notify:   deps.Notifier,
		timing:   defaultTiming(),
		checkNow: make(chan struct{}, 1),
		reloadCh: make(chan chan error),
	}
	d.metrics = NewMetrics(deps.Registerer, deps.Version)
	if err := d.apply(cfg); err != nil {
		return nil, err
	}
	ap, err := deps.Store.Approval()
	if err != nil {
		return nil, err
	}
	d.approval = ap
	d.st.state = StateIdle
	if err := d.initFromDisk(); err != nil {
		return nil, err
	}
	if d.st.state != StateRollbackFailed {
		// No failed rollback waits (closed by `rollback`, or state.json
		// cleared by hand): "rollback failed" is not repeated any more.
		d.clearMessages(config.EventRollbackFailed)
	}
	return d, nil
}

// apply builds the config-derived parts and swaps them in; on error the
// current ones stay.
func (d *Daemon) apply(cfg config.Config) error {
	var p parts
	var err error
	if d.deps.NewChecker != nil {
		if p.checker, err = d.deps.NewChecker(cfg); err != nil {
			return fmt.Errorf("release checker: %w", err)
		}
	}
	if d.deps.NewUpgrader != nil {
		if p.upgrader, err = d.deps.NewUpgrader(cfg, d); err != nil {
			return fmt.Errorf("upgrade engine: %w", err)
		}
	}
	if d.deps.NewWindow != nil {
		if p.window, err = d.deps.NewWindow(cfg.Window.Schedule, cfg.Window.Duration); err != nil {
			return fmt.Errorf("window.schedule: %w", err)
		}
	}
	token, err := cfg.ReadSecret(cfg.Daemon.APITokenFile)
	if err != nil {
		return fmt.Errorf("daemon.api_token_file: %w", err)
	}
	if err := d.swapMessenger(cfg); err != nil {
		return err
	}
	d.mu.Lock()
	d.cfg, d.parts, d.token = cfg, p, token
	d.mu.Unlock()
	return nil
}

func (d *Daemon) config() (config.Config, parts) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg, d.parts
}

// initFromDisk sets the metrics that must survive a restart from history
// and state.json.
func (d *Daemon) initFromDisk() error {
	hist, err := d.deps.Store.History()
	if err != nil {
		return err
	}
	d.metrics.initFromHistory(hist)
	txn, err := d.deps.Store.Load()
	if err != nil {
		return err
	}
	if txn != nil && txn.Phase == state.PhaseFailed {
		d.metrics.RollbackFailed.Set(1)
		d.st.state = StateRollbackFailed
	}
	d.st.txn = txn
	d.st.expected = ExpectedDuration(hist)
	d.st.interrupt = interruptedAttempts(hist)
	return nil
}

// swapMessenger replaces the notifier by one built from cfg (New, and every
// reload: the URLs, events and timeout take effect without a restart). The
// old one is closed first: a message it had not finished stays pending in
// the record and the new one sends it, where two at once would send it
// twice. When cfg's cannot be built, the one of the config in force is
// built again and the error returned, so the reload fails as a whole.
func (d *Daemon) swapMessenger(cfg config.Config) error {
	if d.deps.NewMessenger == nil {
		return nil
	}
	old, _ := d.config() // before msgMu: it is never held with mu
	d.msgMu.Lock()
	defer d.msgMu.Unlock()
	reload := d.messages != nil
	if reload {
		d.messages.Close()
		d.messages = nil
	}
	m, err := d.deps.NewMessenger(cfg, d.metrics.NotifyResult)
	if err != nil {
		if reload {
			if m, err2 := d.deps.NewMessenger(old, d.metrics.NotifyResult); err2 == nil {
				d.messages = m
			} else {
				d.log.Error("notifications off: the notifier of the config in force cannot be rebuilt either", "err", err2)
			}
		}
		return fmt.Errorf("notify: %w", err)
	}
	if m != nil && !isNilMessenger(m) {
		d.messages = m
	}
	return nil
}

// isNilMessenger reports a typed nil (*notify.Notifier without URLs).
func isNilMessenger(m Messenger) bool {
	n, ok := m.(*notify.Notifier)
	return ok && n == nil
}

// Close stops the notifier; messages still queued stay pending in the state
// folder for the next start. Call it once Run has returned.
func (d *Daemon) Close() {
	d.msgMu.Lock()
	defer d.msgMu.Unlock()
	if d.messages != nil {
		d.messages.Close()
		d.messages = nil
	}
}
