package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// takeSet backs the fixture up and then changes everything, so a restore
// that changed anything would show.
func takeSet(t *testing.T, f *fixture) (Set, map[string]string, map[string]string) {
	t.Helper()
	set, err := f.manager(t).Create(context.Background(), Meta{Version: version.MustParse("v1.22.6"), Images: map[string]string{"server": "sha256:abc"}})
	if err != nil {
		t.Fatal(err)
	}
	f.mutate(t)
	return set, tableSums(t, f.pg, "default"), treeSnapshot(t, f.files)
}

// unchanged asserts the database and the files are as mutate left them.
func unchanged(t *testing.T, f *fixture, db, files map[string]string) {
	t.Helper()
	equalMaps(t, "database after the refused restore", db, tableSums(t, f.pg, "default"))
	equalMaps(t, "files after the refused restore", files, treeSnapshot(t, f.files))
}

// TestRestoreRefusedWhenTheVolumeCannotBeWritten: the dry run of the
// one-off container fails (here: the volume is read-only), so the restore
// stops before it drops any database.
func TestRestoreRefusedWhenTheVolumeCannotBeWritten(t *testing.T) {
	f := newFixture(t)
	logPath := fakeDocker(t, f)
	set, db, files := takeSet(t, f)
	t.Setenv("FAKE_FILES_FAIL", "probe")
	err := f.manager(t).Restore(context.Background(), set.ID, allBack)
	for _, want := range []string{"refusing to restore " + set.ID + " (nothing was changed)",
		"uploaded files: the dry run of the one-off container that writes volume twenty_server-local-data (image sha256:fakeimage) failed",
		"read-only file system"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant it to say %q", err, want)
		}
	}
	unchanged(t, f, db, files)
	calls, _ := os.ReadFile(logPath)
	if strings.Contains(string(calls), `drop database if exists "default"`) || strings.Contains(string(calls), "stop") {
		t.Errorf("the refused restore dropped a database or stopped the writers:\n%s", calls)
	}
}

// TestRestoreRefusalNamesEveryTarget: a role that may not recreate the
// databases and a volume the container cannot write are both reported,
// each with its fix, and nothing is changed.
func TestRestoreRefusalNamesEveryTarget(t *testing.T) {
	f := newFixture(t)
	fakeDocker(t, f)
	set, db, files := takeSet(t, f)
	f.pg.MustSQL(t, "postgres", "create role lowly login")
	mustWrite(t, f.cfg.Install.EnvFile, "TAG=v1.22.6\nPG_DATABASE_USER=lowly\nAPP_SECRET=s3cret\n", 0o600)
	f.writeComposeConfig(t)
	t.Setenv("FAKE_FILES_FAIL", "probe")
	err := f.manager(t).Restore(context.Background(), set.ID, allBack)
	for _, want := range []string{"refusing to restore",
		"database: role lowly may not create databases, and the restore drops and recreates each one: grant it CREATEDB or connect as a superuser",
		"uploaded files: the dry run of the one-off container"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant it to say %q", err, want)
		}
	}
	unchanged(t, f, db, files)
}

// TestEnvWritable: .env must be a file whose folder (and, through a
// symlink, its target's folder) takes a new file.
func TestEnvWritable(t *testing.T) {
	dir := t.TempDir()
	if err := checkEnvWritable(dir); err == nil || !strings.Contains(err.Error(), dir+" is not a regular file") {
		t.Errorf("a folder as .env: %v", err)
	}
	target := filepath.Join(dir, "real", ".env")
	if err := os.Mkdir(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, target, "TAG=v1\n", 0o600)
	link := filepath.Join(dir, ".env")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := checkEnvWritable(link); err != nil {
		t.Errorf("a symlinked .env: %v", err)
	}
	if err := checkEnvWritable(filepath.Join(dir, "missing", ".env")); err != nil {
		t.Errorf("a .env to be created under a writable folder: %v", err)
	}
}

// TestRestoreRefusedWithoutTheImage: no image to run the one-off container
// in is on this machine (a restore pulls nothing): refused up front.
func TestRestoreRefusedWithoutTheImage(t *testing.T) {
	f := newFixture(t)
	fakeDocker(t, f)
	set, db, files := takeSet(t, f)
	t.Setenv("FAKE_NO_IMAGES", "1")
	err := f.manager(t).Restore(context.Background(), set.ID, allBack)
	want := "uploaded files (volume twenty_server-local-data): none of the images sha256:abc, twentycrm/twenty:v1.22.6 is on this machine (a restore pulls nothing)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v\nwant it to say %q", err, want)
	}
	unchanged(t, f, db, files)
}

func TestProbeDir(t *testing.T) {
	dir := t.TempDir()
	if err := probeDir(filepath.Join(dir, "not", "yet")); err != nil {
		t.Errorf("a folder to be created under a writable one: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the probe left %v behind", entries)
	}
	file := filepath.Join(dir, "file")
	mustWrite(t, file, "x", 0o644)
	if err := probeDir(filepath.Join(file, "sub")); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("under a file: %v", err)
	}
	hint := writeHint(fmt.Errorf("open x: %w", syscall.EROFS))
	if !strings.Contains(hint, "ReadWritePaths=") || writeHint(errors.New("other")) != "" {
		t.Errorf("hint for a read-only folder: %q", hint)
	}
}

// TestStaticHelper: the helper must need no dynamic loader, since the
// image may have none; the packaged build passes, a dynamic program not.
func TestStaticHelper(t *testing.T) {
	if err := staticBinary(filesHelper(t)); err != nil {
		t.Errorf("the CGO_ENABLED=0 build: %v", err)
	}
	if err := staticBinary("/bin/sh"); err == nil || !strings.Contains(err.Error(), "dynamically linked") || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Errorf("/bin/sh (dynamically linked on Debian): %v", err)
	}
}
