package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/daemon"
	"github.com/twenty-upgraded/twenty-upgraded/daemon/checker"
	"github.com/twenty-upgraded/twenty-upgraded/daemon/policy"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/outcome"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps"
	"github.com/twenty-upgraded/twenty-upgraded/steps/backup"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// upgradeOptions are the flags of `upgrade`.
type upgradeOptions struct {
	to     string
	dryRun bool
	yes    bool
	force  bool
}

func cmdUpgrade(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("upgrade", "[--to vX.Y.Z [--force]] [--dry-run] [--yes]")
	var o upgradeOptions
	fs.StringVar(&o.to, "to", "", "target `version` vX.Y.Z: must be the next hop the policy allows (default: the next target `check` plans)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "print every step and command a real run would execute; change nothing")
	fs.BoolVar(&o.yes, "yes", false, "run now: skip the maintenance window and approve (window.require_approval, and release.track for the step size)")
	fs.BoolVar(&o.force, "force", false, "with --to: install the target although the policy refuses it (release.skip, constraint, min_age, track,\n"+
		"the sequential path, a version the source does not list), saying each rule it overrides; never overrides\n"+
		"bad-versions, a release this install cannot take, or the preflight's checks")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("upgrade takes no arguments (use --to vX.Y.Z)")
	}
	if o.force && o.to == "" {
		return usageErr("--force needs --to vX.Y.Z: without --to the target is the plan's next hop, which the policy allows already")
	}
	return runUpgrade(ctx, e, o)
}

func runUpgrade(ctx context.Context, e *env, o upgradeOptions) error {
	var target version.V
	if o.to != "" {
		v, err := version.Parse(o.to)
		if err != nil {
			return usageErr("--to: %v", err)
		}
		target = v
	}
	cfg, store, err := e.open()
	if err != nil {
		return err
	}
	eng := newEngine(e, cfg, store)
	if o.dryRun {
		return dryRun(ctx, e, cfg, store, eng, target, o)
	}
	what := "upgrade"
	if !target.IsZero() {
		what += " --to " + target.String()
	}
	lock, err := store.Lock(what)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if err := resumeFirst(ctx, e, eng); err != nil {
		return err
	}
	var forced []string
	if target.IsZero() {
		if target, err = e.plannedTarget(ctx, o); err != nil {
			return err
		}
	} else if forced, err = e.judgeTarget(ctx, cfg, store, target, o); err != nil {
		return err
	}
	if !o.yes {
		if err := daemon.MayStart(cfg, store, target, e.now()); err != nil {
			return err
		}
	}
	en, err := eng.Upgrade(ctx, target, steps.Options{Trigger: "cli", Forced: forced})
	if en.ID != "" {
		fmt.Fprintln(e.stdout, describe(en))
	}
	return err
}

// resumeFirst resumes an interrupted transaction before the requested
// upgrade. One that had changed nothing is closed (recorded as failed) and
// the upgrade goes on. One the resume rolled back stops the command with
// the rollback's error (exit 3), saying what was rolled back and that
// nothing was done for this upgrade yet; one it finished (committed)
// stops it held (exit 4), since the installed version changed.
func resumeFirst(ctx context.Context, e *env, eng *steps.Engine) error {
	resumed, en, err := eng.Resume(ctx)
	if !resumed {
		return err
	}
	switch {
	case errors.Is(err, steps.ErrNothingChanged):
		fmt.Fprintf(e.stdout, "an interrupted transaction was open: %s; it had changed nothing (Twenty was never stopped) and is closed; going on with this upgrade\n", describe(en))
		e.logger.Info("interrupted transaction closed: it had changed nothing", "upgrade_id", en.ID, "err", err)
		return nil
	case errors.Is(err, outcome.ErrRolledBack):
		fmt.Fprintf(e.stdout, "an interrupted transaction was open and has been resumed first: %s\n", describe(en))
		return fmt.Errorf("the interrupted transaction %s (%s → %s) was resumed first and rolled back, so %s runs again; nothing was done for this upgrade: run it again: %w",
			en.ID, en.From, en.To, en.From, err)
	case err != nil:
		fmt.Fprintf(e.stdout, "an interrupted transaction was open and has been resumed first: %s\n", describe(en))
		return err
	}
	fmt.Fprintf(e.stdout, "an interrupted transaction was open and has been resumed first: %s\n", describe(en))
	return fmt.Errorf("%w: the interrupted transaction %s (%s → %s) was finished first (%s), so the installed version changed; nothing was done for this upgrade: run it again",
		outcome.ErrHeld, en.ID, en.From, en.To, orDash(en.Result))
}

