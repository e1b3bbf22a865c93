package main

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tarOpts is the subset of tar the daemon's files backup needs from a
// one-off container of the installed image (real Twenty's image has tar):
// -c, -x, -t, -z, -v, -f FILE|-, -C DIR, members; other long options ignored.
type tarOpts struct {
	mode    byte // 'c', 'x' or 't'
	gz, v   bool
	file    string
	dir     string
	members []string
}

func parseTar(args []string) (tarOpts, error) {
	o := tarOpts{file: "-", dir: "."}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		args[0] = "-" + args[0] // old style: tar czf x.tgz dir
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case strings.HasPrefix(a, "--"):
			continue
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for _, f := range a[1:] {
				switch f {
				case 'c', 'x', 't':
					o.mode = byte(f)
				case 'z':
					o.gz = true
				case 'v':
					o.v = true
				case 'p':
				case 'f', 'C':
					if i+1 >= len(args) {
						return o, fmt.Errorf("tar: -%c needs an argument", f)
					}
					i++
					if f == 'f' {
						o.file = args[i]
					} else {
						o.dir = args[i]
					}
				default:
					return o, fmt.Errorf("tar: unsupported flag -%c (the sandbox tar knows c x t z v p f C)", f)
				}
			}
		default:
			o.members = append(o.members, a)
		}
	}
	if o.mode == 0 {
		return o, errors.New("tar: need one of -c, -x, -t")
	}
	return o, nil
}

func tarCmd(args []string) int {
	o, err := parseTar(args)
	if err == nil {
		err = o.run()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

func (o tarOpts) run() error {
	var stream io.ReadWriteCloser = nopRW{os.Stdin, os.Stdout}
	if o.file != "-" {
		flag := os.O_RDONLY
		if o.mode == 'c' {
			flag = os.O_CREATE | os.O_WRONLY | os.O_TRUNC
		}
		f, err := os.OpenFile(o.file, flag, 0o644)
		if err != nil {
			return fmt.Errorf("tar: %w", err)
		}
		stream = f
	}
	defer stream.Close()
	if o.mode == 'c' {
		return o.create(stream)
	}
	return o.extract(stream)
}

type nopRW struct {
	io.Reader
	io.Writer
}

func (nopRW) Close() error { return nil }

func (o tarOpts) create(w io.Writer) error {
	if o.gz {
		zw := gzip.NewWriter(w)
		defer zw.Close()
		w = zw
	}
	tw := tar.NewWriter(w)
	if len(o.members) == 0 {
		return errors.New("tar: -c needs members (e.g. .)")
	}
	for _, m := range o.members {
		root := filepath.Join(o.dir, m)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return o.addFile(tw, p, d)
		})
		if err != nil {
			return fmt.Errorf("tar: %w", err)
		}
	}
	return tw.Close()
}

func (o tarOpts) addFile(tw *tar.Writer, p string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	link := ""
	if info.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	rel, _ := filepath.Rel(o.dir, p)
	hdr.Name = filepath.ToSlash(rel)
	if d.IsDir() {
		hdr.Name += "/"
	}
	if o.v {
		fmt.Fprintln(os.Stderr, hdr.Name)
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

func (o tarOpts) extract(r io.Reader) error {
	if o.gz {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("tar: %w", err)
		}
		r = zr
	}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("tar: %w", err)
		}
		if o.mode == 't' || o.v {
			fmt.Println(hdr.Name)
		}
		if o.mode == 'x' {
			if err := o.extractOne(tr, hdr); err != nil {
				return fmt.Errorf("tar: %s: %w", hdr.Name, err)
			}
		}
	}
}

func (o tarOpts) extractOne(tr *tar.Reader, hdr *tar.Header) error {
	name := filepath.Clean(hdr.Name)
	if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
		return errors.New("refusing a path outside the target folder")
	}
	p := filepath.Join(o.dir, name)
	mode := fs.FileMode(hdr.Mode).Perm()
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
		return os.Chmod(p, mode)
	case tar.TypeSymlink:
		_ = os.Remove(p)
		return os.Symlink(hdr.Linkname, p)
	case tar.TypeReg:
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, tr); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		return os.Chmod(p, mode)
	}
	return nil
}
