// Command sandbox-demo is `make demo`: twenty-upgraded at work on a Twenty
// look-alike stack on this machine's Docker engine (contrib/sandbox), with a
// real local registry and the real daemon process. Four releases appear and
// the daemon walks the sequential path below the v1.22 floor
// (v1.20.0 → v1.21.2 → v1.22.4 → v1.23.0); then a broken release (v2.4.0,
// Twenty #23012: /healthz green while GraphQL fails) appears and is rolled
// back with the data intact. It prints the downtime seen by a 100 ms prober,
// the backup sizes and a metrics excerpt, leaves the stack up to look
// around, and prints how to tear it down.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox"
	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox/scenarios"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sandbox-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	home, _ := os.UserHomeDir()
	dir := fs.String("dir", filepath.Join(home, ".cache", "twenty-upgraded-demo"), "folder for the stack, the daemon's state and backups (replaced)")
	bin := fs.String("bin", "bin/twenty-upgraded", "the twenty-upgraded binary (make build)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if reason := sandbox.Available(); reason != "" {
		fmt.Fprintf(stderr, "make demo needs a usable Docker engine and the host's PostgreSQL 15 to build the sandbox:\n  %s\nNothing was started. (`make demo-plan` shows the decision half without Docker.)\n", reason)
		return 1
	}
	abs, err := filepath.Abs(*bin)
	if err == nil {
		_, err = os.Stat(abs)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sandbox-demo: no binary at %s (run `make build` first): %v\n", *bin, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d := &demo{out: stdout, bin: abs, dir: *dir, start: time.Now()}
	if err := d.run(ctx); err != nil {
		fmt.Fprintf(stderr, "\nsandbox-demo: %v\n", err)
		if d.stack != nil {
			fmt.Fprintf(stderr, "Whatever was started is still there; tear it down with: make demo-down\n")
		}
		return 1
	}
	return 0
}

type demo struct {
	out    io.Writer
	bin    string
	dir    string
	start  time.Time
	stack  *sandbox.Stack
	setup  *scenarios.Setup
	daemon *scenarios.Daemon
	notify *scenarios.Notify
	log    *os.File
}

func (d *demo) run(ctx context.Context) error {
	d.head("twenty-upgraded on a real Docker stack (about 2 minutes; the first run builds images and tools: several minutes)")
	if err := d.up(ctx); err != nil {
		return err
	}
	defer d.stopProcesses()
	if err := d.startDaemon(ctx); err != nil {
		return err
	}
	if err := d.sequential(ctx); err != nil {
		return err
	}
	if err := d.broken(ctx); err != nil {
		return err
	}
	if err := d.figures(ctx); err != nil {
		return err
	}
	d.stopProcesses()
	d.lookAround()
	return nil
}

// up replaces an earlier demo, builds what is missing (with progress) and
// starts the stack on v1.20.0 with sentinel data.
func (d *demo) up(ctx context.Context) error {
	if err := teardown(ctx, d.dir); err != nil {
		return fmt.Errorf("remove the previous demo in %s: %w (try `make demo-down`)", d.dir, err)
	}
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return err
	}
	d.head("1. The stack")
	d.say("Building the sandbox images and tools if missing, starting a local OCI registry and a Twenty look-alike")
	d.say("stack (server, worker, PostgreSQL 15, Redis) on v1.20.0, below the v1.22 floor ...")
	done := d.progress("still building/starting")
	s, err := sandbox.New(ctx, sandbox.Options{Tag: "v1.20.0", Dir: d.dir, Timeout: 5 * time.Minute})
	done()
	d.stack = s
	if err != nil {
		return fmt.Errorf("start the sandbox: %w", err)
	}
	if err := s.SeedSentinels(ctx); err != nil {
		return fmt.Errorf("seed sentinel data: %w", err)
	}
	sum, err := d.checksums(ctx)
	if err != nil {
		return err
	}
	d.say("Twenty %s is healthy at %s (project %s, folder %s).", "v1.20.0", s.BaseURL, s.Project, s.Dir)
	d.say("Sentinel data seeded: rows in core, the workspace schema and public, and 3 uploaded files.")
	d.say("  database checksum %s   files checksum %s", short(sum[0]), short(sum[1]))
	return nil
}

// startDaemon runs `twenty-upgraded run` as systemd would: a notify socket,
// the window open now (every minute, for an hour), approval not required.
func (d *demo) startDaemon(ctx context.Context) error {
	var err error
	root := filepath.Join(d.dir, "daemon")
	if d.setup, err = scenarios.NewSetup(d.stack, root, scenarios.ConfigOptions{Track: "major"}); err != nil {
		return err
	}
	if d.notify, err = scenarios.ListenNotify(); err != nil {
		return err
	}
	if d.log, err = os.Create(filepath.Join(root, "daemon.log")); err != nil {
		return err
	}
	d.head("2. The daemon")
	d.say("%s --config %s run", d.bin, d.setup.Config)
	d.say("  window: cron \"* * * * *\" for 1h (open now); track = \"major\"; health gate stable for 3s")
	d.say("  release source: the local registry http://%s (twentycrm/twenty)", d.stack.Registry.Addr)
	if d.daemon, err = scenarios.StartDaemon(d.bin, d.setup, d.notify.Path, d.log); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := d.daemon.WaitReady(wctx); err != nil {
		return fmt.Errorf("daemon not ready: %w (log: %s)", err, d.log.Name())
	}
	if err := d.notify.Wait(wctx, "STATUS=idle"); err != nil {
		return err
	}
	d.say("READY=1 received on the notify socket; HTTP on http://%s (pid %d, log %s)", d.setup.Listen, d.daemon.Pid(), d.log.Name())
	d.showNotify(0)
	return nil
}

func (d *demo) stopProcesses() {
	if d.daemon != nil {
		_ = d.daemon.Stop(time.Minute)
		d.daemon = nil
	}
	if d.stack != nil && d.stack.Registry != nil {
		d.stack.Registry.Stop()
		d.stack.Registry = nil
	}
	if d.notify != nil {
		d.notify.Close()
		d.notify = nil
	}
}

func (d *demo) checksums(ctx context.Context) ([2]string, error) {
	db, err := d.stack.DBChecksum(ctx)
	if err != nil {
		return [2]string{}, err
	}
	files, err := d.stack.FilesChecksum(ctx)
	return [2]string{db, files}, err
}

// teardown removes the stack and folder a previous demo left.
func teardown(ctx context.Context, dir string) error {
	inst := filepath.Join(dir, "twenty")
	if _, err := os.Stat(filepath.Join(inst, ".env")); errors.Is(err, os.ErrNotExist) {
		return os.RemoveAll(dir)
	}
	project := envValue(filepath.Join(inst, ".env"), "COMPOSE_PROJECT_NAME")
	cmd, err := sandbox.ComposeCommand(ctx, sandbox.ComposeV2)
	if err != nil {
		return err
	}
	(&sandbox.Stack{Dir: inst, Project: project, ComposeCmd: cmd}).Down()
	return os.RemoveAll(dir)
}
