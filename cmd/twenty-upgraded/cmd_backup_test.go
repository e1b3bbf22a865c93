package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twenty-upgraded/twenty-upgraded/steps/backup"
)

// backupConfig writes a config whose backup.dir holds one set.
func backupConfig(t *testing.T) (cfgPath, id string) {
	t.Helper()
	dir := t.TempDir()
	id = "20260101T030000Z-v1.22.6"
	setDir := filepath.Join(dir, "backups", id)
	if err := os.MkdirAll(setDir, 0o700); err != nil {
		t.Fatal(err)
	}
	man := backup.Manifest{Schema: backup.SchemaVersion, ID: id, Reason: "manual", Format: "custom",
		Verification: backup.Verification{Level: "list"}, Files: []backup.File{}}
	b, err := man.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(setDir, backup.ManifestName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath = filepath.Join(dir, "config.toml")
	cfg := "[install]\ndir = \"" + dir + "\"\n[backup]\ndir = \"" + filepath.Join(dir, "backups") + "\"\n[daemon]\nstate_dir = \"" + filepath.Join(dir, "state") + "\"\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath, id
}

func TestBackupsJSON(t *testing.T) {
	cfgPath, id := backupConfig(t)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--config", cfgPath, "backups", "--json"}, strings.NewReader(""), &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var got []map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if len(got) != 1 || got[0]["id"] != id || got[0]["verification"] != "list" {
		t.Errorf("backups --json = %s", out.String())
	}
}

func TestRestoreRefusesWithoutYesOffTerminal(t *testing.T) {
	cfgPath, id := backupConfig(t)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--config", cfgPath, "restore", id}, strings.NewReader("yes\n"), &out, &errOut)
	if code != exitUsage || !strings.Contains(errOut.String(), "--yes") {
		t.Errorf("exit %d, stderr %q; want 2 and a hint to pass --yes", code, errOut.String())
	}
	errOut.Reset()
	code = run(context.Background(), []string{"--config", cfgPath, "restore", "--yes", "20260101T030000Z-v9.9.9"}, strings.NewReader(""), &out, &errOut)
	if code != exitFailed || !strings.Contains(errOut.String(), "no backup set 20260101T030000Z-v9.9.9") {
		t.Errorf("exit %d, stderr %q; want 1 naming the missing set", code, errOut.String())
	}
}

// TestRestoreMalformedID: an argument that cannot be a set ID is a usage
// error (exit 2) that shows the form of an ID, before the config is read.
func TestRestoreMalformedID(t *testing.T) {
	cfgPath, _ := backupConfig(t)
	for _, id := range []string{"../x", "nope", "..", ".", "/etc", "20260101T030000Z-v1.22.6/../x", "20260101T030000Z", "20260101T030000Z-v1.22", "20260101T030000Z-v1.22.6-", "20260101T030000Z-v1.22.6 "} {
		for _, cfg := range []string{cfgPath, "/nonexistent/config.toml"} {
			var out, errOut bytes.Buffer
			code := run(context.Background(), []string{"--config", cfg, "restore", "--yes", id}, strings.NewReader(""), &out, &errOut)
			if code != exitUsage || !strings.Contains(errOut.String(), "is not a backup set ID") || !strings.Contains(errOut.String(), "twenty-upgraded backups") {
				t.Errorf("restore %q (config %s): exit %d, stderr %q; want 2 and a usage message", id, cfg, code, errOut.String())
			}
		}
	}
}
