package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"time"
)

// ghUser and ghRelease copy the shape of GitHub's release objects.
type ghUser struct {
	Login string `json:"login"`
	ID    int64  `json:"id"`
	Type  string `json:"type"`
}

type ghRelease struct {
	URL             string   `json:"url"`
	AssetsURL       string   `json:"assets_url"`
	HTMLURL         string   `json:"html_url"`
	ID              int64    `json:"id"`
	Author          ghUser   `json:"author"`
	NodeID          string   `json:"node_id"`
	TagName         string   `json:"tag_name"`
	TargetCommitish string   `json:"target_commitish"`
	Name            string   `json:"name"`
	Draft           bool     `json:"draft"`
	Immutable       bool     `json:"immutable"`
	Prerelease      bool     `json:"prerelease"`
	CreatedAt       string   `json:"created_at"`
	UpdatedAt       string   `json:"updated_at"`
	PublishedAt     *string  `json:"published_at"`
	Assets          []string `json:"assets"`
	TarballURL      *string  `json:"tarball_url"`
	ZipballURL      *string  `json:"zipball_url"`
	Body            string   `json:"body"`
	created         time.Time
}

func ghEntry(id int64, tag, name string, created time.Time, draft, pre bool) ghRelease {
	api := "https://api.github.com/repos/twentyhq/twenty"
	at := created.UTC().Format(time.RFC3339)
	r := ghRelease{
		URL: fmt.Sprintf("%s/releases/%d", api, id), AssetsURL: fmt.Sprintf("%s/releases/%d/assets", api, id),
		HTMLURL: "https://github.com/twentyhq/twenty/releases/tag/" + tag, ID: id,
		Author: ghUser{Login: "github-actions[bot]", ID: 41898282, Type: "Bot"},
		NodeID: fmt.Sprintf("RE_kwDOJ%07d", id%10_000_000), TagName: tag, TargetCommitish: "main", Name: name,
		Draft: draft, Prerelease: pre, CreatedAt: at, UpdatedAt: at, Assets: []string{},
		Body: "## What's Changed\n* See the changelog for " + name, created: created,
	}
	if !draft {
		tar, zip := api+"/tarball/"+tag, api+"/zipball/"+tag
		r.PublishedAt, r.TarballURL, r.ZipballURL = &at, &tar, &zip
	}
	return r
}

// writeGitHub writes releases-N.json pages, newest first, as
// GET /repos/twentyhq/twenty/releases?per_page=100&page=N. Tags are vX.Y.Z
// up to v2.9 and twenty/vX.Y.Z after, with sdk/ releases, a draft, a
// prerelease and one release published under both tag forms mixed in.
func writeGitHub(root string, all []rel) error {
	var rs []ghRelease
	id := int64(180_000_000)
	for _, r := range all {
		id += 1237
		tag := r.name()
		if r.Major > 2 || (r.Major == 2 && r.Minor >= 10) {
			tag = "twenty/" + tag
		}
		rs = append(rs, ghEntry(id, tag, r.name(), r.GitHub, false, false))
		if r.Major == 2 && r.Minor == 10 && r.Patch == 0 {
			rs = append(rs, ghEntry(id+1, r.name(), r.name(), r.GitHub.Add(-time.Hour), false, false))
		}
		if r.Major == 1 && r.Patch == 0 && r.Minor%5 == 0 {
			sdk := fmt.Sprintf("sdk/v0.%d.0", r.Minor/5+1)
			rs = append(rs, ghEntry(id+2, sdk, sdk, r.GitHub.Add(26*time.Hour), false, false))
		}
	}
	last := all[len(all)-1]
	next := fmt.Sprintf("v%d.%d.0", last.Major, last.Minor+1)
	rs = append(rs,
		ghEntry(id+10, "v1.0.0-rc.1", "v1.0.0-rc.1", time.Date(2025, 6, 20, 14, 2, 0, 0, time.UTC), false, true),
		ghEntry(id+11, "twenty/"+next, next+" (release candidate)", last.GitHub.Add(30*time.Hour), false, true),
		ghEntry(id+12, "twenty/"+next, next, last.GitHub.Add(40*time.Hour), true, false))
	slices.SortStableFunc(rs, func(a, b ghRelease) int { return b.created.Compare(a.created) })
	pages := (len(rs) + pageSize - 1) / pageSize
	for p := 1; p <= pages; p++ {
		page := rs[(p-1)*pageSize : min(p*pageSize, len(rs))]
		if err := writeJSON(filepath.Join(root, "daemon/release/testdata/github", fmt.Sprintf("releases-%d.json", p)), page); err != nil {
			return err
		}
	}
	return nil
}
