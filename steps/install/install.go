// Package install is the one place that knows a Twenty install: it reads the
// compose file and the .env once, resolves the compose program once, reads
// what actually runs (containers, image IDs, APP_VERSION), and builds every
// docker, compose and git argv the daemon runs against the install. The
// steps, the backup, the health gate, the checker, the dry run and the
// manual-recovery text all go through it; nothing else builds those commands.
//
// What it believes about Twenty is in docs/twenty.md with its sources; what
// depends on the Twenty version is in internal/twenty.
package install

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/steps/envfile"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// Mode is how Twenty is installed.
type Mode string

// The two install modes (install.mode).
const (
	ModeCompose Mode = "compose" // Twenty's official docker-compose.yml and .env
	ModeSource  Mode = "source"  // a git checkout built on the host (the older manual guide)
)

// Secret names Twenty reads from .env. Their values are never kept beyond
// Open's reading, logged or written anywhere but the backup set.
var secretKeys = []string{"APP_SECRET", "ENCRYPTION_KEY", "FALLBACK_ENCRYPTION_KEY", "PG_DATABASE_PASSWORD"}

// Install is one Twenty install as read by Open.
type Install struct {
	Mode                  Mode
	Dir, EnvFile, File    string // install folder, .env, compose file ("" = compose's own lookup)
	Project               string
	Server, Worker, DBSvc string   // compose services
	Program               []string // compose program, e.g. ["docker", "compose"]
	ComposeVersion        string   // what `version --short` printed
	Spec                  Spec     // what the compose file and .env say
	Secrets               []string // secret keys set (non-empty) in .env; never their values
	timeouts              config.Timeouts
	r                     proc.Runner
}

// Open reads the install described by cfg: the .env, the compose program
// and (compose mode) the compose file as compose itself resolves it.
func Open(ctx context.Context, cfg config.Config, r proc.Runner) (*Install, error) {
	in := cfg.Install
	i := &Install{Mode: Mode(in.Mode), Dir: in.Dir, EnvFile: in.EnvFile, File: in.ComposeFile, Project: in.Project,
		Server: in.ServerService, Worker: in.WorkerService, DBSvc: in.DBService, timeouts: cfg.Timeouts, r: r}
	data, err := os.ReadFile(in.EnvFile)
	if err != nil {
		return nil, fmt.Errorf("read the install's .env: %w (check install.dir and install.env_file)", err)
	}
	env := envfile.All(data)
	for _, k := range secretKeys {
		if strings.TrimSpace(env[k]) != "" {
			i.Secrets = append(i.Secrets, k)
		}
	}
	if err := i.resolveCompose(ctx, in.ComposeCommand); err != nil {
		return nil, err
	}
	i.Spec = SpecFromEnv(env, in)
	if i.Mode == ModeCompose {
		res, err := r.Run(ctx, i.compose(time.Minute, "config", "--format", "json"))
		if err != nil {
			// The error carries compose's stderr, never the resolved file
			// (which holds the secrets).
			return nil, fmt.Errorf("read the compose file with %s config: %w", proc.Quote(i.Program), err)
		}
		if i.Spec, err = ReadSpec(res.Stdout, env, in); err != nil {
			return nil, err
		}
	}
	return i, nil
}

// HasSecret reports whether key is set (non-empty) in .env.
func (i *Install) HasSecret(key string) bool { return slices.Contains(i.Secrets, key) }

// resolveCompose picks the compose program: install.compose_command, or
// `docker compose` (v2), or `docker-compose` (v1). Compose mode needs v2:
// Twenty's compose file uses a top-level `name:` and
// `condition: service_completed_successfully`, which v1 cannot read, and
// Twenty's install.sh refuses Compose below 2 (docs/twenty.md). Source mode
// may use v1, which the older manual guide names.
func (i *Install) resolveCompose(ctx context.Context, configured []string) error {
	candidates := [][]string{{"docker", "compose"}, {"docker-compose"}}
	if len(configured) > 0 {
		candidates = [][]string{configured}
	}
	var tried []string
	for _, prog := range candidates {
		argv := append(slices.Clone(prog), "version", "--short")
		res, err := i.r.Run(ctx, proc.Cmd{Argv: argv, Timeout: 30 * time.Second})
		if err != nil {
			tried = append(tried, err.Error())
			continue
		}
		ver := strings.TrimPrefix(strings.TrimSpace(string(res.Stdout)), "v")
		if i.Mode == ModeCompose && strings.HasPrefix(ver, "1.") {
			tried = append(tried, fmt.Sprintf("%s is Compose %s", proc.Quote(prog), ver))
			continue
		}
		i.Program, i.ComposeVersion = prog, ver
		return nil
	}
	if i.Mode == ModeCompose {
		return fmt.Errorf("compose mode needs Docker Compose v2 (Twenty's docker-compose.yml uses a top-level name: and service_completed_successfully, which docker-compose v1 cannot read; Twenty's install.sh refuses v1): install Docker's compose plugin (Debian: apt-get install docker-compose-plugin, or Docker's docs) or set install.compose_command to a v2 program; tried: %s", strings.Join(tried, "; "))
	}
	return fmt.Errorf("no compose program found (tried %s): install Docker Compose or set install.compose_command", strings.Join(tried, "; "))
}

// ComposeArgs is the full compose argv for args, with the install's project,
// file, folder and .env always explicit, so a command does the same whatever
// folder the daemon runs in.
func (i *Install) ComposeArgs(args ...string) []string {
	argv := slices.Clone(i.Program)
	if i.Project != "" {
		argv = append(argv, "--project-name", i.Project)
	}
	if i.File != "" {
		argv = append(argv, "--file", i.File)
	}
	if i.Dir != "" {
		argv = append(argv, "--project-directory", i.Dir)
	}
	if i.EnvFile != "" && filepath.Clean(i.EnvFile) != filepath.Join(i.Dir, ".env") {
		argv = append(argv, "--env-file", i.EnvFile)
	}
	return append(argv, args...)
}

func (i *Install) compose(timeout time.Duration, args ...string) proc.Cmd {
	return proc.Cmd{Argv: i.ComposeArgs(args...), Dir: i.Dir, Timeout: timeout}
}

// ComposeFile is the compose file to copy into a backup set ("" when none is found).
func (i *Install) ComposeFile() string {
	if i.File != "" {
		return i.File
	}
	for _, n := range []string{"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"} {
		p := filepath.Join(i.Dir, n)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// readEnv reads every assignment of the .env as it is now.
func readEnv(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the install's .env: %w (check install.dir and install.env_file)", err)
	}
	return envfile.All(data), nil
}

// Offline is the install as the config alone describes it, without asking
// compose anything: for texts written when the install cannot be read (the
// manual recovery after a failure to reach Docker), and for Survey's
// fallback. r may be nil when nothing is run.
func Offline(cfg config.Config, r proc.Runner) *Install {
	in := cfg.Install
	i := &Install{Mode: Mode(in.Mode), Dir: in.Dir, EnvFile: in.EnvFile, File: in.ComposeFile, Project: in.Project,
		Server: in.ServerService, Worker: in.WorkerService, DBSvc: in.DBService, timeouts: cfg.Timeouts,
		Program: slices.Clone(in.ComposeCommand), r: r}
	if env, err := readEnv(in.EnvFile); err == nil {
		i.Spec = SpecFromEnv(env, in)
	}
	if len(i.Program) == 0 {
		i.Program = []string{"docker", "compose"}
	}
	return i
}
