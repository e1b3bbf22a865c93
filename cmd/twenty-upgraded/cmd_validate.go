package main

import (
	"context"
	"fmt"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/steps/install"
	"github.com/twenty-upgraded/twenty-upgraded/steps/proc"
)

// cmdValidate loads and checks the config (exit 0, or 78 naming the key),
// proves every file it names can be read (78 again), then reads the install it describes and prints what an admin should know
// about it. An install that cannot be read is a warning, not a config error:
// Docker may be down while the config is right.
func cmdValidate(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("validate", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("validate takes no arguments, got %q (the config is chosen with the global --config FILE, before the command)", fs.Args())
	}
	cfg, err := e.loadConfig()
	if err != nil {
		return err
	}
	if err := cfg.CheckFiles(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: ok (mode %s, source %s, track %s, window %q for %s)\n",
		cfg.Path, cfg.Install.Mode, cfg.Release.Source, cfg.Release.Track, cfg.Window.Schedule, cfg.Window.Duration)
	ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	in, err := install.Open(ictx, cfg, proc.Exec{})
	if err != nil {
		fmt.Fprintf(e.stdout, "warning:  the install could not be read: %v\n", err)
		return nil
	}
	printInstall(e.stdout, newInstallInfo(in, install.Installed{}), 9)
	for _, n := range in.Notes(cfg) {
		fmt.Fprintf(e.stdout, "note:     %s\n", n)
	}
	return nil
}

func cmdVersion(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("version", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("version takes no arguments, got %q", fs.Args())
	}
	fmt.Fprintf(e.stdout, "twenty-upgraded %s\n", Version)
	return nil
}
