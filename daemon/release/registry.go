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

// tagList is the OCI distribution answer to GET /v2/{name}/tags/list.
type tagList struct {
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

// decodeTagList parses one tags/list page.
func decodeTagList(body []byte) (tagList, error) {
	var tl tagList
	if err := json.Unmarshal(body, &tl); err != nil {
		return tagList{}, fmt.Errorf("not an OCI tags/list answer: %w", err)
	}
	return tl, nil
}

// registry lists the tags of one repository of an OCI distribution
// registry and reads each new tag's image creation time once.
//
// Cost of an unchanged check: one tags/list request (a 304 when the registry
// sends ETags), plus a token request when the cached bearer token expired.
// Manifests and configs are fetched only for tags not seen before; their
// times are cached by manifest digest for the life of the source.
type registry struct {
	base  *url.URL
	name  string
	first string
	f     *fetcher
	auth  *registryAuth
	filt  *tagFilter

	mu       sync.Mutex // one Releases call at a time
	cmu      sync.Mutex // known and creation, written by resolve workers
	etag     string
	onePage  bool
	tags     []string
	known    map[string]Release   // by tag
	creation map[string]time.Time // by manifest digest
}

func newRegistry(cfg config.Release, token string, opts Options) (*registry, error) {
	if cfg.URL == "" {
		return nil, fmt.Errorf("release.url must be the registry's base URL when source = \"registry\" (e.g. \"http://127.0.0.1:5000\")")
	}
	base, err := baseURL(cfg.URL, "")
	if err != nil {
		return nil, err
	}
	name := strings.Trim(cfg.Image, "/")
	if name == "" || strings.Contains(name, "..") || strings.ContainsAny(name, " ?#%:@") {
		return nil, fmt.Errorf("release.image %q is not a repository name such as \"twentycrm/twenty\"", cfg.Image)
	}
	first := *base
	first.Path = base.Path + "/v2/" + name + "/tags/list"
	f := &fetcher{source: "registry", opts: opts}
	return &registry{base: base, name: name, first: first.String(), f: f,
		auth: newRegistryAuth(f, base, name, token), filt: newTagFilter("registry", opts.Logger),
		known: map[string]Release{}, creation: map[string]time.Time{}}, nil
}

func (r *registry) Name() string { return "registry" }

func (r *registry) Releases(ctx context.Context) ([]Release, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tags, err := r.listTags(ctx)
	if err != nil {
		return nil, err
	}
	var todo []Release
	present := map[string]bool{}
	for _, t := range tags {
		v, ok := r.filt.parse(t)
		if !ok || present[t] {
			continue
		}
		present[t] = true
		if _, ok := r.known[t]; !ok {
			todo = append(todo, Release{Version: v, Tag: t})
		}
	}
	for t := range r.known {
		if !present[t] {
			delete(r.known, t) // a tag can disappear (docs/policy.md, v0.52.x)
		}
	}
	if err := r.resolveAll(ctx, todo); err != nil {
		return nil, err
	}
	rels := make([]Release, 0, len(present))
	for t := range present {
		if rel, ok := r.known[t]; ok {
			rels = append(rels, rel)
		} else {
			rels = append(rels, todoRelease(todo, t))
		}
	}
	return normalize(rels), nil
}

func todoRelease(todo []Release, tag string) Release {
	i := slices.IndexFunc(todo, func(r Release) bool { return r.Tag == tag })
	return todo[i]
}

// listTags walks tags/list, conditionally when the last walk was one page.
func (r *registry) listTags(ctx context.Context) ([]string, error) {
	hdr := http.Header{"Accept": {"application/json"}}
	if r.etag != "" && r.onePage {
		hdr.Set("If-None-Match", r.etag)
	}
	resp, err := r.auth.get(ctx, r.first, hdr)
	if err != nil {
		return nil, err
	}
	if resp.Status == http.StatusNotModified && r.tags != nil {
		return r.tags, nil
	}
	etag := resp.Header.Get("ETag")
	hdr.Del("If-None-Match")
	var tags []string
	pg := r.f.newPager(r.base, resp.URL, "tags", "")
	for {
		tl, err := decodeTagList(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("registry: %s: %w", redact(pg.at.String()), err)
		}
		tags = append(tags, tl.Tags...)
		link, ok := parseLink(resp.Header.Get("Link"))["next"]
		if !ok {
			r.etag, r.onePage, r.tags = etag, pg.pages == 1, tags
			return tags, nil
		}
		next, err := pg.next(link)
		if err != nil {
			return nil, err
		}
		if resp, err = r.auth.get(ctx, next.String(), hdr); err != nil {
			return nil, err
		}
	}
}

// resolveAll reads digest and creation time of each new tag, four at a time.
// A tag that fails is logged and returned without time, and tried again at
// the next check; a cancelled context fails the whole call.
func (r *registry) resolveAll(ctx context.Context, todo []Release) error {
	var (
		wg  sync.WaitGroup
		sem = make(chan struct{}, 4)
	)
	for i := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func(rel *Release) {
			defer func() { <-sem; wg.Done() }()
			digest, created, err := r.resolve(ctx, rel.Tag)
			if err != nil {
				r.f.opts.Logger.Warn("release time unknown", "source", "registry", "tag", rel.Tag, "err", err)
				return
			}
			rel.Digest, rel.Published = digest, created
			r.cmu.Lock()
			defer r.cmu.Unlock()
			r.creation[digest] = created
			r.known[rel.Tag] = *rel
		}(&todo[i])
	}
	wg.Wait()
	return ctx.Err()
}

// cachedCreation is the creation time already known for a manifest digest.
func (r *registry) cachedCreation(digest string) (time.Time, bool) {
	r.cmu.Lock()
	defer r.cmu.Unlock()
	t, ok := r.creation[digest]
	return t, ok
}

func (r *registry) manifestURL(ref string) string {
	u := *r.base
	u.Path = r.base.Path + "/v2/" + r.name + "/manifests/" + url.PathEscape(ref)
	return u.String()
}

func (r *registry) blobURL(digest string) string {
	u := *r.base
	u.Path = r.base.Path + "/v2/" + r.name + "/blobs/" + digest
	return u.String()
}
