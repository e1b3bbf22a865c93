package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox"
	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox/scenarios"
	"github.com/twenty-upgraded/twenty-upgraded/daemon"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
)

// sequential: three releases appear; below the floor the daemon visits the
// newest patch of each minor, one transaction (and backup) each.
func (d *demo) sequential(ctx context.Context) error {
	d.head("3. Four releases appear: the sequential path below the v1.22 floor")
	tags := []string{"v1.21.0", "v1.21.2", "v1.22.4", "v1.23.0"}
	if err := d.stack.Registry.Publish(ctx, tags...); err != nil {
		return err
	}
	d.say("Pushed %s to the registry. What the daemon will do (`twenty-upgraded plan`):", strings.Join(tags, ", "))
	out, _ := scenarios.CLI(ctx, d.bin, d.setup.Config, "plan")
	d.indent(out, 12)
	d.say("kill -USR1 %d   (check now; the window is open, so it starts at once)", d.daemon.Pid())
	p := d.stack.StartProber("/healthz")
	follow := d.follow()
	if err := d.daemon.Signal(syscall.SIGUSR1); err != nil {
		return err
	}
	_, err := d.wait(ctx, 6*time.Minute, func(st daemon.Status) bool {
		return st.Installed.String() == "v1.23.0" && st.State == daemon.StateIdle && st.LastResult != nil && st.LastResult.To.String() == "v1.23.0"
	})
	follow()
	rep := p.Stop()
	if err != nil {
		return err
	}
	hist, err := d.history()
	if err != nil {
		return err
	}
	d.transactions(hist, rep)
	d.say("Prober on /healthz every 100 ms over all %d: %s", len(hist), rep)
	d.say("(engine: from `stop` until the gate passed, 3 s of stable checks included; prober: /healthz seen from outside)")
	return d.intact(ctx, "v1.23.0", nil)
}

// broken: v2.4.0 is Twenty #23012 (/healthz green, GraphQL 500, "Upgrade
// completed with errors"): the gate catches it and the rollback restores
// the backup.
func (d *demo) broken(ctx context.Context) error {
	d.head("4. A broken release appears: v2.4.0 (Twenty #23012: /healthz green, GraphQL failing)")
	before, err := d.checksums(ctx)
	if err != nil {
		return err
	}
	if err := d.stack.Registry.Publish(ctx, "v2.4.0"); err != nil {
		return err
	}
	d.say("Pushed v2.4.0. Asking the daemon to check, as an admin or a script would:")
	d.say("curl -X POST -H \"Authorization: Bearer $(cat %s)\" http://%s/api/v1/check", d.setup.TokenFile, d.setup.Listen)
	p := d.stack.StartProber("/healthz")
	follow := d.follow()
	code, body, err := d.daemon.Post(ctx, "/api/v1/check", d.setup.Token, nil)
	if err != nil || code != 202 {
		follow()
		p.Stop()
		return fmt.Errorf("POST /api/v1/check: HTTP %d %s %v", code, body, err)
	}
	st, err := d.wait(ctx, 6*time.Minute, func(st daemon.Status) bool {
		return st.LastResult != nil && st.LastResult.To.String() == "v2.4.0" && st.State == daemon.StateIdle
	})
	follow()
	rep := p.Stop()
	if err != nil {
		return err
	}
	en := st.LastResult
	d.say("Result: %s after %.1fs. Why: %s", strings.ToUpper(en.Result), en.Seconds, firstLine(en.Error))
	d.say("Downtime: %.1fs by the engine (stop → healthy again on v1.23.0); prober: %s", en.Downtime, rep)
	if en.Result != state.ResultRolledBack {
		return fmt.Errorf("expected a rollback, got %s", en.Result)
	}
	if err := d.intact(ctx, "v1.23.0", &before); err != nil {
		return err
	}
	bad, _ := os.ReadFile(filepath.Join(d.setup.StateDir, "bad-versions"))
	for _, l := range strings.Split(string(bad), "\n") {
		if strings.HasPrefix(l, "v") {
			d.say("bad-versions: %s", clip(l, 110))
		}
	}
	since := time.Now()
	_ = d.daemon.Signal(syscall.SIGUSR1)
	st, err = d.wait(ctx, time.Minute, func(st daemon.Status) bool {
		return st.LastCheck != nil && st.LastCheck.After(since) && st.State == daemon.StateIdle
	})
	if err != nil {
		return err
	}
	for _, h := range st.Held {
		d.say("Next check: %s held (%s), not retried; delete its line from bad-versions to allow it.", h.Version, h.Code)
	}
	return nil
}

// intact proves Twenty runs want with every sentinel, and (when before is
// given) that database and files are exactly as before.
func (d *demo) intact(ctx context.Context, want string, before *[2]string) error {
	if err := d.stack.Check(ctx, want); err != nil {
		return fmt.Errorf("twenty is not healthy on %s: %w", want, err)
	}
	if err := d.stack.CheckSentinels(ctx); err != nil {
		return fmt.Errorf("sentinel data: %w", err)
	}
	d.say("✓ Twenty healthy on %s (healthz, database, worker, GraphQL, appVersion); every sentinel row and file present", want)
	if before == nil {
		return nil
	}
	after, err := d.checksums(ctx)
	if err != nil {
		return err
	}
	if after != *before {
		return fmt.Errorf("data changed across the rollback: database %s → %s, files %s → %s", short(before[0]), short(after[0]), short(before[1]), short(after[1]))
	}
	d.say("✓ database checksum %s and files checksum %s: identical before the upgrade and after the rollback", short(after[0]), short(after[1]))
	return nil
}

