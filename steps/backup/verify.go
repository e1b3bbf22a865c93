package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Verify checks a set at level "list" (checksums, every dump and the files
// archive readable) or "restore" (list, then a restore drill into a scratch
// database whose row counts must match the manifest). A pass is recorded in
// the manifest.
func (m *Manager) Verify(ctx context.Context, id string, level string) error {
	if level != "list" && level != "restore" {
		return fmt.Errorf("verification level %q: use list or restore", level)
	}
	set, err := m.Get(id)
	if err != nil {
		return err
	}
	in, err := m.install(ctx, nil)
	if err != nil {
		return err
	}
	p, err := m.pgClient(in, m.cfg.Timeouts.Restore)
	if err != nil {
		return err
	}
	if err := m.verifyDir(ctx, p, set.Dir, set.Manifest, level, true); err != nil {
		return fmt.Errorf("verify %s: %w", id, err)
	}
	man := set.Manifest
	if man.Verification.Level != "restore" || level == "restore" {
		man.Verification = Verification{Level: level, PassedAt: m.now().UTC().Truncate(time.Second)}
	}
	return writeManifest(set.Dir, man)
}

// verifyDir checks the set in dir. rehash is false right after Create,
// which has just hashed every file as written to disk.
func (m *Manager) verifyDir(ctx context.Context, p pg, dir string, man Manifest, level string, rehash bool) error {
	if level == "none" {
		return nil
	}
	m.log.Info("verifying", "id", man.ID, "level", level)
	if rehash {
		m.report(Progress{Step: "checksums"})
		if err := checkFiles(dir, man); err != nil {
			return err
		}
	}
	for _, f := range man.Files {
		if err := m.listFile(ctx, p, dir, f.Name); err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	if level == "restore" {
		return m.drill(ctx, p, dir, man)
	}
	return nil
}

// listFile proves one file of the set is readable as what it should be.
func (m *Manager) listFile(ctx context.Context, p pg, dir, name string) error {
	path := filepath.Join(dir, name)
	switch {
	case strings.HasSuffix(name, ".dump"):
		c := p.cmd("pg_restore", "", "--list")
		if p.in != nil {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			return p.stream(ctx, c, f, io.Discard)
		}
		c.Argv = append(c.Argv, path)
		return p.stream(ctx, c, nil, io.Discard)
	case name == "files.tar":
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = listArchive(f)
		return err
	case name == "all.sql":
		return checkTail(path, "PostgreSQL database cluster dump complete")
	case name == "globals.sql":
		return checkTail(path, "PostgreSQL database cluster dump complete")
	}
	return nil
}

// checkTail makes sure a plain dump ran to its end.
func checkTail(path, marker string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	off := max(info.Size()-4096, 0)
	buf := make([]byte, info.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if !strings.Contains(string(buf), marker) {
		return fmt.Errorf("the dump is truncated (no %q at its end)", marker)
	}
	return nil
}

// drill restores every dump into a scratch database, compares row counts
// with those recorded at backup time, and drops it.
func (m *Manager) drill(ctx context.Context, p pg, dir string, man Manifest) error {
	if man.Format != "custom" {
		m.log.Warn("a restore drill needs backup.format = custom; the set was checked at level list only", "id", man.ID)
		return nil
	}
	_, vnum, err := p.serverVersion(ctx)
	if err != nil {
		return err
	}
	for _, d := range man.Databases {
		scratch := drillPrefix + fileSafe(d.Name)
		if len(scratch) > 63 {
			scratch = scratch[:63]
		}
		m.log.Info("restore drill", "database", d.Name, "scratch", scratch)
		m.report(Progress{Step: "drill " + d.Name})
		if err := p.dropDatabase(ctx, scratch, vnum); err != nil {
			return err
		}
		if err := p.exec(ctx, "postgres", "create database "+quoteIdent(scratch)+" template template0"); err != nil {
			return fmt.Errorf("create scratch database: %w", err)
		}
		err := m.restoreDump(ctx, p, filepath.Join(dir, d.File), scratch, false)
		if err == nil {
			err = m.checkCounts(ctx, p, scratch, d, man.Online)
		}
		if derr := p.dropDatabase(ctx, scratch, vnum); err == nil {
			err = derr
		}
		if err != nil {
			return fmt.Errorf("restore drill of %s: %w", d.Name, err)
		}
	}
	return nil
}

// checkCounts compares the row counts of db now with those recorded for d.
func (m *Manager) checkCounts(ctx context.Context, p pg, db string, d Database, online bool) error {
	got, err := p.rowCounts(ctx, db)
	if err != nil {
		return err
	}
	return m.compareCounts(d, got, online)
}

// compareCounts compares counts read now with those recorded for d (only
// a warning for an online set).
func (m *Manager) compareCounts(d Database, got map[string]int64, online bool) error {
	diff := CompareCounts(d.RowCounts, got)
	if diff == nil {
		return nil
	}
	if online {
		m.log.Warn("row counts differ from the online backup's (writers were running)", "database", d.Name, "err", diff)
		return nil
	}
	return diff
}

// CompareCounts returns an error listing every table whose row count
// differs, is missing or is extra (nil when they are equal).
func CompareCounts(want, got map[string]int64) error {
	var diffs []string
	for t, w := range want {
		g, ok := got[t]
		switch {
		case !ok:
			diffs = append(diffs, t+": missing")
		case g != w:
			diffs = append(diffs, t+": "+strconv.FormatInt(g, 10)+" rows, expected "+strconv.FormatInt(w, 10))
		}
	}
	for t := range got {
		if _, ok := want[t]; !ok {
			diffs = append(diffs, t+": not in the backup")
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	sort.Strings(diffs)
	if len(diffs) > 10 {
		diffs = append(diffs[:10], fmt.Sprintf("and %d more", len(diffs)-10))
	}
	return fmt.Errorf("row counts differ: %s", strings.Join(diffs, "; "))
}
