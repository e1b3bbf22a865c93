package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSleepWaits(t *testing.T) {
	const d = 30 * time.Millisecond
	start := time.Now()
	if err := Sleep(context.Background(), d); err != nil {
		t.Fatalf("Sleep = %v, want nil", err)
	}
	if got := time.Since(start); got < d {
		t.Errorf("Sleep returned after %v, want at least %v", got, d)
	}
}

func TestSleepCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	err := Sleep(ctx, time.Hour)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep = %v, want context.Canceled", err)
	}
	if got := time.Since(start); got > 10*time.Second {
		t.Errorf("Sleep took %v to notice the cancel", got)
	}
}

func TestSleepDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Sleep = %v, want context.DeadlineExceeded", err)
	}
}

func TestSleepZero(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		if err := Sleep(context.Background(), d); err != nil {
			t.Errorf("Sleep(%v) = %v, want nil", d, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := Sleep(ctx, d); !errors.Is(err, context.Canceled) {
			t.Errorf("Sleep(cancelled, %v) = %v, want context.Canceled", d, err)
		}
	}
}

// An already-cancelled context wins over a timer that is ready at once,
// every time (a bare select would pick either at random).
func TestSleepAlreadyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 1000 {
		if err := Sleep(ctx, time.Nanosecond); !errors.Is(err, context.Canceled) {
			t.Fatalf("Sleep(cancelled, 1ns) = %v, want context.Canceled", err)
		}
	}
}
