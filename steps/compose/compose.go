// Package compose builds the argv of the install's compose program and reads
// the version of Twenty that is installed.
//
// Twenty's own guides use both `docker compose` (v2, the compose guide) and
// `docker-compose` (v1, the older source guide), so both are supported:
// configured explicitly with install.compose_command, or detected.
package compose

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// Compose is a resolved compose program plus the install's project flags.
type Compose struct {
	Program []string // e.g. ["docker", "compose"] or ["docker-compose"]
	Project string
	Dir     string // project folder; commands run here
	File    string // compose file ("" = compose's own lookup in Dir)
	EnvFile string // the install's .env
}

// Detect resolves the compose program: install.compose_command when set,
// otherwise `docker compose` when `docker compose version` works, else
// `docker-compose`.
func Detect(ctx context.Context, r proc.Runner, in config.Install) (Compose, error) {
	c := Compose{Project: in.Project, Dir: in.Dir, File: in.ComposeFile, EnvFile: in.EnvFile}
	if len(in.ComposeCommand) > 0 {
		c.Program = append([]string(nil), in.ComposeCommand...)
		return c, nil
	}
	var tried []string
	for _, prog := range [][]string{{"docker", "compose"}, {"docker-compose"}} {
		argv := append(append([]string(nil), prog...), "version")
		if _, err := r.Run(ctx, proc.Cmd{Argv: argv, Timeout: 30 * time.Second}); err == nil {
			c.Program = prog
			return c, nil
		} else {
			tried = append(tried, err.Error())
		}
	}
	return c, fmt.Errorf("no compose program found (tried docker compose and docker-compose: %s); install one or set install.compose_command", strings.Join(tried, "; "))
}

// Args returns the full argv: program, project flags, then args.
func (c Compose) Args(args ...string) []string {
	argv := append([]string(nil), c.Program...)
	if c.Project != "" {
		argv = append(argv, "--project-name", c.Project)
	}
	if c.File != "" {
		argv = append(argv, "--file", c.File)
	}
	if c.Dir != "" {
		argv = append(argv, "--project-directory", c.Dir)
	}
	if c.EnvFile != "" && filepath.Clean(c.EnvFile) != filepath.Join(c.Dir, ".env") {
		argv = append(argv, "--env-file", c.EnvFile)
	}
	return append(argv, args...)
}

// Cmd returns a proc.Cmd running compose args in the project folder.
func (c Compose) Cmd(timeout time.Duration, args ...string) proc.Cmd {
	return proc.Cmd{Argv: c.Args(args...), Dir: c.Dir, Timeout: timeout}
}

// ContainerID returns the ID of the running container of service ("" when
// none runs).
func (c Compose) ContainerID(ctx context.Context, r proc.Runner, service string) (string, error) {
	res, err := r.Run(ctx, c.Cmd(time.Minute, "ps", "-q", service))
	if err != nil {
		return "", fmt.Errorf("find the %s container: %w", service, err)
	}
	id := strings.TrimSpace(string(res.Stdout))
	if i := strings.IndexByte(id, '\n'); i >= 0 {
		id = id[:i]
	}
	return id, nil
}
