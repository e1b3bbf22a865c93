package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox"
	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox/unitbox"
)

// The packaged layout: what the unit and the config's defaults name.
const (
	BoxInstall = "/opt/twenty"
	BoxState   = "/var/lib/twenty-upgraded"
	BoxCache   = "/var/cache/twenty-upgraded"
	BoxBackups = "/var/backups/twenty-upgraded"
	BoxEtc     = "/etc/twenty-upgraded"
	// BoxBin holds the daemon and compose inside the box (the cache folder:
	// /usr/bin would need a mount point on the host).
	BoxBin = BoxCache + "/bin"
)

// Box runs the real binary under packaging/systemd/twenty-upgraded.service's
// own sandbox (contrib/sandbox/unitbox) in a private mount namespace, with
// the stack and the test's folders laid out where the package puts them:
// the install at /opt/twenty, state, cache and backups in /var, the config
// in /etc/twenty-upgraded. Mount points missing on the host are created
// (empty, as systemd and the package would) and removed again by Close.
// One box at a time per machine (an flock in the tools folder): removing a
// mount point detaches another namespace's mount on it, so two test
// processes sharing /opt/twenty would break each other.
type Box struct {
	Unitbox string // the unitbox binary
	Unit    string // the unit file it follows
	Setup   *Setup // host paths (StateDir, BackupDir) for the test to read
	binds   [][2]string
	created []string
	lock    *os.File
}

// BuildUnitbox builds contrib/sandbox/cmd/unitbox into dir.
func BuildUnitbox(ctx context.Context, dir string) (string, error) {
	return buildStatic(ctx, dir, "./contrib/sandbox/cmd/unitbox")
}

// NewBox lays out root for stack s and the daemon binary bin, writes the
// config (packaged paths) and returns the box. Close it.
func NewBox(s *sandbox.Stack, root, bin, unitboxBin string, o ConfigOptions) (*Box, error) {
	root, _ = filepath.Abs(root)
	repo, err := sandbox.RepoRoot()
	if err != nil {
		return nil, err
	}
	b := &Box{Unitbox: unitboxBin, Unit: filepath.Join(repo, "packaging", "systemd", "twenty-upgraded.service")}
	dirs := map[string]string{"state": BoxState, "cache": BoxCache, "backups": BoxBackups, "etc": BoxEtc}
	for name, target := range dirs {
		mode := os.FileMode(0o700)
		if name == "etc" {
			mode = 0o755
		}
		if err := os.MkdirAll(filepath.Join(root, name), mode); err != nil {
			return nil, err
		}
		b.binds = append(b.binds, [2]string{filepath.Join(root, name), target})
	}
	b.binds = append(b.binds, [2]string{s.Dir, BoxInstall})
	if err := os.MkdirAll(filepath.Join(root, "cache", "bin"), 0o755); err != nil {
		return nil, err
	}
	for src, name := range map[string]string{bin: "twenty-upgraded", sandbox.ComposeV2Bin(): "docker-compose"} {
		if err := copyExecutable(src, filepath.Join(root, "cache", "bin", name)); err != nil {
			return nil, err
		}
	}
	su, err := b.writeConfig(s, root, o)
	if err != nil {
		return nil, err
	}
	b.Setup = su
	if b.lock, err = lockLayout(); err != nil {
		return nil, err
	}
	return b, b.mountPoints()
}

func lockLayout() (*os.File, error) {
	if err := os.MkdirAll(sandbox.ToolsDir(), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(sandbox.ToolsDir(), "unitbox-layout.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock the packaged layout: %w", err)
	}
	return f, nil
}