// dryRun prints the plan of target after the checks a real run makes
// before it starts (the policy for --to, the window and approval without
// --yes): a check that would hold the real run is said in the plan, and the
// dry run exits held (4) as the real run would.
func dryRun(ctx context.Context, e *env, cfg config.Config, store *state.Store, eng *steps.Engine, target version.V, o upgradeOptions) error {
	var holds []error
	hold := func(err error) error {
		if errors.Is(err, outcome.ErrHeld) {
			holds = append(holds, err)
			return nil
		}
		return err
	}
	var forced []string
	var err error
	if target.IsZero() {
		if target, err = e.plannedTarget(ctx, o); err != nil {
			return err // held: no target, so no plan to show
		}
	} else if forced, err = e.judgeTarget(ctx, cfg, store, target, o); hold(err) != nil {
		return err
	}
	if !o.yes {
		if err := hold(daemon.MayStart(cfg, store, target, e.now())); err != nil {
			return err
		}
	}
	_, err = eng.Upgrade(ctx, target, steps.Options{DryRun: true, DryRunOut: e.stdout, Trigger: "cli", Forced: forced,
		Held: errors.Join(holds...)})
	return err
}

// plannedTarget is the target of `upgrade` without --to: the next hop of
// the plan `check` shows, or with --yes (approval) of the approved plan.
func (e *env) plannedTarget(ctx context.Context, o upgradeOptions) (version.V, error) {
	rep, err := e.checkNow(ctx, "")
	if err != nil {
		return version.V{}, err
	}
	if a := rep.Approval; o.yes && a != nil && len(a.Path) > 0 {
		fmt.Fprintf(e.stdout, "--yes approves %s: the path is %s\n", a.Target, joinVersions(rep.Current, a.Path))
		return a.Path[0], nil
	}
	if rep.Next.IsZero() {
		return version.V{}, fmt.Errorf("%w: no upgrade to do from %s (run twenty-upgraded check to see why; --to picks a version)", outcome.ErrHeld, orNone(rep.Current))
	}
	return rep.Next, nil
}

// judgeTarget applies the policy to --to exactly as the daemon plans
// (daemon/policy.Judge): the target must be allowed and be the next hop. A
// refusal holds (exit 4), naming each rule, its config key and the fix.
// --force lifts every refusal but the hard ones, prints each rule it
// overrides and returns their codes for the history entry.
func (e *env) judgeTarget(ctx context.Context, cfg config.Config, store *state.Store, target version.V, o upgradeOptions) ([]string, error) {
	ch, err := checker.New(cfg, checker.Deps{Store: store, Logger: e.logger, Now: e.now})
	if err != nil {
		return nil, err
	}
	_, v, err := ch.Judge(ctx, target, o.yes)
	if err != nil {
		return nil, fmt.Errorf("--to %s is checked against the release source and the policy: %w", target, err)
	}
	if v.OK() {
		if o.force {
			fmt.Fprintf(e.stdout, "--force: the policy allows %s as the next hop; nothing to override\n", target)
		}
		return nil, nil
	}
	if !o.force || len(v.Hard()) > 0 {
		return nil, refusedErr(e, cfg, v, o)
	}
	codes := make([]string, len(v.Refusals))
	fmt.Fprintf(e.stdout, "--force: installing %s although the policy refuses it; overriding:\n", target)
	for i, r := range v.Refusals {
		codes[i] = r.Code
		fmt.Fprintf(e.stdout, "  %s\n", refusalLine(cfg, r))
	}
	e.logger.Warn("upgrade --force overrides the policy", "to", target.String(), "overrides", strings.Join(codes, ","))
	return codes, nil
}

