package release

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
)

const (
	gitHubURL  = "https://api.github.com"
	gitHubHost = "api.github.com"
)

// ghRelease is the part of a GitHub release object we read
// (GET /repos/{owner}/{repo}/releases).
type ghRelease struct {
	TagName     string     `json:"tag_name"`
	Draft       bool       `json:"draft"`
	Prerelease  bool       `json:"prerelease"`
	PublishedAt *time.Time `json:"published_at"`
}

// decodeGitHubPage parses one page of releases.
func decodeGitHubPage(body []byte) ([]ghRelease, error) {
	var rs []ghRelease
	if err := json.Unmarshal(body, &rs); err != nil {
		return nil, fmt.Errorf("not a GitHub releases page: %w", err)
	}
	return rs, nil
}

// release turns a GitHub release into a Release: drafts, prereleases and
// tags that are not vX.Y.Z or twenty/vX.Y.Z (e.g. sdk/v1.0.0) are dropped.
func (g ghRelease) release(f *tagFilter) (Release, bool) {
	switch {
	case g.Draft:
		f.drop(g.TagName, "draft release")
		return Release{}, false
	case g.Prerelease:
		f.drop(g.TagName, "prerelease")
		return Release{}, false
	}
	v, ok := f.parse(g.TagName)
	if !ok {
		return Release{}, false
	}
	r := Release{Version: v, Tag: g.TagName}
	if g.PublishedAt != nil {
		r.Published = g.PublishedAt.UTC()
	}
	return r, true
}

// gitHub lists the releases of one GitHub repository. Page 1 is asked with
// If-None-Match: an unchanged feed costs one 304, which GitHub does not
// count against the rate limit. New releases appear on page 1 (newest
// first), so a changed page 1 walks every page again.
type gitHub struct {
	base   *url.URL
	first  string
	token  string
	f      *fetcher
	filter *tagFilter

	mu   sync.Mutex
	kept kept
}

func newGitHub(cfg config.Release, token string, opts Options) (*gitHub, error) {
	owner, repo, ok := strings.Cut(cfg.GithubRepo, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return nil, fmt.Errorf("release.github_repo %q is not owner/name such as \"twentyhq/twenty\"", cfg.GithubRepo)
	}
	base, err := baseURL(cfg.URL, gitHubURL)
	if err != nil {
		return nil, err
	}
	first := *base
	first.Path = base.Path + "/repos/" + url.PathEscape(owner) + "/" + url.PathEscape(repo) + "/releases"
	first.RawQuery = "per_page=100"
	return &gitHub{base: base, first: first.String(), token: token,
		f: &fetcher{source: "github", opts: opts}, filter: newTagFilter("github", opts.Logger)}, nil
}

func (g *gitHub) Name() string { return "github" }

func (g *gitHub) Releases(ctx context.Context) ([]Release, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	hdr := g.headers()
	now := g.f.opts.Now()
	resp, _, hit, err := g.f.firstPage(ctx, g.first, hdr, &g.kept, now)
	if err != nil || hit != nil {
		return hit, err
	}
	etag := resp.Header.Get("ETag")
	rels, err := g.walk(ctx, resp, hdr)
	if err != nil {
		return nil, err
	}
	g.kept = kept{releases: normalize(rels), etag: etag, walked: now}
	return slices.Clone(g.kept.releases), nil
}

// walk decodes page 1 (resp) and every page its Link headers lead to.
func (g *gitHub) walk(ctx context.Context, resp *response, hdr http.Header) ([]Release, error) {
	rels := []Release{}
	pg := g.f.newPager(g.base, resp.URL, "releases", gitHubHost)
	for {
		page, err := decodeGitHubPage(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("github: %s: %w", redact(pg.at.String()), err)
		}
		for _, gr := range page {
			if r, ok := gr.release(g.filter); ok {
				rels = append(rels, r)
			}
		}
		link, ok := parseLink(resp.Header.Get("Link"))["next"]
		if !ok {
			return rels, nil
		}
		next, err := pg.next(link)
		if err != nil {
			return nil, err
		}
		if resp, err = g.f.get(ctx, next.String(), hdr); err != nil {
			return nil, err
		}
	}
}

func (g *gitHub) headers() http.Header {
	h := http.Header{
		"Accept":               {"application/vnd.github+json"},
		"X-Github-Api-Version": {"2022-11-28"},
	}
	if g.token != "" {
		h.Set("Authorization", "Bearer "+g.token)
	}
	return h
}
