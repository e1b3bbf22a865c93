// Command sandboxctl drives the sandbox by hand: `build` the images, `up` a
// stack with every release published (foreground: Ctrl-C tears it down),
// `down` to clean up after an `up` that was killed, and `gc` to remove the
// containers and volumes of every sandbox project a killed test left.
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
	"strings"
	"syscall"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: sandboxctl build | up [-dir D] [-tag vX.Y.Z] [-compose v1|v2] | down [-dir D] | gc")
		return 2
	}
	fs := flag.NewFlagSet("sandboxctl "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", filepath.Join(os.TempDir(), "twenty-sandbox"), "parent folder of the install")
	tag := fs.String("tag", sandbox.DefaultTag, "release to start on")
	compose := fs.String("compose", sandbox.ComposeV2, "compose flavour: v1 or v2")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "build":
		err = build(ctx, stdout)
	case "up":
		err = up(ctx, stdout, *dir, *tag, *compose)
	case "down":
		err = down(ctx, stdout, *dir)
	case "gc":
		err = sandbox.GC(ctx, stdout)
	default:
		fmt.Fprintf(stderr, "sandboxctl: unknown command %q (want build, up, down or gc)\n", args[0])
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "sandboxctl:", err)
		return 1
	}
	return 0
}

func build(ctx context.Context, out io.Writer) error {
	if reason := sandbox.Available(); reason != "" {
		return errors.New(reason)
	}
	start := time.Now()
	imgs, err := sandbox.EnsureImages(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "images ready in %s: db %s, redis %s, %d releases over %s\n",
		time.Since(start).Round(time.Millisecond), imgs.DB, imgs.Redis, len(imgs.ByTag), imgs.SimBase)
	return nil
}

func up(ctx context.Context, out io.Writer, dir, tag, compose string) error {
	if reason := sandbox.Available(); reason != "" {
		return errors.New(reason)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var all []string
	for _, r := range sandbox.Releases {
		all = append(all, r.Tag)
	}
	fmt.Fprintf(out, "building images and starting the stack on %s (the first run takes a few minutes)...\n", tag)
	s, err := sandbox.New(ctx, sandbox.Options{Compose: compose, Tag: tag, Publish: all, Dir: dir})
	if s != nil {
		defer func() {
			fmt.Fprintln(out, "tearing down...")
			s.Down()
		}()
	}
	if err != nil {
		return err
	}
	if err := s.SeedSentinels(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, `
Twenty sandbox is up on %s.
  install folder:  %s   (docker-compose.yml, .env)
  compose:         cd %s && %s -p %s ps
  Twenty:          %s/healthz   %s/client-config
  registry:        http://%s/v2/twentycrm/twenty/tags/list
  releases:        %s
Press Ctrl-C to tear it all down.
`, tag, s.Dir, s.Dir, strings.Join(s.ComposeCmd, " "), s.Project, s.BaseURL, s.BaseURL, s.Registry.Addr, strings.Join(all, " "))
	<-ctx.Done()
	return nil
}

// down removes what a killed `up` left: containers and volumes of the
// install in dir.
func down(ctx context.Context, out io.Writer, dir string) error {
	inst := filepath.Join(dir, "twenty")
	b, err := os.ReadFile(filepath.Join(inst, ".env"))
	if err != nil {
		fmt.Fprintln(out, "no sandbox install in", inst)
		return nil
	}
	project := ""
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "COMPOSE_PROJECT_NAME="); ok {
			project = strings.TrimSpace(v)
		}
	}
	cmd, err := sandbox.ComposeCommand(ctx, sandbox.ComposeV2)
	if err != nil {
		return err
	}
	s := &sandbox.Stack{Dir: inst, Project: project, ComposeCmd: cmd}
	s.Down()
	fmt.Fprintf(out, "removed project %s in %s\n", project, inst)
	return os.RemoveAll(dir)
}
