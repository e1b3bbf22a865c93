package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"github.com/twenty-upgraded/twenty-upgraded/internal/atomicfile"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// Restore puts a set back. It verifies every checksum first and refuses a
// corrupted set before touching anything; then it proves it can write
// every target (checkRestore) and refuses, changing nothing, when one is
// out of reach. Every action is idempotent (drop and recreate, clear and
// extract, atomic replace), so a restore interrupted by a crash is
// finished by running it again.
//
// What only reads runs side by side (the checksums beside the checks of
// every target); then the databases and the uploaded files, which do not
// depend on each other, are restored at the same time, and .env last.
func (m *Manager) Restore(ctx context.Context, id string, opts RestoreOptions) error {
	if !opts.Env && !opts.Files && !opts.Database {
		return errors.New("restore: nothing selected (database, files, env)")
	}
	set, err := m.Get(id)
	if err != nil {
		return err
	}
	m.log.Info("verifying checksums before restore", "id", id)
	m.report(Progress{Step: "checksums"})
	var sumErr error
	sums := make(chan struct{})
	go func() {
		defer close(sums)
		sumErr = checkFiles(set.Dir, set.Manifest)
	}()
	r, err := m.prepareRestore(ctx, set, opts)
	<-sums
	if sumErr != nil {
		return fmt.Errorf("refusing to restore: %w", sumErr)
	}
	if err != nil {
		return fmt.Errorf("refusing to restore %s (nothing was changed): %w", id, err)
	}
	if opts.StopWriters {
		if err := m.stopWriters(ctx, r.in); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	var dbErr, filesErr error
	if opts.Database {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbErr = m.restoreDatabases(ctx, r.p, set, r.versionNum)
		}()
	}
	if opts.Files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			filesErr = m.restoreFiles(ctx, r.in, set, r.files)
		}()
	}
	wg.Wait()
	if err := errors.Join(dbErr, filesErr); err != nil {
		return fmt.Errorf("restore %s: %w", id, err)
	}
	if opts.Env {
		if err := m.restoreEnv(r.in, set); err != nil {
			return fmt.Errorf("restore %s: %w", id, err)
		}
	}
	m.log.Info("restore complete", "id", id)
	return nil
}

