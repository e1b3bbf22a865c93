package scenarios

import (
	"context"
	"sync"
	"time"
)

// Scraper scrapes a daemon's /metrics at an interval, as Prometheus would,
// and keeps every sample, so a test can ask what a gauge was *during* a
// transaction (upgrade_in_progress 1) and not only after it.
type Scraper struct {
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	samples []Sample
	errors  int
}

// Sample is one scrape.
type Sample struct {
	At      time.Time
	Metrics Metrics
}

// StartScraper scrapes d every interval until Stop.
func StartScraper(d *Daemon, interval time.Duration) *Scraper {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scraper{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			m, err := d.Metrics(ctx)
			s.mu.Lock()
			if err != nil {
				s.errors++
			} else {
				s.samples = append(s.samples, Sample{At: time.Now(), Metrics: m})
			}
			s.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// Stop ends scraping and returns the samples.
func (s *Scraper) Stop() []Sample {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples
}

// Errors counts failed scrapes (the daemon restarting, or killed).
func (s *Scraper) Errors() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errors
}

// MaxOf is the largest value a series had over the samples, and whether it
// was ever present.
func MaxOf(samples []Sample, name string, labels ...string) (float64, bool) {
	best, seen := 0.0, false
	for _, s := range samples {
		if v, ok := s.Metrics.Get(name, labels...); ok && (!seen || v > best) {
			best, seen = v, true
		}
	}
	return best, seen
}
