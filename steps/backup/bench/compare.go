package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/steps/backup"
)

// Names of the measurements, in print order.
const (
	rawDump1   = "raw pg_dump -Fc -Z0 (our settings)"
	rawDump6   = "raw pg_dump -Fc (pg_dump's default -Z6)"
	rawDumpall = "raw pg_dumpall > file (Twenty's guide)"
	ourBackup  = "twenty-upgraded backup (verify=list)"
	rawRestore = "raw psql globals + pg_restore -C -j N, same set"
	rawPsql    = "raw psql < pg_dumpall file (Twenty's guide)"
	ourRestore = "twenty-upgraded restore (checks + row counts)"
)

// compare runs every measurement `rounds` times (the machine is shared, so
// the best of each is reported) and prints times and ratios.
func (b *bench) compare(rounds int) error {
	best := map[string]time.Duration{}
	for round := 1; round <= rounds; round++ {
		fmt.Printf("round %d/%d\n", round, rounds)
		if err := b.round(best); err != nil {
			return err
		}
	}
	fmt.Printf("\nbest of %d (seconds):\n", rounds)
	for _, n := range []string{rawDump1, rawDump6, rawDumpall, ourBackup, rawRestore, rawPsql, ourRestore} {
		fmt.Printf("  %-48s %7.1f\n", n, best[n].Seconds())
	}
	ratio := func(a, b string) float64 { return best[a].Seconds() / best[b].Seconds() }
	fmt.Printf("\nratios:\n")
	fmt.Printf("  backup  / raw pg_dump -Fc -Z0   %.3f  (target ≤ 1.05)\n", ratio(ourBackup, rawDump1))
	fmt.Printf("  backup  / raw pg_dump -Fc -Z6   %.3f\n", ratio(ourBackup, rawDump6))
	fmt.Printf("  backup  / raw pg_dumpall        %.3f\n", ratio(ourBackup, rawDumpall))
	fmt.Printf("  restore / raw pg_restore        %.3f  (target ≤ 1.05)\n", ratio(ourRestore, rawRestore))
	fmt.Printf("  restore / raw psql < file       %.3f  (target < 1)\n", ratio(ourRestore, rawPsql))
	return nil
}

func (b *bench) round(best map[string]time.Duration) error {
	raw := filepath.Join(b.work, "raw.dump")
	all := filepath.Join(b.work, "all.sql")
	m := b.manager()
	var set backup.Set
	steps := []struct {
		name string
		fn   func() error
	}{
		{rawDump1, func() error { return b.tool(io.Discard, "pg_dump", "-Fc", "-Z0", "-f", raw, "-d", b.c.URL("default")) }},
		{rawDump6, func() error {
			defer os.Remove(raw + "6")
			return b.tool(io.Discard, "pg_dump", "-Fc", "-f", raw+"6", "-d", b.c.URL("default"))
		}},
		{rawDumpall, func() error { return b.dumpall(all) }},
		{ourBackup, func() error {
			var err error
			set, err = m.Create(context.Background(), backup.Meta{Reason: "bench"})
			return err
		}},
		{rawRestore, func() error {
			// The same content as ours, with the raw tools at the same
			// settings: roles, then pg_restore -C -j of every database of the set.
			return b.rawRestoreSet(set)
		}},
		{rawPsql, func() error {
			if err := b.drop(); err != nil {
				return err
			}
			return b.tool(io.Discard, "psql", "-X", "-q", "-d", b.c.URL("postgres"), "-f", all)
		}},
		{ourRestore, func() error {
			return m.Restore(context.Background(), set.ID, backup.RestoreOptions{Database: true})
		}},
	}
	for _, s := range steps {
		// Every measurement starts from a clean checkpoint, so no step pays
		// for the dirty pages the previous one left (a restore after a
		// restore would otherwise look slower than one after a dump).
		if err := b.checkpoint(); err != nil {
			return err
		}
		start := time.Now()
		if err := s.fn(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		d := time.Since(start)
		fmt.Printf("  %-48s %7.1fs\n", s.name, d.Seconds())
		if cur, ok := best[s.name]; !ok || d < cur {
			best[s.name] = d
		}
	}
	fmt.Printf("  (set %s: %s)\n", set.ID, backup.HumanBytes(set.Size))
	return os.RemoveAll(set.Dir)
}

func (b *bench) dumpall(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := b.tool(f, "pg_dumpall", "-d", b.c.URL("postgres")); err != nil {
		return err
	}
	return f.Sync()
}

// rawRestoreSet restores set with nothing but psql and pg_restore: what an
// admin would type, minus our checksum and row-count checks.
func (b *bench) rawRestoreSet(set backup.Set) error {
	if err := b.tool(io.Discard, "psql", "-X", "-q", "-d", b.c.URL("postgres"), "-f", filepath.Join(set.Dir, "globals.sql")); err != nil {
		return err
	}
	for _, d := range set.Manifest.Databases {
		admin := "postgres"
		if d.Name == "postgres" {
			admin = "template1"
		}
		if _, err := b.c.SQL(admin, "drop database if exists "+strconv.Quote(d.Name)+" with (force)"); err != nil {
			return err
		}
		if err := b.tool(io.Discard, "pg_restore", "-C", "--jobs="+strconv.Itoa(b.jobs), "-d", b.c.URL(admin), filepath.Join(set.Dir, d.File)); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) checkpoint() error {
	_, err := b.c.SQL("postgres", "checkpoint")
	return err
}
