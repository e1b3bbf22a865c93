package steps

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/outcome"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// entry builds the history line for the transaction as it stands.
func (e *Engine) entry(u *Upgrade, result string, cause error) state.Entry {
	t := u.Txn
	now := e.now().UTC()
	en := state.Entry{ID: t.ID, Mode: t.Mode, From: t.From, To: t.To, Result: result, StartedAt: t.StartedAt,
		FinishedAt: now, Seconds: now.Sub(t.StartedAt).Seconds(), Backup: u.Txn.Facts.BackupID,
		Steps: t.Timings, Resumes: t.Resumes, Trigger: u.Txn.Facts.Trigger, Recovery: t.Recovery, Interrupted: t.Interrupted,
		Facts: t.Facts, Failure: t.Failure}
	if cause != nil {
		en.Error = cause.Error()
	}
	if stopped := u.Txn.Facts.StoppedAt; !stopped.IsZero() {
		end := u.Txn.Facts.HealthyAt
		if end.IsZero() || end.Before(stopped) {
			end = now
		}
		en.Downtime = end.Sub(stopped).Seconds()
	}
	return en
}

// finish records a concluded transaction: history first, then state.json is
// removed, then hooks and the observer.
func (e *Engine) finish(r *txnRunner, result string, cause error) (state.Entry, error) {
	u := r.u
	en := e.entry(u, result, cause)
	if err := e.record(en); err != nil {
		return en, fmt.Errorf("record the result in history (state.json kept): %w", err)
	}
	if err := e.store.Clear(); err != nil {
		return en, fmt.Errorf("clear state.json after recording the result: %w", err)
	}
	ctx := context.Background()
	switch result {
	case state.ResultRolledBack:
		u.Log.Warn("upgrade rolled back", "err", cause, "downtime_seconds", en.Downtime)
		e.hook(ctx, u, "on_rollback", u.Cfg.Hooks.OnRollback, result)
	case state.ResultFailed:
		u.Log.Error("upgrade failed before any change", "err", cause)
		e.hook(ctx, u, "on_failure", u.Cfg.Hooks.OnFailure, result)
	default:
		u.Log.Info("upgrade committed", "downtime_seconds", en.Downtime, "duration_seconds", en.Seconds)
	}
	e.obs.Finished(en)
	switch result {
	case state.ResultSuccess:
		return en, nil
	case state.ResultRolledBack:
		if u.Txn.Facts.Manual != "" {
			return en, nil
		}
		return en, fmt.Errorf("%w: %s → %s, %s runs again: %w", outcome.ErrRolledBack, u.From, u.To, u.From, cause)
	}
	return en, cause
}

// rollbackFailed stops everything where it is: state.json stays with phase
// rollback_failed (never resumed automatically), and the manual recovery
// commands go to the log, state.json and history.
func (e *Engine) rollbackFailed(r *txnRunner, cause, rbErr error) (state.Entry, error) {
	u := r.u
	t := u.Txn
	t.Phase = state.PhaseFailed
	t.Error = fmt.Sprintf("%v; then %v", cause, rbErr)
	t.Recovery = recovery(u, rbErr)
	if err := r.save(); err != nil {
		u.Log.Error("persist rollback_failed", "err", err)
	}
	u.Log.Error("rollback failed: a person must recover by hand", "err", rbErr, "recovery", t.Recovery)
	en := e.entry(u, state.ResultFailed, fmt.Errorf("%v; rollback failed: %w", cause, rbErr))
	if err := e.record(en); err != nil {
		u.Log.Error("record rollback_failed in history", "err", err)
	}
	e.hook(context.Background(), u, "on_failure", u.Cfg.Hooks.OnFailure, state.PhaseFailed)
	e.obs.Finished(en)
	return en, fmt.Errorf("rollback failed (%v) after: %v\n%s", rbErr, cause, t.Recovery)
}

