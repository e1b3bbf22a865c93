package steps

import (
	"context"
	"fmt"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/envfile"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// composePlan: preflight → pull → stop → backup → switch → start → health → commit.
//
// That the target tag exists in the registry NOW is proved by the pull step,
// which runs before any downtime: `docker manifest inspect` is not in every
// Docker and needs extra flags for insecure local registries, so it would
// only add a second, less reliable check of the same fact.
func composePlan() plan {
	return plan{change: StepSwitch, steps: []Step{
		step{name: StepPreflight, run: composePreflight, undo: nothingToUndo}, // reads only (the hook is the admin's)
		step{name: StepPull, run: composePull, undo: nothingToUndo},           // a pulled image harms nothing; it may stay
		step{name: StepStop, run: stopWriters, undo: composeStartOld},
		backupStep(),
		step{name: StepSwitch, run: composeSwitch, undo: composeUnswitch},
		step{name: StepStart, run: composeStart, undo: stopWritersUndo},
		healthStep(),
		commitStep(),
	}}
}

func composePreflight(ctx context.Context, u *Upgrade) error {
	if err := composeGates(u); err != nil {
		return err
	}
	cur, err := u.In.Current(ctx)
	if err != nil {
		return err
	}
	if cur.Tag != "" {
		u.Txn.Facts.OldTag = cur.Tag
	}
	f := &u.Txn.Facts
	for _, s := range []struct {
		service string
		id, ref *string
	}{
		{u.In.Server, &f.ServerImageID, &f.ServerImage},
		{u.In.Worker, &f.WorkerImageID, &f.WorkerImage},
	} {
		c, ok, err := u.In.Container(ctx, s.service)
		if err == nil && !ok {
			err = fmt.Errorf("no running %s container: start Twenty (%s) before upgrading, so the image it runs can be recorded for a rollback", s.service, proc.Quote(u.In.ComposeArgs("up", "-d")))
		}
		if err != nil {
			if s.service == u.In.Worker {
				u.Log.Warn("worker image not recorded; the rollback pins the server image only", "err", err)
				continue
			}
			return err
		}
		*s.id, *s.ref = c.ImageID, c.ImageRef
	}
	return preflightCommon(ctx, u)
}

func composePull(ctx context.Context, u *Upgrade) error {
	if _, err := u.run(ctx, u.In.Pull(u.To)); err != nil {
		return fmt.Errorf("pull %s (is the tag in the registry?): %w", u.To, err)
	}
	return nil
}

// stopWriters stops the server and the worker (db and redis stay up): the
// downtime begins, and the time is persisted before the act.
func stopWriters(ctx context.Context, u *Upgrade) error {
	u.Txn.Facts.StoppedAt = u.Now().UTC()
	if err := u.Persist(); err != nil {
		return err
	}
	_, err := u.run(ctx, u.In.StopWriters())
	return err
}

// stopWritersUndo undoes a start (compose start, source up): the writers stop
// again. Stopping while the new version migrates is safe here: the database
// is restored from the backup next.
func stopWritersUndo(ctx context.Context, u *Upgrade) error {
	_, err := u.run(ctx, u.In.StopWriters())
	return err
}

// composeStartOld undoes stop: the old version (whose .env, image and data
// the later rollbacks put back) starts again and must pass the gate. When
// the new version may have run, the cache is flushed first with the old
// image, so nothing the new version left in Redis is served by the old one.
func composeStartOld(ctx context.Context, u *Upgrade) error {
	if u.newVersionTouched() {
		if _, err := u.run(ctx, u.In.FlushCache()); err != nil {
			u.Log.Warn("cache flush with the old image failed; the old version's own start flushes it too, and the gate judges it", "err", err)
		}
	}
	u.Txn.Facts.UpAt = u.Now().UTC()
	if err := u.upServerFirst(ctx, u.From); err != nil {
		return err
	}
	return gateOld(ctx, u)
}

func composeSwitch(ctx context.Context, u *Upgrade) error {
	if u.DryRun {
		fmt.Fprintf(u.Out, "  write TAG=%s into %s (atomically, every other line kept)\n", u.To, u.In.EnvFile)
		return nil
	}
	return envfile.SetFile(u.In.EnvFile, "TAG", u.To.String())
}

// composeUnswitch puts the old TAG back (as it was written: an alias stays
// an alias) and pins the exact old images: the old tag may have been moved
// in the registry since, so the recorded image IDs are tagged again locally
// and compose resolves the tag to them.
func composeUnswitch(ctx context.Context, u *Upgrade) error {
	tag := u.Txn.Facts.OldTag
	if tag == "" {
		tag = u.From.String()
	}
	if err := envfile.SetFile(u.In.EnvFile, "TAG", tag); err != nil {
		return err
	}
	f := u.Txn.Facts
	for _, p := range [][2]string{{f.ServerImageID, f.ServerImage}, {f.WorkerImageID, f.WorkerImage}} {
		id, ref := p[0], p[1]
		if id == "" || ref == "" {
			continue
		}
		if _, err := u.run(ctx, u.In.TagImage(id, ref)); err != nil {
			return fmt.Errorf("pin the old image %s as %s: %w", id, ref, err)
		}
	}
	return nil
}

func composeStart(ctx context.Context, u *Upgrade) error {
	u.Txn.Facts.UpAt = u.Now().UTC()
	if err := u.Persist(); err != nil {
		return err
	}
	return u.upServerFirst(ctx, u.To)
}

// upServerFirst starts the server alone, waits (only watching) until its
// container is healthy, then starts the rest. A plain `up -d` would fail
// while the server still migrates: the worker waits for a healthy server, and
// compose gives up after the health check's retries, long before a slow
// migration ends. Never restart the server while it migrates.
func (u *Upgrade) upServerFirst(ctx context.Context, want version.V) error {
	since := u.Now()
	if _, err := u.run(ctx, u.In.UpServer()); err != nil {
		return err
	}
	if err := u.Gate.WaitStarted(ctx, want, since); err != nil {
		return fmt.Errorf("the %s container did not become healthy: %w", u.In.Server, err)
	}
	_, err := u.run(ctx, u.In.Up())
	return err
}
