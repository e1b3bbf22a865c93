package backup

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// FilesHelperName is the name under which the twenty-upgraded binary acts
// as the files helper: main dispatches on it (argv[0]), so the helper is
// not a command of the CLI. The restore copies the binary into a one-off
// container under this name (docker cp), with the files volume mounted,
// and runs it there: the daemon itself never writes into Docker's storage,
// which its systemd unit keeps read-only (ProtectSystem=strict).
//
// The binary is static (CGO_ENABLED=0), so it runs in any image: Twenty's
// (Alpine, with a busybox tar), the sandbox's (FROM scratch, no shell) or
// another. Running our own code there, rather than the image's tar, keeps
// one implementation of "make this folder exactly the archive" (restoreTree:
// clear first, exact modes, owners and times, names kept inside the folder)
// whatever the image holds.
const FilesHelperName = "twenty-upgraded-files"

// helperPath is where the helper sits inside the one-off container, and
// volumePath where the files volume is mounted.
const (
	helperPath = "/" + FilesHelperName
	volumePath = "/volume"
)

// FilesMain is the files helper:
//
//	twenty-upgraded-files restore DIR   make DIR exactly the tar archive on stdin
//	twenty-upgraded-files probe DIR     create and remove a file in DIR (can it write there?)
//
// It prints what it did on stdout and errors on stderr; exit 0, 1 on
// failure, 2 on bad usage.
func FilesMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 2 || !filepath.IsAbs(args[1]) {
		fmt.Fprintf(stderr, "usage: %s restore|probe /ABSOLUTE/DIR\n", FilesHelperName)
		return 2
	}
	dir := args[1]
	var err error
	switch args[0] {
	case "restore":
		cr := &countReader{r: stdin, report: func(Progress) {}}
		if err = restoreTree(dir, cr); err == nil {
			_, _ = io.Copy(io.Discard, stdin) // let the sender finish writing
			fmt.Fprintf(stdout, "restored %s from %d bytes\n", dir, cr.n)
		}
	case "probe":
		if err = probeDir(dir); err == nil {
			fmt.Fprintf(stdout, "%s is writable\n", dir)
		}
	default:
		fmt.Fprintf(stderr, "%s: unknown action %q (want restore or probe)\n", FilesHelperName, args[0])
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", FilesHelperName, err)
		return 1
	}
	return 0
}

// probeDir proves a restore could write dir: it creates and removes a
// file there, or, when dir does not exist yet, in the nearest folder above
// it (restoreTree creates dir).
func probeDir(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		info, err := os.Stat(d)
		if err == nil && !info.IsDir() {
			return fmt.Errorf("%s is not a folder", d)
		}
		if err == nil {
			f, err := os.CreateTemp(d, ".twenty-upgraded-probe-")
			if err != nil {
				return err
			}
			name := f.Name()
			f.Close()
			return os.Remove(name)
		}
		if !errors.Is(err, os.ErrNotExist) || d == filepath.Dir(d) {
			return err
		}
	}
}
