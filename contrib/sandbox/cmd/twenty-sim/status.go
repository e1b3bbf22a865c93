package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox/internal/pgwire"
)

// upgradeStatus prints what `yarn command:prod upgrade:status` prints. Like
// Twenty it exits 0 even when an upgrade failed: read the words.
func upgradeStatus(ctx context.Context, cfg config, out io.Writer) int {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	c, err := pgwire.Connect(ctx, cfg.dbURL)
	if err != nil {
		fmt.Fprintln(out, "Error: cannot reach the database:", err)
		return 1
	}
	defer c.Close()
	cur, err := dbVersion(ctx, c)
	if err != nil {
		fmt.Fprintln(out, "Error:", err)
		return 1
	}
	failed, _ := c.Value(ctx, `SELECT count(*) FROM core."keyValuePair" WHERE key = 'UPGRADE_STATUS' AND value = 'failed'`)
	switch {
	case failed == "1":
		fmt.Fprintf(out, "Instance: Upgrade failed (server %s, workspaces on %s)\n", cfg.version, cur)
		fmt.Fprintln(out, "Workspaces: 0 up to date, 0 behind, 1 failed")
	case cur == cfg.version:
		fmt.Fprintf(out, "Instance: Up to date (%s)\n", cfg.version)
		fmt.Fprintln(out, "Workspaces: 1 up to date, 0 behind, 0 failed")
	default:
		fmt.Fprintf(out, "Instance: Behind (server %s, workspaces on %s)\n", cfg.version, cur)
		fmt.Fprintln(out, "Workspaces: 0 up to date, 1 behind, 0 failed")
	}
	return 0
}

// checksumCmd prints one sha256 over every file's path, mode and content.
func checksumCmd(dir string) int {
	h := sha256.New()
	files, size := 0, int64(0)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%o\x00%d\x00", rel, info.Mode().Perm(), info.Size())
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		n, err := io.Copy(h, f)
		files, size = files+1, size+n
		return err
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "checksum:", err)
		return 1
	}
	fmt.Printf("%s %d files %d bytes\n", hex.EncodeToString(h.Sum(nil)), files, size)
	return 0
}