// recovery writes the exact commands a person runs to put the old version back.
func recovery(u *Upgrade, rbErr error) string {
	var b strings.Builder
	q := proc.Quote
	fmt.Fprintf(&b, "MANUAL RECOVERY for transaction %s (%s → %s): the rollback stopped at step %s: %v\n",
		u.Txn.ID, u.From, u.To, u.Txn.Step, rbErr)
	b.WriteString("Fix the cause, then run `twenty-upgraded rollback` (it resumes the rollback; every action is safe to repeat).\nOr by hand:\n")
	in := u.In
	if in == nil {
		in = install.Offline(u.Cfg, nil)
	}
	fmt.Fprintf(&b, "  %s\n", q(in.StopWriters().Argv))
	if u.Txn.Mode == string(install.ModeSource) {
		if old := u.Txn.Facts.OldCommit; old != "" {
			fmt.Fprintf(&b, "  %s\n", q(in.Git("checkout", "--force", old).Argv))
		}
		if p, err := u.oldSource(context.Background()); err == nil {
			for _, step := range []string{StepClean, StepInstall, StepBuild} {
				for _, s := range p.Describe(step) {
					fmt.Fprintf(&b, "  (cd %s && %s)\n", q([]string{in.Dir}), s)
				}
			}
		} else {
			fmt.Fprintf(&b, "  # then clean, install and build the old commit (%v)\n", err)
		}
	}
	if id := u.Txn.Facts.BackupID; id != "" {
		fmt.Fprintf(&b, "  twenty-upgraded restore %s   # database, files and .env from %s\n", id, u.Txn.Facts.BackupDir)
	} else {
		b.WriteString("  # no backup was taken in this transaction: the database was not changed by it\n")
	}
	if u.Txn.Mode != string(install.ModeSource) {
		tag := u.Txn.Facts.OldTag
		if tag == "" {
			tag = u.From.String()
		}
		fmt.Fprintf(&b, "  # make sure %s says TAG=%s\n", in.EnvFile, tag)
		f := u.Txn.Facts
		for _, p := range [][2]string{{f.ServerImageID, f.ServerImage}, {f.WorkerImageID, f.WorkerImage}} {
			if id, ref := p[0], p[1]; id != "" && ref != "" {
				fmt.Fprintf(&b, "  %s\n", q(in.TagImage(id, ref).Argv))
			}
		}
		fmt.Fprintf(&b, "  %s   # the old image's cache flush\n", q(in.FlushCache().Argv))
		fmt.Fprintf(&b, "  %s\n", q(in.Up().Argv))
	} else {
		fmt.Fprintf(&b, "  %s\n", q(u.sourceUpWith(in).Argv))
	}
	fmt.Fprintf(&b, "  # check %s/healthz, then run `twenty-upgraded rollback` so the transaction is closed\n", strings.TrimRight(u.Cfg.Health.URL, "/"))
	return b.String()
}

// hook runs a configured hook; a failing hook is logged (only pre_upgrade,
// run by preflight, can stop anything).
func (e *Engine) hook(ctx context.Context, u *Upgrade, name string, argv []string, result string) {
	if err := runHook(ctx, u, name, argv, result); err != nil {
		u.Log.Error("hook failed", "hook", name, "err", err)
	}
}

func runHook(ctx context.Context, u *Upgrade, name string, argv []string, result string) error {
	if len(argv) == 0 {
		return nil
	}
	c := proc.Cmd{Argv: argv, Dir: u.Cfg.Install.Dir, Timeout: u.Cfg.Timeouts.Hook, Env: []string{
		"TWENTY_UPGRADED_FROM=" + u.From.String(),
		"TWENTY_UPGRADED_TO=" + u.To.String(),
		"TWENTY_UPGRADED_RESULT=" + result,
		"TWENTY_UPGRADED_BACKUP=" + u.Txn.Facts.BackupDir,
		"TWENTY_UPGRADED_HOOK=" + name,
	}}
	start := time.Now()
	_, err := u.run(ctx, c)
	u.Log.Info("hook", "hook", name, "duration_seconds", time.Since(start).Seconds(), "err", err)
	if err != nil {
		return fmt.Errorf("hook %s: %w", name, err)
	}
	return nil
}
