package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/clock"
	"github.com/twenty-upgraded/twenty-upgraded/internal/text"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

var httpClient = &http.Client{Timeout: 3 * time.Second}

// Get fetches BaseURL+path and returns the status and body.
func (s *Stack) Get(ctx context.Context, path string) (int, []byte, error) {
	return s.do(ctx, http.MethodGet, path, "", nil)
}

func (s *Stack) do(ctx context.Context, method, path, ctype string, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.BaseURL+path, body)
	if err != nil {
		return 0, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	return s.send(req)
}

func (s *Stack) send(req *http.Request) (int, []byte, error) {
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, b, err
}

// Version returns the appVersion Twenty reports on /client-config.
func (s *Stack) Version(ctx context.Context) (string, error) {
	code, body, err := s.Get(ctx, "/client-config")
	if err != nil {
		return "", err
	}
	var cc struct {
		AppVersion string `json:"appVersion"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &cc) != nil || cc.AppVersion == "" {
		return "", fmt.Errorf("/client-config: HTTP %d %q", code, truncate(body))
	}
	return cc.AppVersion, nil
}

// GraphQL posts `{ __typename }` with the workspace API key (SeedSentinels
// makes one) and returns an error unless Twenty answers
// {"data":{"__typename":"Query"}}. Without a key Twenty has no workspace
// schema to answer from (docs/twenty.md), so there is nothing to check.
func (s *Stack) GraphQL(ctx context.Context) error {
	if s.APIKeyFile == "" {
		return nil
	}
	key, err := os.ReadFile(s.APIKeyFile)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.BaseURL+"/graphql", strings.NewReader(`{"query":"{ __typename }"}`))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(key)))
	code, body, err := s.send(req)
	if err != nil {
		return err
	}
	if code != http.StatusOK || !strings.Contains(string(body), `"__typename":"Query"`) {
		return fmt.Errorf("/graphql: HTTP %d %q", code, truncate(body))
	}
	return nil
}

// Check runs every outside check the daemon's gate runs over HTTP once:
// /healthz, /healthz/database, /healthz/worker, /healthz/redis, GraphQL and,
// when want is set, appVersion == want.
func (s *Stack) Check(ctx context.Context, want string) error {
	for _, p := range []string{"/healthz", "/healthz/database", "/healthz/worker", "/healthz/redis", "/healthz/app"} {
		code, body, err := s.Get(ctx, p)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if code != http.StatusOK {
			return fmt.Errorf("%s: HTTP %d %q", p, code, truncate(body))
		}
	}
	if err := s.GraphQL(ctx); err != nil {
		return err
	}
	if want == "" {
		return nil
	}
	got, err := s.Version(ctx)
	if err != nil {
		return err
	}
	if g, err := version.ParseLoose(got); err != nil || g.String() != want {
		return fmt.Errorf("appVersion is %s, want %s", got, want)
	}
	return nil
}

// WaitHealthy polls Check every 500 ms until it passes or ctx ends; the
// error is the last failure.
func (s *Stack) WaitHealthy(ctx context.Context, want string) error {
	for {
		err := s.Check(ctx, want)
		if err == nil {
			return nil
		}
		if clock.Sleep(ctx, 500*time.Millisecond) != nil {
			return fmt.Errorf("twenty not healthy on %s: %w", want, err)
		}
	}
}

// truncate shows an HTTP body in an error: trimmed, at most 300 bytes.
func truncate(b []byte) string {
	return text.Clip(strings.TrimSpace(string(b)), 300)
}

// Outage is one period during which the probe failed.
type Outage struct {
	Start, End time.Time
}

// ProbeReport is what a Prober saw.
type ProbeReport struct {
	Samples, Failures int
	Downtime          time.Duration // sum of outages
	Longest           time.Duration
	Outages           []Outage
}

// Prober polls a URL every 100 ms and records downtime as seen from outside.
type Prober struct {
	url    string
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	rep    ProbeReport
	down   *time.Time
}

// StartProber polls BaseURL+path (e.g. "/healthz") until Stop.
func (s *Stack) StartProber(path string) *Prober {
	ctx, cancel := context.WithCancel(context.Background())
	p := &Prober{url: s.BaseURL + path, cancel: cancel, done: make(chan struct{})}
	go p.loop(ctx)
	return p
}

func (p *Prober) loop(ctx context.Context) {
	defer close(p.done)
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ok := probeOnce(ctx, client, p.url)
		p.record(time.Now(), ok)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func probeOnce(ctx context.Context, client *http.Client, url string) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := client.Do(req)
	if err != nil {
		return errors.Is(ctx.Err(), context.Canceled) // the end of probing is not an outage
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (p *Prober) record(now time.Time, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rep.Samples++
	switch {
	case !ok:
		p.rep.Failures++
		if p.down == nil {
			p.down = &now
		}
	case p.down != nil:
		p.closeOutage(now)
	}
}

func (p *Prober) closeOutage(end time.Time) {
	o := Outage{Start: *p.down, End: end}
	p.rep.Outages = append(p.rep.Outages, o)
	d := o.End.Sub(o.Start)
	p.rep.Downtime += d
	p.rep.Longest = max(p.rep.Longest, d)
	p.down = nil
}

// Report returns what was seen so far (an open outage counts up to now).
func (p *Prober) Report() ProbeReport {
	p.mu.Lock()
	defer p.mu.Unlock()
	rep := p.rep
	rep.Outages = append([]Outage(nil), p.rep.Outages...)
	if p.down != nil {
		d := time.Since(*p.down)
		rep.Downtime += d
		rep.Longest = max(rep.Longest, d)
		rep.Outages = append(rep.Outages, Outage{Start: *p.down, End: time.Now()})
	}
	return rep
}

// Stop ends probing and returns the report.
func (p *Prober) Stop() ProbeReport {
	p.cancel()
	<-p.done
	return p.Report()
}

// String reads well in a test log or the demo.
func (r ProbeReport) String() string {
	return fmt.Sprintf("downtime %.1fs in %d outage(s), longest %.1fs (%d of %d probes failed)",
		r.Downtime.Seconds(), len(r.Outages), r.Longest.Seconds(), r.Failures, r.Samples)
}
