// Package releasetest serves realistic release feeds over HTTP for tests,
// benchmarks and the demo: the bundled Docker Hub- and GitHub-shaped
// fixtures in daemon/release/testdata, paginated and with ETags, so that a
// dockerhub or github source with release.url set to the server's URL reads
// a feed shaped like the real APIs. Feed is a Docker Hub feed that a test
// can change while the daemon watches it.
package releasetest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Repositories the bundled fixtures describe.
const (
	Image      = "twentycrm/twenty"
	GitHubRepo = "twentyhq/twenty"
)

// FixtureDir is the absolute path of daemon/release/testdata, found from
// this source file, so tests in any package can use it.
func FixtureDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata")
}

// DemoReleaseFile is the absolute path of contrib/demo/releases.txt.
func DemoReleaseFile() string {
	return filepath.Join(FixtureDir(), "..", "..", "..", "contrib", "demo", "releases.txt")
}

var (
	hubPath = regexp.MustCompile(`^/v2/(?:namespaces/([^/]+)/repositories|repositories/([^/]+))/([^/]+)/tags/?$`)
	ghPath  = regexp.MustCompile(`^/(?:repos/([^/]+)/([^/]+)|repositories/(\d+))/releases$`)
)

// ghRepoID is the id in GitHub's own next links (/repositories/{id}/releases).
const ghRepoID = "650934741"

// ServeFixture serves dir/dockerhub/tags-N.json as Docker Hub's tag list
// (/v2/namespaces/twentycrm/repositories/twenty/tags?page=N, and the older
// /v2/repositories/twentycrm/twenty/tags) and dir/github/releases-N.json as
// GitHub's releases (/repos/twentyhq/twenty/releases?page=N) with Link
// headers. Every page has a strong ETag and answers If-None-Match with 304.
// Absolute links to hub.docker.com in the pages are rewritten to the
// server's own address, as the real service points at itself.
func ServeFixture(dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, `{"message":"method not allowed"}`, http.StatusMethodNotAllowed)
			return
		}
		page, err := pageParam(r)
		if err != nil {
			http.Error(w, `{"message":"invalid page"}`, http.StatusBadRequest)
			return
		}
		if m := hubPath.FindStringSubmatch(r.URL.Path); m != nil {
			if m[1]+m[2]+"/"+m[3] != Image {
				http.Error(w, `{"message":"httperror 404: object not found"}`, http.StatusNotFound)
				return
			}
			serveFile(w, r, filepath.Join(dir, "dockerhub", fmt.Sprintf("tags-%d.json", page)), func(b []byte) []byte {
				return []byte(strings.ReplaceAll(string(b), "https://hub.docker.com", "http://"+r.Host))
			})
			return
		}
		if m := ghPath.FindStringSubmatch(r.URL.Path); m != nil {
			if m[3] != ghRepoID && m[1]+"/"+m[2] != GitHubRepo {
				http.Error(w, `{"message":"Not Found","status":"404"}`, http.StatusNotFound)
				return
			}
			setGitHubLinks(w, r, filepath.Join(dir, "github"), page)
			serveFile(w, r, filepath.Join(dir, "github", fmt.Sprintf("releases-%d.json", page)), nil)
			return
		}
		http.Error(w, `{"message":"not found"}`, http.StatusNotFound)
	})
}

// Start serves the bundled fixtures on a loopback test server that is
// closed when tb ends.
func Start(tb testing.TB) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(ServeFixture(FixtureDir()))
	tb.Cleanup(srv.Close)
	return srv
}

func pageParam(r *http.Request) (int, error) {
	s := r.URL.Query().Get("page")
	if s == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 10000 {
		return 0, fmt.Errorf("bad page %q", s)
	}
	return n, nil
}

// serveFile answers with a fixture file, or an empty page past the last one.
func serveFile(w http.ResponseWriter, r *http.Request, path string, rewrite func([]byte) []byte) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		http.Error(w, `{"message":"page not found"}`, http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if rewrite != nil {
		b = rewrite(b)
	}
	writeWithETag(w, r, b)
}

// writeWithETag sends b with a strong ETag, or 304 when the client has it.
func writeWithETag(w http.ResponseWriter, r *http.Request, b []byte) {
	sum := sha256.Sum256(b)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	for _, c := range strings.Split(r.Header.Get("If-None-Match"), ",") {
		c = strings.TrimPrefix(strings.TrimSpace(c), "W/")
		if c == etag || c == "*" {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	_, _ = w.Write(b)
}

func setGitHubLinks(w http.ResponseWriter, r *http.Request, dir string, page int) {
	last := 1
	for {
		if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("releases-%d.json", last+1))); err != nil {
			break
		}
		last++
	}
	perPage := r.URL.Query().Get("per_page")
	if perPage == "" {
		perPage = "30"
	}
	link := func(p int, rel string) string {
		return fmt.Sprintf(`<http://%s/repositories/%s/releases?per_page=%s&page=%d>; rel="%s"`, r.Host, ghRepoID, perPage, p, rel)
	}
	var links []string
	if page > 1 {
		links = append(links, link(page-1, "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
}
