package main

import (
	"context"
	"errors"
)

// cmdPlan is not built yet; its owner replaces this file.
func cmdPlan(ctx context.Context, e *env, args []string) error {
	return errors.New("plan: not implemented yet")
}
