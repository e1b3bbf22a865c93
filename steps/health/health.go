// Package health is the gate that decides whether Twenty is really up on a
// given version (docs/twenty.md, "Is it really up?").
//
// /healthz alone has gone green on a half-migrated database, so the gate runs
// every configured check that exists on the version judged (container
// health, /healthz, /healthz/database, /healthz/worker, /healthz/redis,
// /healthz/app, GraphQL __typename, the version, upgrade:status, failure
// lines in the server log) each round; all must pass continuously for
// stable_for within timeout. The gate only observes: it never restarts the
// server, which may be migrating.
package health

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/clock"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// Gate waits for Twenty to be healthy on a version.
type Gate struct {
	Cfg            config.Health
	Runner         proc.Runner
	In             *install.Install
	APIKey         string // a Twenty API key for the authenticated GraphQL check ("" = anonymous probe)
	HTTP           *http.Client
	Now            func() time.Time
	Sleep          func(ctx context.Context, d time.Duration) error // nil: clock.Sleep
	CommandTimeout time.Duration
	Log            *slog.Logger
	// Observe, when set, gets every round (metrics: health_check_up{check}).
	Observe func([]Result)
}

// Wait polls every Cfg.Interval until every check has passed for
// Cfg.StableFor (nil), a check is fatal, or Cfg.Timeout passes (*Error).
// since is when the server was started: its log is read from there.
func (g *Gate) Wait(ctx context.Context, want version.V, since time.Time) error {
	checks, left := Applicable(want, g.Cfg.Checks)
	for _, l := range left {
		g.log().Info("health check left out", "check", l.Check, "version", want.String(), "why", l.Why)
	}
	return g.wait(ctx, want, since, checks, g.Cfg.StableFor)
}

// WaitStarted waits, only watching, until the server container is healthy
// (or a failure line appears in its log): what the start step waits for
// before it starts the worker.
func (g *Gate) WaitStarted(ctx context.Context, want version.V, since time.Time) error {
	return g.wait(ctx, want, since, []string{config.CheckContainer, config.CheckLog}, 0)
}

func (g *Gate) wait(ctx context.Context, want version.V, since time.Time, checks []string, stable time.Duration) error {
	now := g.now()
	if since.IsZero() {
		since = now
	}
	tr := &Tracker{StableFor: stable, Timeout: g.Cfg.Timeout, Start: now}
	for {
		rs, logTail := g.Round(ctx, want, since, checks)
		if g.Observe != nil {
			g.Observe(rs)
		}
		done, err := tr.Observe(g.now(), rs)
		if done {
			g.log().Info("health gate passed", "version", want.String(), "checks", strings.Join(checks, ","), "duration_seconds", g.now().Sub(now).Seconds())
			return nil
		}
		var he *Error
		if errors.As(err, &he) {
			if logTail == nil {
				_, logTail = g.serverLog(ctx, since)
			}
			he.LogTail = logTail
			return he
		}
		g.log().Debug("health gate waiting", "failing", names(failing(rs)), "passing_seconds", tr.PassingFor(g.now()).Seconds())
		if err := g.sleep(ctx, g.Cfg.Interval); err != nil {
			return errors.Join(&Error{Reason: "interrupted: " + err.Error(), Failing: failing(rs), LogTail: logTail}, err)
		}
	}
}

// Round runs checks once. upgrade_status (a yarn process in the server
// container) runs only once every other check passes. It also returns the
// last server log lines when the log check read them.
func (g *Gate) Round(ctx context.Context, want version.V, since time.Time, checks []string) ([]Result, []string) {
	var rs []Result
	var tail []string
	deferred := false
	for _, c := range checks {
		switch c {
		case config.CheckUpgradeStatus:
			deferred = true
			continue
		case config.CheckLog:
			var r Result
			r, tail = g.serverLog(ctx, since)
			rs = append(rs, r)
		default:
			rs = append(rs, g.check(ctx, c, want))
		}
	}
	if deferred {
		r := Result{Check: config.CheckUpgradeStatus, Answer: "not run until the other checks pass", NotRun: true}
		if len(failing(rs)) == 0 {
			r = g.upgradeStatus(ctx, want)
		}
		rs = append(rs, r)
	}
	return rs, tail
}

func (g *Gate) check(ctx context.Context, name string, want version.V) Result {
	switch name {
	case config.CheckContainer:
		return g.container(ctx)
	case config.CheckHealthz:
		return g.get(ctx, name, "/healthz")
	case config.CheckDatabase:
		return g.get(ctx, name, "/healthz/database")
	case config.CheckRedis:
		return g.get(ctx, name, "/healthz/redis")
	case config.CheckWorker:
		return g.get(ctx, name, "/healthz/worker")
	case config.CheckApp:
		return g.get(ctx, name, "/healthz/app")
	case config.CheckGraphQL:
		return g.graphql(ctx)
	case config.CheckVersion:
		return g.version(ctx, want)
	}
	return Result{Check: name, Answer: "unknown check (see health.checks in the config)"}
}

func (g *Gate) now() time.Time {
	if g.Now == nil {
		return time.Now()
	}
	return g.Now()
}

func (g *Gate) sleep(ctx context.Context, d time.Duration) error {
	if g.Sleep != nil {
		return g.Sleep(ctx, d)
	}
	return clock.Sleep(ctx, d)
}

func (g *Gate) log() *slog.Logger {
	if g.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return g.Log
}

func names(rs []Result) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Check
	}
	return strings.Join(out, ",")
}
