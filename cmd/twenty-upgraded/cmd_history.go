package main

import (
	"context"
	"errors"
)

// cmdHistory is not built yet; its owner replaces this file.
func cmdHistory(ctx context.Context, e *env, args []string) error {
	return errors.New("history: not implemented yet")
}
