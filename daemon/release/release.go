// Package release finds the releases of Twenty that a source publishes.
//
// A Source lists releases from Docker Hub ("dockerhub"), an OCI registry
// ("registry"), GitHub releases ("github") or a local file ("file"). Every
// Release it returns is valid by construction: its tag passed
// version.ParseTag, so aliases ("latest", "v1", "v1.7"), pre-releases and
// unrelated tags ("sdk/v1.0.0") never get out of this package. Feeds drop
// such tags with one log line per tag per source value; a malformed line in
// the admin's own release file is an error naming file:line.
//
// Network sources keep what they saw last and ask conditionally (ETag,
// If-None-Match), so an unchanged check costs one request; see
// docs/release-sources.md for what each source costs.
package release

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/text"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// Release is one published, installable release.
type Release struct {
	Version   version.V // validated: never an alias
	Tag       string    // as published ("v1.22.6", "twenty/v2.10.0")
	Published time.Time // zero when unknown
	Digest    string    // image digest where the source has one
}

// Source lists the releases one place publishes.
type Source interface {
	// Name is "dockerhub", "registry", "github" or "file".
	Name() string
	// Releases returns every release, sorted ascending by Version,
	// de-duplicated. It is safe for concurrent use.
	Releases(ctx context.Context) ([]Release, error)
}

// RequestInfo describes one HTTP request a source made, for metrics and
// benchmarks. URL never holds credentials.
type RequestInfo struct {
	Source   string
	Method   string
	URL      string
	Status   int // 0 when no response arrived
	Duration time.Duration
	Err      error
}

// Options tune the network sources. The zero value is usable.
type Options struct {
	Client         *http.Client      // nil: a client with this package's timeouts
	Logger         *slog.Logger      // nil: discard
	UserAgent      string            // "": "twenty-upgraded"
	MaxBytes       int64             // cap on one response body; 0: 8 MiB
	Retries        int               // extra tries on network errors, 5xx and 429; 0: 3; negative: none
	RequestTimeout time.Duration     // per request; 0: 30s
	RetryDelay     time.Duration     // first backoff step (full jitter, doubling); 0: 500ms
	MaxPages       int               // cap on followed "next" pages; 0: 100
	FullRefresh    time.Duration     // Docker Hub/GitHub: walk every page at least this often; 0: 24h
	ConfigDir      string            // folder a relative release.file is read from
	Now            func() time.Time  // nil: time.Now
	OnRequest      func(RequestInfo) // called after every HTTP request (optional)
}

func (o Options) withDefaults() Options {
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.UserAgent == "" {
		o.UserAgent = "twenty-upgraded"
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 8 << 20
	}
	if o.Retries == 0 {
		o.Retries = 3
	} else if o.Retries < 0 {
		o.Retries = 0
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 30 * time.Second
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 500 * time.Millisecond
	}
	if o.MaxPages <= 0 {
		o.MaxPages = 100
	}
	if o.FullRefresh <= 0 {
		o.FullRefresh = 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// New builds the source that cfg.Source names. token is the secret already
// read from cfg.TokenFile ("" for none); it is only ever sent in headers.
func New(cfg config.Release, token string, opts Options) (Source, error) {
	opts = opts.withDefaults()
	switch cfg.Source {
	case "dockerhub":
		return newDockerHub(cfg, token, opts)
	case "registry":
		return newRegistry(cfg, token, opts)
	case "github":
		return newGitHub(cfg, token, opts)
	case "file":
		return newFile(cfg, opts)
	}
	return nil, fmt.Errorf("release source %q is unknown (want dockerhub, registry, github or file)", cfg.Source)
}

// tagFilter turns published tags into versions and logs each dropped tag
// once per source value, so a check every few minutes does not repeat it.
type tagFilter struct {
	source string
	log    *slog.Logger
	mu     sync.Mutex
	seen   map[string]bool
}

func newTagFilter(source string, log *slog.Logger) *tagFilter {
	return &tagFilter{source: source, log: log, seen: map[string]bool{}}
}

// parse returns the version of tag, or false after logging why it is dropped.
func (f *tagFilter) parse(tag string) (version.V, bool) {
	v, err := version.ParseTag(tag)
	if err != nil {
		f.drop(tag, "not a release version (want vMAJOR.MINOR.PATCH)")
		return version.V{}, false
	}
	return v, true
}

// drop logs once that tag is ignored and why.
func (f *tagFilter) drop(tag, why string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen[tag] || len(f.seen) > 10000 {
		return
	}
	f.seen[tag] = true
	f.log.Debug("release tag ignored", "source", f.source, "tag", text.Clip(tag, 128), "reason", why)
}

// normalize sorts by version and keeps one release per version: the one
// with a known time (the earliest), else the first seen.
func normalize(rels []Release) []Release {
	slices.SortStableFunc(rels, func(a, b Release) int { return a.Version.Compare(b.Version) })
	out := rels[:0]
	for _, r := range rels {
		if n := len(out); n > 0 && out[n-1].Version == r.Version {
			last := &out[n-1]
			if !r.Published.IsZero() && (last.Published.IsZero() || r.Published.Before(last.Published)) {
				last.Published = r.Published
			}
			if last.Digest == "" {
				last.Digest = r.Digest
			}
			continue
		}
		out = append(out, r)
	}
	return slices.Clip(out)
}

// splitImage turns "twentycrm/twenty" into its namespace and repository on
// Docker Hub ("nginx" is "library/nginx"; a "docker.io/" prefix is allowed).
func splitImage(image string) (ns, repo string, err error) {
	image = strings.TrimPrefix(strings.TrimPrefix(image, "docker.io/"), "index.docker.io/")
	parts := strings.Split(image, "/")
	switch {
	case len(parts) == 1 && parts[0] != "":
		return "library", parts[0], nil
	case len(parts) == 2 && parts[0] != "" && parts[1] != "":
		return parts[0], parts[1], nil
	}
	return "", "", fmt.Errorf("release.image %q is not a Docker Hub repository such as \"twentycrm/twenty\"", image)
}
