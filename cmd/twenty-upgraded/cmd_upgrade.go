package main

import (
	"context"
	"errors"
)

// cmdUpgrade is not built yet; its owner replaces this file.
func cmdUpgrade(ctx context.Context, e *env, args []string) error {
	return errors.New("upgrade: not implemented yet")
}
