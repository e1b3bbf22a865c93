package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// rootfs is a minimal root filesystem under construction: host files to copy
// (by their path in the image) and small files written from memory.
type rootfs struct {
	copies map[string]string // image path → host path
	built  map[string]bool   // image paths whose host file is fresh each run: hash content
	writes map[string][]byte // image path → content
	dirs   map[string]os.FileMode
}

func newRootfs() *rootfs {
	return &rootfs{copies: map[string]string{}, built: map[string]bool{}, writes: map[string][]byte{}, dirs: map[string]os.FileMode{}}
}

// addBinaries adds host executables with every shared library ldd lists.
func (r *rootfs) addBinaries(ctx context.Context, paths ...string) error {
	for _, p := range paths {
		r.copies[p] = p
		out, err := runArgv(ctx, "ldd", p)
		if err != nil {
			return fmt.Errorf("ldd %s: %w", p, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			for _, f := range strings.Fields(sc.Text()) {
				if strings.HasPrefix(f, "/") {
					r.copies[f] = f
				}
			}
		}
	}
	return nil
}

// addTree adds every regular file under a host folder (symlinks followed).
func (r *rootfs) addTree(root string, skip func(string) bool) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if skip != nil && skip(p) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if st, err := os.Stat(p); err != nil || st.IsDir() {
				return nil // dangling, or a folder alias: the real folder is walked too
			}
		}
		if !d.IsDir() {
			r.copies[p] = p
		}
		return nil
	})
}

// hash identifies the content: image paths, host file sizes and times, and
// the written bytes. Rebuild only when it changes.
func (r *rootfs) hash(extra ...string) (string, error) {
	h := sha256.New()
	for _, k := range sortedKeys(r.copies) {
		if r.built[k] {
			sum, err := fileHash(r.copies[k])
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "b %s %s\n", k, sum)
			continue
		}
		st, err := os.Stat(r.copies[k])
		if err != nil {
			return "", fmt.Errorf("stat %s: %w", r.copies[k], err)
		}
		fmt.Fprintf(h, "c %s %d %d %o\n", k, st.Size(), st.ModTime().UnixNano(), st.Mode())
	}
	for _, k := range sortedKeys(r.writes) {
		fmt.Fprintf(h, "w %s %x\n", k, sha256.Sum256(r.writes[k]))
	}
	for _, k := range sortedKeys(r.dirs) {
		fmt.Fprintf(h, "d %s %o\n", k, r.dirs[k])
	}
	for _, e := range extra {
		fmt.Fprintf(h, "x %s\n", e)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// materialise writes the tree under dir.
func (r *rootfs) materialise(dir string) error {
	for _, k := range sortedKeys(r.dirs) {
		p := filepath.Join(dir, k)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
		if err := os.Chmod(p, r.dirs[k]); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(r.copies) {
		if err := copyFile(r.copies[k], filepath.Join(dir, k)); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(r.writes) {
		p := filepath.Join(dir, k)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, r.writes[k], 0o644); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return fmt.Errorf("copy to %s: %w", dst, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

const passwd = `root:x:0:0:root:/root:/sbin/nologin
postgres:x:999:999:PostgreSQL administrator:/var/lib/postgresql:/sbin/nologin
node:x:1000:1000:node:/home/node:/sbin/nologin
`

const group = "root:x:0:\npostgres:x:999:\nnode:x:1000:\n"

// addBase adds /etc/passwd, /etc/group, nsswitch and a sticky /tmp.
func (r *rootfs) addBase() {
	r.writes["/etc/passwd"] = []byte(passwd)
	r.writes["/etc/group"] = []byte(group)
	r.writes["/etc/nsswitch.conf"] = []byte("passwd: files\ngroup: files\nhosts: files dns\n")
	r.dirs["/tmp"] = 0o1777 | os.ModeSticky
}
