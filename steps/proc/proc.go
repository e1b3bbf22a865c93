// Package proc is the one place in twenty-upgraded that starts processes.
//
// Every command is an argv list, never a shell string. Each runs in its own
// process group with a timeout; when the timeout or the caller's context ends
// it, the whole group is killed, so a hung build leaves no orphans. Errors
// carry the command and the tail of its stderr.
package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Cmd describes one command to run.
type Cmd struct {
	Argv []string // program and arguments; Argv[0] is looked up in PATH
	Dir  string   // working folder; "" means the current one
	Env  []string // "KEY=value" added to (and overriding) the daemon's environment
	// Stdin, when set, is copied to the command's standard input.
	Stdin io.Reader
	// Stdout, when set, receives standard output as it is produced (a dump
	// streamed to disk); otherwise it is captured into Result.Stdout, up to
	// MaxCapture bytes.
	Stdout io.Writer
	// Stderr, when set, also receives standard error; the last bytes are
	// always kept for errors.
	Stderr  io.Writer
	Timeout time.Duration // 0 means no timeout beyond the context's
}

// String renders the argv for logs and dry runs, quoting arguments that need it.
func (c Cmd) String() string { return Quote(c.Argv) }

// Quote renders an argv list as a person would type it in a POSIX shell.
func Quote(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+%", r))
		}) < 0 {
			parts[i] = a
			continue
		}
		parts[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(parts, " ")
}

// Result is what a finished command left.
type Result struct {
	Stdout   []byte // captured standard output (empty when Cmd.Stdout was set)
	Stderr   []byte // the last MaxStderr bytes of standard error
	ExitCode int
	Duration time.Duration
}

// Limits on what is kept in memory.
const (
	MaxCapture = 16 << 20 // captured stdout
	MaxStderr  = 8 << 10  // stderr tail kept for errors
)

// Runner runs commands. The real one is Exec; tests use a recording fake.
type Runner interface {
	Run(ctx context.Context, c Cmd) (Result, error)
}

// Error is returned when a command could not start, exited non-zero, or was
// killed for its timeout.
type Error struct {
	Argv     []string
	ExitCode int    // -1 when it did not exit on its own
	Stderr   string // trimmed tail of stderr
	TimedOut bool
	Timeout  time.Duration
	Err      error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(Quote(e.Argv))
	switch {
	case e.TimedOut:
		fmt.Fprintf(&b, ": killed after timeout %s", e.Timeout)
	case e.ExitCode > 0:
		fmt.Fprintf(&b, ": exit status %d", e.ExitCode)
	default:
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Stderr != "" {
		b.WriteString(": ")
		b.WriteString(e.Stderr)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrTimeout is matched (errors.Is) by an Error for a command killed at its timeout.
var ErrTimeout = errors.New("command timed out")

// Is makes errors.Is(err, ErrTimeout) true for timeouts.
func (e *Error) Is(target error) bool { return target == ErrTimeout && e.TimedOut }

// Exec is the real Runner.
type Exec struct {
	// KillGrace is how long a command has after SIGTERM before SIGKILL.
	KillGrace time.Duration
	// signal sends a signal (tests record them); nil means syscall.Kill.
	signal func(pid int, sig syscall.Signal) error
}

// Run starts c.Argv and waits for it.
func (x Exec) Run(ctx context.Context, c Cmd) (Result, error) {
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return Result{ExitCode: -1}, &Error{Argv: c.Argv, ExitCode: -1, Err: errors.New("empty command")}
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	g := &group{signal: x.signal, grace: x.KillGrace}
	if g.signal == nil {
		g.signal = syscall.Kill
	}
	if g.grace == 0 {
		g.grace = 10 * time.Second
	}
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Dir = c.Dir
	if len(c.Env) > 0 {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	cmd.Stdin = c.Stdin
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Cancel signals the whole process group: SIGTERM, then SIGKILL
	// KillGrace later, only while the group number is still ours (see
	// group). WaitDelay bounds how long we wait for pipes held open by
	// grandchildren.
	cmd.Cancel = func() error {
		g.terminate(cmd.Process.Pid)
		return nil
	}
	cmd.WaitDelay = g.grace + 2*time.Second

	var out capBuffer
	out.max = MaxCapture
	if c.Stdout != nil {
		cmd.Stdout = c.Stdout
	} else {
		cmd.Stdout = &out
	}
	var errTail tailBuffer
	errTail.max = MaxStderr
	if c.Stderr != nil {
		cmd.Stderr = io.MultiWriter(c.Stderr, &errTail)
	} else {
		cmd.Stderr = &errTail
	}

	start := time.Now()
	err := cmd.Start()
	if err == nil {
		// Wait for the leader's exit without reaping it, so the group
		// number cannot be reused while group may still signal it.
		_ = waitExit(cmd.Process.Pid)
		g.exited()
		err = cmd.Wait()
	}
	res := Result{Stdout: out.Bytes(), Stderr: errTail.Bytes(), Duration: time.Since(start), ExitCode: -1}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	if err == nil {
		return res, nil
	}
	e := &Error{Argv: c.Argv, ExitCode: res.ExitCode, Stderr: trimStderr(res.Stderr), Err: err}
	if c.Timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		e.TimedOut, e.Timeout, e.ExitCode = true, c.Timeout, -1
	} else if ctx.Err() != nil {
		e.Err = fmt.Errorf("%w: %w", ctx.Err(), err)
		e.ExitCode = -1
	}
	return res, e
}

// trimStderr keeps the last few lines of stderr, trimmed, for error messages.
func trimStderr(b []byte) string {
	s := strings.TrimSpace(string(b))
	lines := strings.Split(s, "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	s = strings.Join(lines, " | ")
	if len(s) > 1000 {
		s = "…" + s[len(s)-1000:]
	}
	return s
}

// capBuffer keeps up to max bytes and drops the rest (still reporting success
// so the command is not killed by a broken pipe).
type capBuffer struct {
	bytes.Buffer
	max int
}

func (b *capBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) Bytes() []byte { return b.buf }

// LookPath reports whether a program is on PATH (used to detect compose).
func LookPath(name string) (string, error) { return exec.LookPath(name) }
