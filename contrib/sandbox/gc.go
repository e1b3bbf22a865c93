package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"
)

const ownerLabel = "twenty-upgraded.sandbox.owner"

// GC removes the containers and volumes of sandbox stacks whose owning
// process (the label SANDBOX_OWNER_PID puts on them) is gone: what a killed
// test left behind. Stacks of live processes, and anything without the
// label, are never touched.
func GC(ctx context.Context, out io.Writer) error {
	for _, kind := range []string{"container", "volume"} {
		argv := []string{"docker", "container", "ls", "-a", "--filter", "label=" + ownerLabel, "--format", `{{.Label "` + ownerLabel + `"}} {{.Names}}`}
		if kind == "volume" {
			argv = []string{"docker", "volume", "ls", "--filter", "label=" + ownerLabel, "--format", `{{.Label "` + ownerLabel + `"}} {{.Name}}`}
		}
		listing, err := runArgv(ctx, argv...)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(strings.TrimSpace(string(listing)), "\n") {
			f := strings.Fields(line)
			if len(f) != 2 || ownerAlive(f[0]) {
				continue
			}
			rm := []string{"docker", "rm", "-f", "-v", f[1]}
			if kind == "volume" {
				rm = []string{"docker", "volume", "rm", "-f", f[1]}
			}
			if _, err := runArgv(ctx, rm...); err != nil {
				return err
			}
			fmt.Fprintf(out, "removed %s %s (owner pid %s is gone)\n", kind, f[1], f[0])
		}
	}
	return nil
}

// ownerAlive is true unless pid is a valid number of a process that no
// longer exists (unknown owners count as alive: leave them alone).
func ownerAlive(pid string) bool {
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 1 {
		return true
	}
	return !errors.Is(syscall.Kill(n, 0), syscall.ESRCH)
}
