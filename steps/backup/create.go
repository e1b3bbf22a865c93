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
func (m *Manager) Create(ctx context.Context, meta Meta) (Set, error) {
	start := m.now()
	if err := os.MkdirAll(m.cfg.Backup.Dir, 0o700); err != nil {
		return Set{}, fmt.Errorf("backup folder: %w", err)
	}
	if err := m.checkSpace(ctx, meta.Install); err != nil {
		return Set{}, err
	}
	in, err := m.install(ctx, meta.Install)
	if err != nil {
		return Set{}, err
	}
	m.cleanStale()
	id := m.newID(start, meta.Version)
	tmp := filepath.Join(m.cfg.Backup.Dir, partialPrefix+id)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return Set{}, fmt.Errorf("create backup set: %w", err)
	}
	set, err := m.fill(ctx, in, tmp, id, start, meta)
	if err != nil {
		_ = m.hashed(&Manifest{}) // let background hashing finish before removing
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
	p, err := m.pgClient(in, m.cfg.Timeouts.Backup)
	if err != nil {
		return Set{}, err
	}
	if err := m.dumpDatabases(ctx, p, m.twentyDatabase(in), dir, &man); err != nil {
		return Set{}, err
	}
	if err := m.dumpFiles(ctx, in, dir, &man); err != nil {
		return Set{}, err
	}
	if err := m.copyConfig(in, dir, &man); err != nil {
		return Set{}, err
	}
	if err := m.hashed(&man); err != nil {
		return Set{}, err
	}
	man.Duration = m.now().Sub(start).Seconds()
	if err := writeManifest(dir, man); err != nil {
		return Set{}, err
	}
	set := Set{ID: id, Dir: dir, Manifest: man}
	if lvl := m.cfg.Backup.Verify; lvl != "none" {
		if err := m.verifyDir(ctx, p, dir, man, lvl, false); err != nil {
			return Set{}, fmt.Errorf("verification (%s) failed: %w", lvl, err)
		}
		set.Manifest.Verification = Verification{Level: lvl, PassedAt: m.now().UTC().Truncate(time.Second)}
	}
	set.Manifest.Duration = m.now().Sub(start).Seconds()
	if err := writeManifest(dir, set.Manifest); err != nil {
		return Set{}, err
	}
	for _, f := range man.Files {
		set.Size += f.Size
	}
	return set, nil
}

// dumpDatabases writes the dumps and records versions and row counts.
func (m *Manager) dumpDatabases(ctx context.Context, p pg, twentyDB, dir string, man *Manifest) error {
	sv, _, err := p.serverVersion(ctx)
	if err != nil {
		return err
	}
	tool := "pg_dump"
	if man.Format == "plain" {
		tool = "pg_dumpall"
	}
	dv, err := p.toolVersion(ctx, tool)
	if err != nil {
		return err
	}
	man.Postgres = PostgresInfo{ServerVersion: sv, PgDumpVersion: dv}
	dbs, err := p.databases(ctx)
	if err != nil {
		return err
	}
	if twentyDB != "" && !slices.Contains(dbs, twentyDB) {
		return fmt.Errorf("the database %q Twenty uses is not on the server the backup reads (it has %s): check backup.database and backup.database_url", twentyDB, strings.Join(dbs, ", "))
	}
	// Row counts run beside the dumps: the writers are stopped, so both see
	// the same data, and the counting is hidden behind the dump's time.
	counted := make(chan error, 1)
	counts := make([]map[string]int64, len(dbs))
	go func() {
		for i, db := range dbs {
			c, err := p.rowCounts(ctx, db)
			if err != nil {
				counted <- err
				return
			}
			counts[i] = c
		}
		counted <- nil
	}()
	ds := dumps(p, man.Format, dbs)
	for _, db := range dbs {
		man.Databases = append(man.Databases, Database{Name: db})
	}
	for _, d := range ds { // one per database, beside the counting
		if d.db == "" {
			continue
		}
		m.log.Info("dumping database", "database", d.db)
		if err := m.writeFile(dir, d.file, d.what, man, func(w io.Writer) error { return p.stream(ctx, d.cmd, nil, w) }); err != nil {
			<-counted
			return fmt.Errorf("dump database %s: %w", d.db, err)
		}
		man.Databases[slices.Index(dbs, d.db)].File = d.file
	}
	if err := <-counted; err != nil {
		return err
	}
	for i := range man.Databases {
		man.Databases[i].RowCounts = counts[i]
	}
	for _, d := range ds { // the whole server: pg_dumpall, or its globals
		if d.db != "" {
			continue
		}
		if man.Format == "plain" {
			m.log.Info("dumping every database with pg_dumpall", "databases", len(dbs))
		}
		if err := m.writeFile(dir, d.file, d.what, man, func(w io.Writer) error { return p.stream(ctx, d.cmd, nil, w) }); err != nil {
			return err
		}
	}
	return nil
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

// dumpFiles archives the uploaded files.
func (m *Manager) dumpFiles(ctx context.Context, in *install.Install, dir string, man *Manifest) error {
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
	return m.writeFile(dir, "files.tar", "archive files", man, func(w io.Writer) error { return archiveTree(root, w) })
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
func (m *Manager) copyConfig(in *install.Install, dir string, man *Manifest) error {
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
		err = m.writeFile(dir, c.name, "copy "+c.name, man, func(w io.Writer) error { _, err := io.Copy(w, f); return err })
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
