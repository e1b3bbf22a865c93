package steps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/twenty-upgraded/twenty-upgraded/internal/text"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// sourcePlan is the seed guide's sequence with the transaction around it,
// made of the commands that exist in the checked-out tag (install.PlanSource):
// preflight → fetch → prebuild → stop → backup → checkout → clean → install →
// build → migrate → upgrade_workspaces → flush_cache → up → health → commit.
//
// stop stops the writers (server and worker) rather than the guide's
// `down`: the database must stay up for the backup, for migrate (run on the
// host) and for a restore.
func sourcePlan() plan {
	return plan{change: StepCheckout, steps: []Step{
		step{name: StepPreflight, run: sourcePreflight, undo: nothingToUndo}, // reads only
		step{name: StepFetch, run: sourceFetch, undo: nothingToUndo},         // fetched objects change no checkout
		step{name: StepPrebuild, run: sourcePrebuild, undo: removePrebuild},
		step{name: StepStop, run: stopWriters, undo: sourceStartOld},
		backupStep(),
		step{name: StepCheckout, run: sourceCheckout, undo: sourceRebuildOld},
		// clean, install and build change only the build output, which the
		// checkout's rollback rebuilds for the old commit.
		step{name: StepClean, run: sourceStep(StepClean), undo: nothingToUndo},
		step{name: StepInstall, run: sourceStep(StepInstall), undo: nothingToUndo},
		step{name: StepBuild, run: sourceStep(StepBuild), undo: nothingToUndo},
		// migrate and the workspace upgrade change the database, which the
		// backup's rollback restores.
		step{name: StepMigrate, run: sourceStep(StepMigrate), undo: nothingToUndo},
		step{name: StepUpgradeWorkspaces, run: sourceStep(StepUpgradeWorkspaces), undo: nothingToUndo},
		// a flushed cache is rebuilt by whichever version runs.
		step{name: StepFlushCache, run: sourceStep(StepFlushCache), undo: nothingToUndo},
		step{name: StepUp, run: sourceUpStep, undo: stopWritersUndo},
		healthStep(),
		commitStep(),
	}}
}

func (u *Upgrade) git(ctx context.Context, args ...string) (string, error) {
	res, err := u.run(ctx, u.In.Git(args...))
	return strings.TrimSpace(string(res.Stdout)), err
}

func sourcePreflight(ctx context.Context, u *Upgrade) error {
	dirty, err := u.git(ctx, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return err
	}
	if dirty != "" {
		return fmt.Errorf("the checkout %s has local changes (git status: %s): commit or stash them, the upgrade checks out another tag", u.In.Dir, text.OneLine(dirty, 200))
	}
	head, err := u.git(ctx, "rev-parse", "HEAD")
	if err != nil {
		return err
	}
	u.Txn.Facts.OldCommit = head
	return preflightCommon(ctx, u)
}

// sourceFetch fetches (before the downtime), resolves the tag to check out
// (twenty/vX.Y.Z, GitHub's naming since about v2.9, or vX.Y.Z) and plans
// the commands from that tag's package.json files, so a release whose
// scripts are missing fails while Twenty still serves.
func sourceFetch(ctx context.Context, u *Upgrade) error {
	if _, err := u.run(ctx, u.In.Fetch(u.Cfg.Source.Fetch)); err != nil {
		return err
	}
	for _, ref := range []string{"twenty/" + u.To.String(), u.To.String()} {
		if _, err := u.git(ctx, "rev-parse", "--verify", "--quiet", "refs/tags/"+ref+"^{commit}"); err == nil {
			u.Txn.Facts.NewRef = ref
			p, err := u.newSource(ctx)
			if err != nil {
				return err
			}
			for _, n := range p.Notes {
				u.Log.Info("source plan", "note", n)
			}
			return nil
		}
	}
	return fmt.Errorf("neither tag twenty/%s nor %s exists in %s after fetching", u.To, u.To, u.In.Dir)
}

// newSource is the plan of the tag being installed (read once per run).
func (u *Upgrade) newSource(ctx context.Context) (install.SourcePlan, error) {
	if u.srcNew == nil {
		ref := u.Txn.Facts.NewRef
		if ref == "" {
			ref = u.To.String()
		}
		p, err := u.In.SourcePlanAt(ctx, "refs/tags/"+ref, u.To, u.Cfg.Source)
		if err != nil {
			return p, fmt.Errorf("plan the source commands of %s: %w", u.To, err)
		}
		u.srcNew = &p
	}
	return *u.srcNew, nil
}

// oldSource is the plan of the commit that ran before (for the rollback).
func (u *Upgrade) oldSource(ctx context.Context) (install.SourcePlan, error) {
	old := u.Txn.Facts.OldCommit
	if old == "" {
		return install.SourcePlan{}, fmt.Errorf("the old commit was not recorded; check out the previous tag in %s by hand", u.In.Dir)
	}
	p, err := u.In.SourcePlanAt(ctx, old, u.From, u.Cfg.Source)
	if err != nil {
		return p, fmt.Errorf("plan the source commands of the old commit %s: %w", old, err)
	}
	return p, nil
}

// sourceStartOld undoes stop: the old commit (rebuilt by the checkout's
// rollback, its data restored by the backup's) starts and must pass the gate.
func sourceStartOld(ctx context.Context, u *Upgrade) error {
	if u.newVersionTouched() {
		if p, err := u.oldSource(ctx); err != nil {
			u.Log.Warn("flush cache before starting the old version", "err", err)
		} else if err := u.runSource(ctx, u.In.Dir, p, StepFlushCache); err != nil {
			u.Log.Warn("flush cache before starting the old version", "err", err)
		}
	}
	u.Txn.Facts.UpAt = u.Now().UTC()
	if _, err := u.run(ctx, u.sourceUp()); err != nil {
		return err
	}
	return gateOld(ctx, u)
}

