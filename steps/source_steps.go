package steps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// sourcePlan is the seed guide's sequence with the transaction around it:
// preflight → fetch → prebuild → stop → backup → checkout → clean → install → build →
// migrate → flush_cache → up → health → commit.
//
// stop stops the writers (server and worker) rather than the guide's
// `down`: the database must stay up for the backup, for migrate (run on the
// host) and for a restore.
func sourcePlan() plan {
	return plan{change: StepCheckout, steps: []Step{
		step{name: StepPreflight, run: sourcePreflight, undo: nothingToUndo}, // reads only
		step{name: StepFetch, run: sourceFetch, undo: nothingToUndo},         // fetched objects change no checkout
		step{name: StepPrebuild, run: sourcePrebuild, undo: removePrebuild},
		step{name: StepStop, run: sourceStop, undo: sourceStartOld},
		backupStep(),
		step{name: StepCheckout, run: sourceCheckout, undo: sourceRebuildOld},
		// clean, install and build change only the build output, which the
		// checkout's rollback rebuilds for the old commit.
		step{name: StepClean, run: sourceCmd(StepClean), undo: nothingToUndo},
		step{name: StepInstall, run: sourceCmd(StepInstall), undo: nothingToUndo},
		step{name: StepBuild, run: sourceCmd(StepBuild), undo: nothingToUndo},
		// migrate changes the database, which the backup's rollback restores.
		step{name: StepMigrate, run: sourceCmd(StepMigrate), undo: nothingToUndo},
		// a flushed cache is rebuilt by whichever version runs.
		step{name: StepFlushCache, run: sourceCmd(StepFlushCache), undo: nothingToUndo},
		step{name: StepUp, run: sourceUpStep, undo: sourceDownUndo},
		healthStep(),
		commitStep(),
	}}
}

func (u *Upgrade) git(ctx context.Context, args ...string) (string, error) {
	res, err := u.run(ctx, proc.Cmd{Argv: append([]string{"git", "-C", u.Cfg.Install.Dir}, args...)})
	return strings.TrimSpace(string(res.Stdout)), err
}

func sourcePreflight(ctx context.Context, u *Upgrade) error {
	dirty, err := u.git(ctx, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return err
	}
	if dirty != "" {
		return fmt.Errorf("the checkout %s has local changes (git status: %s): commit or stash them, the upgrade checks out another tag", u.Cfg.Install.Dir, oneLine(dirty, 200))
	}
	head, err := u.git(ctx, "rev-parse", "HEAD")
	if err != nil {
		return err
	}
	u.SetFact(FactOldCommit, head)
	return preflightCommon(ctx, u)
}

// sourceFetch fetches (before the downtime) and resolves the tag to check
// out: twenty/vX.Y.Z (GitHub's naming since about v2.9) or vX.Y.Z.
func sourceFetch(ctx context.Context, u *Upgrade) error {
	if _, err := u.run(ctx, proc.Cmd{Argv: u.Cfg.Source.Fetch, Dir: u.Cfg.Install.Dir, Timeout: u.Cfg.Timeouts.Pull}); err != nil {
		return err
	}
	for _, ref := range []string{"twenty/" + u.To.String(), u.To.String()} {
		if _, err := u.git(ctx, "rev-parse", "--verify", "--quiet", "refs/tags/"+ref+"^{commit}"); err == nil {
			u.SetFact(FactNewRef, ref)
			return nil
		}
	}
	return fmt.Errorf("neither tag twenty/%s nor %s exists in %s after fetching", u.To, u.To, u.Cfg.Install.Dir)
}

func sourceStop(ctx context.Context, u *Upgrade) error {
	u.markTime(FactStoppedAt)
	if err := u.Persist(); err != nil {
		return err
	}
	return u.stopServer(ctx)
}

