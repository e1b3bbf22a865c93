package release

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
)

// fakeRegistry speaks enough OCI distribution for the registry source:
// bearer-token challenge (when auth is set), tags/list with Link pages,
// multi-arch indexes, manifests and config blobs.
type fakeRegistry struct {
	mu       sync.Mutex
	auth     string // "" none, "user:pass" required at the token service
	tags     []string
	pageSize int
	blobs    map[string][]byte // digest → content (manifests and configs)
	types    map[string]string
	byTag    map[string]string
	paths    []string
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func (f *fakeRegistry) put(mt string, v any) string {
	b, _ := json.Marshal(v)
	d := digestOf(b)
	f.blobs[d], f.types[d] = b, mt
	return d
}

// push adds tag as a linux/amd64 + arm64 index whose amd64 config says created.
func (f *fakeRegistry) push(tag string, created time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cfg := f.put("application/vnd.oci.image.config.v1+json", map[string]any{"created": created, "architecture": "amd64", "os": "linux"})
	img := f.put(mtOCIManifest, map[string]any{"schemaVersion": 2, "mediaType": mtOCIManifest, "config": map[string]any{"digest": cfg}})
	idx := f.put(mtOCIIndex, map[string]any{"schemaVersion": 2, "mediaType": mtOCIIndex, "manifests": []any{
		map[string]any{"mediaType": mtOCIManifest, "digest": digestOf([]byte("arm" + tag)), "platform": map[string]string{"os": "linux", "architecture": "arm64"}},
		map[string]any{"mediaType": mtOCIManifest, "digest": img, "platform": map[string]string{"os": "linux", "architecture": "amd64"}},
	}})
	f.byTag[tag] = idx
	f.tags = append(f.tags, tag)
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paths = append(f.paths, r.URL.Path)
	if r.URL.Path == "/token" {
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte(f.auth))
		if r.Header.Get("Authorization") != want || r.URL.Query().Get("scope") != "repository:twentycrm/twenty:pull" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{"token":"tok-123","access_token":"tok-123","expires_in":300,"issued_at":"2026-11-27T00:00:00Z"}`))
		return
	}
	if f.auth != "" && r.Header.Get("Authorization") != "Bearer tok-123" {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="test-registry",scope="repository:twentycrm/twenty:pull"`, r.Host))
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
		return
	}
	const prefix = "/v2/twentycrm/twenty/"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	switch {
	case !ok:
		http.NotFound(w, r)
	case rest == "tags/list":
		f.tagList(w, r)
	case strings.HasPrefix(rest, "manifests/") || strings.HasPrefix(rest, "blobs/"):
		ref := rest[strings.IndexByte(rest, '/')+1:]
		if d, ok := f.byTag[ref]; ok {
			ref = d
		}
		b, ok := f.blobs[ref]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", f.types[ref])
		w.Header().Set("Docker-Content-Digest", ref)
		_, _ = w.Write(b)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeRegistry) tagList(w http.ResponseWriter, r *http.Request) {
	start := 0
	if last := r.URL.Query().Get("last"); last != "" {
		for i, t := range f.tags {
			if t == last {
				start = i + 1
			}
		}
	}
	end := len(f.tags)
	if f.pageSize > 0 && start+f.pageSize < end {
		end = start + f.pageSize
		w.Header().Set("Link", fmt.Sprintf(`</v2/twentycrm/twenty/tags/list?last=%s&n=%d>; rel="next"`, f.tags[end-1], f.pageSize))
	}
	b, _ := json.Marshal(tagList{Name: "twentycrm/twenty", Tags: f.tags[start:end]})
	_, _ = w.Write(b)
}

func (f *fakeRegistry) takePaths() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.paths
	f.paths = nil
	return p
}

func TestRegistrySource(t *testing.T) {
	for _, tc := range []struct {
		name, auth string
		pageSize   int
		firstCost  int // requests of the first check
	}{
		{"loopback without auth", "", 0, 1 + 3*3},
		{"bearer token challenge", "robot:pw", 0, 3 + 3*3},
		{"paginated tags/list", "", 2, 3 + 3*3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := &fakeRegistry{auth: tc.auth, pageSize: tc.pageSize, blobs: map[string][]byte{}, types: map[string]string{}, byTag: map[string]string{}}
			t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			for i, tag := range []string{"v2.0.0", "latest", "v2.0.1", "v2", "v2.1.0"} {
				reg.push(tag, t0.Add(time.Duration(i)*24*time.Hour))
			}
			srv := httptest.NewServer(reg)
			defer srv.Close()
			src, err := New(config.Release{Source: "registry", URL: srv.URL, Image: "twentycrm/twenty"}, tc.auth, Options{})
			if err != nil {
				t.Fatal(err)
			}
			rels, err := src.Releases(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(rels) != 3 || rels[2].Tag != "v2.1.0" || !rels[2].Published.Equal(t0.Add(4*24*time.Hour)) || rels[2].Digest != reg.byTag["v2.1.0"] {
				t.Fatalf("releases = %+v", rels)
			}
			if p := reg.takePaths(); len(p) != tc.firstCost {
				t.Errorf("first check: %d requests %v, want %d", len(p), p, tc.firstCost)
			}
			if _, err := src.Releases(context.Background()); err != nil {
				t.Fatal(err)
			}
			if p := reg.takePaths(); len(p) != 1+tc.pageSize/2*2 {
				t.Errorf("unchanged check: %d requests %v", len(p), p)
			}
			reg.push("v2.1.1", t0.Add(10*24*time.Hour))
			rels, err = src.Releases(context.Background())
			if err != nil || len(rels) != 4 || rels[3].Published.Day() != 11 {
				t.Fatalf("after push: %v %+v", err, rels)
			}
		})
	}
}

func TestRegistryBadCredentials(t *testing.T) {
	reg := &fakeRegistry{auth: "robot:pw", blobs: map[string][]byte{}, types: map[string]string{}, byTag: map[string]string{}}
	srv := httptest.NewServer(reg)
	defer srv.Close()
	src, _ := New(config.Release{Source: "registry", URL: srv.URL, Image: "twentycrm/twenty"}, "robot:wrong", Options{})
	_, err := src.Releases(context.Background())
	if err == nil || !strings.Contains(err.Error(), "token request") || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("err = %v", err)
	}
}