func sourceCheckout(ctx context.Context, u *Upgrade) error {
	ref := u.Txn.Facts.NewRef
	if ref == "" {
		ref = u.To.String()
	}
	_, err := u.git(ctx, "-c", "advice.detachedHead=false", "checkout", "refs/tags/"+ref)
	return err
}

// sourceRebuildOld checks the old commit out again and rebuilds it.
func sourceRebuildOld(ctx context.Context, u *Upgrade) error {
	old := u.Txn.Facts.OldCommit
	if old == "" {
		return fmt.Errorf("the old commit was not recorded; check out the previous tag in %s by hand", u.In.Dir)
	}
	if _, err := u.git(ctx, "-c", "advice.detachedHead=false", "checkout", "--force", old); err != nil {
		return err
	}
	if !u.Started(StepClean) {
		return nil // nothing was rebuilt yet: the old build output is intact
	}
	p, err := u.oldSource(ctx)
	if err != nil {
		return err
	}
	for _, name := range []string{StepClean, StepInstall, StepBuild} {
		if err := u.runSource(ctx, u.In.Dir, p, name); err != nil {
			return fmt.Errorf("rebuild the old commit: %w", err)
		}
	}
	return nil
}

// sourceStep runs one step of the new tag's plan in the checkout.
func sourceStep(name string) func(context.Context, *Upgrade) error {
	return func(ctx context.Context, u *Upgrade) error {
		p, err := u.newSource(ctx)
		if err != nil {
			return err
		}
		return u.runSource(ctx, u.In.Dir, p, name)
	}
}

// runSource runs the plan's commands of step name in the checkout at root.
func (u *Upgrade) runSource(ctx context.Context, root string, p install.SourcePlan, name string) error {
	if u.DryRun {
		for _, s := range p.Describe(name) {
			fmt.Fprintf(u.Out, "  run:  %s   (in %s)\n", s, root)
		}
		return nil
	}
	if name == StepClean && p.RemoveDirs != nil {
		removed, err := u.In.RemoveOutputs(ctx, root, p.RemoveDirs)
		u.Log.Info("build output removed", "dirs", strings.Join(removed, ","))
		return err
	}
	cmds := map[string][]install.Command{StepClean: p.Clean, StepInstall: p.Install, StepBuild: p.Build,
		StepMigrate: p.Migrate, StepUpgradeWorkspaces: p.Upgrade, StepFlushCache: p.FlushCache}[name]
	timeout := u.Cfg.Timeouts.Build
	if name == StepClean || name == StepFlushCache {
		timeout = u.Cfg.Timeouts.Command
	}
	if len(cmds) == 0 {
		u.Log.Info("step has no command for this release", "step", name)
	}
	for _, c := range cmds {
		if _, err := u.run(ctx, c.Cmd(root, timeout)); err != nil {
			return err
		}
	}
	return nil
}

// sourceUp is source.up, or `<compose> up -d --build`.
func (u *Upgrade) sourceUp() proc.Cmd { return u.sourceUpWith(u.In) }

func (u *Upgrade) sourceUpWith(in *install.Install) proc.Cmd {
	if len(u.Cfg.Source.Up) > 0 {
		return proc.Cmd{Argv: u.Cfg.Source.Up, Dir: in.Dir, Timeout: u.Cfg.Timeouts.Build}
	}
	return in.UpBuild()
}

func sourceUpStep(ctx context.Context, u *Upgrade) error {
	u.Txn.Facts.UpAt = u.Now().UTC()
	if err := u.Persist(); err != nil {
		return err
	}
	_, err := u.run(ctx, u.sourceUp())
	return err
}

// prebuildDir is the git worktree source.build_early builds in.
func prebuildDir(u *Upgrade) string { return filepath.Join(u.Cfg.Daemon.StateDir, "prebuild") }

// sourcePrebuild, with source.build_early, installs and builds the new tag
// in a separate worktree before the downtime: a release that does not build
// fails here with Twenty still serving, and the package caches are warm for
// the build in the downtime. Without build_early it does nothing.
func sourcePrebuild(ctx context.Context, u *Upgrade) error {
	if !u.Cfg.Source.BuildEarly {
		return nil
	}
	if err := removePrebuild(ctx, u); err != nil {
		return err
	}
	wt := prebuildDir(u)
	if _, err := u.git(ctx, "worktree", "add", "--force", "--detach", wt, "refs/tags/"+u.Txn.Facts.NewRef); err != nil {
		return err
	}
	p, err := u.newSource(ctx)
	if err != nil {
		return err
	}
	for _, name := range []string{StepInstall, StepBuild} {
		if err := u.runSource(ctx, wt, p, name); err != nil {
			return fmt.Errorf("early build of %s (Twenty still serves the old version): %w", u.To, err)
		}
	}
	return nil
}

// removePrebuild removes the early-build worktree (nothing when absent).
func removePrebuild(ctx context.Context, u *Upgrade) error {
	if !u.Cfg.Source.BuildEarly {
		return nil
	}
	wt := prebuildDir(u)
	if _, err := os.Stat(wt); err != nil {
		_, _ = u.git(ctx, "worktree", "prune")
		return nil
	}
	_, err := u.git(ctx, "worktree", "remove", "--force", wt)
	return err
}
