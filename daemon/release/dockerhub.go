package release

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
)

const (
	dockerHubURL  = "https://hub.docker.com"
	dockerHubHost = "hub.docker.com"
	hubPageSize   = 100
)

// hubPage is one page of Docker Hub's tag list
// (GET /v2/namespaces/{ns}/repositories/{repo}/tags).
type hubPage struct {
	Count   int      `json:"count"`
	Next    *string  `json:"next"`
	Results []hubTag `json:"results"`
}

type hubTag struct {
	Name          string     `json:"name"`
	Digest        string     `json:"digest"`
	LastUpdated   *time.Time `json:"last_updated"`
	TagLastPushed *time.Time `json:"tag_last_pushed"`
	Images        []struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Digest       string `json:"digest"`
	} `json:"images"`
}

// decodeHubPage parses one page; it is the pure core of the dockerhub source.
func decodeHubPage(body []byte) (hubPage, error) {
	var p hubPage
	if err := json.Unmarshal(body, &p); err != nil {
		return hubPage{}, fmt.Errorf("not a Docker Hub tag page: %w", err)
	}
	if p.Count < 0 {
		return hubPage{}, fmt.Errorf("not a Docker Hub tag page: negative count %d", p.Count)
	}
	return p, nil
}

// release turns one tag into a Release, or false for an alias or junk.
func (t hubTag) release(f *tagFilter) (Release, bool) {
	v, ok := f.parse(t.Name)
	if !ok {
		return Release{}, false
	}
	r := Release{Version: v, Tag: t.Name, Digest: t.Digest}
	switch {
	case t.TagLastPushed != nil:
		r.Published = t.TagLastPushed.UTC()
	case t.LastUpdated != nil:
		r.Published = t.LastUpdated.UTC()
	}
	if r.Digest == "" {
		for _, im := range t.Images {
			if im.OS == "linux" && im.Architecture == "amd64" {
				r.Digest = im.Digest
			}
		}
	}
	return r, true
}

// dockerHub lists the tags of one Docker Hub repository.
//
// An unchanged check costs one request: page 1 is asked with If-None-Match
// (304 → the cached list); if the hub answers 200 anyway, page 1 (newest
// pushes first) and the total count are compared with the cached walk, and
// only a difference (or FullRefresh elapsing) walks every page again.
type dockerHub struct {
	base   *url.URL
	first  string // URL of page 1
	token  string
	f      *fetcher
	filter *tagFilter

	mu    sync.Mutex
	cache hubCache
}

type hubCache struct {
	kept
	count int
	page1 []hubTag
}

func newDockerHub(cfg config.Release, token string, opts Options) (*dockerHub, error) {
	ns, repo, err := splitImage(cfg.Image)
	if err != nil {
		return nil, err
	}
	base, err := baseURL(cfg.URL, dockerHubURL)
	if err != nil {
		return nil, err
	}
	first := *base
	first.Path = base.Path + "/v2/namespaces/" + url.PathEscape(ns) + "/repositories/" + url.PathEscape(repo) + "/tags"
	first.RawQuery = fmt.Sprintf("page_size=%d", hubPageSize)
	return &dockerHub{base: base, first: first.String(), token: token,
		f: &fetcher{source: "dockerhub", opts: opts}, filter: newTagFilter("dockerhub", opts.Logger)}, nil
}

func (d *dockerHub) Name() string { return "dockerhub" }

func (d *dockerHub) Releases(ctx context.Context) ([]Release, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	hdr := d.headers()
	now := d.f.opts.Now()
	resp, fresh, hit, err := d.f.firstPage(ctx, d.first, hdr, &d.cache.kept, now)
	if err != nil || hit != nil {
		return hit, err
	}
	page, err := decodeHubPage(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("dockerhub: %s: %w", redact(d.first), err)
	}
	if c := &d.cache; fresh && c.count == page.Count && samePage(c.page1, page.Results) {
		c.etag = resp.Header.Get("ETag")
		return slices.Clone(c.releases), nil
	}
	tags, err := d.walk(ctx, resp.URL, page, hdr)
	if err != nil {
		return nil, err
	}
	rels := make([]Release, 0, len(tags))
	for _, t := range tags {
		if r, ok := t.release(d.filter); ok {
			rels = append(rels, r)
		}
	}
	rels = normalize(rels)
	d.cache = hubCache{kept: kept{releases: rels, etag: resp.Header.Get("ETag"), walked: now}, count: page.Count, page1: page.Results}
	return slices.Clone(rels), nil
}

// walk follows the next links after page 1 and returns every tag.
func (d *dockerHub) walk(ctx context.Context, at *url.URL, page hubPage, hdr http.Header) ([]hubTag, error) {
	hdr.Del("If-None-Match")
	tags := slices.Clone(page.Results)
	pg := d.f.newPager(d.base, at, "tags", dockerHubHost)
	for page.Next != nil && *page.Next != "" {
		next, err := pg.next(*page.Next)
		if err != nil {
			return nil, err
		}
		resp, err := d.f.get(ctx, next.String(), hdr)
		if err != nil {
			return nil, err
		}
		if page, err = decodeHubPage(resp.Body); err != nil {
			return nil, fmt.Errorf("dockerhub: %s: %w", redact(next.String()), err)
		}
		tags = append(tags, page.Results...)
	}
	return tags, nil
}

func (d *dockerHub) headers() http.Header {
	h := http.Header{"Accept": {"application/json"}}
	if d.token != "" {
		h.Set("Authorization", "Bearer "+d.token)
	}
	return h
}

// samePage reports whether two first pages list the same tags with the same
// digests and push times, in the same order.
func samePage(a, b []hubTag) bool {
	return slices.EqualFunc(a, b, func(x, y hubTag) bool {
		return x.Name == y.Name && x.Digest == y.Digest && eqTime(x.LastUpdated, y.LastUpdated) && eqTime(x.TagLastPushed, y.TagLastPushed)
	})
}

func eqTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// baseURL parses release.url (or def when empty) and drops a trailing slash.
func baseURL(raw, def string) (*url.URL, error) {
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("release.url %q is not an http(s) base URL", redact(raw))
	}
	if u.User != nil {
		return nil, fmt.Errorf("release.url %s must not hold credentials: use release.token_file", redact(raw))
	}
	u.Path = trimSlash(u.Path)
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

func trimSlash(p string) string {
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}
