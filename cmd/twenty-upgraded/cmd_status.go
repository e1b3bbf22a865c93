package main

import (
	"context"
	"errors"
)

// cmdStatus is not built yet; its owner replaces this file.
func cmdStatus(ctx context.Context, e *env, args []string) error {
	return errors.New("status: not implemented yet")
}
