package main

import (
	"context"
)

func cmdPlan(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("plan", "[--current vX.Y.Z] [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	current := fs.String("current", "", "plan from this `version` instead of the installed one")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("plan takes no arguments (got %q)", fs.Args())
	}
	rep, err := e.checkNow(ctx, *current)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, rep)
	}
	printCheck(e.stdout, rep, true)
	return nil
}
