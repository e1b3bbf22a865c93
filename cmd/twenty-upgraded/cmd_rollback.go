package main

import (
	"context"
	"errors"
)

// cmdRollback is not built yet; its owner replaces this file.
func cmdRollback(ctx context.Context, e *env, args []string) error {
	return errors.New("rollback: not implemented yet")
}
