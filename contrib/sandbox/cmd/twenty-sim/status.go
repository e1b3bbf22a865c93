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
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// upgradeStatusFrom is the first release with upgrade:status (PR #19584,
// docs/twenty.md); older ones answer "unknown command".
var upgradeStatusFrom = version.MustParse("v1.22.0")

// upgradeStatus prints what `yarn command:prod upgrade:status` prints
// (upgrade-status.command.ts): the APP_VERSION header, the instance and a
// summary, "No workspaces" on an install without any. Like Twenty it exits 0
// even when an upgrade failed: read the words.
func upgradeStatus(ctx context.Context, cfg config, out io.Writer) int {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	fmt.Fprintf(out, "APP_VERSION: %s\n\n", cfg.appVersion)
	c, err := pgwire.Connect(ctx, cfg.dbURL)
	if err != nil {
		fmt.Fprintln(out, "Failed to retrieve upgrade status:", err)
		return 0
	}
	defer c.Close()
	cur, err := dbVersion(ctx, c)
	if err != nil {
		fmt.Fprintln(out, "Failed to retrieve upgrade status:", err)
		return 0
	}
	failed, _ := c.Value(ctx, `SELECT count(*) FROM core."keyValuePair" WHERE key = 'UPGRADE_STATUS' AND value = 'failed'`)
	instance := "Up to date"
	if cur != cfg.version {
		instance = "Behind"
	}
	fmt.Fprintf(out, "Instance\n  Inferred version: %s\n  Status:           %s\n\n", cur, instance)
	up, behind, err := workspaceCounts(ctx, c, cfg.version)
	if err != nil {
		fmt.Fprintln(out, "Failed to retrieve upgrade status:", err)
		return 0
	}
	nFailed := 0
	if failed == "1" {
		nFailed, behind = behind, 0
	}
	fmt.Fprintf(out, "Summary\n  Instance: %s\n", instance)
	if up+behind+nFailed == 0 {
		fmt.Fprintln(out, "  No workspaces")
		return 0
	}
	fmt.Fprintf(out, "  Workspaces: %d up to date, %d behind, %d failed (%d total)\n", up, behind, nFailed, up+behind+nFailed)
	if nFailed > 0 {
		fmt.Fprintf(out, "    %d failed at: %s\n", nFailed, cfg.version)
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
