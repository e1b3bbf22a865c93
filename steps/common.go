package steps

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/twenty-upgraded/twenty-upgraded/internal/outcome"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/twenty"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// pg15From is the release from which Twenty's upgrade guide says it needs
// PostgreSQL 15 ("Upgrading to v2.34+", docs/twenty.md).
var pg15From = version.MustParse("v2.34.0")

// checks shared by both modes' preflight: the install's database can be
// backed up, free space, warnings, the pre_upgrade hook.
func preflightCommon(ctx context.Context, u *Upgrade) error {
	if err := databaseBackedUp(u); err != nil {
		return err
	}
	if err := u.Backups.CheckSpace(ctx); err != nil {
		return fmt.Errorf("free space: %w", err)
	}
	if err := postgresGate(ctx, u); err != nil {
		return err
	}
	if u.In.Spec.S3() {
		u.Log.Warn("uploaded files are in S3 (STORAGE_TYPE=s3): not in this backup; back up the bucket yourself")
	}
	if err := runHook(ctx, u, "pre_upgrade", u.Cfg.Hooks.PreUpgrade, "pending"); err != nil {
		return fmt.Errorf("%w (a failing pre_upgrade hook cancels the upgrade before any downtime)", err)
	}
	return nil
}

// composeGates refuses compose targets the image cannot upgrade to by itself.
func composeGates(u *Upgrade) error {
	if why := twenty.Lacks(u.To, twenty.ImageMigrates); why != "" {
		return fmt.Errorf("%w: %s cannot be installed in compose mode: %s, and compose mode relies on it; upgrade to %s or newer, or by hand", outcome.ErrHeld, u.To, why, twenty.Since(twenty.ImageMigrates))
	}
	return nil
}

// databaseBackedUp refuses, before any downtime, an install whose database
// the backup would miss: Twenty's compose file builds the database URL from
// PG_DATABASE_HOST, and with another host dumping the db service backs up
// nothing that matters, so a "rollback" would leave the migrated database.
func databaseBackedUp(u *Upgrade) error {
	db := u.In.Spec.Database
	if !db.External || u.Cfg.Backup.Database == "url" {
		return nil
	}
	return fmt.Errorf("%w: Twenty's database is on %s (%s), not in the %s service that backup.database = \"compose\" dumps; set in [backup] database = \"url\" and database_url = \"%s\" (the password in a PGPASSFILE, 0600), then run again", outcome.ErrHeld, db.Host, db.From, u.In.DBSvc, db.URL())
}

// postgresGate holds a v2.34+ target on a PostgreSQL older than 15, as
// Twenty's upgrade guide requires. With backup.database = "url" the server
// is not ours to ask from a container: the admin is warned instead.
func postgresGate(ctx context.Context, u *Upgrade) error {
	if u.To.Less(pg15From) {
		return nil
	}
	if u.Cfg.Backup.Database == "url" {
		u.Log.Warn("Twenty v2.34+ needs PostgreSQL 15 or newer (its upgrade guide); check the external server before the upgrade", "to", u.To.String())
		return nil
	}
	major, answer, err := postgresMajor(ctx, u)
	if err != nil {
		return fmt.Errorf("PostgreSQL version gate for %s: %w", u.To, err)
	}
	if major < 15 {
		return fmt.Errorf("%w: %s needs PostgreSQL 15 or newer (Twenty's upgrade guide, \"Upgrading to v2.34+\"), the %s service runs %q; upgrade PostgreSQL first", outcome.ErrHeld, u.To, u.In.DBSvc, answer)
	}
	return nil
}

var pgVersionRe = regexp.MustCompile(`\(PostgreSQL\)\s+(\d+)`)

// postgresMajor asks the db service's postgres binary for its version.
func postgresMajor(ctx context.Context, u *Upgrade) (int, string, error) {
	res, err := u.run(ctx, u.In.ExecDB(0, nil, "postgres", "--version"))
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
		if id := u.Txn.Facts.ServerImageID; id != "" {
			images[u.In.Server] = id
		}
		if id := u.Txn.Facts.WorkerImageID; id != "" {
			images[u.In.Worker] = id
		}
		start := u.Now()
		set, err := u.Backups.Create(ctx, BackupMeta{Version: u.From, Images: images, Commit: u.Txn.Facts.OldCommit,
			Reason: "before upgrade to " + u.To.String(), TxnID: u.Txn.ID, Install: u.In})
		if err != nil {
			return err
		}
		u.Txn.Facts.BackupID = set.ID
		u.Txn.Facts.BackupDir = set.Dir
		u.observer().BackupDone(set.Size, u.Now().Sub(start), u.Now())
		return u.Persist()
	}, undo: func(ctx context.Context, u *Upgrade) error {
		// The database and files only need putting back when the new version
		// may have run; before that the server was stopped and nothing wrote.
		id := u.Txn.Facts.BackupID
		if id == "" || !u.newVersionTouched() {
			return nil
		}
		if u.Cfg.Backup.Database != "url" {
			// The restore needs the db container: make sure it runs (a no-op
			// when it does; it may have died with the failed release).
			if _, err := u.run(ctx, u.In.UpDB()); err != nil {
				return fmt.Errorf("start the %s service for the restore: %w", u.In.DBSvc, err)
			}
		}
		return u.Backups.Restore(ctx, id, RestoreOptions{StopWriters: true, Env: true, Files: true, Database: true, Install: u.In})
	}}
}

// healthStep waits for the gate on the new version. The gate only observes.
func healthStep() Step {
	return step{name: StepHealth, run: func(ctx context.Context, u *Upgrade) error {
		if err := u.Gate.Wait(ctx, u.To, u.Txn.Facts.UpAt); err != nil {
			return err
		}
		u.Txn.Facts.HealthyAt = u.Now().UTC()
		return nil
	}, undo: nothingToUndo} // observing changes nothing
}

// commitStep records success, prunes old sets (never the one just taken: it
// is the way back) and runs post_upgrade.
func commitStep() Step {
	return step{name: StepCommit, run: func(ctx context.Context, u *Upgrade) error {
		if u.Backups != nil {
			protect := []string{}
			if id := u.Txn.Facts.BackupID; id != "" {
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
	if err := u.Gate.Wait(ctx, u.From, u.Txn.Facts.UpAt); err != nil {
		return fmt.Errorf("the old version %s did not come back healthy: %w", u.From, err)
	}
	u.Txn.Facts.HealthyAt = u.Now().UTC()
	return nil
}

func (u *Upgrade) observer() state.Observer {
	if u.obs == nil {
		return nopObserver{}
	}
	return u.obs
}

// newVersionTouched reports whether a step after the switch started: the
// new version may have run (migrated the database, built), so its data must
// be restored and, when it failed, the version is bad.
func (u *Upgrade) newVersionTouched() bool {
	if u.plan.steps == nil { // an Upgrade built by hand (tests, dry run)
		u.plan = buildPlan(u.Txn.Mode)
	}
	return u.plan.newVersionTouched(u)
}
