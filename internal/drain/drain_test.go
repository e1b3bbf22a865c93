package drain

import (
	"context"
	"testing"
)

func TestRequested(t *testing.T) {
	if Requested(context.Background()) {
		t.Fatal("a plain context drains")
	}
	ch := make(chan struct{})
	ctx := With(context.Background(), ch)
	if Requested(ctx) {
		t.Fatal("drain before the signal")
	}
	close(ch)
	if !Requested(ctx) || ctx.Err() != nil {
		t.Fatalf("after close: requested %v, err %v", Requested(ctx), ctx.Err())
	}
}