func (d *demo) wait(ctx context.Context, limit time.Duration, cond func(daemon.Status) bool) (daemon.Status, error) {
	wctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	st, err := d.daemon.WaitStatus(wctx, "the daemon", cond)
	if err != nil {
		return st, fmt.Errorf("%w (daemon log: %s)", err, d.log.Name())
	}
	return st, nil
}

func (d *demo) history() ([]state.Entry, error) {
	st, err := state.Open(d.setup.StateDir)
	if err != nil {
		return nil, err
	}
	return st.History()
}

// transactions prints one line per transaction with the downtime the
// engine measured and the outages the prober saw during it.
func (d *demo) transactions(hist []state.Entry, rep sandbox.ProbeReport) {
	d.say("%-22s %-12s %9s %16s %16s", "transaction", "result", "duration", "downtime engine", "downtime prober")
	for _, en := range hist {
		var seen time.Duration
		for _, o := range rep.Outages {
			if !o.Start.Before(en.StartedAt) && !o.Start.After(en.FinishedAt) {
				seen += o.End.Sub(o.Start)
			}
		}
		d.say("%-22s %-12s %8.1fs %15.1fs %15.1fs", en.From.String()+" → "+en.To.String(), en.Result, en.Seconds, en.Downtime, seen.Seconds())
	}
}

// figures: the backup sets and the daemon's metrics.
func (d *demo) figures(ctx context.Context) error {
	d.head("5. Backups (`twenty-upgraded backups --json`)")
	out, code := scenarios.CLI(ctx, d.bin, d.setup.Config, "backups", "--json")
	var sets []struct {
		ID            string `json:"id"`
		SizeBytes     int64  `json:"size_bytes"`
		TwentyVersion string `json:"twenty_version"`
		Verification  string `json:"verification"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &sets) != nil {
		return fmt.Errorf("backups --json: exit %d: %s", code, out)
	}
	var total int64
	for _, s := range sets {
		d.say("%-36s %10s   Twenty %-8s verified: %s", s.ID, size(s.SizeBytes), s.TwentyVersion, s.Verification)
		total += s.SizeBytes
	}
	d.say("%d sets, %s in %s (one per transaction: each hop of the path has its own way back)", len(sets), size(total), d.setup.BackupDir)
	d.head(fmt.Sprintf("6. Metrics (curl -s http://%s/metrics | grep twenty_upgraded_)", d.setup.Listen))
	m, err := d.daemon.Metrics(ctx)
	if err != nil {
		return err
	}
	for _, line := range m.Grep("twenty_upgraded_") {
		if interesting(line) {
			d.say("%s", line)
		}
	}
	return nil
}

// interesting drops zero-valued per-reason series and build/Go details
// from the excerpt.
func interesting(line string) bool {
	for _, p := range []string{"twenty_upgraded_installed_version_info", "twenty_upgraded_latest_version_info", "twenty_upgraded_upgrades_total",
		"twenty_upgraded_downtime_seconds", "twenty_upgraded_backup_", "twenty_upgraded_step_duration_seconds{step=\"backup",
		"twenty_upgraded_step_duration_seconds{step=\"health", "twenty_upgraded_step_duration_seconds{step=\"start", "twenty_upgraded_update_held",
		"twenty_upgraded_upgrade_in_progress", "twenty_upgraded_health_check_up", "twenty_upgraded_rollback_failed", "twenty_upgraded_update_available", "twenty_upgraded_step_failures_total"} {
		if strings.HasPrefix(line, p) {
			return !strings.HasSuffix(line, " 0") || !strings.Contains(line, "{") || strings.Contains(line, "upgrades_total")
		}
	}
	return false
}

func (d *demo) lookAround() {
	c := d.bin + " --config " + d.setup.Config
	compose := strings.Join(d.stack.ComposeCmd, " ") + " -p " + d.stack.Project
	d.head("7. Look around (the stack stays up; the daemon and the registry were stopped)")
	d.say("%s status            # state, installed, last result (from the state folder)", c)
	d.say("%s history           # every transaction, with its steps and downtime", c)
	d.say("%s backups           # the backup sets", c)
	d.say("cat %s/history.jsonl  %s/bad-versions", d.setup.StateDir, d.setup.StateDir)
	d.say("cd %s && cat .env && %s ps", d.stack.Dir, compose)
	d.say("curl -s %s/client-config; docker ps --filter label=com.docker.compose.project=%s", d.stack.BaseURL, d.stack.Project)
	d.say("less %s    # the daemon's log", d.log.Name())
	d.head("Tear down")
	d.say("make demo-down      # removes the containers, volumes and %s", d.dir)
	d.say("(demo done in %s)", time.Since(d.start).Round(time.Second))
}