// sourceStartOld undoes down: the old commit (rebuilt by the checkout's
// rollback, its data restored by the backup's) starts and must pass the gate.
func sourceStartOld(ctx context.Context, u *Upgrade) error {
	if buildPlan(u.Txn.Mode).newVersionTouched(u) && len(u.Cfg.Source.FlushCache) > 0 {
		if _, err := u.run(ctx, proc.Cmd{Argv: u.Cfg.Source.FlushCache, Dir: u.Cfg.Install.Dir}); err != nil {
			u.Log.Warn("flush cache before starting the old version", "err", err)
		}
	}
	u.markTime(factStartedAt)
	if _, err := u.run(ctx, proc.Cmd{Argv: sourceUp(u), Dir: u.Cfg.Install.Dir, Timeout: u.Cfg.Timeouts.Build}); err != nil {
		return err
	}
	return gateOld(ctx, u)
}

func sourceCheckout(ctx context.Context, u *Upgrade) error {
	ref := u.Fact(FactNewRef)
	if ref == "" {
		ref = u.To.String()
	}
	_, err := u.git(ctx, "-c", "advice.detachedHead=false", "checkout", "refs/tags/"+ref)
	return err
}

// sourceRebuildOld checks the old commit out again and rebuilds it.
func sourceRebuildOld(ctx context.Context, u *Upgrade) error {
	old := u.Fact(FactOldCommit)
	if old == "" {
		return fmt.Errorf("the old commit was not recorded; check out the previous tag in %s by hand", u.Cfg.Install.Dir)
	}
	if _, err := u.git(ctx, "-c", "advice.detachedHead=false", "checkout", "--force", old); err != nil {
		return err
	}
	if !u.Started(StepClean) {
		return nil // nothing was rebuilt yet: the old build output is intact
	}
	for _, name := range []string{StepClean, StepInstall, StepBuild} {
		if err := sourceCmd(name)(ctx, u); err != nil {
			return fmt.Errorf("rebuild the old commit: %w", err)
		}
	}
	return nil
}

// sourceCmd runs one [source] argv list in the checkout.
func sourceCmd(name string) func(context.Context, *Upgrade) error {
	return func(ctx context.Context, u *Upgrade) error {
		s := u.Cfg.Source
		argv, timeout := map[string][]string{StepClean: s.Clean, StepInstall: s.Install, StepBuild: s.Build,
			StepMigrate: s.Migrate, StepFlushCache: s.FlushCache}[name], u.Cfg.Timeouts.Build
		if name == StepClean || name == StepFlushCache {
			timeout = u.Cfg.Timeouts.Command
		}
		if len(argv) == 0 {
			u.Log.Info("step skipped: source."+name+" is empty", "step", name)
			return nil
		}
		_, err := u.run(ctx, proc.Cmd{Argv: argv, Dir: u.Cfg.Install.Dir, Timeout: timeout})
		return err
	}
}

// sourceUp is source.up, or `<compose> up -d --build`.
func sourceUp(u *Upgrade) []string {
	if len(u.Cfg.Source.Up) > 0 {
		return u.Cfg.Source.Up
	}
	return u.Compose.Args("up", "-d", "--build")
}

func sourceUpStep(ctx context.Context, u *Upgrade) error {
	u.markTime(factStartedAt)
	if err := u.Persist(); err != nil {
		return err
	}
	_, err := u.run(ctx, proc.Cmd{Argv: sourceUp(u), Dir: u.Cfg.Install.Dir, Timeout: u.Cfg.Timeouts.Build})
	return err
}

// sourceDownUndo undoes up: the writers stop again (the database restore
// and the old build follow).
func sourceDownUndo(ctx context.Context, u *Upgrade) error { return u.stopServer(ctx) }

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
	if _, err := u.git(ctx, "worktree", "add", "--force", "--detach", wt, "refs/tags/"+u.Fact(FactNewRef)); err != nil {
		return err
	}
	for _, argv := range [][]string{u.Cfg.Source.Install, u.Cfg.Source.Build} {
		if len(argv) == 0 {
			continue
		}
		if _, err := u.run(ctx, proc.Cmd{Argv: argv, Dir: wt, Timeout: u.Cfg.Timeouts.Build}); err != nil {
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
