package proc

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// Fake is a recording Runner for unit tests of logic: it records every argv
// and answers through Respond (or succeeds with empty output).
type Fake struct {
	mu      sync.Mutex
	Calls   []Cmd
	Respond func(c Cmd) (Result, error)
}

// Run records c and returns Respond's answer. When Respond returns Stdout and
// c.Stdout is set, the bytes are written there, as a real command would.
func (f *Fake) Run(ctx context.Context, c Cmd) (Result, error) {
	f.mu.Lock()
	f.Calls = append(f.Calls, c)
	respond := f.Respond
	f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return Result{ExitCode: -1}, &Error{Argv: c.Argv, ExitCode: -1, Err: err}
	}
	if respond == nil {
		return Result{}, nil
	}
	res, err := respond(c)
	if c.Stdout != nil && len(res.Stdout) > 0 {
		if _, werr := c.Stdout.Write(res.Stdout); werr != nil && err == nil {
			err = werr
		}
		res.Stdout = nil
	}
	if c.Stdin != nil {
		_, _ = io.Copy(io.Discard, c.Stdin)
	}
	return res, err
}

// Argvs returns the recorded commands as quoted strings, in order.
func (f *Fake) Argvs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.Calls))
	for i, c := range f.Calls {
		out[i] = Quote(c.Argv)
	}
	return out
}

// Fail builds a non-zero-exit error as the real runner would.
func Fail(c Cmd, code int, stderr string) (Result, error) {
	return Result{ExitCode: code, Stderr: []byte(stderr)},
		&Error{Argv: c.Argv, ExitCode: code, Stderr: stderr, Err: fmt.Errorf("exit status %d", code)}
}
