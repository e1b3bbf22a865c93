package atomicfile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func owner(t *testing.T, p string) (uid, gid uint32) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid
}

// Replace keeps the mode of the file it replaces, and uses perm for a new one.
func TestReplaceKeepsMode(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".env")
	if err := Replace(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Fatalf("new file mode %v", fi.Mode())
	}
	os.Chmod(p, 0o640)
	if err := Replace(p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, want the old 0640", fi.Mode())
	}
}

// Replace keeps the owner and group: a .env owned by the install's user
// stays readable by it after the root daemon rewrites it.
func TestReplaceKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a file's owner to another user needs root")
	}
	p := filepath.Join(t.TempDir(), ".env")
	os.WriteFile(p, []byte("one"), 0o640)
	if err := os.Chown(p, 4321, 8765); err != nil {
		t.Fatal(err)
	}
	if err := Replace(p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if uid, gid := owner(t, p); uid != 4321 || gid != 8765 {
		t.Fatalf("owner %d:%d, want 4321:8765", uid, gid)
	}
	if b, _ := os.ReadFile(p); string(b) != "two" {
		t.Fatalf("content %q", b)
	}
}

// A symlinked .env stays a symlink: its final target is replaced, in the
// target's own folder (the link's folder may be read-only).
func TestReplaceThroughSymlink(t *testing.T) {
	for _, tc := range []struct {
		name string
		link func(t *testing.T, dir, target string) string
	}{
		{"absolute", func(t *testing.T, dir, target string) string {
			l := filepath.Join(dir, "install", ".env")
			must(t, os.Symlink(target, l))
			return l
		}},
		{"relative chain", func(t *testing.T, dir, target string) string {
			mid := filepath.Join(dir, "install", "env.link")
			must(t, os.Symlink("../etc/env", mid))
			l := filepath.Join(dir, "install", ".env")
			must(t, os.Symlink("env.link", l))
			return l
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, os.Mkdir(filepath.Join(dir, "install"), 0o755))
			must(t, os.Mkdir(filepath.Join(dir, "etc"), 0o755))
			target := filepath.Join(dir, "etc", "env")
			must(t, os.WriteFile(target, []byte("TAG=v1\n"), 0o640))
			link := tc.link(t, dir, target)
			if err := Replace(link, []byte("TAG=v2\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Fatalf("%s is no longer a symlink: %v %v", link, fi.Mode(), err)
			}
			b, _ := os.ReadFile(target)
			fi, _ := os.Stat(target)
			if string(b) != "TAG=v2\n" || fi.Mode().Perm() != 0o640 {
				t.Fatalf("target %q %v", b, fi.Mode())
			}
			if got, err := Target(link); err != nil || got != target {
				t.Fatalf("Target = %q %v, want %s", got, err, target)
			}
			if es, _ := os.ReadDir(filepath.Join(dir, "etc")); len(es) != 1 {
				t.Fatalf("leftover temp files next to the target: %v", es)
			}
		})
	}
}

// A dangling symlink is written through too: its target is created.
func TestReplaceDanglingSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "env")
	link := filepath.Join(dir, ".env")
	must(t, os.Symlink("env", link))
	if err := Replace(link, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != "x" {
		t.Fatalf("target %q %v", b, err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the link was replaced")
	}
}

func TestSymlinkLoopRefused(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	must(t, os.Symlink("b", a))
	must(t, os.Symlink("a", b))
	if err := Replace(a, []byte("x"), 0o600); err == nil {
		t.Fatal("a symlink loop was accepted")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