func (b *Box) writeConfig(s *sandbox.Stack, root string, o ConfigOptions) (*Setup, error) {
	port, err := sandbox.FreePort()
	if err != nil {
		return nil, err
	}
	token := randomToken()
	// Rendered with the paths the daemon sees; the host paths come after.
	su := &Setup{Root: root, StateDir: BoxState, BackupDir: BoxBackups, TokenFile: BoxEtc + "/api-token",
		Token: token, Listen: "127.0.0.1:" + strconv.Itoa(port)}
	cfg := su.render(s, o)
	q := strconv.Quote
	cfg = strings.Replace(cfg, "dir = "+q(s.Dir)+"\n", "dir = "+q(BoxInstall)+"\n", 1)
	cfg = regexp.MustCompile(`(?m)^compose_command = .*$`).ReplaceAllString(cfg, "compose_command = ["+q(BoxBin+"/docker-compose")+"]")
	if s.APIKeyFile != "" {
		key, err := os.ReadFile(s.APIKeyFile)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(root, "etc", "api-key"), key, 0o600); err != nil {
			return nil, err
		}
		cfg = strings.Replace(cfg, "api_key_file = "+q(s.APIKeyFile), "api_key_file = "+q(BoxEtc+"/api-key"), 1)
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "api-token"), []byte(token+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "config.toml"), []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	su.StateDir, su.BackupDir = filepath.Join(root, "state"), filepath.Join(root, "backups")
	su.Config, su.TokenFile = filepath.Join(root, "etc", "config.toml"), filepath.Join(root, "etc", "api-token")
	return su, nil
}

// mountPoints creates the layout's mount points that the host lacks.
func (b *Box) mountPoints() error {
	for _, bd := range b.binds {
		target := bd[1]
		if _, err := os.Stat(target); err == nil {
			continue
		}
		// Create from the top so each created level can be removed again.
		var missing []string
		for d := target; d != "/"; d = filepath.Dir(d) {
			if _, err := os.Stat(d); err == nil {
				break
			}
			missing = append([]string{d}, missing...)
		}
		for _, d := range missing {
			if err := os.Mkdir(d, 0o755); err != nil {
				return fmt.Errorf("create the mount point %s: %w", d, err)
			}
			b.created = append(b.created, d)
		}
	}
	return nil
}

// Close removes the mount points it created (only while they are empty:
// nothing is ever written to them on the host).
func (b *Box) Close() error {
	var errs []error
	for i := len(b.created) - 1; i >= 0; i-- {
		if err := syscall.Rmdir(b.created[i]); err != nil {
			errs = append(errs, fmt.Errorf("remove the mount point %s: %w", b.created[i], err))
		}
	}
	b.created = nil
	if b.lock != nil {
		errs = append(errs, b.lock.Close()) // closing releases the flock
		b.lock = nil
	}
	return errors.Join(errs...)
}

// Sandbox is the unit's sandbox as the box applies it.
func (b *Box) Sandbox() (unitbox.Sandbox, error) {
	f, err := os.Open(b.Unit)
	if err != nil {
		return unitbox.Sandbox{}, err
	}
	defer f.Close()
	u, err := unitbox.Parse(f, b.Unit)
	if err != nil {
		return unitbox.Sandbox{}, err
	}
	return u.Sandbox()
}

// NotifySocket is the notify socket's path on the host and in the box.
func (b *Box) NotifySocket() (host, inside string) {
	return filepath.Join(b.Setup.StateDir, "notify.sock"), BoxState + "/notify.sock"
}

// Command is `twenty-upgraded --config /etc/twenty-upgraded/config.toml
// args...` under the unit's sandbox. env is added after the unit's
// Environment=; the process gets nothing else from the caller's.
func (b *Box) Command(env []string, args ...string) *exec.Cmd {
	return b.Program(env, BoxBin+"/twenty-upgraded", append([]string{"--config", BoxEtc + "/config.toml"}, args...)...)
}

// Program runs any program (an absolute path as the box sees it) under the
// unit's sandbox, in a new mount namespace (what `unshare --mount
// --propagation private` does).
func (b *Box) Program(env []string, program string, args ...string) *exec.Cmd {
	argv := []string{"-unit", b.Unit}
	for _, bd := range b.binds {
		argv = append(argv, "-bind", bd[0]+":"+bd[1])
	}
	for _, kv := range env {
		argv = append(argv, "-env", kv)
	}
	argv = append(append(argv, "--", program), args...)
	cmd := exec.Command(b.Unitbox, argv...)
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	return cmd
}

// CLI runs a command in the box and returns its combined output and exit code.
func (b *Box) CLI(env []string, args ...string) (string, int) {
	cmd := b.Command(env, args...)
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

func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
