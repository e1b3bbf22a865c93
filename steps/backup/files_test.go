package backup

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestArchiveRoundTrip: the files archive brings back names, modes, owners,
// times, empty folders and symlinks exactly, and removes files added since.
func TestArchiveRoundTrip(t *testing.T) {
	root := filepath.Join(t.TempDir(), "files")
	writeTree(t, root)
	want := treeSnapshot(t, root)
	var buf bytes.Buffer
	if err := archiveTree(root, &buf); err != nil {
		t.Fatal(err)
	}
	archive := buf.Bytes()
	if n, err := listArchive(bytes.NewReader(archive)); err != nil || n != len(want)-21 { // 21 "#bytes" entries
		t.Errorf("listArchive = %d, %v; want %d entries", n, err, len(want)-21)
	}
	mustWrite(t, filepath.Join(root, "workspace-1", "added.txt"), "added since", 0o644)
	if err := os.RemoveAll(filepath.Join(root, "workspace-2")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := restoreTree(root, bytes.NewReader(archive)); err != nil {
		t.Fatal(err)
	}
	equalMaps(t, "files", want, treeSnapshot(t, root))
	if _, err := listArchive(bytes.NewReader(archive[:len(archive)/2])); err == nil {
		t.Error("a truncated archive lists without error")
	}
}

// TestRestoreNeverFollowsSymlinks: a symlink at a path the restore writes —
// planted in the folder, or put there by an earlier entry of the archive —
// is never followed out of the folder: the file behind it stays as it was.
func TestRestoreNeverFollowsSymlinks(t *testing.T) {
	tmp := t.TempDir()
	outside := filepath.Join(tmp, "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(outside, "victim"), "untouched", 0o644)
	check := func(t *testing.T) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(outside, "victim"))
		if err != nil || string(b) != "untouched" {
			t.Errorf("file behind the symlink = %q, %v; want it untouched", b, err)
		}
		info, err := os.Stat(filepath.Join(outside, "victim"))
		if err == nil && info.Mode().Perm() != 0o644 {
			t.Errorf("file behind the symlink got mode %04o", info.Mode().Perm())
		}
		if info, err := os.Stat(outside); err == nil && info.Mode().Perm() != 0o755 {
			t.Errorf("folder behind the symlink got mode %04o", info.Mode().Perm())
		}
		if entries, _ := os.ReadDir(outside); len(entries) != 1 {
			t.Errorf("the restore wrote into %s: %v", outside, entries)
		}
	}
	reg := func(name, content string) entry {
		return entry{hdr: &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o600, Size: int64(len(content)), ModTime: time.Unix(1e9, 0)}, body: content}
	}
	link := func(name, target string) entry {
		return entry{hdr: &tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, ModTime: time.Unix(1e9, 0)}}
	}
	dir := func(name string) entry {
		return entry{hdr: &tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o700, ModTime: time.Unix(1e9, 0)}}
	}

	t.Run("planted at a file's path", func(t *testing.T) {
		root := filepath.Join(tmp, "planted")
		os.MkdirAll(root, 0o700)
		if err := os.Symlink(filepath.Join(outside, "victim"), filepath.Join(root, "a.txt")); err != nil {
			t.Fatal(err)
		}
		e := reg("a.txt", "from the archive")
		tr := tar.NewReader(bytes.NewReader(tarOf(t, e)))
		hdr, _ := tr.Next()
		if err := extract(tr, hdr, filepath.Join(root, "a.txt")); err == nil {
			t.Error("extract wrote through a symlink without an error")
		}
		check(t)
	})
	for _, tt := range []struct {
		name    string
		entries []entry
	}{
		{"a symlink, then a file of the same name", []entry{dir("./"), link("a.txt", filepath.Join(outside, "victim")), reg("a.txt", "from the archive")}},
		{"a symlink to a folder, then a file in it", []entry{dir("./"), link("d", outside), reg("d/victim", "from the archive")}},
		{"a symlink to a folder, then the folder", []entry{dir("./"), link("d", outside), dir("d")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(tmp, strings.ReplaceAll(tt.name, " ", "-"))
			err := restoreTree(root, bytes.NewReader(tarOf(t, tt.entries...)))
			if err == nil || !strings.Contains(err.Error(), "symbolic link") {
				t.Errorf("restoreTree = %v, want an error about the symbolic link", err)
			}
			check(t)
		})
	}
}

type entry struct {
	hdr  *tar.Header
	body string
}

func tarOf(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		if err := tw.WriteHeader(e.hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
