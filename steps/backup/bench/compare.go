package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/twenty-upgraded/twenty-upgraded/steps/backup"
)

// compare runs each backup and restore once and prints times and ratios.
func (b *bench) compare() error {
	raw := filepath.Join(b.work, "raw.dump")
	all := filepath.Join(b.work, "all.sql")
	m := b.manager()
	var set backup.Set

	fmt.Println("backup:")
	tDump, err := b.timed("raw pg_dump -Fc", func() error { return b.tool(io.Discard, "pg_dump", "-Fc", "-f", raw, "-d", b.c.URL("default")) })
	if err != nil {
		return err
	}
	tAll, err := b.timed("raw pg_dumpall > file (Twenty's guide)", func() error {
		f, err := os.Create(all)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := b.tool(f, "pg_dumpall", "-d", b.c.URL("postgres")); err != nil {
			return err
		}
		return f.Sync()
	})
	if err != nil {
		return err
	}
	tOurs, err := b.timed("twenty-upgraded backup (verify=list)", func() error {
		var err error
		set, err = m.Create(context.Background(), backup.Meta{Reason: "bench"})
		return err
	})
	if err != nil {
		return err
	}
	fmt.Printf("  set %s: %s\n\n", set.ID, backup.HumanBytes(set.Size))

	fmt.Println("restore:")
	jobs := "--jobs=" + strconv.Itoa(b.jobs)
	tRestore, err := b.timed("raw pg_restore -C "+jobs, func() error {
		if err := b.drop(); err != nil {
			return err
		}
		return b.tool(io.Discard, "pg_restore", "-C", jobs, "-d", b.c.URL("postgres"), raw)
	})
	if err != nil {
		return err
	}
	tPsql, err := b.timed("raw psql < pg_dumpall file (Twenty's guide)", func() error {
		if err := b.drop(); err != nil {
			return err
		}
		return b.tool(io.Discard, "psql", "-X", "-q", "-d", b.c.URL("postgres"), "-f", all)
	})
	if err != nil {
		return err
	}
	tOursR, err := b.timed("twenty-upgraded restore (checks + row counts)", func() error {
		return m.Restore(context.Background(), set.ID, backup.RestoreOptions{Database: true})
	})
	if err != nil {
		return err
	}
	fmt.Printf("\nratios (target):\n")
	fmt.Printf("  backup  / raw pg_dump -Fc   %.3f  (≤ 1.05)\n", tOurs.Seconds()/tDump.Seconds())
	fmt.Printf("  backup  / raw pg_dumpall    %.3f\n", tOurs.Seconds()/tAll.Seconds())
	fmt.Printf("  restore / raw pg_restore    %.3f  (≤ 1.05)\n", tOursR.Seconds()/tRestore.Seconds())
	fmt.Printf("  restore / raw psql < file   %.3f  (< 1)\n", tOursR.Seconds()/tPsql.Seconds())
	return nil
}
