package backup

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/atomicfile"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// Create takes a full set: databases, files, .env, compose file (or the
// commit), verified per backup.verify. The caller has stopped the writers
// (or set Meta.Online). On any error nothing that looks like a set is left.
//
// It runs inside the downtime, so it asks nothing that the stop cannot
// change when CheckSpace asked it before (the db container's ID, the size
// estimate: only the free space is read again),
// asks the server its version and databases in one query, and then runs
// every dump, the row counts of every database (one psql session), the
// files archive and the copies side by side, each dump's verification
// starting as soon as that dump is on disk.
func (m *Manager) Create(ctx context.Context, meta Meta) (Set, error) {
	start := m.now()
	if err := os.MkdirAll(m.cfg.Backup.Dir, 0o700); err != nil {
		return Set{}, fmt.Errorf("backup folder: %w", err)
	}
	var in *install.Install
	var err error
	if m.estimate == nil {
		if in, err = m.install(ctx, meta.Install); err != nil {
			return Set{}, err
		}
	}
	if err := m.checkSpace(ctx, in, false); err != nil {
		return Set{}, err
	}
	if in == nil {
		if in, err = m.install(ctx, meta.Install); err != nil {
			return Set{}, err
		}
	}
	m.cleanStale()
	id := m.newID(start, meta.Version)
	tmp := filepath.Join(m.cfg.Backup.Dir, partialPrefix+id)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return Set{}, fmt.Errorf("create backup set: %w", err)
	}
	set, err := m.fill(ctx, in, tmp, id, start, meta)
	if err != nil {
		m.pending.wait() // let background hashing finish before removing
		os.RemoveAll(tmp)
		return Set{}, fmt.Errorf("backup %s: %w", id, err)
	}
	final := filepath.Join(m.cfg.Backup.Dir, id)
	if err := atomicfile.SyncDir(tmp); err != nil {
		os.RemoveAll(tmp)
		return Set{}, err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.RemoveAll(tmp)
		return Set{}, fmt.Errorf("complete backup set %s: %w", id, err)
	}
	if err := atomicfile.SyncDir(m.cfg.Backup.Dir); err != nil {
		return Set{}, err
	}
	set.Dir = final
	m.log.Info("backup complete", "id", id, "size_bytes", set.Size, "verified", set.Manifest.Verification.Level,
		"duration_seconds", set.Manifest.Duration)
	return set, nil
}

// fill writes everything into the partial folder dir.
func (m *Manager) fill(ctx context.Context, in *install.Install, dir, id string, start time.Time, meta Meta) (Set, error) {
	man := Manifest{
		Schema: SchemaVersion, ID: id, CreatedAt: start.UTC().Truncate(time.Second), Reason: meta.Reason, TxnID: meta.TxnID,
		TwentyVersion: meta.Version, Images: meta.Images, Commit: meta.Commit, InstallMode: m.cfg.Install.Mode,
		DatabaseMode: m.cfg.Backup.Database, Format: m.cfg.Backup.Format, Online: meta.Online,
		Verification: Verification{Level: "none"}, Databases: []Database{}, Files: []File{},
	}
	if man.Images == nil {
		man.Images = map[string]string{}
	}
	if in.Mode == install.ModeSource && man.Commit == "" {
		c, err := m.gitCommit(ctx, in)
		if err != nil {
			return Set{}, err
		}
		man.Commit = c
	}
	p, err := m.pgFor(ctx, in, m.cfg.Timeouts.Backup)
	if err != nil {
		return Set{}, err
	}
	var dbs []string
	p, err = m.first(ctx, p, func(p pg) error {
		var err error
		man.Postgres.ServerVersion, dbs, err = p.cluster(ctx)
		return err
	})
	if err != nil {
		return Set{}, err
	}
	if twentyDB := m.twentyDatabase(in); twentyDB != "" && !slices.Contains(dbs, twentyDB) {
		return Set{}, fmt.Errorf("the database %q Twenty uses is not on the server the backup reads (it has %s): check backup.database and backup.database_url", twentyDB, strings.Join(dbs, ", "))
	}
	for _, db := range dbs {
		man.Databases = append(man.Databases, Database{Name: db})
	}
	verify := m.cfg.Backup.Verify != "none"
	g, gctx := newGroup(ctx)
	tool := "pg_dump"
	if man.Format == "plain" {
		tool = "pg_dumpall"
	}
	g.Go(func() error { // beside the dumps: it costs no time of its own
		v, err := p.toolVersion(gctx, tool)
		man.Postgres.PgDumpVersion = v
		return err
	})
	// Row counts run beside the dumps: the writers are stopped, so both see
	// the same data, and the counting is hidden behind the dumps' time.
	var counts []map[string]int64
	g.Go(func() error {
		var err error
		counts, err = p.rowCountsAll(gctx, dbs, false)
		return err
	})
	ds := dumps(p, man.Format, dbs)
	order := make([]string, 0, len(ds)+3)
	// Every dump and the archive start at once: the writers are stopped,
	// each pg_dump takes its own snapshot of a database nobody writes, and
	// the files are read from the host. Measured on the sandbox, a limit of
	// two left the globals and the archive waiting behind the two dumps.
	slots := make(chan struct{}, len(ds)+1)
	for _, d := range ds {
		order = append(order, d.file)
		g.Go(func() error {
			slots <- struct{}{}
			defer func() { <-slots }()
			switch {
			case d.db != "":
				m.log.Info("dumping database", "database", d.db)
			case man.Format == "plain":
				m.log.Info("dumping every database with pg_dumpall", "databases", len(dbs))
			}
			err := m.writeFile(dir, d.file, d.what, func(w io.Writer) error { return p.stream(gctx, d.cmd, nil, w) })
			if err != nil && d.db != "" {
				return fmt.Errorf("dump database %s: %w", d.db, err)
			}
			if err != nil {
				return err
			}
			if verify { // while the other dumps run
				if err := m.listFile(gctx, p, dir, d.file); err != nil {
					return fmt.Errorf("verification (list) failed: %s: %w", d.file, err)
				}
			}
			return nil
		})
	}
	order = append(order, "files.tar")
	g.Go(func() error {
		slots <- struct{}{}
		defer func() { <-slots }()
		return m.dumpFiles(gctx, in, dir, &man, verify)
	})
	for _, c := range configCopies(in) {
		order = append(order, c.name)
	}
	err = m.copyConfig(in, dir)
	if gerr := g.Wait(); gerr != nil {
		err = gerr
	}
	if err != nil {
		return Set{}, err
	}
	for i := range man.Databases {
		man.Databases[i].RowCounts = counts[i]
	}
	for _, d := range ds {
		if d.db != "" {
			man.Databases[slices.Index(dbs, d.db)].File = d.file
		}
	}
	if man.Files, err = m.hashed(order); err != nil {
		return Set{}, err
	}
	set := Set{ID: id, Dir: dir, Manifest: man}
	if lvl := m.cfg.Backup.Verify; lvl != "none" {
		if lvl == "restore" {
			if err := m.drill(ctx, p, dir, man); err != nil {
				return Set{}, fmt.Errorf("verification (%s) failed: %w", lvl, err)
			}
		}
		set.Manifest.Verification = Verification{Level: lvl, PassedAt: m.now().UTC().Truncate(time.Second)}
	}
	set.Manifest.Duration = m.now().Sub(start).Seconds()
	if err := writeManifest(dir, set.Manifest); err != nil {
		return Set{}, err
	}
	for _, f := range set.Manifest.Files {
		set.Size += f.Size
	}
	return set, nil
}

