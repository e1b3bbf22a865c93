package main

import (
	"context"
	"errors"
)

// cmdCheck is not built yet; its owner replaces this file.
func cmdCheck(ctx context.Context, e *env, args []string) error {
	return errors.New("check: not implemented yet")
}
