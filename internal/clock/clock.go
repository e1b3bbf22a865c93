// Package clock holds the one way this program waits: for a duration, or
// until its context is done, whichever comes first.
package clock

import (
	"context"
	"time"
)

// Sleep waits for d and returns nil, or returns ctx.Err() as soon as ctx is
// done. A context that is already done always wins, even over a d of zero
// or less (which otherwise returns nil at once). Unlike time.After it stops
// its timer on the way out.
func Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil || d <= 0 {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
