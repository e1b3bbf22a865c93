package main

import (
	"context"
	"errors"
)

// cmdBackups is not built yet; its owner replaces this file.
func cmdBackups(ctx context.Context, e *env, args []string) error {
	return errors.New("backups: not implemented yet")
}
