package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// maxLinks bounds a chain of symlinks, as the kernel's ELOOP does.
const maxLinks = 40

// Replace atomically replaces the file at path with data and keeps what the
// file was: its mode, owner and group (a file that does not exist yet is
// created with perm, owned by this process). A symlink at path, or a chain
// of them, stays: the final target is replaced, with a temporary file in the
// target's own folder. For files a person owns, such as Twenty's .env.
func Replace(path string, data []byte, perm os.FileMode) error {
	target, err := Target(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	a := attrs{perm: perm}
	fi, err := os.Stat(target)
	switch {
	case err == nil:
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("write %s: %s is not a regular file", path, target)
		}
		a.perm = fi.Mode().Perm()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			a.chown, a.uid, a.gid = true, int(st.Uid), int(st.Gid)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("write %s: %w", path, err)
	}
	return write(target, a, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Target is the file a write to path lands in: path itself, or the end of
// the chain of symlinks starting at path (which need not exist yet). Links
// in the folders above are left to the kernel: a rename works through them.
func Target(path string) (string, error) {
	for range maxLinks {
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) || err == nil && fi.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		if err != nil {
			return "", err
		}
		link, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(path), link)
		}
		path = link
	}
	return "", fmt.Errorf("more than %d symlinks in a row (a loop?) at %s", maxLinks, path)
}

// setOwner gives the new file f the owner and group a asks for, when they
// differ from what it was created with.
func setOwner(f *os.File, a attrs) error {
	if !a.chown {
		return nil
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == a.uid && int(st.Gid) == a.gid {
		return nil
	}
	if err := f.Chown(a.uid, a.gid); err != nil {
		return fmt.Errorf("keep the owner %d:%d of the file: %w (run as root, as the systemd unit does, or as that owner)", a.uid, a.gid, err)
	}
	return nil
}
