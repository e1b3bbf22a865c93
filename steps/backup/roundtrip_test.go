package backup

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

var allBack = RestoreOptions{Database: true, Files: true, Env: true}

// roundTrip: backup → change everything → restore → identical.
func roundTrip(t *testing.T, f *fixture) Set {
	t.Helper()
	ctx := context.Background()
	m := f.manager(t)
	wantDB := tableSums(t, f.pg, "default")
	wantFiles := treeSnapshot(t, f.files)
	wantEnv, _ := os.ReadFile(f.cfg.Install.EnvFile)

	set, err := m.Create(ctx, Meta{Version: version.MustParse("v1.22.6"), Images: map[string]string{"server": "sha256:abc"}, Reason: "test"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if set.Manifest.Verification.Level != f.cfg.Backup.Verify {
		t.Errorf("verification %q, want %q", set.Manifest.Verification.Level, f.cfg.Backup.Verify)
	}
	checkPerms(t, set.Dir)

	f.mutate(t)
	if got := tableSums(t, f.pg, "default"); got["#schema"] == wantDB["#schema"] {
		t.Fatal("mutation did not change the schema; the test proves nothing")
	}
	if err := m.Restore(ctx, set.ID, allBack); err != nil {
		t.Fatalf("restore: %v", err)
	}
	equalMaps(t, "database", wantDB, tableSums(t, f.pg, "default"))
	equalMaps(t, "files", wantFiles, treeSnapshot(t, f.files))
	if gotEnv, _ := os.ReadFile(f.cfg.Install.EnvFile); string(gotEnv) != string(wantEnv) {
		t.Errorf(".env after restore = %q, want %q", gotEnv, wantEnv)
	}
	// Idempotent: a rollback resumed after a crash runs it again.
	if err := m.Restore(ctx, set.ID, allBack); err != nil {
		t.Fatalf("second restore: %v", err)
	}
	equalMaps(t, "database (second restore)", wantDB, tableSums(t, f.pg, "default"))
	equalMaps(t, "files (second restore)", wantFiles, treeSnapshot(t, f.files))
	return set
}

func checkPerms(t *testing.T, dir string) {
	t.Helper()
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o700 {
		t.Errorf("set folder mode %v, want 0700", info.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		i, _ := e.Info()
		if i.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", e.Name(), i.Mode().Perm())
		}
	}
}

func TestRoundTripURLCustom(t *testing.T) {
	f := newFixture(t)
	set := roundTrip(t, f)
	man := set.Manifest
	if man.Postgres.ServerVersion == "" || !strings.Contains(man.Postgres.PgDumpVersion, "pg_dump") {
		t.Errorf("versions not recorded: %+v", man.Postgres)
	}
	var def *Database
	for i := range man.Databases {
		if man.Databases[i].Name == "default" {
			def = &man.Databases[i]
		}
	}
	if def == nil || def.RowCounts["workspace_1wgvd1injqtife6y4rvfbu3h5.person"] != 3000 || def.RowCounts["core.user"] != 300 {
		t.Errorf("row counts not recorded right: %+v", def)
	}
	for _, name := range []string{"db-default.dump", "globals.sql", "files.tar", "env", "compose.yml"} {
		if _, ok := man.File(name); !ok {
			t.Errorf("set has no %s: %+v", name, man.Files)
		}
	}
	sets, err := f.manager(t).List()
	if err != nil || len(sets) != 1 || sets[0].ID != set.ID {
		t.Errorf("List = %v, %v; want the one set", sets, err)
	}
	if !strings.HasSuffix(set.ID, "-v1.22.6") {
		t.Errorf("set ID %q does not end with the version", set.ID)
	}
}

func TestRoundTripPlain(t *testing.T) {
	f := newFixture(t)
	f.cfg.Backup.Format = "plain"
	f.cfg.Backup.Verify = "list"
	set := roundTrip(t, f)
	if _, ok := set.Manifest.File("all.sql"); !ok {
		t.Errorf("plain set has no all.sql: %+v", set.Manifest.Files)
	}
}

// TestFlippedByte: one flipped byte anywhere in a set is refused by Restore
// before anything is touched.
func TestFlippedByte(t *testing.T) {
	f := newFixture(t)
	f.cfg.Backup.Verify = "none"
	ctx := context.Background()
	m := f.manager(t)
	set, err := m.Create(ctx, Meta{Version: version.MustParse("v1.22.6")})
	if err != nil {
		t.Fatal(err)
	}
	f.mutate(t)
	mutated := tableSums(t, f.pg, "default")
	names := []string{ManifestName}
	for _, fl := range set.Manifest.Files {
		names = append(names, fl.Name)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(set.Dir, name)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			i := len(b) / 2
			b[i] ^= 0x01
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			defer func() {
				b[i] ^= 0x01
				_ = os.WriteFile(path, b, 0o600)
			}()
			err = m.Restore(ctx, set.ID, allBack)
			if err == nil {
				t.Fatalf("restore of a set with a flipped byte in %s succeeded", name)
			}
			if !strings.Contains(err.Error(), name) && !strings.Contains(err.Error(), "manifest") {
				t.Errorf("error does not name the file: %v", err)
			}
			if err := m.Verify(ctx, set.ID, "list"); err == nil {
				t.Errorf("verify passed with a flipped byte in %s", name)
			}
		})
	}
	equalMaps(t, "database untouched by refused restores", mutated, tableSums(t, f.pg, "default"))
	if err := m.Verify(ctx, set.ID, "list"); err != nil {
		t.Errorf("verify of the repaired set: %v", err)
	}
}
