package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/twenty-upgraded/twenty-upgraded/internal/atomicfile"
	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// checkRestore proves, before a restore changes anything, that it can
// write every target it was asked to: the database (it connects and checks
// the role may drop and recreate every database of the set), the uploaded
// files (a host folder: a file created and removed there; a volume: a dry
// run of the one-off container that creates and removes a file in it) and
// the .env (its folder takes a new file, as the atomic replace needs). So a
// restore never stops halfway for a reason it could have seen, leaving the
// database of one version beside the files of another. Every problem is
// reported, each naming its target and the fix.
func (m *Manager) checkRestore(ctx context.Context, r *restoreTo, set Set, opts RestoreOptions) error {
	// The three checks only read (the probe creates and removes a file of
	// its own), so they run side by side.
	var wg sync.WaitGroup
	var dbErr, filesErr, envErr error
	if opts.Database {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			r.p, err = m.first(ctx, r.p, func(p pg) error {
				var err error
				r.versionNum, err = m.checkDatabase(ctx, r.in, p, set.Manifest)
				return err
			})
			if err != nil {
				dbErr = fmt.Errorf("database: %w", err)
			}
		}()
	}
	if opts.Files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if r.files, err = m.restoreTarget(ctx, r.in, set); err != nil {
				filesErr = err
				return
			}
			if r.files.ok {
				if err := m.checkFilesTarget(ctx, r.in, r.files); err != nil {
					filesErr = fmt.Errorf("uploaded files: %w", err)
				}
			}
		}()
	}
	if opts.Env {
		if err := checkEnvWritable(r.in.EnvFile); err != nil {
			envErr = fmt.Errorf(".env: %w", err)
		}
	}
	wg.Wait()
	return errors.Join(dbErr, filesErr, envErr)
}

// privilegeSQL answers, for the connected role: its name, superuser,
// createdb, whether the server is a standby, whether it may end other
// sessions, the databases of the set it does not own (a comma list), and
// the server's version number (for the drops).
const privilegeSQL = `select r.rolname, r.rolsuper, r.rolcreatedb, pg_is_in_recovery(),
 pg_has_role(current_user, 'pg_signal_backend', 'MEMBER'),
 coalesce((select string_agg(d.datname, ',' order by d.datname) from pg_database d
   where d.datname in (%s) and not pg_has_role(current_user, d.datdba, 'MEMBER')), ''),
 current_setting('server_version_num')
from pg_roles r where r.rolname = current_user`

// checkDatabase connects and checks the role may do what the restore does:
// end the sessions of each database, drop it and create it again (and, for
// a plain pg_dumpall set, replay roles: a superuser's job). It returns the
// server's version number.
func (m *Manager) checkDatabase(ctx context.Context, in *install.Install, p pg, man Manifest) (int, error) {
	names := []string{"''"}
	for _, d := range man.Databases {
		names = append(names, quoteLiteral(d.Name))
	}
	rows, err := p.query(ctx, "postgres", fmt.Sprintf(privilegeSQL, strings.Join(names, ", ")))
	if err != nil {
		if p.in != nil {
			return 0, fmt.Errorf("cannot reach PostgreSQL in the %s service: %w (start it: %s)", in.DBSvc, err, proc.Quote(in.UpDB().Argv))
		}
		return 0, fmt.Errorf("cannot reach PostgreSQL at backup.database_url: %w", err)
	}
	if len(rows) != 1 || len(rows[0]) != 7 {
		return 0, fmt.Errorf("unexpected answer to the privilege check: %q", rows)
	}
	r := rows[0]
	role, super, createdb, standby, signal, notOwned := r[0], r[1] == "t", r[2] == "t", r[3] == "t", r[4] == "t", r[5]
	vnum, _ := strconv.Atoi(r[6])
	switch {
	case standby:
		return 0, errors.New("the server is a read-only standby (pg_is_in_recovery): restore into the primary")
	case super:
		return vnum, nil
	case man.Format == "plain":
		return 0, fmt.Errorf("role %s is not a superuser, and replaying a pg_dumpall set (all.sql) needs one: connect as the postgres superuser", role)
	case !createdb:
		return 0, fmt.Errorf("role %s may not create databases, and the restore drops and recreates each one: grant it CREATEDB or connect as a superuser", role)
	case notOwned != "":
		return 0, fmt.Errorf("role %s does not own %s, so it cannot drop them: connect as their owner or a superuser", role, notOwned)
	case !signal:
		return 0, fmt.Errorf("role %s may not end other sessions (pg_terminate_backend needs pg_signal_backend): grant it pg_signal_backend or connect as a superuser", role)
	}
	return vnum, nil
}

// checkFilesTarget proves the uploaded files can be written back.
func (m *Manager) checkFilesTarget(ctx context.Context, in *install.Install, t filesTarget) error {
	if t.loc.Volume == "" {
		if err := probeDir(t.loc.Dir); err != nil {
			return fmt.Errorf("cannot write %s: %w%s", t.loc.Dir, err, writeHint(err))
		}
		return nil
	}
	if err := m.runHelper(ctx, in, t.image, t.loc.Volume, nil, m.cfg.Timeouts.Command, "probe", volumePath); err != nil {
		return fmt.Errorf("the dry run of the one-off container that writes volume %s (image %s) failed: %w", t.loc.Volume, t.image, err)
	}
	return nil
}

// checkEnvWritable proves .env can be replaced the way atomicfile.Replace
// does it: the folder of the file, or of its final target when it is a
// symlink, takes a new file.
func checkEnvWritable(path string) error {
	target, err := atomicfile.Target(path)
	if err != nil {
		return err
	}
	if info, err := os.Stat(target); err == nil && !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", target)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	d := filepath.Dir(target)
	if err := probeDir(d); err != nil {
		return fmt.Errorf("cannot write %s: %w%s", d, err, writeHint(err))
	}
	return nil
}

// writeHint says what to do about a folder the daemon cannot write.
func writeHint(err error) string {
	switch {
	case errors.Is(err, syscall.EROFS):
		return " (read-only for this process: under the systemd unit, add the folder to ReadWritePaths= with `systemctl edit twenty-upgraded`)"
	case errors.Is(err, os.ErrPermission):
		return " (no permission: run as root, as the unit does)"
	}
	return ""
}
