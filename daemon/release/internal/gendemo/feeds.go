package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"time"
)

const pageSize = 100

// hubImage and hubTag copy the shape of Docker Hub's tag list entries.
type hubImage struct {
	Architecture string  `json:"architecture"`
	Features     string  `json:"features"`
	Variant      *string `json:"variant"`
	Digest       string  `json:"digest"`
	OS           string  `json:"os"`
	OSFeatures   string  `json:"os_features"`
	OSVersion    *string `json:"os_version"`
	Size         int64   `json:"size"`
	Status       string  `json:"status"`
	LastPulled   string  `json:"last_pulled"`
	LastPushed   string  `json:"last_pushed"`
}

type hubTag struct {
	Creator             int        `json:"creator"`
	ID                  int64      `json:"id"`
	Images              []hubImage `json:"images"`
	LastUpdated         string     `json:"last_updated"`
	LastUpdater         int        `json:"last_updater"`
	LastUpdaterUsername string     `json:"last_updater_username"`
	Name                string     `json:"name"`
	Repository          int        `json:"repository"`
	FullSize            int64      `json:"full_size"`
	V2                  bool       `json:"v2"`
	TagStatus           string     `json:"tag_status"`
	TagLastPulled       string     `json:"tag_last_pulled"`
	TagLastPushed       string     `json:"tag_last_pushed"`
	MediaType           string     `json:"media_type"`
	ContentType         string     `json:"content_type"`
	Digest              string     `json:"digest"`
	pushed              time.Time
}

type hubPage struct {
	Count    int      `json:"count"`
	Next     *string  `json:"next"`
	Previous *string  `json:"previous"`
	Results  []hubTag `json:"results"`
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

func platformDigest(d, arch string) string {
	sum := sha256.Sum256([]byte(d + "/" + arch))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func hubEntry(name string, r rel, pushed time.Time, id int64) hubTag {
	pulled := ts(time.Date(2026, 11, 26, 21, 4, 9, 0, time.UTC))
	size := int64(610_000_000 + (r.Minor*37+r.Patch*11)%90*1_000_000)
	var images []hubImage
	for _, arch := range []string{"amd64", "arm64"} {
		images = append(images, hubImage{Architecture: arch, Digest: platformDigest(r.digest(), arch), OS: "linux",
			Size: size, Status: "active", LastPulled: pulled, LastPushed: ts(pushed)})
	}
	return hubTag{Creator: 14389320, ID: id, Images: images, LastUpdated: ts(pushed), LastUpdater: 14389320,
		LastUpdaterUsername: "twentycrm", Name: name, Repository: 21574712, FullSize: size, V2: true,
		TagStatus: "active", TagLastPulled: pulled, TagLastPushed: ts(pushed),
		MediaType: "application/vnd.oci.image.index.v1+json", ContentType: "image", Digest: r.digest(), pushed: pushed}
}

// writeDockerHub writes tags-N.json pages, newest push first, as
// GET /v2/namespaces/twentycrm/repositories/twenty/tags?page=N&page_size=100.
func writeDockerHub(root string, all []rel) error {
	var tags []hubTag
	newest := map[string]rel{}
	for i, r := range all {
		if !r.onHub() {
			continue
		}
		tags = append(tags, hubEntry(r.name(), r, r.Pushed, int64(900_000_000+i*7919)))
		newest["latest"] = r
		if r.Major == 1 {
			newest["v1"] = r
		}
		if r.Major == 1 && r.Minor == 7 {
			newest["v1.7"] = r
		}
	}
	for i, alias := range []string{"latest", "v1", "v1.7"} {
		r := newest[alias]
		tags = append(tags, hubEntry(alias, r, r.Pushed.Add(3*time.Minute), int64(800_000_000+i)))
	}
	slices.SortStableFunc(tags, func(a, b hubTag) int { return b.pushed.Compare(a.pushed) })
	link := func(page int) *string {
		s := fmt.Sprintf("https://hub.docker.com/v2/namespaces/twentycrm/repositories/twenty/tags?page=%d&page_size=%d", page, pageSize)
		return &s
	}
	pages := (len(tags) + pageSize - 1) / pageSize
	for p := 1; p <= pages; p++ {
		pg := hubPage{Count: len(tags), Results: tags[(p-1)*pageSize : min(p*pageSize, len(tags))]}
		if p < pages {
			pg.Next = link(p + 1)
		}
		if p > 1 {
			pg.Previous = link(p - 1)
		}
		if err := writeJSON(filepath.Join(root, "daemon/release/testdata/dockerhub", fmt.Sprintf("tags-%d.json", p)), pg); err != nil {
			return err
		}
	}
	return nil
}

func writeJSON(path string, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "&" in next links, as the real APIs send it
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	return writeFile(path, b.Bytes())
}
