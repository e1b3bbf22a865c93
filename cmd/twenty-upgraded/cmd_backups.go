package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"syscall"
	"text/tabwriter"
	"time"
	"unsafe"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/steps/backup"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// backupJSON is one set in `backups --json` (stable snake_case keys).
type backupJSON struct {
	ID              string    `json:"id"`
	Dir             string    `json:"dir"`
	CreatedAt       time.Time `json:"created_at"`
	SizeBytes       int64     `json:"size_bytes"`
	Reason          string    `json:"reason"`
	TwentyVersion   string    `json:"twenty_version"`
	PostgresVersion string    `json:"postgres_version"`
	PgDumpVersion   string    `json:"pg_dump_version"`
	Format          string    `json:"format"`
	Verification    string    `json:"verification"`
	VerifiedAt      time.Time `json:"verified_at,omitzero"`
}

func cmdBackups(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("backups", "[--json]")
	asJSON := fs.Bool("json", false, "machine-readable output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("backups takes no arguments, got %q", fs.Args())
	}
	cfg, err := e.loadConfig()
	if err != nil {
		return err
	}
	sets, err := backup.New(cfg, proc.Exec{}, e.logger).List()
	if err != nil {
		return err
	}
	out := make([]backupJSON, 0, len(sets))
	for _, s := range sets {
		m := s.Manifest
		out = append(out, backupJSON{ID: s.ID, Dir: s.Dir, CreatedAt: m.CreatedAt, SizeBytes: s.Size, Reason: m.Reason,
			TwentyVersion: m.TwentyVersion.String(), PostgresVersion: m.Postgres.ServerVersion, PgDumpVersion: m.Postgres.PgDumpVersion,
			Format: m.Format, Verification: m.Verification.Level, VerifiedAt: m.Verification.PassedAt})
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(out) == 0 {
		fmt.Fprintf(e.stdout, "no backup sets in %s\n", cfg.Backup.Dir)
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tSIZE\tTWENTY\tPOSTGRES\tVERIFIED\tREASON")
	for _, b := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.ID, b.CreatedAt.Local().Format("2006-01-02 15:04"),
			backup.HumanBytes(b.SizeBytes), orDash(b.TwentyVersion), orDash(b.PostgresVersion), b.Verification, b.Reason)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// newBackupManager builds the manager with a progress display: a
// rewritten line on a terminal, plain log lines otherwise.
func newBackupManager(e *env, cfg config.Config) *backup.Manager {
	m := backup.New(cfg, proc.Exec{}, e.logger)
	tty := isTerminal(e.stderr)
	starts := map[string]time.Time{}
	m.OnProgress(func(p backup.Progress) {
		start, ok := starts[p.Step]
		if !ok {
			start = time.Now()
			starts[p.Step] = start
		}
		switch {
		case tty:
			rate := float64(p.Bytes) / max(time.Since(start).Seconds(), 0.001)
			fmt.Fprintf(e.stderr, "\r\033[K%s  %s  %s/s", p.Step, backup.HumanBytes(p.Bytes), backup.HumanBytes(int64(rate)))
			if p.Done {
				fmt.Fprintln(e.stderr)
			}
		case p.Done && p.Bytes > 0:
			e.logger.Info("step done", "step", p.Step, "bytes", p.Bytes)
		}
	})
	return m
}

// isTerminal reports whether f is a terminal (TCGETS works on it; a
// character device such as /dev/null is not enough).
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, file.Fd(), uintptr(syscall.TCGETS), uintptr(unsafe.Pointer(&t)))
	return errno == 0
}

func printSet(w io.Writer, s backup.Set) {
	m := s.Manifest
	fmt.Fprintf(w, "backup set %s\n  folder:       %s\n  size:         %s\n  twenty:       %s\n  postgres:     %s (%s)\n  verification: %s\n  took:         %.1fs\n",
		s.ID, s.Dir, backup.HumanBytes(s.Size), orDash(m.TwentyVersion.String()), m.Postgres.ServerVersion, m.Postgres.PgDumpVersion,
		m.Verification.Level, m.Duration)
}
