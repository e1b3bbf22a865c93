package backup

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
)

// Restoring .env keeps the owner and mode of the file it replaces and
// writes through a symlinked .env to its target.
func TestRestoreEnvKeepsOwnerAndSymlink(t *testing.T) {
	m := testManager(t)
	fakeSet(t, m, "set-1", true)
	set := Set{ID: "set-1", Dir: filepath.Join(m.cfg.Backup.Dir, "set-1"),
		Manifest: Manifest{Files: []File{{Name: "env"}}}}
	dir := t.TempDir()
	target := filepath.Join(dir, "env.real")
	mustWrite(t, target, "TAG=v1.1.0\n", 0o640)
	link := filepath.Join(dir, ".env")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	root := os.Geteuid() == 0
	if root {
		os.Chown(target, 4321, 8765)
	}
	if err := m.restoreEnv(&install.Install{EnvFile: link}, set); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal(".env is no longer a symlink")
	}
	b, _ := os.ReadFile(target)
	fi, _ := os.Stat(target)
	if string(b) != "TAG=v1.0.0\n" || fi.Mode().Perm() != 0o640 {
		t.Fatalf("target %q %v", b, fi.Mode())
	}
	if st := fi.Sys().(*syscall.Stat_t); root && (st.Uid != 4321 || st.Gid != 8765) {
		t.Fatalf("owner %d:%d, want 4321:8765", st.Uid, st.Gid)
	}
}
