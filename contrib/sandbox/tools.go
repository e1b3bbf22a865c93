package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// Tool versions; mk/deps.mk builds the same ones.
const (
	ComposeV2Version = "v2.40.3"
	RegistryVersion  = "v3.1.2"
)

// Compose flavours a stack can run under.
const (
	ComposeV1 = "v1" // Debian's docker-compose 1.29
	ComposeV2 = "v2" // the docker compose plugin, built from the Go module proxy
)

var runner = proc.Exec{KillGrace: 5 * time.Second}

// run runs argv and returns its stdout; the error names the command and
// carries its stderr.
func run(ctx context.Context, c proc.Cmd) ([]byte, error) {
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Minute
	}
	res, err := runner.Run(ctx, c)
	return res.Stdout, err
}

func runArgv(ctx context.Context, argv ...string) ([]byte, error) {
	return run(ctx, proc.Cmd{Argv: argv})
}

// RepoRoot is the folder of the twenty-upgraded module.
func RepoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if ok {
		root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			return root, nil
		}
	}
	out, err := runArgv(context.Background(), "go", "env", "GOMOD")
	if gomod := strings.TrimSpace(string(out)); err == nil && gomod != "" && gomod != os.DevNull {
		return filepath.Dir(gomod), nil
	}
	return "", errors.New("cannot find the twenty-upgraded source tree: run from inside it")
}

// ToolsDir is where tools are cached, keyed by version (TOOLS_DIR in the Makefile).
func ToolsDir() string {
	if d := os.Getenv("TOOLS_DIR"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "twenty-upgraded-tools")
}

// RegistryBin is the cached distribution registry binary.
func RegistryBin() string {
	return filepath.Join(ToolsDir(), "registry-"+RegistryVersion, "registry")
}

// ComposeV2Bin is the cached compose v2 binary (also the docker CLI plugin).
func ComposeV2Bin() string {
	return filepath.Join(ToolsDir(), "compose-"+ComposeV2Version, "docker-compose")
}

var toolsOnce struct {
	sync.Once
	err error
}

// ensureTools builds the registry and compose v2 with `make sandbox-tools`
// when they are missing (minutes, once per machine).
func ensureTools(ctx context.Context) error {
	toolsOnce.Do(func() {
		if fileExists(RegistryBin()) && fileExists(ComposeV2Bin()) {
			return
		}
		root, err := RepoRoot()
		if err != nil {
			toolsOnce.err = err
			return
		}
		if _, err := run(ctx, proc.Cmd{Argv: []string{"make", "-s", "-C", root, "sandbox-tools"}, Timeout: 20 * time.Minute}); err != nil {
			toolsOnce.err = fmt.Errorf("build sandbox tools (make sandbox-tools): %w", err)
		}
	})
	return toolsOnce.err
}

// ComposeCommand returns the argv prefix for a compose flavour: v2 through
// the docker CLI plugin when installed, else the cached binary directly.
func ComposeCommand(ctx context.Context, flavour string) ([]string, error) {
	switch flavour {
	case ComposeV1:
		out, err := runArgv(ctx, "docker-compose", "version", "--short")
		if err != nil || !strings.HasPrefix(strings.TrimSpace(string(out)), "1.") {
			return nil, fmt.Errorf("docker-compose v1 not found (apt-get install docker-compose): %v", err)
		}
		return []string{"docker-compose"}, nil
	case ComposeV2, "":
		out, err := runArgv(ctx, "docker", "compose", "version", "--short")
		if err == nil && strings.HasPrefix(strings.TrimPrefix(strings.TrimSpace(string(out)), "v"), "2.") {
			return []string{"docker", "compose"}, nil
		}
		if fileExists(ComposeV2Bin()) {
			return []string{ComposeV2Bin()}, nil
		}
		return nil, errors.New("docker compose v2 not found: run `make sandbox-tools`")
	}
	return nil, fmt.Errorf("unknown compose flavour %q (want %q or %q)", flavour, ComposeV1, ComposeV2)
}

var availability struct {
	sync.Once
	reason string
}

// Available returns "" when the sandbox can run here, else why not (tests
// skip with that reason).
func Available() string {
	availability.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := runArgv(ctx, "docker", "info", "--format", "{{.ServerVersion}}"); err != nil {
			availability.reason = fmt.Sprintf("docker engine not usable: %v", err)
			return
		}
		if !fileExists("/usr/lib/postgresql/15/bin/postgres") {
			availability.reason = "PostgreSQL 15 is not installed on the host (the db image is assembled from it): apt-get install postgresql-15"
		}
	})
	return availability.reason
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// withLock holds an exclusive flock on path while f runs, so parallel test
// processes build shared images once.
func withLock(path string, f func() error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create lock folder: %w", err)
	}
	fd, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("open lock %s: %w", path, err)
	}
	defer fd.Close()
	if err := syscall.Flock(int(fd.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", path, err)
	}
	defer syscall.Flock(int(fd.Fd()), syscall.LOCK_UN)
	return f()
}
