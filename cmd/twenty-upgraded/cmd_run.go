package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/twenty-upgraded/twenty-upgraded/daemon"
	"github.com/twenty-upgraded/twenty-upgraded/daemon/checker"
	"github.com/twenty-upgraded/twenty-upgraded/daemon/notify"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/internal/window"
	"github.com/twenty-upgraded/twenty-upgraded/steps"
	"github.com/twenty-upgraded/twenty-upgraded/steps/backup"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// cmdRun is the daemon systemd starts: config, lock, metrics registry,
// listener, then daemon.Run until SIGTERM/SIGINT (ctx). SIGHUP reloads the
// config, SIGUSR1 checks now.
func cmdRun(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("run", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("run takes no arguments")
	}
	cfg, store, unlock, err := e.openLocked("daemon")
	if err != nil {
		return err
	}
	defer unlock()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	d, err := daemon.New(cfg, daemon.Deps{
		Logger: e.logger, Registerer: reg, Gatherer: reg, Now: e.now, Store: store, Version: Version,
		NewChecker: func(c config.Config) (daemon.Checker, error) { return newDaemonChecker(e, c, store) },
		NewUpgrader: func(c config.Config, obs state.Observer) (daemon.Upgrader, error) {
			return newDaemonUpgrader(e, c, store, obs), nil
		},
		NewWindow: func(schedule string, d time.Duration) (daemon.Window, error) {
			w, err := window.New(schedule, d)
			if err != nil {
				return nil, err
			}
			return w, nil
		},
		LoadConfig: func() (config.Config, error) { return config.Load(e.configPath) },
		NewMessenger: func(c config.Config, result func(event, result string)) (daemon.Messenger, error) {
			return newNotifier(e, c, store.Dir, result)
		},
	})
	if err != nil {
		return err
	}
	defer d.Close()
	ln, err := net.Listen("tcp", cfg.Daemon.Listen)
	if err != nil {
		return fmt.Errorf("daemon.listen %q: %w (is another daemon running, or is the address wrong?)", cfg.Daemon.Listen, err)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(sigs)
	go forwardSignals(ctx, sigs, d)
	e.logger.Info("daemon starting", "version", Version, "listen", ln.Addr().String(), "state_dir", store.Dir)
	return d.Run(ctx, ln)
}

// newNotifier builds the notifications of [notify] (docs/notify.md); without
// urls_file it is nil, which sends nothing.
func newNotifier(e *env, cfg config.Config, stateDir string, result func(event, result string)) (*notify.Notifier, error) {
	lines, err := cfg.NotifyURLs()
	if err != nil {
		return nil, &config.Error{Path: cfg.Path, Problems: []string{"notify.urls_file: " + err.Error()}}
	}
	urls := make([]string, len(lines))
	for i, l := range lines {
		urls[i] = l.URL
	}
	return notify.New(notify.Options{URLs: urls, Events: cfg.Notify.Events, Timeout: cfg.Notify.Timeout,
		StateDir: stateDir, Site: siteOf(cfg), Result: result, Logger: e.logger})
}

func forwardSignals(ctx context.Context, sigs <-chan os.Signal, d *daemon.Daemon) {
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-sigs:
			switch s {
			case syscall.SIGHUP:
				_ = d.Reload() // logged and shown in STATUS= by Reload
			case syscall.SIGUSR1:
				d.CheckNow()
			}
		}
	}
}

// daemonChecker adapts daemon/checker to the daemon's Checker interface.
type daemonChecker struct{ c *checker.Checker }

func newDaemonChecker(e *env, cfg config.Config, store *state.Store) (daemon.Checker, error) {
	c, err := checker.New(cfg, checker.Deps{Store: store, Logger: e.logger, Now: e.now})
	if err != nil {
		return nil, err
	}
	return daemonChecker{c}, nil
}

func (a daemonChecker) Check(ctx context.Context) (daemon.CheckResult, error) {
	res, err := a.c.Check(ctx)
	if err != nil {
		return daemon.CheckResult{Requests: res.Requests}, err
	}
	return daemon.CheckResult{Plan: res.Plan, Requests: res.Requests}, nil
}

// daemonUpgrader adapts steps.Engine to the daemon's Upgrader interface.
type daemonUpgrader struct{ eng *steps.Engine }

func newDaemonUpgrader(e *env, cfg config.Config, store *state.Store, obs state.Observer) daemon.Upgrader {
	eng := steps.New(cfg, steps.Deps{Runner: proc.Exec{}, Store: store, Backups: backup.New(cfg, proc.Exec{}, e.logger),
		Logger: e.logger, Now: e.now, Observer: obs})
	return daemonUpgrader{eng}
}

func (a daemonUpgrader) Upgrade(ctx context.Context, to version.V, trigger string) (state.Entry, error) {
	return a.eng.Upgrade(ctx, to, steps.Options{Trigger: trigger})
}

func (a daemonUpgrader) Resume(ctx context.Context) (bool, state.Entry, error) {
	return a.eng.Resume(ctx)
}
