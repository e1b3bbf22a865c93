package release

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/release/releasetest"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

func hubSource(t *testing.T, url string, n *int) Source {
	t.Helper()
	opts := Options{RetryDelay: time.Millisecond, OnRequest: func(RequestInfo) {
		if n != nil {
			*n++
		}
	}}
	src, err := New(config.Release{Source: "dockerhub", URL: url, Image: "twentycrm/twenty"}, "", opts)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func tags(names ...string) []releasetest.Tag {
	var out []releasetest.Tag
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, n := range names {
		out = append(out, releasetest.Tag{Name: n, Pushed: t0.Add(time.Duration(i) * time.Hour)})
	}
	return out
}

// noETag hides If-None-Match from the feed, like a server without ETags.
func noETag(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del("If-None-Match")
		h.ServeHTTP(w, r)
	})
}

// Without ETag support, an unchanged hub still costs one request (page 1
// compared with the last walk); a new push, a re-push and a deleted tag are
// all seen at the next check.
func TestDockerHubChangesWithoutETag(t *testing.T) {
	var names []string
	for i := range 250 {
		names = append(names, version.V{Major: 1, Minor: i / 10, Patch: i % 10}.String())
	}
	feed := releasetest.NewFeed(tags(append(names, "latest", "v1")...)...)
	srv := httptest.NewServer(noETag(feed))
	defer srv.Close()
	var n int
	src := hubSource(t, srv.URL, &n)
	ctx := context.Background()
	check := func(wantLen, wantReq int) []Release {
		t.Helper()
		n = 0
		rels, err := src.Releases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rels) != wantLen || n != wantReq {
			t.Fatalf("got %d releases in %d requests, want %d in %d", len(rels), n, wantLen, wantReq)
		}
		return rels
	}
	check(250, 3)
	check(250, 1)
	feed.Add(releasetest.Tag{Name: "v2.0.0", Pushed: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)})
	if rels := check(251, 3); rels[250].Tag != "v2.0.0" || rels[250].Published.Month() != time.June {
		t.Fatalf("newest: %+v", rels[250])
	}
	feed.Remove("v1.0.3")
	check(250, 3)
	check(250, 1)
}

func TestDockerHubNextLinks(t *testing.T) {
	page := func(next string) string {
		return `{"count":2,"next":` + next + `,"previous":null,"results":[{"name":"v1.0.0","last_updated":"2025-06-26T10:00:00.000000Z","digest":"sha256:aa"}]}`
	}
	tests := []struct {
		name    string
		next    func(base string) string
		wantErr string
	}{
		{"loop", func(b string) string {
			return `"` + b + `/v2/namespaces/twentycrm/repositories/twenty/tags?page_size=100"`
		}, "already visited"},
		{"other host", func(string) string { return `"https://evil.example/v2/x?page=2"` }, "leaves the configured server"},
		{"public host rebased then loops", func(string) string {
			return `"https://hub.docker.com/v2/namespaces/twentycrm/repositories/twenty/tags?page_size=100"`
		}, "already visited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var base string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(page(tt.next(base))))
			}))
			defer srv.Close()
			base = srv.URL
			_, err := hubSource(t, srv.URL, nil).Releases(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestDockerHubPageCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Query().Get("page")
		_, _ = w.Write([]byte(`{"count":1,"next":"http://` + r.Host + r.URL.Path + `?page=` + p + `1","results":[]}`))
	}))
	defer srv.Close()
	src, _ := New(config.Release{Source: "dockerhub", URL: srv.URL, Image: "twentycrm/twenty"}, "", Options{MaxPages: 5})
	_, err := src.Releases(context.Background())
	if err == nil || !strings.Contains(err.Error(), "more than 5 pages") {
		t.Fatalf("err = %v", err)
	}
}

func TestSplitImage(t *testing.T) {
	for in, want := range map[string]string{"twentycrm/twenty": "twentycrm twenty", "nginx": "library nginx", "docker.io/twentycrm/twenty": "twentycrm twenty", "a/b/c": "", "": ""} {
		ns, repo, err := splitImage(in)
		if got := strings.TrimSpace(ns + " " + repo); got != want || (err != nil) != (want == "") {
			t.Errorf("splitImage(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// Aliases are dropped with one log line each per source, not one per check.
func TestDroppedTagLoggedOnce(t *testing.T) {
	srv := httptest.NewServer(noETag(releasetest.NewFeed(tags("v1.0.0", "latest", "v1.7")...)))
	defer srv.Close()
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	src, _ := New(config.Release{Source: "dockerhub", URL: srv.URL, Image: "twentycrm/twenty"}, "", Options{Logger: log, FullRefresh: time.Nanosecond})
	for range 3 {
		if rels, err := src.Releases(context.Background()); err != nil || len(rels) != 1 {
			t.Fatalf("%v %v", rels, err)
		}
	}
	if n := strings.Count(buf.String(), "tag=latest"); n != 1 || !strings.Contains(buf.String(), `reason="not a release version`) {
		t.Fatalf("%d lines for latest:\n%s", n, buf.String())
	}
}
