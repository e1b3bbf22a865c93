package backup

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
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
