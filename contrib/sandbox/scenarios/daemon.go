package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/daemon"
)

// Daemon is one `twenty-upgraded run` process.
type Daemon struct {
	Setup *Setup
	cmd   *exec.Cmd
	done  chan struct{}
	err   error // Wait's result, once done is closed
}

// StartDaemon runs `bin --config setup.Config run` with NOTIFY_SOCKET set to
// notifySocket (when not ""), its output appended to log, and extra
// environment (e.g. fault injection). It returns once the process started;
// use WaitReady for the HTTP API.
func StartDaemon(bin string, setup *Setup, notifySocket string, log io.Writer, env ...string) (*Daemon, error) {
	cmd := exec.Command(bin, "--config", setup.Config, "run")
	cmd.Env = append(os.Environ(), env...)
	if notifySocket != "" {
		cmd.Env = append(cmd.Env, "NOTIFY_SOCKET="+notifySocket)
	}
	return StartDaemonCmd(cmd, setup, log)
}

// StartDaemonCmd starts a prepared `run` command (a Box's), its output
// appended to log.
func StartDaemonCmd(cmd *exec.Cmd, setup *Setup, log io.Writer) (*Daemon, error) {
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start daemon: %w", err)
	}
	d := &Daemon{Setup: setup, cmd: cmd, done: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		close(d.done)
	}()
	return d, nil
}

// Pid is the daemon's process id.
func (d *Daemon) Pid() int { return d.cmd.Process.Pid }

// Signal sends sig (SIGUSR1: check now, SIGHUP: reload).
func (d *Daemon) Signal(sig syscall.Signal) error { return d.cmd.Process.Signal(sig) }

// Exited is closed when the process has ended.
func (d *Daemon) Exited() <-chan struct{} { return d.done }

// ExitCode is the exit status once Exited is closed (-1 when killed by a signal).
func (d *Daemon) ExitCode() int { return d.cmd.ProcessState.ExitCode() }

// Kill is `kill -9`: the daemon gets no chance to clean up.
func (d *Daemon) Kill() {
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
}

// Stop is `systemctl stop`: SIGTERM, then wait up to timeout (SIGKILL after).
func (d *Daemon) Stop(timeout time.Duration) error {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		return d.err
	case <-time.After(timeout):
		d.Kill()
		return fmt.Errorf("daemon did not stop within %s after SIGTERM: killed", timeout)
	}
}

// URL is the daemon's HTTP base URL.
func (d *Daemon) URL() string { return "http://" + d.Setup.Listen }

// WaitReady waits until GET /-/ready answers 200.
func (d *Daemon) WaitReady(ctx context.Context) error {
	return d.poll(ctx, "ready", func() (bool, error) {
		code, _, err := d.Get(ctx, "/-/ready")
		return err == nil && code == http.StatusOK, nil
	})
}

// Get fetches a daemon path.
func (d *Daemon) Get(ctx context.Context, path string) (int, []byte, error) {
	return d.do(ctx, http.MethodGet, path, "", nil)
}

// Post sends a POST with the bearer token (none when token is "").
func (d *Daemon) Post(ctx context.Context, path, token string, body []byte) (int, []byte, error) {
	return d.do(ctx, http.MethodPost, path, token, body)
}

func (d *Daemon) do(ctx context.Context, method, path, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, d.URL()+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, b, err
}

// Status is GET /api/v1/status.
func (d *Daemon) Status(ctx context.Context) (daemon.Status, error) {
	var st daemon.Status
	code, b, err := d.Get(ctx, "/api/v1/status")
	if err != nil {
		return st, err
	}
	if code != http.StatusOK {
		return st, fmt.Errorf("GET /api/v1/status: HTTP %d: %s", code, b)
	}
	return st, json.Unmarshal(b, &st)
}

// WaitStatus polls the status until cond holds; the error carries the last
// status seen.
func (d *Daemon) WaitStatus(ctx context.Context, what string, cond func(daemon.Status) bool) (daemon.Status, error) {
	var last daemon.Status
	err := d.poll(ctx, what, func() (bool, error) {
		st, err := d.Status(ctx)
		if err != nil {
			return false, nil
		}
		last = st
		return cond(st), nil
	})
	if err != nil {
		b, _ := json.Marshal(last)
		return last, fmt.Errorf("%w; last status: %s", err, b)
	}
	return last, nil
}

// Metrics scrapes GET /metrics.
func (d *Daemon) Metrics(ctx context.Context) (Metrics, error) {
	code, b, err := d.Get(ctx, "/metrics")
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: HTTP %d", code)
	}
	return ParseMetrics(b), nil
}

// ErrExited is returned by waits when the daemon process ended meanwhile.
var ErrExited = errors.New("daemon exited")

func (d *Daemon) poll(ctx context.Context, what string, f func() (bool, error)) error {
	for {
		ok, err := f()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-d.done:
			return fmt.Errorf("waiting for %s: %w (%v)", what, ErrExited, d.err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Metrics is one scrape: series ("name" or `name{a="x",b="y"}` with labels
// in the order the exposition printed them, which client_golang sorts) →
// value.
type Metrics map[string]float64

// ParseMetrics reads the Prometheus text format (comments skipped).
func ParseMetrics(b []byte) Metrics {
	m := Metrics{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[i+1:], &v); err == nil {
			m[line[:i]] = v
		}
	}
	return m
}

// Get returns the value of name with labels given as "k", "v" pairs
// (sorted by key, as client_golang prints them) and whether it is present.
func (m Metrics) Get(name string, labels ...string) (float64, bool) {
	key := name
	if len(labels) > 0 {
		parts := make([]string, 0, len(labels)/2)
		for i := 0; i+1 < len(labels); i += 2 {
			parts = append(parts, fmt.Sprintf("%s=%q", labels[i], labels[i+1]))
		}
		key += "{" + strings.Join(parts, ",") + "}"
	}
	v, ok := m[key]
	return v, ok
}

// Grep returns the series whose name starts with prefix, sorted, one
// "series value" per line (what `curl /metrics | grep prefix` shows).
func (m Metrics) Grep(prefix string) []string {
	var out []string
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			out = append(out, fmt.Sprintf("%s %g", k, v))
		}
	}
	sortStrings(out)
	return out
}
