package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/outcome"
	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/health"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// dryRun prints every step and the exact argv a real run would execute.
// Commands that only read (inspect, ps, git status, postgres --version) run
// for real so the plan shows real image IDs and real gate answers; every
// other command, file write, backup and the gate are printed, not done.
// Nothing is written to the journal. A target the real run would hold
// (Options.Held from the caller: policy, window, approval; bad-versions; a
// gate) is said, and the dry run exits held too.
func (e *Engine) dryRun(ctx context.Context, txn *state.Txn, in *install.Install, opt Options) error {
	out := opt.DryRunOut
	if out == nil {
		out = os.Stdout
	}
	fmt.Fprintf(out, "dry run: %s upgrade %s → %s; nothing is changed\n", txn.Mode, txn.From, txn.To)
	describeInstall(out, in, e.cfg)
	held := opt.Held
	if held == nil {
		held = e.notBad(txn.To)
	}
	if held != nil {
		fmt.Fprintf(out, "HELD: a real run would not start: %v\n", held)
	}
	if f := txn.Facts.Forced; f != "" {
		fmt.Fprintf(out, "--force overrides the policy's %s\n", strings.ReplaceAll(f, ",", ", "))
	}
	p := buildPlan(txn.Mode)
	u := &Upgrade{Cfg: e.cfg, From: txn.From, To: txn.To, In: in, Runner: &dryRunner{real: e.runner, out: out},
		Backups: dryBackups{real: e.backups, in: in, dir: e.cfg.Backup.Dir, out: out}, Gate: dryGate{cfg: e.cfg, in: in, out: out}, Log: e.log,
		HTTP: e.http, Now: e.now, Txn: txn, DryRun: true, Out: out}
	failed := 0
	for i, s := range p.steps {
		fmt.Fprintf(out, "%d. %s\n", i+1, s.Name())
		if err := s.Run(ctx, u); err != nil {
			failed++
			if held == nil && errors.Is(err, outcome.ErrHeld) {
				held = err
			}
			fmt.Fprintf(out, "  ! a real run would stop here: %v\n", err)
		}
	}
	names := p.names()
	slices.Reverse(names)
	fmt.Fprintf(out, "on failure after stop: rollback in reverse order: %s\n", strings.Join(names, ", "))
	fmt.Fprintf(out, "  the rollback's health gate judges %s:\n", txn.From)
	dryGate{cfg: e.cfg, in: in, out: out}.describe(txn.From)
	switch {
	case held != nil:
		return fmt.Errorf("dry run: the real run would be held: %w", held)
	case failed > 0:
		return fmt.Errorf("dry run: %d step(s) would fail (see above)", failed)
	}
	return nil
}

// describeInstall prints what the install model read, for the dry run.
func describeInstall(out io.Writer, in *install.Install, cfg config.Config) {
	sp := in.Spec
	fmt.Fprintf(out, "install: %s in %s (compose %s %s, read from %s)\n", in.Mode, in.Dir, strings.Join(in.Program, " "), in.ComposeVersion, sp.From)
	db := sp.Database
	where := "the " + in.DBSvc + " service"
	if db.External {
		where = "an external server"
	}
	how := "pg_dump in the " + in.DBSvc + " service"
	if cfg.Backup.Database == "url" {
		how = "pg_dump on the host from backup.database_url"
	}
	fmt.Fprintf(out, "  database: %s on %s (from %s), backed up by %s\n", db.URL(), where, db.From, how)
	if sp.S3() {
		fmt.Fprintf(out, "  uploaded files: in S3 (STORAGE_TYPE=s3): not in this backup\n")
	} else {
		fmt.Fprintf(out, "  uploaded files: local storage, volume %s\n", sp.FilesVolume)
	}
	fmt.Fprintf(out, "  secrets in .env: %s\n", strings.Join(in.Secrets, ", "))
	if !in.HasSecret("ENCRYPTION_KEY") && in.HasSecret("APP_SECRET") {
		fmt.Fprintf(out, "  no ENCRYPTION_KEY: Twenty encrypts stored secrets with APP_SECRET, which the backup keeps; never change it\n")
	}
}

