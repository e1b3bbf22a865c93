package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
)

// install is the given install, or the one the config describes, read now.
func (m *Manager) install(ctx context.Context, given *install.Install) (*install.Install, error) {
	if given != nil {
		return given, nil
	}
	return install.Open(ctx, m.cfg, m.r)
}

// pgClient builds the client for backup.database.
func (m *Manager) pgClient(in *install.Install, timeout time.Duration) (pg, error) {
	p := pg{r: m.r, timeout: timeout, log: m.log}
	if m.cfg.Backup.Database == "url" {
		u, err := url.Parse(m.cfg.Backup.DatabaseURL)
		if err != nil {
			return p, fmt.Errorf("backup.database_url: %w", err)
		}
		p.url = u
		return p, nil
	}
	p.in, p.user = in, in.Spec.Database.User
	return p, nil
}

// twentyDatabase is the name of the database Twenty itself uses: the backup
// proves it is in the set.
func (m *Manager) twentyDatabase(in *install.Install) string {
	if m.cfg.Backup.Database == "url" {
		if u, err := url.Parse(m.cfg.Backup.DatabaseURL); err == nil && strings.Trim(u.Path, "/") != "" {
			return strings.Trim(u.Path, "/")
		}
	}
	return in.Spec.Database.Name
}

// s3Note is what a set of an install with STORAGE_TYPE=s3 says of its files.
const s3Note = "uploaded files are in S3 (STORAGE_TYPE=s3): not in this backup"

// filesRoot resolves backup.files to a host folder (for a volume, its
// mountpoint, which the backup reads).
func (m *Manager) filesRoot(ctx context.Context, in *install.Install) (root, label string, ok bool, err error) {
	loc, ok, err := m.filesLocation(ctx, in)
	return loc.Dir, loc.Label, ok, err
}

// filesLocation resolves backup.files. ok is false when there is nothing
// to back up: "none", files in S3 (STORAGE_TYPE=s3, said in the manifest),
// or the default location does not exist. An explicitly configured
// location that is missing is an error.
func (m *Manager) filesLocation(ctx context.Context, in *install.Install) (filesLoc, bool, error) {
	name := m.cfg.Backup.Files
	if name == "none" || (name == "" && in.Spec.S3()) {
		return filesLoc{}, false, nil
	}
	explicit := name != ""
	if in.Mode == install.ModeSource || filepath.IsAbs(name) {
		if name == "" {
			name = filepath.Join(in.Dir, "packages", "twenty-server", ".local-storage")
		}
		if _, err := os.Stat(name); errors.Is(err, fs.ErrNotExist) && !explicit {
			m.log.Warn("no uploaded-files folder; files not backed up", "path", name)
			return filesLoc{}, false, nil
		} else if err != nil {
			return filesLoc{}, false, fmt.Errorf("backup.files %s: %w", name, err)
		}
		return filesLoc{Dir: name, Label: name}, true, nil
	}
	if name == "" {
		name = in.Spec.FilesVolume
	}
	if name == "" {
		m.log.Warn("the server mounts no uploaded-files volume; files not backed up")
		return filesLoc{}, false, nil
	}
	res, err := m.r.Run(ctx, in.VolumeMountpoint(name))
	if err != nil {
		if !explicit {
			m.log.Warn("no uploaded-files volume; files not backed up", "volume", name, "err", err)
			return filesLoc{}, false, nil
		}
		return filesLoc{}, false, fmt.Errorf("backup.files volume %s: %w (set backup.files to the volume name, or \"none\" when files are on S3)", name, err)
	}
	root := strings.TrimSpace(string(res.Stdout))
	if root == "" || !filepath.IsAbs(root) {
		return filesLoc{}, false, fmt.Errorf("volume %s has no host mountpoint (%q); set backup.files to a path", name, root)
	}
	return filesLoc{Dir: root, Volume: name, Label: name}, true, nil
}

// Writers returns the writer services (server, worker) that run now.
func (m *Manager) Writers(ctx context.Context) ([]string, error) {
	in, err := m.install(ctx, nil)
	if err != nil {
		return nil, err
	}
	var running []string
	for _, s := range []string{in.Server, in.Worker} {
		id, err := in.ContainerID(ctx, s)
		if err != nil {
			return nil, err
		}
		if id != "" {
			running = append(running, s)
		}
	}
	return running, nil
}

// StopWriters stops server and worker (db and redis stay up).
func (m *Manager) StopWriters(ctx context.Context) error {
	in, err := m.install(ctx, nil)
	if err != nil {
		return err
	}
	return m.stopWriters(ctx, in)
}

func (m *Manager) stopWriters(ctx context.Context, in *install.Install) error {
	m.log.Info("stopping writers", "services", []string{in.Server, in.Worker})
	if _, err := m.r.Run(ctx, in.StopWriters()); err != nil {
		return fmt.Errorf("stop writers: %w", err)
	}
	return nil
}

// StartWriters brings services up again (`up -d`, so a restored .env applies).
func (m *Manager) StartWriters(ctx context.Context, services []string) error {
	if len(services) == 0 {
		return nil
	}
	in, err := m.install(ctx, nil)
	if err != nil {
		return err
	}
	m.log.Info("starting writers", "services", services)
	if _, err := m.r.Run(ctx, in.UpServices(services...)); err != nil {
		return fmt.Errorf("start writers: %w", err)
	}
	return nil
}

// gitCommit reads HEAD of a source checkout.
func (m *Manager) gitCommit(ctx context.Context, in *install.Install) (string, error) {
	res, err := m.r.Run(ctx, in.Git("rev-parse", "HEAD"))
	if err != nil {
		return "", fmt.Errorf("record the commit: %w", err)
	}
	return strings.TrimSpace(string(res.Stdout)), nil
}