// dump is one file of a set's database part and the command whose
// standard output it is.
type dump struct {
	db   string // the database dumped; "" for the whole server (pg_dumpall, the globals)
	file string
	what string // the manifest's step label
	cmd  proc.Cmd
}

// dumps lists the dumps of databases dbs in format, in the order Create
// writes them (those of one database first): the one place their argv is
// built, for Create and for the dry run (Describe).
func dumps(p pg, format string, dbs []string) []dump {
	if format == "plain" {
		return []dump{{file: "all.sql", what: "dump all", cmd: p.cmd("pg_dumpall", "")}}
	}
	out := make([]dump, 0, len(dbs)+1)
	for _, db := range dbs {
		out = append(out, dump{db: db, file: "db-" + fileSafe(db) + ".dump", what: "dump " + db,
			cmd: p.cmd("pg_dump", db, "--format=custom", "--compress="+dumpCompression)})
	}
	return append(out, dump{file: "globals.sql", what: "dump globals", cmd: p.cmd("pg_dumpall", "", "--globals-only")})
}

// dumpCompression is pg_dump's gzip level. Measured on a 745 MB Twenty-like
// database on two busy cores: level 0 dumped in 4 s (538 MB), level 1 in
// 8 s (214 MB), pg_dump's default 6 in 15-25 s (204 MB); restoring level 0
// also skips the decompression. The dump runs while Twenty is down, so
// level 0: the same size as Twenty's documented pg_dumpall file, in the
// least downtime. The free-space check already asks for twice the
// database's size.
const dumpCompression = "0"

// dumpFiles archives the uploaded files and, with verify, reads the
// archive back to its end.
func (m *Manager) dumpFiles(ctx context.Context, in *install.Install, dir string, man *Manifest, verify bool) error {
	if m.cfg.Backup.Files == "" && in.Spec.S3() {
		man.Notes = append(man.Notes, s3Note)
		m.log.Warn(s3Note)
	}
	root, label, ok, err := m.filesRoot(ctx, in)
	if err != nil || !ok {
		return err
	}
	man.FilesSource = label
	m.log.Info("archiving uploaded files", "source", label)
	if err := m.writeFile(dir, "files.tar", "archive files", func(w io.Writer) error { return archiveTree(root, w) }); err != nil {
		return err
	}
	if verify {
		if err := m.listFile(ctx, pg{}, dir, "files.tar"); err != nil {
			return fmt.Errorf("verification (list) failed: files.tar: %w", err)
		}
	}
	return nil
}

// configCopy is a file of the install copied into the set.
type configCopy struct{ name, src string }

// configCopies lists what copyConfig copies: .env, and in compose mode the
// compose file (skipped when it does not exist).
func configCopies(in *install.Install) []configCopy {
	out := []configCopy{{"env", in.EnvFile}}
	if f := in.ComposeFile(); f != "" && in.Mode == install.ModeCompose {
		out = append(out, configCopy{"compose.yml", f})
	}
	return out
}

// copyConfig copies .env and the compose file.
func (m *Manager) copyConfig(in *install.Install, dir string) error {
	for _, c := range configCopies(in) {
		if c.src == "" {
			continue
		}
		f, err := os.Open(c.src)
		if errors.Is(err, os.ErrNotExist) && c.name != "env" {
			continue
		}
		if err != nil {
			return fmt.Errorf("copy %s: %w (install.dir/env_file right?)", c.src, err)
		}
		err = m.writeFile(dir, c.name, "copy "+c.name, func(w io.Writer) error { _, err := io.Copy(w, f); return err })
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// fileSafe turns a database name into a file name part (hex when it has
// characters a file name should not).
func fileSafe(db string) string {
	if unsafeChars.MatchString(db) || db == "" || db[0] == '.' {
		return "x" + hex.EncodeToString([]byte(db))
	}
	return db
}