// dryRunner runs reads and prints writes.
type dryRunner struct {
	real proc.Runner
	out  io.Writer
}

func (d *dryRunner) Run(ctx context.Context, c proc.Cmd) (proc.Result, error) {
	line := cmdLine(c, "")
	if isRead(c.Argv) {
		fmt.Fprintf(d.out, "  read: %s\n", line)
		return d.real.Run(ctx, c)
	}
	fmt.Fprintf(d.out, "  run:  %s\n", line)
	return proc.Result{}, nil
}

// cmdLine prints c as the dry run shows every command: its environment,
// its argv, "> into" when its output goes to a file, and its folder.
func cmdLine(c proc.Cmd, into string) string {
	line := c.String()
	if len(c.Env) > 0 {
		line = strings.Join(c.Env, " ") + " " + line
	}
	if into != "" {
		line += " > " + into
	}
	if c.Dir != "" {
		line += "   (in " + c.Dir + ")"
	}
	return line
}

// isRead reports whether argv only reads (safe to run in a dry run).
func isRead(argv []string) bool {
	s := " " + strings.Join(argv, " ") + " "
	for _, r := range []string{" inspect ", " ps -q ", " compose version ", "docker-compose version ", " config --format json ",
		" status --porcelain ", " rev-parse ", " tag --points-at ", " postgres --version ", " cat-file -e ", " show refs/", " check-ignore "} {
		if strings.Contains(s, r) {
			return true
		}
	}
	return false
}

type dryBackups struct {
	real Backups
	in   *install.Install
	dir  string // backup.dir
	out  io.Writer
}

// Create prints the backup's commands like every other step's ("run:"),
// from the backup manager's own builders (Backups.Describe), and the work
// it does itself ("do:").
func (d dryBackups) Create(ctx context.Context, m BackupMeta) (BackupSet, error) {
	fmt.Fprintf(d.out, "  backup of %s into a new set in %s:\n", m.Version, d.dir)
	for _, a := range d.real.Describe(ctx, d.in) {
		line := "  do:   " + a.What
		switch {
		case len(a.Cmd.Argv) > 0:
			line = "  run:  " + cmdLine(a.Cmd, a.Into)
		case a.Into != "":
			line += " > " + a.Into
		}
		if a.Note != "" {
			line += "   (" + a.Note + ")"
		}
		fmt.Fprintln(d.out, line)
	}
	return BackupSet{ID: "(new set)", Dir: "(new set)"}, nil
}

func (d dryBackups) Describe(ctx context.Context, in *install.Install) []BackupAction {
	return d.real.Describe(ctx, in)
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
	cfg config.Config
	in  *install.Install
	out io.Writer
}

func (d dryGate) Wait(_ context.Context, want version.V, _ time.Time) error {
	d.describe(want)
	return nil
}

func (d dryGate) WaitStarted(_ context.Context, want version.V, _ time.Time) error {
	fmt.Fprintf(d.out, "  wait (only watching, within %s) until the %s container is healthy, no failure line in its log\n", d.cfg.Health.Timeout, d.in.Server)
	return nil
}

// describe prints the checks the gate runs on want, and those left out.
func (d dryGate) describe(want version.V) {
	h := d.cfg.Health
	run, left := health.Applicable(want, h.Checks)
	fmt.Fprintf(d.out, "  health gate on %s at %s: all passing for %s within %s (every %s):\n", want, h.URL, h.StableFor, h.Timeout, h.Interval)
	for _, c := range run {
		fmt.Fprintf(d.out, "    %-14s %s\n", c, health.Describe(want, c, h.APIKeyFile != ""))
	}
	for _, l := range left {
		fmt.Fprintf(d.out, "    %-14s left out: %s\n", l.Check, l.Why)
	}
}
