package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/steps/envfile"
	"github.com/twenty-upgraded/twenty-upgraded/steps/health"
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
		step{name: StepStop, run: composeStop, undo: composeStartOld},
		backupStep(),
		step{name: StepSwitch, run: composeSwitch, undo: composeUnswitch},
		step{name: StepStart, run: composeStart, undo: composeStopServer},
		healthStep(),
		commitStep(),
	}}
}

func composePreflight(ctx context.Context, u *Upgrade) error {
	tag, ok, err := envfile.GetFile(u.Cfg.Install.EnvFile, "TAG")
	if err != nil {
		return err
	}
	if ok {
		u.SetFact(FactOldTag, tag)
	}
	in := u.Cfg.Install
	for _, s := range []struct{ service, idKey, refKey string }{
		{in.ServerService, FactServerImageID, FactServerImage},
		{in.WorkerService, FactWorkerImageID, FactWorkerImage},
	} {
		id, ref, err := containerImage(ctx, u, s.service)
		if err != nil {
			if s.service == in.WorkerService {
				u.Log.Warn("worker image not recorded; the rollback pins the server image only", "err", err)
				continue
			}
			return err
		}
		u.SetFact(s.idKey, id)
		u.SetFact(s.refKey, ref)
	}
	return preflightCommon(ctx, u)
}

// containerImage returns the image ID and reference of service's running container.
func containerImage(ctx context.Context, u *Upgrade, service string) (id, ref string, err error) {
	cid, err := u.Compose.ContainerID(ctx, u.Runner, service)
	if err != nil {
		return "", "", err
	}
	if cid == "" {
		return "", "", fmt.Errorf("no running %s container: start Twenty (%s) before upgrading, so the image it runs can be recorded for a rollback", service, proc.Quote(u.Compose.Args("up", "-d")))
	}
	res, err := u.run(ctx, proc.Cmd{Argv: []string{"docker", "inspect", "--format", "{{.Image}} {{.Config.Image}}", cid}})
	if err != nil {
		return "", "", fmt.Errorf("inspect the %s container: %w", service, err)
	}
	f := strings.Fields(string(res.Stdout))
	if len(f) != 2 {
		return "", "", fmt.Errorf("inspect the %s container: unexpected answer %q", service, res.Stdout)
	}
	return f[0], f[1], nil
}

func composePull(ctx context.Context, u *Upgrade) error {
	c := u.Compose.Cmd(u.Cfg.Timeouts.Pull, "pull", u.Cfg.Install.ServerService, u.Cfg.Install.WorkerService)
	c.Env = []string{"TAG=" + u.To.String()}
	if _, err := u.run(ctx, c); err != nil {
		return fmt.Errorf("pull %s (is the tag in the registry?): %w", u.To, err)
	}
	return nil
}

func (u *Upgrade) stopServer(ctx context.Context) error {
	_, err := u.run(ctx, u.Compose.Cmd(u.Cfg.Timeouts.Stop, "stop", u.Cfg.Install.ServerService, u.Cfg.Install.WorkerService))
	return err
}

func composeStop(ctx context.Context, u *Upgrade) error {
	u.markTime(FactStoppedAt)
	if err := u.Persist(); err != nil {
		return err
	}
	return u.stopServer(ctx)
}

// composeStartOld undoes stop: the old version (whose .env, image and data
// the later rollbacks put back) starts again and must pass the gate.
func composeStartOld(ctx context.Context, u *Upgrade) error {
	u.markTime(factStartedAt)
	if err := u.upServerFirst(ctx); err != nil {
		return err
	}
	return gateOld(ctx, u)
}

func composeSwitch(ctx context.Context, u *Upgrade) error {
	if u.DryRun {
		fmt.Fprintf(u.Out, "  write TAG=%s into %s (atomically, every other line kept)\n", u.To, u.Cfg.Install.EnvFile)
		return nil
	}
	return envfile.SetFile(u.Cfg.Install.EnvFile, "TAG", u.To.String())
}

// composeUnswitch puts the old TAG back and pins the exact old images: the
// old tag may have been moved in the registry since, so the recorded image
// IDs are tagged again locally and compose resolves the tag to them.
func composeUnswitch(ctx context.Context, u *Upgrade) error {
	tag := u.Fact(FactOldTag)
	if tag == "" {
		tag = u.From.String()
	}
	if err := envfile.SetFile(u.Cfg.Install.EnvFile, "TAG", tag); err != nil {
		return err
	}
	for _, p := range [][2]string{{FactServerImageID, FactServerImage}, {FactWorkerImageID, FactWorkerImage}} {
		id, ref := u.Fact(p[0]), u.Fact(p[1])
		if id == "" || ref == "" {
			continue
		}
		if _, err := u.run(ctx, proc.Cmd{Argv: []string{"docker", "tag", id, ref}}); err != nil {
			return fmt.Errorf("pin the old image %s as %s: %w", id, ref, err)
		}
	}
	return nil
}

func composeStart(ctx context.Context, u *Upgrade) error {
	u.markTime(factStartedAt)
	if err := u.Persist(); err != nil {
		return err
	}
	return u.upServerFirst(ctx)
}

// upServerFirst starts the server alone, waits (only watching) until its
// container is healthy, then starts the rest. A plain `up -d` would fail
// while the server still migrates: the worker waits for a healthy server, and
// compose gives up after the health check's retries, long before a slow
// migration ends. Never restart the server while it migrates.
func (u *Upgrade) upServerFirst(ctx context.Context) error {
	since := u.Now()
	if _, err := u.run(ctx, u.Compose.Cmd(u.Cfg.Timeouts.Start, "up", "-d", "--no-deps", u.Cfg.Install.ServerService)); err != nil {
		return err
	}
	if g, ok := u.Gate.(*health.Gate); ok {
		w := *g
		w.Cfg.Checks, w.Cfg.StableFor = []string{config.CheckContainer, config.CheckLog}, 0
		if err := w.Wait(ctx, u.To, since); err != nil {
			return fmt.Errorf("the %s container did not become healthy: %w", u.Cfg.Install.ServerService, err)
		}
	}
	_, err := u.run(ctx, u.Compose.Cmd(u.Cfg.Timeouts.Start, "up", "-d"))
	return err
}

// composeStopServer undoes start. Stopping while the new version migrates is
// safe here: the database is restored from the backup next.
func composeStopServer(ctx context.Context, u *Upgrade) error { return u.stopServer(ctx) }
