package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/steps/backup/pgtest"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// TestMain removes the files helper built for the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if helperBuild.bin != "" {
		os.RemoveAll(filepath.Dir(helperBuild.bin))
	}
	os.Exit(code)
}

var helperBuild struct {
	sync.Once
	bin string
	err error
}

// filesHelper is twenty-upgraded built as it is packaged (static), once:
// the fake docker runs it as the files helper of the one-off container, so
// the tests go through main's argv[0] dispatch like the real restore.
func filesHelper(t *testing.T) string {
	t.Helper()
	helperBuild.Do(func() {
		dir, err := os.MkdirTemp("", "twenty-upgraded-helper-")
		if err != nil {
			helperBuild.err = err
			return
		}
		bin := filepath.Join(dir, "twenty-upgraded")
		_, err = proc.Exec{}.Run(context.Background(), proc.Cmd{Argv: []string{"go", "build", "-o", bin, "../../cmd/twenty-upgraded"},
			Env: []string{"CGO_ENABLED=0"}, Timeout: 10 * time.Minute})
		helperBuild.bin, helperBuild.err = bin, err
	})
	if helperBuild.err != nil {
		t.Fatalf("build the files helper: %v", helperBuild.err)
	}
	return helperBuild.bin
}

// fixture is a Twenty-like install: a seeded cluster, a files folder, a
// .env, and a config pointing at them.
type fixture struct {
	pg    *pgtest.Cluster
	dir   string // install.dir
	files string // uploaded files
	cfg   config.Config
	// dockerLog records the fake docker's calls; composeJSON is what its
	// `compose config` prints.
	dockerLog, composeJSON string
	// copyDumps makes every restore copy its dump into the container
	// (pg_restore -j), however small.
	copyDumps bool
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	c := pgtest.New(t)
	t.Setenv("PATH", pgtest.BinDir+":"+os.Getenv("PATH"))
	seed, err := os.ReadFile("testdata/twenty.sql")
	if err != nil {
		t.Fatal(err)
	}
	c.MustSQL(t, "postgres", `CREATE DATABASE "default"`)
	c.MustSQL(t, "default", string(seed))
	dir := t.TempDir()
	f := &fixture{pg: c, dir: dir, files: filepath.Join(dir, "local-storage")}
	writeTree(t, f.files)
	mustWrite(t, filepath.Join(dir, ".env"), "TAG=v1.22.6\nPG_DATABASE_USER=postgres\nAPP_SECRET=s3cret\n", 0o600)
	mustWrite(t, filepath.Join(dir, "docker-compose.yml"), "services: {}\n", 0o644)
	cfg := config.Default()
	cfg.Install.Dir = dir
	cfg.Install.EnvFile = filepath.Join(dir, ".env")
	cfg.Backup.Dir = filepath.Join(dir, "backups")
	cfg.Backup.Database = "url"
	cfg.Backup.DatabaseURL = c.URL("default")
	cfg.Backup.Files = f.files
	cfg.Backup.Verify = "restore"
	f.cfg = cfg
	f.dockerLog = installFakeDocker(t, f)
	return f
}

func (f *fixture) manager(t *testing.T) *Manager {
	m := New(f.cfg, proc.Exec{}, slog.New(slog.NewTextHandler(testWriter{t}, nil))).WithFilesHelper(filesHelper(t))
	m.jobs = 2
	if f.copyDumps {
		m.smallDump = 0
	}
	return m
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// writeTree makes an uploaded-files folder with nested folders, an empty
// folder, a symlink, odd modes and owners.
func writeTree(t *testing.T, root string) {
	t.Helper()
	ws := filepath.Join(root, "workspace-1", "person-pictures")
	if err := os.MkdirAll(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "workspace-2", "empty"), 0o750); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		mustWrite(t, filepath.Join(ws, fmt.Sprintf("pic-%02d.png", i)), strings.Repeat(fmt.Sprintf("%c", 'a'+i), 1000*i+1), 0o644)
	}
	mustWrite(t, filepath.Join(root, "workspace-1", "secret.pdf"), "pdf bytes\x00\x01\x02", 0o600)
	if err := os.Symlink("person-pictures/pic-01.png", filepath.Join(root, "workspace-1", "avatar")); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(filepath.Join(root, "workspace-1", "secret.pdf"), 1000, 1000); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)
	_ = os.Chtimes(filepath.Join(root, "workspace-1", "secret.pdf"), old, old)
	_ = os.Chtimes(filepath.Join(root, "workspace-2", "empty"), old, old)
}

