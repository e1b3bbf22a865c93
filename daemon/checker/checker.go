// Package checker answers "what is installed, what is out there, and what
// should be installed next": it reads the installed version, asks the release
// source, and plans with daemon/policy. check, plan and the daemon's loop all
// go through it, so they always agree.
package checker

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/policy"
	"github.com/twenty-upgraded/twenty-upgraded/daemon/release"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/twenty"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// Checker holds a release source across checks (so conditional requests
// work) and what it needs to read the installed version.
type Checker struct {
	cfg      config.Config
	source   release.Source
	runner   proc.Runner
	store    *state.Store
	now      func() time.Time
	requests atomic.Int64
	// Installed reads the installed version; tests and `plan --current`
	// replace it.
	Installed func(ctx context.Context) (install.Installed, error)
}

// Deps are Checker's collaborators; zero fields get real defaults.
type Deps struct {
	Runner  proc.Runner
	Store   *state.Store
	Logger  *slog.Logger
	Now     func() time.Time
	Release release.Options // HTTP client, retries; OnRequest is wrapped to count
}

// New builds a Checker from the config, reading the release token from its file.
func New(cfg config.Config, d Deps) (*Checker, error) {
	token, err := cfg.ReadSecret(cfg.Release.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("release.token_file: %w", err)
	}
	c := &Checker{cfg: cfg, runner: d.Runner, store: d.Store, now: d.Now}
	if c.runner == nil {
		c.runner = proc.Exec{}
	}
	if c.now == nil {
		c.now = time.Now
	}
	opts := d.Release
	if opts.Logger == nil {
		opts.Logger = d.Logger
	}
	if opts.ConfigDir == "" && cfg.Path != "" {
		opts.ConfigDir = dirOf(cfg.Path)
	}
	inner := opts.OnRequest
	opts.OnRequest = func(ri release.RequestInfo) {
		c.requests.Add(1)
		if inner != nil {
			inner(ri)
		}
	}
	if c.source, err = release.New(cfg.Release, token, opts); err != nil {
		return nil, err
	}
	c.Installed = func(ctx context.Context) (install.Installed, error) { return install.Survey(ctx, c.cfg, c.runner) }
	return c, nil
}

// Result is one check.
type Result struct {
	CheckedAt time.Time
	Installed install.Installed
	Releases  []release.Release
	Plan      policy.Plan
	Requests  int // HTTP requests this check made
}

// Check reads the installed version, asks the source and plans.
func (c *Checker) Check(ctx context.Context) (Result, error) {
	in, err := c.Installed(ctx)
	if err != nil {
		return Result{Installed: in}, err
	}
	return c.PlanFrom(ctx, in, version.V{})
}

// PlanFrom asks the source and plans from in.Version; upto, when set, caps
// the target.
func (c *Checker) PlanFrom(ctx context.Context, in install.Installed, upto version.V) (Result, error) {
	res, cands, p, err := c.ask(ctx, in)
	if err != nil {
		return res, err
	}
	p.Upto = upto
	res.Plan = policy.Make(in.Version, cands, p, res.CheckedAt)
	res.Plan.Warnings = append(in.Warnings, res.Plan.Warnings...)
	return res, nil
}

// Judge reads the installed version, asks the source and judges target
// (`upgrade --to`) with the same policy the daemon plans with; approved
// applies approval (`upgrade --yes`): any step size, every other rule
// unchanged. Result.Plan is the plan with target as its upper bound.
func (c *Checker) Judge(ctx context.Context, target version.V, approved bool) (Result, policy.Verdict, error) {
	in, err := c.Installed(ctx)
	if err != nil {
		return Result{Installed: in}, policy.Verdict{}, err
	}
	res, cands, p, err := c.ask(ctx, in)
	if err != nil {
		return res, policy.Verdict{}, err
	}
	if approved {
		p = p.Approved()
	}
	v := policy.Judge(in.Version, cands, p, res.CheckedAt, target)
	p.Upto = target
	res.Plan = policy.Make(in.Version, cands, p, res.CheckedAt)
	res.Plan.Warnings = append(in.Warnings, res.Plan.Warnings...)
	return res, v, nil
}

// ask asks the source and builds the policy from the config and bad-versions.
func (c *Checker) ask(ctx context.Context, in install.Installed) (Result, []policy.Candidate, policy.Policy, error) {
	before := c.requests.Load()
	rels, err := c.source.Releases(ctx)
	res := Result{CheckedAt: c.now().UTC(), Installed: in, Releases: rels, Requests: int(c.requests.Load() - before)}
	if err != nil {
		return res, nil, policy.Policy{}, fmt.Errorf("check %s: %w", c.source.Name(), err)
	}
	bad := map[version.V]string{}
	if c.store != nil {
		if bad, err = c.store.BadVersions(); err != nil {
			return res, nil, policy.Policy{}, err
		}
	}
	p := policy.FromConfig(c.cfg.Release, bad)
	if c.cfg.Install.Mode == string(install.ModeCompose) {
		p.Unsupported = func(v version.V) string {
			if why := twenty.Lacks(v, twenty.ImageMigrates); why != "" {
				return "compose mode needs a release whose image migrates by itself: " + why
			}
			return ""
		}
	}
	cands := make([]policy.Candidate, len(rels))
	for i, r := range rels {
		cands[i] = policy.Candidate{Version: r.Version, Published: r.Published}
	}
	return res, cands, p, nil
}

// Has reports whether the source lists v now (docs/policy.md: only install tags
// the registry serves now).
func (r Result) Has(v version.V) bool {
	for _, rel := range r.Releases {
		if rel.Version == v {
			return true
		}
	}
	return false
}

// SourceName is the configured source's name.
func (c *Checker) SourceName() string { return c.source.Name() }

func dirOf(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "."
}
