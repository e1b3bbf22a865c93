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

	"github.com/twenty-upgraded/twenty-upgraded/steps/compose"
	"github.com/twenty-upgraded/twenty-upgraded/steps/envfile"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// composeFor detects the install's compose program.
func (m *Manager) composeFor(ctx context.Context) (*compose.Compose, error) {
	c, err := compose.Detect(ctx, m.r, m.cfg.Install)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// pgClient builds the client for backup.database.
func (m *Manager) pgClient(ctx context.Context, timeout time.Duration) (pg, error) {
	p := pg{r: m.r, timeout: timeout, log: m.log}
	if m.cfg.Backup.Database == "url" {
		u, err := url.Parse(m.cfg.Backup.DatabaseURL)
		if err != nil {
			return p, fmt.Errorf("backup.database_url: %w", err)
		}
		p.url = u
		return p, nil
	}
	c, err := m.composeFor(ctx)
	if err != nil {
		return p, err
	}
	p.compose, p.service, p.user = c, m.cfg.Install.DBService, "postgres"
	if u, ok, err := envfile.GetFile(m.cfg.Install.EnvFile, "PG_DATABASE_USER"); err == nil && ok && u != "" {
		p.user = u
	}
	return p, nil
}

// filesRoot resolves backup.files to a host folder. ok is false when there
// is nothing to back up: "none", or the default location does not exist
// (STORAGE_TYPE=s3 installs have no volume). An explicitly configured
// location that is missing is an error.
func (m *Manager) filesRoot(ctx context.Context) (root, label string, ok bool, err error) {
	name := m.cfg.Backup.Files
	if name == "none" {
		return "", "", false, nil
	}
	explicit := name != ""
	if m.cfg.Install.Mode == "source" || filepath.IsAbs(name) {
		if name == "" {
			name = filepath.Join(m.cfg.Install.Dir, "packages", "twenty-server", ".local-storage")
		}
		if _, err := os.Stat(name); errors.Is(err, fs.ErrNotExist) && !explicit {
			m.log.Warn("no uploaded-files folder; files not backed up", "path", name)
			return "", "", false, nil
		} else if err != nil {
			return "", "", false, fmt.Errorf("backup.files %s: %w", name, err)
		}
		return name, name, true, nil
	}
	if name == "" {
		name = m.cfg.Install.Project + "_server-local-data"
	}
	res, err := m.r.Run(ctx, proc.Cmd{Argv: []string{"docker", "volume", "inspect", "--format", "{{.Mountpoint}}", name}, Timeout: time.Minute})
	if err != nil {
		if !explicit {
			m.log.Warn("no uploaded-files volume; files not backed up", "volume", name, "err", err)
			return "", "", false, nil
		}
		return "", "", false, fmt.Errorf("backup.files volume %s: %w (set backup.files to the volume name, or \"none\" when files are on S3)", name, err)
	}
	root = strings.TrimSpace(string(res.Stdout))
	if root == "" || !filepath.IsAbs(root) {
		return "", "", false, fmt.Errorf("volume %s has no host mountpoint (%q); set backup.files to a path", name, root)
	}
	return root, name, true, nil
}

// composeFile finds the install's compose file to copy into the set.
func (m *Manager) composeFile() string {
	if m.cfg.Install.ComposeFile != "" {
		return m.cfg.Install.ComposeFile
	}
	for _, n := range []string{"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"} {
		p := filepath.Join(m.cfg.Install.Dir, n)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Writers returns the writer services (server, worker) that run now.
func (m *Manager) Writers(ctx context.Context) ([]string, error) {
	c, err := m.composeFor(ctx)
	if err != nil {
		return nil, err
	}
	var running []string
	for _, s := range []string{m.cfg.Install.ServerService, m.cfg.Install.WorkerService} {
		id, err := c.ContainerID(ctx, m.r, s)
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
	c, err := m.composeFor(ctx)
	if err != nil {
		return err
	}
	m.log.Info("stopping writers", "services", []string{m.cfg.Install.ServerService, m.cfg.Install.WorkerService})
	if _, err := m.r.Run(ctx, c.Cmd(m.cfg.Timeouts.Stop, "stop", m.cfg.Install.ServerService, m.cfg.Install.WorkerService)); err != nil {
		return fmt.Errorf("stop writers: %w", err)
	}
	return nil
}

// StartWriters brings services up again (`up -d`, so a restored .env applies).
func (m *Manager) StartWriters(ctx context.Context, services []string) error {
	if len(services) == 0 {
		return nil
	}
	c, err := m.composeFor(ctx)
	if err != nil {
		return err
	}
	m.log.Info("starting writers", "services", services)
	if _, err := m.r.Run(ctx, c.Cmd(m.cfg.Timeouts.Start, append([]string{"up", "-d"}, services...)...)); err != nil {
		return fmt.Errorf("start writers: %w", err)
	}
	return nil
}

// gitCommit reads HEAD of a source checkout.
func (m *Manager) gitCommit(ctx context.Context) (string, error) {
	res, err := m.r.Run(ctx, proc.Cmd{Argv: []string{"git", "-C", m.cfg.Install.Dir, "rev-parse", "HEAD"}, Timeout: time.Minute})
	if err != nil {
		return "", fmt.Errorf("record the commit: %w", err)
	}
	return strings.TrimSpace(string(res.Stdout)), nil
}
