// Package drain carries "stop requested" from the daemon to a running
// transaction without cancelling it.
//
// On SIGTERM the daemon must start no new step, yet must not cancel the step
// that runs (a half-finished pull or restore is worse than a finished one).
// Cancelling the context would do the second; a drain signal in the context
// does the first: the engine looks at it between steps.
package drain

import "context"

type key struct{}

// With returns ctx carrying ch; closing ch requests the drain.
func With(ctx context.Context, ch <-chan struct{}) context.Context {
	return context.WithValue(ctx, key{}, ch)
}

// Requested reports whether ctx carries a drain signal that has been given.
func Requested(ctx context.Context) bool {
	ch, _ := ctx.Value(key{}).(<-chan struct{})
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
