package release

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// checkValid fails when a release that is not a strict version escaped.
func checkValid(t *testing.T, rels []Release) {
	t.Helper()
	for i, r := range rels {
		v, err := version.ParseTag(r.Tag)
		if err != nil || v != r.Version || r.Version.IsZero() && r.Tag != "v0.0.0" {
			t.Fatalf("invalid release escaped: %+v (%v)", r, err)
		}
		if i > 0 && !rels[i-1].Version.Less(r.Version) {
			t.Fatalf("not sorted and unique: %s then %s", rels[i-1].Version, r.Version)
		}
	}
}

func quietFilter(name string) *tagFilter {
	return newTagFilter(name, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func seedFiles(f *testing.F, glob string) {
	paths, _ := filepath.Glob(glob)
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

func FuzzHubPage(f *testing.F) {
	seedFiles(f, "testdata/dockerhub/*.json")
	f.Add([]byte(`{"count":3,"next":null,"results":[{"name":"v1.7"},{"name":"latest"},{"name":"v1.2.3","tag_last_pushed":null,"last_updated":"2025-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"count":-1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodeHubPage(b)
		if err != nil {
			return
		}
		var rels []Release
		filt := quietFilter("dockerhub")
		for _, tag := range p.Results {
			if r, ok := tag.release(filt); ok {
				rels = append(rels, r)
			}
		}
		checkValid(t, normalize(rels))
	})
}

func FuzzGitHubPage(f *testing.F) {
	seedFiles(f, "testdata/github/*.json")
	f.Add([]byte(`[{"tag_name":"sdk/v1.0.0"},{"tag_name":"twenty/v2.10.0","published_at":"2026-01-01T00:00:00Z"},{"tag_name":"v1.0.0","draft":true}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		page, err := decodeGitHubPage(b)
		if err != nil {
			return
		}
		var rels []Release
		filt := quietFilter("github")
		for _, g := range page {
			if r, ok := g.release(filt); ok {
				if g.Draft || g.Prerelease {
					t.Fatalf("draft or prerelease escaped: %+v", g)
				}
				rels = append(rels, r)
			}
		}
		checkValid(t, normalize(rels))
	})
}

func FuzzTagList(f *testing.F) {
	f.Add([]byte(`{"name":"twentycrm/twenty","tags":["latest","v1","v1.7","v1.7.1","v01.2.3","v1.2.3-rc.1"]}`))
	f.Add([]byte(`{"tags":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tl, err := decodeTagList(b)
		if err != nil {
			return
		}
		var rels []Release
		filt := quietFilter("registry")
		for _, tag := range tl.Tags {
			if v, ok := filt.parse(tag); ok {
				rels = append(rels, Release{Version: v, Tag: tag})
			}
		}
		checkValid(t, normalize(rels))
		if _, err := decodeManifest(b, "application/json"); err == nil {
			_, _ = decodeCreated(b)
		}
	})
}

func FuzzReleaseFile(f *testing.F) {
	seedFiles(f, "../../contrib/demo/releases.txt")
	f.Add([]byte("# c\nv1.22.6 2025-07-30T12:00:00Z\n\nlatest\nv1.7 x y\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rels, err := ParseFile("f", b)
		if err == nil {
			checkValid(t, rels)
		}
	})
}

func FuzzLink(f *testing.F) {
	f.Add(`<https://api.github.com/repositories/1/releases?page=2>; rel="next", <x>; rel="last"`)
	f.Add(`</v2/a/tags/list?last=b&n=1>; rel=next; title="a,\"b"`)
	f.Fuzz(func(t *testing.T, h string) {
		for rel, u := range parseLink(h) {
			if rel == "" || len(u) > len(h) {
				t.Fatalf("parseLink(%q): %q → %q", h, rel, u)
			}
		}
	})
}

func FuzzChallenge(f *testing.F) {
	f.Add(`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push"`)
	f.Add(`Basic realm="x\"y", Bearer realm=z`)
	f.Fuzz(func(t *testing.T, h string) {
		c, ok := parseChallenge(h)
		if ok && c.Params == nil {
			t.Fatalf("parseChallenge(%q): nil params", h)
		}
		for k, v := range c.Params {
			if len(k)+len(v) > len(h) {
				t.Fatalf("parseChallenge(%q): %q=%q longer than the header", h, k, v)
			}
		}
	})
}
