package steps

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/compose"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// dryRun prints every step and the exact argv a real run would execute.
// Commands that only read (inspect, ps, git status, postgres --version) run
// for real so the plan shows real image IDs and real gate answers; every
// other command, file write, backup and the gate are printed, not done.
// Nothing is written to the journal.
func (e *Engine) dryRun(ctx context.Context, txn *state.Txn, c compose.Compose, opt Options) error {
	out := opt.DryRunOut
	if out == nil {
		out = os.Stdout
	}
	fmt.Fprintf(out, "dry run: %s upgrade %s → %s; nothing is changed\n", txn.Mode, txn.From, txn.To)
	p := buildPlan(txn.Mode)
	u := &Upgrade{Cfg: e.cfg, From: txn.From, To: txn.To, Compose: c, Runner: &dryRunner{real: e.runner, out: out},
		Backups: dryBackups{real: e.backups, out: out}, Gate: dryGate{h: e.cfg.Health, out: out}, Log: e.log,
		HTTP: e.http, Now: e.now, Txn: txn, DryRun: true, Out: out}
	failed := 0
	for i, s := range p.steps {
		fmt.Fprintf(out, "%d. %s\n", i+1, s.Name())
		if err := s.Run(ctx, u); err != nil {
			failed++
			fmt.Fprintf(out, "  ! a real run would fail here: %v\n", err)
		}
	}
	names := p.names()
	slices.Reverse(names)
	fmt.Fprintf(out, "on failure after stop: rollback in reverse order: %s\n", strings.Join(names, ", "))
	if failed > 0 {
		return fmt.Errorf("dry run: %d step(s) would fail (see above)", failed)
	}
	return nil
}

// dryRunner runs reads and prints writes.
type dryRunner struct {
	real proc.Runner
	out  io.Writer
}

func (d *dryRunner) Run(ctx context.Context, c proc.Cmd) (proc.Result, error) {
	line := c.String()
	if len(c.Env) > 0 {
		line = strings.Join(c.Env, " ") + " " + line
	}
	if c.Dir != "" {
		line += "   (in " + c.Dir + ")"
	}
	if isRead(c.Argv) {
		fmt.Fprintf(d.out, "  read: %s\n", line)
		return d.real.Run(ctx, c)
	}
	fmt.Fprintf(d.out, "  run:  %s\n", line)
	return proc.Result{}, nil
}

// isRead reports whether argv only reads (safe to run in a dry run).
func isRead(argv []string) bool {
	s := " " + strings.Join(argv, " ") + " "
	for _, r := range []string{" inspect ", " ps -q ", " compose version ", "docker-compose version ",
		" status --porcelain ", " rev-parse ", " tag --points-at ", " postgres --version "} {
		if strings.Contains(s, r) {
			return true
		}
	}
	return false
}

type dryBackups struct {
	real Backups
	out  io.Writer
}

func (d dryBackups) Create(_ context.Context, m BackupMeta) (BackupSet, error) {
	fmt.Fprintf(d.out, "  backup: database, files, .env and compose file of %s (verified) into backup.dir\n", m.Version)
	return BackupSet{ID: "(new set)", Dir: "(new set)"}, nil
}

func (d dryBackups) Restore(_ context.Context, id string, o RestoreOptions) error {
	fmt.Fprintf(d.out, "  restore backup %s %+v\n", id, o)
	return nil
}

func (d dryBackups) Prune(protect ...string) ([]string, error) {
	fmt.Fprintf(d.out, "  prune backups beyond backup.keep, protecting %s\n", strings.Join(protect, ", "))
	return nil, nil
}

func (d dryBackups) CheckSpace(ctx context.Context) error {
	fmt.Fprintf(d.out, "  check free space in backup.dir\n")
	if d.real == nil {
		return nil
	}
	return d.real.CheckSpace(ctx)
}

type dryGate struct {
	h   config.Health
	out io.Writer
}

func (d dryGate) Wait(_ context.Context, want version.V, _ time.Time) error {
	fmt.Fprintf(d.out, "  health gate on %s: %s at %s, all passing for %s within %s (every %s)\n",
		want, strings.Join(d.h.Checks, ", "), d.h.URL, d.h.StableFor, d.h.Timeout, d.h.Interval)
	return nil
}
