package sandbox

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestProberMeasuresOutage needs no Docker: a server that is down for about
// 600 ms in the middle must show as one outage of about that length.
func TestProberMeasuresOutage(t *testing.T) {
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	p := (&Stack{BaseURL: srv.URL}).StartProber("/healthz")
	time.Sleep(350 * time.Millisecond)
	down.Store(true)
	time.Sleep(600 * time.Millisecond)
	down.Store(false)
	time.Sleep(350 * time.Millisecond)
	rep := p.Stop()
	t.Log(rep)
	if len(rep.Outages) != 1 {
		t.Fatalf("outages = %d, want 1: %v", len(rep.Outages), rep)
	}
	if rep.Downtime < 400*time.Millisecond || rep.Downtime > 900*time.Millisecond {
		t.Errorf("downtime %s, want about 600ms", rep.Downtime)
	}
	if rep.Samples < 10 {
		t.Errorf("only %d samples in 1.3s at 100ms", rep.Samples)
	}
}
