package main

import (
	"context"
	"fmt"
)

func cmdValidate(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("validate", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := e.loadConfig()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: ok (mode %s, source %s, track %s, window %q for %s)\n",
		cfg.Path, cfg.Install.Mode, cfg.Release.Source, cfg.Release.Track, cfg.Window.Schedule, cfg.Window.Duration)
	return nil
}

func cmdVersion(ctx context.Context, e *env, args []string) error {
	fmt.Fprintf(e.stdout, "twenty-upgraded %s\n", Version)
	return nil
}
