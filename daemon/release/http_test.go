package release

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
)

const secret = "ghp_s3cr3tT0k3nValue"

func ghSource(t *testing.T, url string, opts Options) Source {
	t.Helper()
	if opts.RetryDelay == 0 {
		opts.RetryDelay = time.Millisecond
	}
	src, err := New(config.Release{Source: "github", URL: url, GithubRepo: "twentyhq/twenty"}, secret, opts)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// Each case answers with a status sequence; the table says how many
// requests the source makes and what the error says.
func TestHTTPRetriesAndErrors(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int
		header   map[string]string
		wantReq  int32
		wantErr  string
	}{
		{"5xx retried then ok", []int{502, 503, 200}, nil, 3, ""},
		{"5xx gives up", []int{500, 500, 500, 500, 500}, nil, 4, "500 Internal Server Error"},
		{"404 not retried", []int{404}, nil, 1, "404 Not Found: [] (check release.image"},
		{"401 names the token file", []int{401}, nil, 1, "check release.token_file"},
		{"429 without wait retried", []int{429, 200}, nil, 2, ""},
		{"429 Retry-After", []int{429}, map[string]string{"Retry-After": "120"}, 1, "rate limited (429 Too Many Requests), retry after"},
		{"403 rate limit", []int{403}, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1795000000"}, 1, "retry after 2026-11-18T11:06:40Z"},
		{"403 plain", []int{403}, nil, 1, "403 Forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer "+secret {
					t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
				}
				i := int(calls.Add(1)) - 1
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.statuses[min(i, len(tt.statuses)-1)])
				_, _ = w.Write([]byte(`[]`))
			}))
			defer srv.Close()
			_, err := ghSource(t, srv.URL, Options{}).Releases(context.Background())
			if calls.Load() != tt.wantReq {
				t.Errorf("%d requests, want %d", calls.Load(), tt.wantReq)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			case err != nil && (strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "github: GET "+srv.URL)):
				t.Fatalf("error must name source and URL, never the token: %v", err)
			}
		})
	}
}

func TestRateLimitErrorType(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	_, err := ghSource(t, srv.URL, Options{Now: func() time.Time { return now }}).Releases(context.Background())
	var rl *RateLimitError
	if !errors.As(err, &rl) || !rl.RetryAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("err = %v", err)
	}
}

func TestHTTPSizeCapAndTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "slow" {
			time.Sleep(200 * time.Millisecond)
		}
		_, _ = w.Write([]byte("[" + strings.Repeat(`{"tag_name":"v1.0.0"},`, 100) + `{}]`))
	}))
	defer srv.Close()
	_, err := ghSource(t, srv.URL, Options{MaxBytes: 1000}).Releases(context.Background())
	if err == nil || !strings.Contains(err.Error(), "larger than the 1000-byte cap") {
		t.Fatalf("size cap: %v", err)
	}
	f := &fetcher{source: "github", opts: Options{RequestTimeout: 50 * time.Millisecond, Retries: -1}.withDefaults()}
	start := time.Now()
	_, err = f.get(context.Background(), srv.URL+"/?page=slow", nil)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 150*time.Millisecond {
		t.Fatalf("timeout: %v after %s", err, time.Since(start))
	}
}

// A cancelled context stops the backoff sleep at once.
func TestBackoffHonoursContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := ghSource(t, srv.URL, Options{RetryDelay: time.Hour, Retries: 5}).Releases(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("err = %v after %s", err, time.Since(start))
	}
}

func TestRedact(t *testing.T) {
	got := redact("https://user:pw@auth.example/token?scope=repo&token=abc&service=" + strconv.Itoa(1))
	if strings.Contains(got, "pw") || strings.Contains(got, "abc") || !strings.Contains(got, "scope=repo") {
		t.Fatalf("redact = %s", got)
	}
}