// restoreDatabases puts back the roles, drops every database of the set
// (one session), restores them side by side, and proves every table's row
// count in one session whose closing commit makes the restore durable.
func (m *Manager) restoreDatabases(ctx context.Context, p pg, set Set, vnum int) error {
	man := set.Manifest
	if man.Format == "plain" {
		return m.restorePlain(ctx, p, set, vnum)
	}
	names := make([]string, len(man.Databases))
	for i, d := range man.Databases {
		names[i] = d.Name
	}
	// The roles and the drops do not depend on each other; the restores
	// need both (the dumps name their owners).
	var rolesErr, dropErr error
	dropped := make(chan struct{})
	go func() {
		defer close(dropped)
		dropErr = p.dropDatabases(ctx, names, vnum)
	}()
	m.log.Info("restoring roles", "file", "globals.sql")
	// In template1, which no set holds: the drops end every session of the
	// databases they drop, postgres included.
	if err := m.psqlFile(ctx, p, filepath.Join(set.Dir, "globals.sql"), "template1"); err != nil {
		rolesErr = fmt.Errorf("restore roles: %w", err)
	}
	<-dropped
	if err := errors.Join(rolesErr, dropErr); err != nil {
		return err
	}
	// Dumps restored in one job each (small, from stdin) all run at once;
	// parallel restores (-j) take the CPUs between them.
	n := max(1, m.jobs/2)
	if m.allSmall(p, set) {
		n = len(man.Databases)
	}
	g, gctx := newGroup(ctx)
	slots := make(chan struct{}, max(1, n))
	for _, d := range man.Databases {
		g.Go(func() error {
			slots <- struct{}{}
			defer func() { <-slots }()
			m.log.Info("restoring database", "database", d.Name, "jobs", m.jobs)
			m.report(Progress{Step: "restore " + d.Name})
			if err := m.restoreDump(gctx, p, filepath.Join(set.Dir, d.File), d.Name, true); err != nil {
				return fmt.Errorf("restore database %s: %w", d.Name, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return m.checkAllCounts(ctx, p, man)
}

// checkAllCounts compares every database's row counts with the manifest's
// (one session) and ends with a durable commit.
func (m *Manager) checkAllCounts(ctx context.Context, p pg, man Manifest) error {
	names := make([]string, len(man.Databases))
	for i, d := range man.Databases {
		names[i] = d.Name
	}
	got, err := p.rowCountsAll(ctx, names, true)
	if err != nil {
		return fmt.Errorf("after restore: %w", err)
	}
	for i, d := range man.Databases {
		if err := m.compareCounts(d, got[i], man.Online); err != nil {
			return fmt.Errorf("database %s after restore: %w", d.Name, err)
		}
	}
	return nil
}

// allSmall says whether every dump of set is restored from stdin in one
// job (compose mode, each at most m.smallDump).
func (m *Manager) allSmall(p pg, set Set) bool {
	if p.in == nil && m.jobs > 1 {
		return false
	}
	for _, d := range set.Manifest.Databases {
		f, ok := set.Manifest.File(d.File)
		if !ok || (m.jobs > 1 && f.Size > m.smallDump) {
			return false
		}
	}
	return true
}

// restorePlain replays Twenty's documented pg_dumpall into emptied databases.
func (m *Manager) restorePlain(ctx context.Context, p pg, set Set, vnum int) error {
	names := []string{}
	for _, d := range set.Manifest.Databases {
		names = append(names, d.Name)
	}
	if err := p.dropDatabases(ctx, names, vnum); err != nil {
		return err
	}
	if slices.Contains(names, "postgres") { // pg_dumpall expects it to exist
		if err := p.exec(ctx, "template1", "create database postgres template template0"); err != nil {
			return err
		}
	}
	m.log.Info("restoring every database with psql", "file", "all.sql")
	m.report(Progress{Step: "restore all"})
	if err := m.psqlFile(ctx, p, filepath.Join(set.Dir, "all.sql"), "template1"); err != nil {
		return err
	}
	return m.checkAllCounts(ctx, p, set.Manifest)
}

// psqlFile runs a plain SQL dump. Errors of single statements (such as
// "role postgres already exists" in the globals) do not stop it, as with
// Twenty's documented `psql < backup.sql`; the row counts afterwards decide.
func (m *Manager) psqlFile(ctx context.Context, p pg, path, db string) error {
	p = p.withEnv("PGOPTIONS=" + restoreSettings)
	if p.in == nil {
		return p.stream(ctx, p.cmd("psql", db, "-X", "-q", "-f", path), nil, io.Discard)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return p.stream(ctx, p.cmd("psql", db, "-X", "-q", "-f", "-"), f, io.Discard)
}

// smallDump is the size up to which a dump is restored from stdin, in one
// job, inside the db container: parallel restore needs the dump copied in
// first (two more docker calls), which costs more than it gains on a dump
// this small.
const smallDump = 32 << 20 // bytes

// restoreDump runs pg_restore of one custom-format dump. With create it
// recreates the database as dumped (pg_restore --create, connected to
// template1, which no set holds, so restores of several databases, the
// postgres one included, run side by side); otherwise it restores into the
// existing database target. Parallel (-j) needs a seekable file: on the
// host that is the set's file; in compose mode a dump larger than
// smallDump is copied into the db container with `docker cp` first.
func (m *Manager) restoreDump(ctx context.Context, p pg, path, target string, create bool) error {
	p = p.withEnv("PGOPTIONS=" + restoreSettings)
	db, args := target, []string{}
	if create {
		db, args = "template1", append(args, "--create")
	}
	jobs := []string{}
	if m.jobs > 1 {
		jobs = append(jobs, "--jobs="+strconv.Itoa(m.jobs))
	}
	if p.in == nil {
		return p.stream(ctx, p.cmd("pg_restore", db, append(append(args, jobs...), path)...), nil, io.Discard)
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if m.jobs <= 1 || info.Size() <= m.smallDump {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return p.stream(ctx, p.cmd("pg_restore", db, args...), f, io.Discard)
	}
	inside, cleanup, err := m.copyIntoDB(ctx, p, path)
	if err != nil {
		return err
	}
	defer cleanup()
	return p.stream(ctx, p.cmd("pg_restore", db, append(append(args, jobs...), inside)...), nil, io.Discard)
}

// copyIntoDB copies a dump into the db container's /tmp and returns its
// path there and a function that removes it.
func (m *Manager) copyIntoDB(ctx context.Context, p pg, path string) (string, func(), error) {
	in, id := p.in, p.container
	if id == "" {
		var err error
		if id, err = in.ContainerID(ctx, in.DBSvc); err != nil {
			return "", nil, err
		}
	}
	if id == "" {
		return "", nil, fmt.Errorf("the %s container is not running; start it: %s", in.DBSvc, proc.Quote(in.UpDB().Argv))
	}
	inside := "/tmp/twenty-upgraded-restore-" + filepath.Base(path)
	if _, err := m.r.Run(ctx, in.CopyInto(path, id, inside)); err != nil {
		return "", nil, fmt.Errorf("copy the dump into the db container: %w", err)
	}
	cleanup := func() {
		_, err := m.r.Run(context.WithoutCancel(ctx), p.execDB(m.cfg.Timeouts.Command, nil, "rm", "-f", inside))
		if err != nil {
			m.log.Warn("could not remove the dump copy from the db container", "path", inside, "err", err)
		}
	}
	return inside, cleanup, nil
}

// restoreTo is what prepareRestore resolved: the install, the database
// client (on the db container's ID), the files target and the server's
// version number.
type restoreTo struct {
	in         *install.Install
	p          pg
	files      filesTarget
	versionNum int
}

// prepareRestore reads the install, resolves every target and proves each
// can be written.
func (m *Manager) prepareRestore(ctx context.Context, set Set, opts RestoreOptions) (restoreTo, error) {
	var r restoreTo
	var err error
	if r.in, err = m.install(ctx, opts.Install); err != nil {
		return r, err
	}
	if opts.Database {
		if r.p, err = m.pgFor(ctx, r.in, m.cfg.Timeouts.Restore); err != nil {
			return r, err
		}
	}
	return r, m.checkRestore(ctx, &r, set, opts)
}

// filesTarget is where a restore puts the uploaded files back (ok false:
// the set has none), and for a volume the local image whose one-off
// container writes it.
type filesTarget struct {
	ok    bool
	loc   filesLoc
	image string
}

func (m *Manager) restoreTarget(ctx context.Context, in *install.Install, set Set) (filesTarget, error) {
	if _, ok := set.Manifest.File("files.tar"); !ok {
		return filesTarget{}, nil
	}
	loc, ok, err := m.filesLocation(ctx, in)
	if err != nil {
		return filesTarget{}, err
	}
	if !ok {
		return filesTarget{}, fmt.Errorf("the set holds uploaded files from %s but backup.files resolves to nothing here; set backup.files", set.Manifest.FilesSource)
	}
	t := filesTarget{ok: true, loc: loc}
	if loc.Volume != "" {
		if t.image, err = m.helperImage(ctx, in, set.Manifest); err != nil {
			return filesTarget{}, fmt.Errorf("uploaded files (volume %s): %w", loc.Volume, err)
		}
	}
	return t, nil
}

// restoreFiles makes the files folder or volume exactly the set's archive.
// A volume is written by the files helper in a one-off container: Docker's
// storage is never written from here.
func (m *Manager) restoreFiles(ctx context.Context, in *install.Install, set Set, t filesTarget) error {
	if !t.ok {
		m.log.Info("the set has no uploaded files; files left as they are", "id", set.ID)
		return nil
	}
	f, err := os.Open(filepath.Join(set.Dir, "files.tar"))
	if err != nil {
		return err
	}
	defer f.Close()
	cr := &countReader{r: f, step: "restore files", report: m.report}
	if t.loc.Volume == "" {
		m.log.Info("restoring uploaded files", "to", t.loc.Dir)
		err = restoreTree(t.loc.Dir, cr)
	} else {
		m.log.Info("restoring uploaded files through a one-off container", "volume", t.loc.Volume, "image", t.image)
		err = m.runHelper(ctx, in, t.image, t.loc.Volume, cr, m.cfg.Timeouts.Restore, "restore", volumePath)
		if err != nil {
			err = fmt.Errorf("restore the uploaded files into volume %s: %w", t.loc.Volume, err)
		}
	}
	if err != nil {
		return err
	}
	m.report(Progress{Step: cr.step, Bytes: cr.n, Done: true})
	return nil
}

func (m *Manager) restoreEnv(in *install.Install, set Set) error {
	if _, ok := set.Manifest.File("env"); !ok {
		return errors.New("the set has no copy of .env")
	}
	data, err := os.ReadFile(filepath.Join(set.Dir, "env"))
	if err != nil {
		return err
	}
	m.log.Info("restoring .env", "path", in.EnvFile)
	// Owner, group and mode of the .env it replaces are kept, a symlink is
	// written through; a missing .env comes back 0600.
	return atomicfile.Replace(in.EnvFile, data, 0o600)
}

// countReader reports the bytes read, at most every MiB.
type countReader struct {
	r       io.Reader
	step    string
	n, last int64
	report  func(Progress)
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n-c.last >= 1<<20 {
		c.last = c.n
		c.report(Progress{Step: c.step, Bytes: c.n})
	}
	return n, err
}
