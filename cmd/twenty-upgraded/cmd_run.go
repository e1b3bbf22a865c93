package main

import (
	"context"
	"errors"
)

// cmdRun is not built yet; its owner replaces this file.
func cmdRun(ctx context.Context, e *env, args []string) error {
	return errors.New("run: not implemented yet")
}
