package releasetest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Tag is one tag of a Feed.
type Tag struct {
	Name   string
	Pushed time.Time
	Digest string // "": derived from the name
}

// Feed is a Docker Hub tag list (for twentycrm/twenty) that a test can
// change while a source watches it: newest push first, page and page_size
// honoured, next links absolute to the server, ETags and 304s.
type Feed struct {
	mu       sync.Mutex
	tags     []Tag
	requests atomic.Int64
}

// NewFeed returns a feed holding tags.
func NewFeed(tags ...Tag) *Feed {
	f := &Feed{}
	f.Set(tags...)
	return f
}

// Set replaces every tag.
func (f *Feed) Set(tags ...Tag) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tags = slices.Clone(tags)
}

// Add publishes more tags (a tag with an existing name replaces it).
func (f *Feed) Add(tags ...Tag) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range tags {
		f.tags = slices.DeleteFunc(f.tags, func(o Tag) bool { return o.Name == t.Name })
		f.tags = append(f.tags, t)
	}
}

// Remove deletes a tag, as Docker Hub once lost tags.
func (f *Feed) Remove(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tags = slices.DeleteFunc(f.tags, func(o Tag) bool { return o.Name == name })
}

// Requests is how many requests the feed has answered (304s included).
func (f *Feed) Requests() int64 { return f.requests.Load() }

// ServeHTTP answers GET /v2/namespaces/twentycrm/repositories/twenty/tags.
func (f *Feed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	m := hubPath.FindStringSubmatch(r.URL.Path)
	if m == nil || m[1]+m[2]+"/"+m[3] != Image {
		http.Error(w, `{"message":"httperror 404: object not found"}`, http.StatusNotFound)
		return
	}
	page, err := pageParam(r)
	size, serr := strconv.Atoi(r.URL.Query().Get("page_size"))
	if serr != nil || size < 1 || size > 100 {
		size = 10
	}
	if err != nil {
		http.Error(w, `{"message":"invalid page"}`, http.StatusBadRequest)
		return
	}
	body, ok := f.page(r.Host, r.URL.Path, page, size)
	if !ok {
		http.Error(w, `{"message":"page not found"}`, http.StatusNotFound)
		return
	}
	writeWithETag(w, r, body)
}

func (f *Feed) page(host, path string, page, size int) ([]byte, bool) {
	f.mu.Lock()
	tags := slices.Clone(f.tags)
	f.mu.Unlock()
	slices.SortStableFunc(tags, func(a, b Tag) int { return b.Pushed.Compare(a.Pushed) })
	lo := (page - 1) * size
	if lo > len(tags) || (lo == len(tags) && page > 1) {
		return nil, false
	}
	link := func(p int) *string {
		s := fmt.Sprintf("http://%s%s?page=%d&page_size=%d", host, path, p, size)
		return &s
	}
	type entry struct {
		Name          string `json:"name"`
		LastUpdated   string `json:"last_updated"`
		TagLastPushed string `json:"tag_last_pushed"`
		TagStatus     string `json:"tag_status"`
		MediaType     string `json:"media_type"`
		ContentType   string `json:"content_type"`
		Digest        string `json:"digest"`
	}
	out := struct {
		Count    int     `json:"count"`
		Next     *string `json:"next"`
		Previous *string `json:"previous"`
		Results  []entry `json:"results"`
	}{Count: len(tags), Results: []entry{}}
	for _, t := range tags[lo:min(lo+size, len(tags))] {
		d := t.Digest
		if d == "" {
			sum := sha256.Sum256([]byte(Image + ":" + t.Name))
			d = "sha256:" + hex.EncodeToString(sum[:])
		}
		ts := t.Pushed.UTC().Format("2006-01-02T15:04:05.000000Z")
		out.Results = append(out.Results, entry{t.Name, ts, ts, "active", "application/vnd.oci.image.index.v1+json", "image", d})
	}
	if lo+size < len(tags) {
		out.Next = link(page + 1)
	}
	if page > 1 {
		out.Previous = link(page - 1)
	}
	b, _ := json.Marshal(out)
	return b, true
}
