package scenarios

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox"
)

// Setup is one daemon's folders and config for a sandbox stack.
type Setup struct {
	Root      string // everything below lives here
	StateDir  string
	BackupDir string
	Config    string // config.toml
	TokenFile string // the API bearer token
	Token     string
	Listen    string // 127.0.0.1:port of the daemon's HTTP
	// NotifyFile is notify.urls_file (ConfigOptions.Notify), "" without.
	NotifyFile string
}

// ConfigOptions are the knobs the scenarios turn; the rest is fixed for a
// quick sandbox (short health gate, long check interval so checks happen
// when a scenario asks for them).
type ConfigOptions struct {
	Schedule        string // window cron; "" means always open ("* * * * *" for 1h)
	Duration        string // window duration; "" means "1h"
	RequireApproval bool
	Track           string // "" means the default (minor)
	CheckInterval   string // "" means "1h"
	StableFor       string // health.stable_for; "" means "3s"
	Notify          *NotifyOptions
}

// NotifyOptions are the [notify] table: URLs go into a urls_file (0600)
// beside the config.
type NotifyOptions struct {
	URLs    []string
	Events  []string // nil: the default
	Timeout string   // "" means the default
}

// NewSetup writes a config for stack s under root (created), with a fresh
// state folder, backup folder, API token and a free port.
func NewSetup(s *sandbox.Stack, root string, o ConfigOptions) (*Setup, error) {
	port, err := sandbox.FreePort()
	if err != nil {
		return nil, err
	}
	su := &Setup{Root: root, StateDir: filepath.Join(root, "state"), BackupDir: filepath.Join(root, "backups"),
		Config: filepath.Join(root, "config.toml"), TokenFile: filepath.Join(root, "api-token"),
		Listen: "127.0.0.1:" + strconv.Itoa(port)}
	su.Token = randomToken()
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(su.TokenFile, []byte(su.Token+"\n"), 0o600); err != nil {
		return nil, err
	}
	if o.Notify != nil {
		su.NotifyFile = filepath.Join(root, "notify-urls")
		if err := os.WriteFile(su.NotifyFile, []byte(strings.Join(o.Notify.URLs, "\n")+"\n"), 0o600); err != nil {
			return nil, err
		}
	}
	cfg := su.render(s, o)
	if err := os.WriteFile(su.Config, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	return su, nil
}

func (su *Setup) render(s *sandbox.Stack, o ConfigOptions) string {
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	window := fmt.Sprintf("\n[window]\nschedule = %q\nduration = %q\nrequire_approval = %t\n",
		or(o.Schedule, "* * * * *"), or(o.Duration, "1h"), o.RequireApproval)
	if n := o.Notify; n != nil {
		window += fmt.Sprintf("\n[notify]\nurls_file = %q\n", su.NotifyFile)
		if n.Events != nil {
			q := make([]string, len(n.Events))
			for i, e := range n.Events {
				q[i] = strconv.Quote(e)
			}
			window += "events = [" + strings.Join(q, ", ") + "]\n"
		}
		if n.Timeout != "" {
			window += fmt.Sprintf("timeout = %q\n", n.Timeout)
		}
	}
	cfg := s.ConfigTOML(su.StateDir, su.BackupDir, su.Listen, window)
	// Keys for tables ConfigTOML already wrote go right after their header.
	release := fmt.Sprintf("[release]\ncheck_interval = %q\n", or(o.CheckInterval, "1h"))
	if o.Track != "" {
		release += fmt.Sprintf("track = %q\n", o.Track)
	}
	cfg = strings.Replace(cfg, "[release]\n", release, 1)
	cfg = strings.Replace(cfg, "[health]\n", fmt.Sprintf("[health]\ntimeout = \"90s\"\nstable_for = %q\ninterval = \"1s\"\n", or(o.StableFor, "3s")), 1)
	cfg = strings.Replace(cfg, "[daemon]\n", fmt.Sprintf("[daemon]\napi_token_file = %q\nstop_grace = \"20s\"\n", su.TokenFile), 1)
	return cfg
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// BuildBinary builds cmd/twenty-upgraded into dir and returns its path.
func BuildBinary(ctx context.Context, dir string) (string, error) {
	return buildStatic(ctx, dir, "./cmd/twenty-upgraded")
}

// buildStatic builds the package pkg of this repository, statically linked
// (it runs in the unit's sandbox and in containers), into dir.
func buildStatic(ctx context.Context, dir, pkg string) (string, error) {
	root, err := sandbox.RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w: %s", pkg, err, out)
	}
	return bin, nil
}

// CLI runs `bin --config cfg args...` and returns its combined output and
// exit code (-1 when it could not run or was killed).
func CLI(ctx context.Context, bin, cfg string, args ...string) (string, int) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--config", cfg}, args...)...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	return string(out) + err.Error(), -1
}
