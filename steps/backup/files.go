package backup

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// archiveTree writes root's whole tree to w as a tar stream: exact names,
// modes, owners, times, empty folders and symlinks. The root itself is the
// entry "./" so its mode and owner come back too.
func archiveTree(root string, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		return addEntry(tw, path, filepath.ToSlash(rel), d)
	})
	if err != nil {
		return fmt.Errorf("archive %s: %w", root, err)
	}
	return tw.Close()
}

func addEntry(tw *tar.Writer, path, rel string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	link := ""
	if info.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(path); err != nil {
			return err
		}
	}
	if !info.Mode().IsRegular() && !info.IsDir() && info.Mode()&fs.ModeSymlink == 0 {
		return nil // sockets, devices, fifos: not files Twenty stores
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	hdr.Name = rel
	if info.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uname, hdr.Gname = "", "" // numeric owners: the container's users, not the host's
	hdr.Format = tar.FormatPAX    // sub-second times, long names
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		hdr.AccessTime = time.Unix(st.Atim.Unix())
		hdr.ChangeTime = time.Time{}
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.CopyN(tw, f, hdr.Size); err != nil {
		return fmt.Errorf("%s changed while being archived (are the writers stopped?): %w", path, err)
	}
	return nil
}

// listArchive reads a whole archive, proving it is readable to the end; it
// returns the number of entries.
func listArchive(r io.Reader) (int, error) {
	tr := tar.NewReader(r)
	n := 0
	for {
		_, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return n, err
		}
		n++
	}
}

// restoreTree makes root exactly what the archive holds: everything inside
// root is removed first (files added since the backup must go), then the
// archive is extracted with its modes, owners and times. Running it twice
// gives the same result, so a crashed restore can simply be run again.
func restoreTree(root string, r io.Reader) error {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
			return fmt.Errorf("clear %s: %w", root, err)
		}
	}
	tr := tar.NewReader(r)
	var dirs []*tar.Header // folder times are set last: creating children changes them
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		path, err := safeJoin(root, hdr.Name)
		if err != nil {
			return err
		}
		if err := noSymlinkBetween(root, path); err != nil {
			return fmt.Errorf("restore %s: %w", hdr.Name, err)
		}
		if err := extract(tr, hdr, path); err != nil {
			return fmt.Errorf("restore %s: %w", hdr.Name, err)
		}
		if hdr.Typeflag == tar.TypeDir {
			dirs = append(dirs, hdr)
		}
	}
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i].Name) > len(dirs[j].Name) })
	for _, hdr := range dirs {
		path, _ := safeJoin(root, hdr.Name)
		if err := setTimes(path, hdr); err != nil {
			return err
		}
	}
	return nil
}

// safeJoin places an archive name inside root; a name with ".." cannot
// escape it (Clean of "/"+name never climbs above "/").
func safeJoin(root, name string) (string, error) {
	if name == "" {
		return "", errors.New("archive entry with an empty name")
	}
	return filepath.Join(root, filepath.Clean("/"+name)), nil
}

// errSymlink is a symbolic link where the restore was about to write.
var errSymlink = errors.New("is a symbolic link, not followed by the restore (was it planted there after the folder was cleared?)")

// noSymlinkBetween refuses a path whose folders below root include a
// symbolic link: an archive entry "d" -> /etc followed by "d/passwd" (or a
// link planted while the restore runs) would otherwise write outside root.
// Our archives never hold a file below a symlink (the walk does not follow
// them), so this refuses nothing a backup made.
func noSymlinkBetween(root, path string) error {
	rel, err := filepath.Rel(root, filepath.Dir(path))
	if err != nil || rel == "." {
		return err
	}
	dir := root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		dir = filepath.Join(dir, part)
		info, err := os.Lstat(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // created below by MkdirAll, as a real folder
		}
		if err != nil {
			return err
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s %w", dir, errSymlink)
		}
	}
	return nil
}

// extract creates one archive entry at path. It never follows a symbolic
// link at path: files are opened with O_NOFOLLOW and their owner, mode and
// times set through the open file or without following; a folder's path
// must not be a link either.
func extract(tr *tar.Reader, hdr *tar.Header, path string) error {
	mode := fs.FileMode(hdr.Mode) & fs.ModePerm
	for bit, m := range map[int64]fs.FileMode{0o4000: fs.ModeSetuid, 0o2000: fs.ModeSetgid, 0o1000: fs.ModeSticky} {
		if hdr.Mode&bit != 0 {
			mode |= m
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if info, err := os.Lstat(path); err == nil && info.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s %w", path, errSymlink)
		}
		if err := os.MkdirAll(path, 0o700); err != nil {
			return err
		}
		if err := os.Lchown(path, hdr.Uid, hdr.Gid); err != nil && os.Geteuid() == 0 {
			return err
		}
		if err := os.Chmod(path, mode); err != nil {
			return err
		}
		return setTimes(path, hdr)
	case tar.TypeSymlink:
		if err := os.Symlink(hdr.Linkname, path); err != nil {
			return err
		}
		return os.Lchown(path, hdr.Uid, hdr.Gid)
	case tar.TypeReg:
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o600)
		if errors.Is(err, syscall.ELOOP) {
			return fmt.Errorf("%s %w", path, errSymlink)
		}
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := io.Copy(f, tr); err != nil {
			return err
		}
		if err := f.Chown(hdr.Uid, hdr.Gid); err != nil && os.Geteuid() == 0 {
			return err
		}
		if err := f.Chmod(mode); err != nil {
			return err
		}
		if err := setTimes(path, hdr); err != nil {
			return err
		}
		return f.Close()
	}
	return nil
}

// setTimes sets path's access and modification times without following a
// symbolic link (utimensat AT_SYMLINK_NOFOLLOW).
func setTimes(path string, hdr *tar.Header) error {
	ts := make([]unix.Timespec, 2)
	for i, t := range []time.Time{hdr.AccessTime, hdr.ModTime} {
		ts[i] = unix.NsecToTimespec(t.UnixNano())
		if t.IsZero() { // left as it is, like os.Chtimes
			ts[i] = unix.Timespec{Nsec: unix.UTIME_OMIT}
		}
	}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "utimensat", Path: path, Err: err}
	}
	return nil
}

// treeSize is the total size of the regular files under root.
func treeSize(root string) (int64, error) {
	var n int64
	err := filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}