// refusedErr is the held error of a refused --to: every rule with its key
// and the way to lift it.
func refusedErr(e *env, cfg config.Config, v policy.Verdict, o upgradeOptions) error {
	var b strings.Builder
	fmt.Fprintf(&b, "--to %s is refused by the policy (installed: %s):", v.Target, orNone(v.Current))
	for _, r := range v.Refusals {
		fmt.Fprintf(&b, "\n  %s", refusalLine(cfg, r))
		if fix := refusalFix(e, cfg, v, r, o); fix != "" {
			b.WriteString("\n      " + fix)
		}
	}
	if hard := v.Hard(); len(hard) > 0 {
		codes := make([]string, len(hard))
		for i, r := range hard {
			codes[i] = r.Code
		}
		fmt.Fprintf(&b, "\n--force does not override %s", strings.Join(codes, ", "))
	} else {
		b.WriteString("\n--force installs it anyway, saying what it overrides")
	}
	return fmt.Errorf("%w: %s", outcome.ErrHeld, b.String())
}

// refusalLine is "code (key): reason".
func refusalLine(cfg config.Config, r policy.Refusal) string {
	key := r.Key
	if r.Code == policy.CodeFailedHere {
		key = filepath.Join(cfg.Daemon.StateDir, "bad-versions")
	}
	if key == "" {
		return r.Code + ": " + r.Reason
	}
	return fmt.Sprintf("%s (%s): %s", r.Code, key, r.Reason)
}

// refusalFix says how to lift one refusal.
func refusalFix(e *env, cfg config.Config, v policy.Verdict, r policy.Refusal, o upgradeOptions) string {
	switch r.Code {
	case policy.CodeNotNextHop:
		return "run first: " + e.upgradeCommand(v.First, o)
	case policy.CodePathBlocked:
		fix := "lift the hold on that minor (twenty-upgraded plan says why each release is held)"
		if !v.First.IsZero() {
			fix += "; the hop that can come first: " + e.upgradeCommand(v.First, o)
		}
		return fix
	case policy.CodeFailedHere:
		return "once its cause is fixed, delete its line from " + filepath.Join(cfg.Daemon.StateDir, "bad-versions") + " to allow it again"
	case policy.CodeSkipped:
		return "remove " + v.Target.String() + " from release.skip to allow it"
	case policy.CodeOutsideConstraint:
		return "widen release.constraint to allow it"
	case policy.CodeTooNew:
		if !r.Until.IsZero() {
			return "it is old enough at " + r.Until.UTC().Format(time.RFC3339) + " (release.min_age)"
		}
		return "wait, or lower release.min_age"
	case policy.CodeNeedsApproval:
		return "approve it with --yes (or raise release.track)"
	case policy.CodeNotListed:
		return fmt.Sprintf("check the version: twenty-upgraded check shows what the release source (release.source = %q) lists", cfg.Release.Source)
	}
	return ""
}

// upgradeCommand is the command line that installs v with the same flags.
func (e *env) upgradeCommand(v version.V, o upgradeOptions) string {
	s := "twenty-upgraded"
	if e.configPath != config.DefaultPath {
		s += " --config " + proc.Quote([]string{e.configPath})
	}
	s += " upgrade --to " + v.String()
	if o.yes {
		s += " --yes"
	}
	return s
}

// newEngine builds the engine with the real runner and backup manager.
func newEngine(e *env, cfg config.Config, store *state.Store) *steps.Engine {
	r := proc.Exec{}
	return steps.New(cfg, steps.Deps{Runner: r, Store: store, Backups: backup.New(cfg, r, e.logger), Logger: e.logger, Now: e.now})
}

func describe(en state.Entry) string {
	if en.ID == "" {
		return "no result recorded"
	}
	s := fmt.Sprintf("%s %s → %s: %s in %s (downtime %s)", en.ID, en.From, en.To, en.Result,
		time.Duration(en.Seconds*float64(time.Second)).Round(time.Second), time.Duration(en.Downtime*float64(time.Second)).Round(time.Second))
	if en.Backup != "" {
		s += ", backup " + en.Backup
	}
	return s
}
