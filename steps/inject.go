package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Fault injection, for tests and the sandbox scenarios only.
//
// Options.Inject, or the environment variable TWENTY_UPGRADED_INJECT (read
// only when TWENTY_UPGRADED_TESTING=1 is also set), maps step names to faults:
//
//	fail:<step>          the step's Run fails (after it was persisted as started)
//	hang:<step>          the step blocks before its Run until the context ends
//	hang_after:<step>    the step blocks after its Run succeeded, before it is recorded done
//	fail_rollback:<step> the step's Rollback fails
//	hang_rollback:<step> the step's Rollback blocks before it acts until the context ends
//
// The environment form is a comma-separated list: "fail:backup,hang:start".
// When TWENTY_UPGRADED_INJECT_READY names a file, a hang writes "<point> <step>"
// into it once it is reached, so a crash test knows when to kill.
const (
	EnvInject      = "TWENTY_UPGRADED_INJECT"
	EnvTesting     = "TWENTY_UPGRADED_TESTING"
	EnvInjectReady = "TWENTY_UPGRADED_INJECT_READY"
)

// ErrInjected is wrapped by injected failures.
var ErrInjected = errors.New("injected fault")

type inject struct {
	faults map[string][]string // step → faults
	ready  string
}

// injectFromEnv reads the testing-only environment form.
func injectFromEnv() map[string]string {
	if os.Getenv(EnvTesting) != "1" {
		return nil
	}
	return ParseInject(os.Getenv(EnvInject))
}

// ParseInject parses "fault:step,fault:step" into step → fault(s) ("+" joins
// several faults for one step).
func ParseInject(s string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		fault, step, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			continue
		}
		if prev := out[step]; prev != "" {
			fault = prev + "+" + fault
		}
		out[step] = fault
	}
	return out
}

func newInject(maps ...map[string]string) inject {
	in := inject{faults: map[string][]string{}}
	if os.Getenv(EnvTesting) == "1" {
		in.ready = os.Getenv(EnvInjectReady)
	}
	for _, m := range maps {
		for step, f := range m {
			in.faults[step] = append(in.faults[step], strings.Split(f, "+")...)
		}
	}
	return in
}

func (in inject) has(step, fault string) bool {
	for _, f := range in.faults[step] {
		if f == fault {
			return true
		}
	}
	return false
}

func (in inject) hang(ctx context.Context, point, step string) error {
	if in.ready != "" {
		_ = os.WriteFile(in.ready, []byte(point+" "+step+"\n"), 0o600)
	}
	<-ctx.Done()
	return fmt.Errorf("%w: hang %s %s: %w", ErrInjected, point, step, ctx.Err())
}

func (in inject) before(ctx context.Context, step string) error {
	switch {
	case in.has(step, "hang"):
		return in.hang(ctx, "hang", step)
	case in.has(step, "fail"):
		return fmt.Errorf("%w: fail %s", ErrInjected, step)
	}
	return nil
}

func (in inject) after(ctx context.Context, step string) error {
	if in.has(step, "hang_after") {
		return in.hang(ctx, "hang_after", step)
	}
	return nil
}

func (in inject) rollback(ctx context.Context, step string) error {
	if in.has(step, "hang_rollback") {
		return in.hang(ctx, "hang_rollback", step)
	}
	if in.has(step, "fail_rollback") {
		return fmt.Errorf("%w: fail_rollback %s", ErrInjected, step)
	}
	return nil
}
