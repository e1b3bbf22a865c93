// Package backup takes, verifies, lists, prunes and restores backup sets of a
// Twenty install: every database (pg_dump custom format plus the globals, or
// Twenty's documented plain pg_dumpall), the uploaded-files volume as an exact
// tar archive, and copies of .env and the compose file.
//
// A set is one folder in backup.dir, named so sets sort by time. It is written
// under a ".partial-" name, fsynced and renamed only when whole, so a crash
// never leaves a set that looks complete. Its manifest.json records the sha256
// of every file and checksums itself; Restore refuses a set with one flipped
// byte. Folders are 0700 and files 0600: a set holds every secret of the
// install.
package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// Meta is what the caller knows about the install at backup time.
type Meta struct {
	Version version.V
	Images  map[string]string // service → image ID
	Commit  string            // source mode (read with git when empty)
	Reason  string            // "pre-upgrade v1.22.6 → v2.1.0", "manual"
	TxnID   string
	// Online is true when the writers were left running (backup --online).
	Online bool
	// Install is the install to back up (nil: read it from the config now).
	Install *install.Install
}

// Set is one complete backup set.
type Set struct {
	ID       string
	Dir      string
	Manifest Manifest
	Size     int64 // bytes of all its files
}

// RestoreOptions choose what Restore puts back.
type RestoreOptions struct {
	StopWriters bool // stop server and worker first (the engine has already)
	Env         bool // put .env back
	Files       bool // put the uploaded files back
	Database    bool // drop, recreate and restore the databases
	// Install is the install to restore into (nil: read it from the config now).
	Install *install.Install
}

// Progress reports a long step: the bytes moved so far.
type Progress struct {
	Step  string // "dump default", "archive files", "checksums", ...
	Bytes int64
	Done  bool
}

// Manager runs backup operations for one config.
type Manager struct {
	cfg      config.Config
	r        proc.Runner
	log      *slog.Logger
	now      func() time.Time
	progress func(Progress)
	jobs     int // pg_restore -j
	// smallDump: a dump up to this size is restored from stdin, in one job
	// (compose mode); tests set 0 to take the docker cp path.
	smallDump int64
	helper    string        // this program, copied into the files volume's one-off container
	pending   pendingHashes // one Create at a time (callers hold the state lock)
	reportMu  sync.Mutex
	factsMu   sync.Mutex
	facts     beforeStop // read by CheckSpace before the stop, used by Create

	// injected for tests of the space check
	freeSpace func(dir string) (int64, error)
	estimate  func(ctx context.Context) (int64, error)
}

// New returns a Manager.
func New(cfg config.Config, r proc.Runner, logger *slog.Logger) *Manager {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	jobs := min(max(runtime.NumCPU(), 1), 8)
	helper, _ := os.Executable() // "" (reported when needed) if the kernel cannot say
	return &Manager{cfg: cfg, r: r, log: logger.With("unit", "backup"), now: time.Now, jobs: jobs, smallDump: smallDump, helper: helper, freeSpace: freeSpace}
}

// WithFilesHelper sets the program the restore copies into the files
// volume's one-off container (FilesHelperName): a static build of
// twenty-upgraded. The default is this program itself, which is right for
// the daemon and the CLI; a test binary, dynamically linked, is not.
func (m *Manager) WithFilesHelper(path string) *Manager {
	m.helper = path
	return m
}

// OnProgress sets a function called as bytes move (from the calling
// goroutine's operation; keep it quick).
func (m *Manager) OnProgress(fn func(Progress)) { m.progress = fn }

func (m *Manager) report(p Progress) {
	if m.progress != nil {
		m.reportMu.Lock()
		defer m.reportMu.Unlock()
		m.progress(p)
	}
}

const (
	partialPrefix  = ".partial-"
	deletingPrefix = ".deleting-"
	drillPrefix    = "twenty_upgraded_drill_"
	// stalePartial is how old a partial set must be before Create removes it
	// (callers hold the state lock, so an older one is a crashed run's).
	stalePartial = 10 * time.Minute
)

// List returns the complete sets, newest first. Partial and half-deleted
// folders are ignored; a folder whose manifest cannot be read is logged and
// skipped (Get reports its error).
func (m *Manager) List() ([]Set, error) {
	entries, err := os.ReadDir(m.cfg.Backup.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	var sets []Set
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		s, err := m.Get(e.Name())
		if err != nil {
			m.log.Warn("unreadable backup set skipped", "id", e.Name(), "err", err)
			continue
		}
		sets = append(sets, s)
	}
	sort.Slice(sets, func(i, j int) bool { return sets[i].ID > sets[j].ID })
	return sets, nil
}

// idPattern is the form newID gives a set: its UTC time, the Twenty version
// ("unknown" when it was not known) and a -N suffix when the name was taken.
var idPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-(v[0-9]+\.[0-9]+\.[0-9]+|unknown)(-[0-9]+)?$`)

// ValidID says whether id has the form of a set ID, without looking for the
// set: the CLI turns anything else into a usage error before it reads the
// config or touches the backup folder.
func ValidID(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("%q is not a backup set ID: IDs look like 20261127T031500Z-v1.22.6 (run twenty-upgraded backups to list them)", id)
	}
	return nil
}

// Get reads one set's manifest.
func (m *Manager) Get(id string) (Set, error) {
	if id == "" || id != filepath.Base(id) || strings.HasPrefix(id, ".") {
		return Set{}, fmt.Errorf("%q is not a backup set ID (run twenty-upgraded backups)", id)
	}
	dir := filepath.Join(m.cfg.Backup.Dir, id)
	man, err := readManifest(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return Set{}, fmt.Errorf("no backup set %s in %s (run twenty-upgraded backups)", id, m.cfg.Backup.Dir)
	}
	if err != nil {
		return Set{}, fmt.Errorf("backup set %s: %w", id, err)
	}
	if man.ID != id {
		return Set{}, fmt.Errorf("backup set %s: its manifest says it is %s; it was renamed or moved", id, man.ID)
	}
	s := Set{ID: id, Dir: dir, Manifest: man}
	for _, f := range man.Files {
		s.Size += f.Size
	}
	return s, nil
}

// newID names a set by its UTC time and version so names sort by time.
func (m *Manager) newID(t time.Time, v version.V) string {
	vs := "unknown"
	if !v.IsZero() {
		vs = v.String()
	}
	base := t.UTC().Format("20060102T150405Z") + "-" + vs
	id := base
	for i := 2; ; i++ {
		_, err1 := os.Lstat(filepath.Join(m.cfg.Backup.Dir, id))
		_, err2 := os.Lstat(filepath.Join(m.cfg.Backup.Dir, partialPrefix+id))
		if errors.Is(err1, fs.ErrNotExist) && errors.Is(err2, fs.ErrNotExist) {
			return id
		}
		id = fmt.Sprintf("%s-%d", base, i)
	}
}

// cleanStale removes partial sets older than stalePartial and finishes
// deletions a crash interrupted.
func (m *Manager) cleanStale() {
	entries, _ := os.ReadDir(m.cfg.Backup.Dir)
	for _, e := range entries {
		name := e.Name()
		info, err := e.Info()
		if err != nil {
			continue
		}
		stale := strings.HasPrefix(name, partialPrefix) && m.now().Sub(info.ModTime()) > stalePartial
		if stale || strings.HasPrefix(name, deletingPrefix) {
			m.log.Info("removing leftover of an interrupted run", "folder", name)
			_ = os.RemoveAll(filepath.Join(m.cfg.Backup.Dir, name))
		}
	}
}

func freeSpace(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("free space of %s: %w", dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
