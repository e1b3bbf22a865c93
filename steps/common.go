package steps

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/twenty-upgraded/twenty-upgraded/internal/outcome"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/envfile"
)

// Version gates (TWENTY.md "Gates").
var (
	gateEncryptionKey = version.MustParse("v2.5.0")  // needs ENCRYPTION_KEY in .env
	gatePostgres15    = version.MustParse("v2.34.0") // needs PostgreSQL >= 15
)

// checks shared by both modes' preflight: free space, gates, pre_upgrade hook.
func preflightCommon(ctx context.Context, u *Upgrade) error {
	if err := u.Backups.CheckSpace(ctx); err != nil {
		return fmt.Errorf("free space: %w", err)
	}
	if err := gates(ctx, u); err != nil {
		return err
	}
	if err := runHook(ctx, u, "pre_upgrade", u.Cfg.Hooks.PreUpgrade, "pending"); err != nil {
		return fmt.Errorf("%w (a failing pre_upgrade hook cancels the upgrade before any downtime)", err)
	}
	return nil
}

// gates refuses targets the install is not ready for; the error wraps
// outcome.ErrHeld: nothing is wrong with the release, a person must act.
func gates(ctx context.Context, u *Upgrade) error {
	if !u.To.Less(gateEncryptionKey) {
		key, ok, err := envfile.GetFile(u.Cfg.Install.EnvFile, "ENCRYPTION_KEY")
		if err != nil {
			return fmt.Errorf("read ENCRYPTION_KEY gate: %w", err)
		}
		if !ok || strings.TrimSpace(key) == "" {
			return fmt.Errorf("%w: %s needs ENCRYPTION_KEY set in %s before the upgrade (Twenty v2.5+); generate one (openssl rand -base64 32), add it and run again", outcome.ErrHeld, u.To, u.Cfg.Install.EnvFile)
		}
	}
	if !u.To.Less(gatePostgres15) {
		major, answer, err := postgresMajor(ctx, u)
		if err != nil {
			return fmt.Errorf("PostgreSQL version gate for %s: %w", u.To, err)
		}
		if major < 15 {
			return fmt.Errorf("%w: %s needs PostgreSQL 15 or newer, the %s service runs %q; upgrade PostgreSQL first", outcome.ErrHeld, u.To, u.Cfg.Install.DBService, answer)
		}
	}
	return nil
}

var pgVersionRe = regexp.MustCompile(`\(PostgreSQL\)\s+(\d+)`)

// postgresMajor asks the db service's postgres binary for its version.
func postgresMajor(ctx context.Context, u *Upgrade) (int, string, error) {
	res, err := u.run(ctx, u.Compose.Cmd(u.Cfg.Timeouts.Command, "exec", "-T", u.Cfg.Install.DBService, "postgres", "--version"))
	if err != nil {
		return 0, "", err
	}
	answer := strings.TrimSpace(string(res.Stdout))
	return parsePostgresMajor(answer)
}

func parsePostgresMajor(answer string) (int, string, error) {
	m := pgVersionRe.FindStringSubmatch(answer)
	if m == nil {
		return 0, answer, fmt.Errorf("cannot read a PostgreSQL version from %q", answer)
	}
	n, err := strconv.Atoi(m[1])
	return n, answer, err
}

// backupStep takes the set the rollback restores (writers are stopped).
func backupStep() Step {
	return step{name: StepBackup, run: func(ctx context.Context, u *Upgrade) error {
		images := map[string]string{}
		if id := u.Fact(FactServerImageID); id != "" {
			images[u.Cfg.Install.ServerService] = id
		}
		if id := u.Fact(FactWorkerImageID); id != "" {
			images[u.Cfg.Install.WorkerService] = id
		}
		start := u.Now()
		set, err := u.Backups.Create(ctx, BackupMeta{Version: u.From, Images: images, Commit: u.Fact(FactOldCommit),
			Reason: "before upgrade to " + u.To.String(), TxnID: u.Txn.ID})
		if err != nil {
			return err
		}
		u.SetFact(FactBackupID, set.ID)
		u.SetFact(FactBackupDir, set.Dir)
		u.observer().BackupDone(set.Size, u.Now().Sub(start), u.Now())
		return u.Persist()
	}, undo: func(ctx context.Context, u *Upgrade) error {
		// The database and files only need putting back when the new version
		// may have run; before that the server was stopped and nothing wrote.
		id := u.Fact(FactBackupID)
		if id == "" || !buildPlan(u.Txn.Mode).newVersionTouched(u) {
			return nil
		}
		if u.Cfg.Backup.Database != "url" {
			// The restore needs the db container: make sure it runs (a no-op
			// when it does; it may have died with the failed release).
			if _, err := u.run(ctx, u.Compose.Cmd(u.Cfg.Timeouts.Start, "up", "-d", u.Cfg.Install.DBService)); err != nil {
				return fmt.Errorf("start the %s service for the restore: %w", u.Cfg.Install.DBService, err)
			}
		}
		return u.Backups.Restore(ctx, id, RestoreOptions{StopWriters: true, Env: true, Files: true, Database: true})
	}}
}

// healthStep waits for the gate on the new version. The gate only observes.
func healthStep() Step {
	return step{name: StepHealth, run: func(ctx context.Context, u *Upgrade) error {
		if err := u.Gate.Wait(ctx, u.To, u.timeFact(factStartedAt)); err != nil {
			return err
		}
		u.markTime(FactHealthyAt)
		return nil
	}, undo: nothingToUndo} // observing changes nothing
}

// commitStep records success, prunes old sets (never the one just taken: it
// is the way back) and runs post_upgrade.
func commitStep() Step {
	return step{name: StepCommit, run: func(ctx context.Context, u *Upgrade) error {
		if u.Backups != nil {
			protect := []string{}
			if id := u.Fact(FactBackupID); id != "" {
				protect = append(protect, id)
			}
			if removed, err := u.Backups.Prune(protect...); err != nil {
				u.Log.Warn("prune backups", "err", err)
			} else if len(removed) > 0 {
				u.Log.Info("pruned backups", "removed", strings.Join(removed, ","))
			}
		}
		if u.Started(StepPrebuild) {
			if err := removePrebuild(ctx, u); err != nil {
				u.Log.Warn("remove the early-build worktree", "err", err)
			}
		}
		if err := runHook(ctx, u, "post_upgrade", u.Cfg.Hooks.PostUpgrade, state.ResultSuccess); err != nil {
			u.Log.Warn("post_upgrade hook failed (the upgrade stays committed)", "err", err)
		}
		return nil
	}, undo: nothingToUndo} // the last step: it never fails in a way that needs undoing
}

// gateOld starts nothing: it waits for the old version after a rollback's up.
func gateOld(ctx context.Context, u *Upgrade) error {
	if err := u.Gate.Wait(ctx, u.From, u.timeFact(factStartedAt)); err != nil {
		return fmt.Errorf("the old version %s did not come back healthy: %w", u.From, err)
	}
	u.markTime(FactHealthyAt)
	return nil
}

const factStartedAt = "started_at" // when the last up ran (log window of the gate)

func (u *Upgrade) observer() Observer {
	if u.obs == nil {
		return nopObserver{}
	}
	return u.obs
}