func mustWrite(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// treeSnapshot describes every entry under root: type, mode, owner, mtime
// (not for symlinks) and the exact bytes or link target.
func treeSnapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := os.Lstat(path)
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		rel, _ := filepath.Rel(root, path)
		desc := fmt.Sprintf("%s uid=%d gid=%d", info.Mode(), st.Uid, st.Gid)
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			link, _ := os.Readlink(path)
			desc += " -> " + link
		case info.Mode().IsRegular():
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" mtime=%d content=%x", info.ModTime().UnixNano(), sha256.Sum256(b))
			snap[rel+"#bytes"] = string(b) // compared byte for byte
		default:
			desc += fmt.Sprintf(" mtime=%d", info.ModTime().UnixNano())
		}
		snap[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// tableSums is schema.table → md5 of all its rows in order, plus a
// fingerprint of the schema (columns, indexes, constraints, enums).
func tableSums(t *testing.T, c *pgtest.Cluster, db string) map[string]string {
	t.Helper()
	tables := c.MustSQL(t, db, `select quote_ident(schemaname) || '.' || quote_ident(tablename) from pg_tables
		where schemaname not in ('pg_catalog', 'information_schema') order by 1`)
	sums := map[string]string{}
	for _, tb := range strings.Fields(tables) {
		sums[tb] = c.MustSQL(t, db, fmt.Sprintf("select count(*) || ' ' || coalesce(md5(string_agg(x::text, '|' order by x::text)), '') from %s x", tb))
	}
	sums["#schema"] = c.MustSQL(t, db, `
		select string_agg(c, ',' order by c) from (select table_schema || '.' || table_name || '.' || column_name || ':' || data_type as c from information_schema.columns where table_schema not in ('pg_catalog','information_schema')) cols;
		select string_agg(indexdef, ',' order by indexdef) from pg_indexes where schemaname not in ('pg_catalog');
		select string_agg(conname || pg_get_constraintdef(oid), ',' order by conname || pg_get_constraintdef(oid)) from pg_constraint where connamespace::regnamespace::text not in ('pg_catalog');
		select string_agg(enumlabel, ',' order by enumtypid, enumsortorder) from pg_enum;
		select string_agg(extname, ',' order by extname) from pg_extension;`)
	return sums
}

// mutate changes everything a failed upgrade could: columns, rows, tables,
// files.
func (f *fixture) mutate(t *testing.T) {
	t.Helper()
	f.pg.MustSQL(t, "default", `
		ALTER TABLE core.workspace ADD COLUMN "logo" text DEFAULT 'x';
		DELETE FROM workspace_1wgvd1injqtife6y4rvfbu3h5.person WHERE position < 300;
		UPDATE core."user" SET email = email || '.changed' WHERE email LIKE 'user1%';
		DROP TABLE workspace_9x2kq0abcdefghijklmnop.opportunity;
		CREATE TABLE core.new_table (id int);
		INSERT INTO core.new_table SELECT generate_series(1, 10);
		ALTER TYPE core.workspace_activation ADD VALUE 'SUSPENDED';`)
	mustWrite(t, filepath.Join(f.files, "workspace-1", "added-later.txt"), "new", 0o644)
	if err := os.MkdirAll(filepath.Join(f.files, "workspace-3", "deep"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(f.files, "workspace-1", "person-pictures", "pic-03.png")); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(f.files, "workspace-1", "person-pictures", "pic-04.png"), "overwritten", 0o666)
	if err := os.RemoveAll(filepath.Join(f.files, "workspace-2")); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, f.cfg.Install.EnvFile, "TAG=v2.1.0\nPG_DATABASE_USER=postgres\nAPP_SECRET=s3cret\n", 0o600)
}

func equalMaps(t *testing.T, what string, want, got map[string]string) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: %s missing after restore", what, k)
		} else if g != w {
			if strings.HasSuffix(k, "#bytes") {
				t.Errorf("%s: %s content differs (%d bytes, want %d; equal=%v)", what, k, len(g), len(w), bytes.Equal([]byte(g), []byte(w)))
			} else {
				t.Errorf("%s: %s differs:\n got  %s\n want %s", what, k, g, w)
			}
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s present after restore but not in the backup", what, k)
		}
	}
}
