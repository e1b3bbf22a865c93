package release_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/daemon/release"
	"github.com/twenty-upgraded/twenty-upgraded/daemon/release/releasetest"
	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
	"github.com/twenty-upgraded/twenty-upgraded/internal/version"
)

// counting returns Options that count requests into n.
func counting(n *int) release.Options {
	return release.Options{OnRequest: func(release.RequestInfo) { *n++ }}
}

func demoReleases(t *testing.T) []release.Release {
	t.Helper()
	b, err := os.ReadFile(releasetest.DemoReleaseFile())
	if err != nil {
		t.Fatal(err)
	}
	rels, err := release.ParseFile("releases.txt", b)
	if err != nil {
		t.Fatal(err)
	}
	return rels
}

func has(rels []release.Release, v string) bool {
	return slices.ContainsFunc(rels, func(r release.Release) bool { return r.Version == version.MustParse(v) })
}

// The bundled Docker Hub fixture, read through the dockerhub source, is
// exactly the demo release file: same versions, same push times, aliases gone.
func TestDockerHubFixtureMatchesDemoFile(t *testing.T) {
	srv := releasetest.Start(t)
	var n int
	src, err := release.New(config.Release{Source: "dockerhub", URL: srv.URL, Image: releasetest.Image}, "", counting(&n))
	if err != nil {
		t.Fatal(err)
	}
	got, err := src.Releases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := demoReleases(t)
	if len(got) != len(want) || len(got) < 150 {
		t.Fatalf("dockerhub fixture has %d releases, demo file %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Version != want[i].Version || !got[i].Published.Equal(want[i].Published) || got[i].Digest == "" {
			t.Fatalf("release %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if has(got, "v1.7.0") || has(got, "v0.52.0") || !has(got, "v1.7.1") {
		t.Error("v1.7.0 and v0.52.x must be missing from Docker Hub, v1.7.1 present")
	}
	if n != 3 {
		t.Errorf("first check made %d requests, want 3 (one per page)", n)
	}
	if last := got[len(got)-1].Published; !last.Before(time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("newest release at %s: fixture dates must end before 2026-11-27", last)
	}
	n = 0
	again, err := src.Releases(context.Background())
	if err != nil || !slices.Equal(again, got) {
		t.Fatalf("unchanged check: err %v, equal %v", err, slices.Equal(again, got))
	}
	if n != 1 {
		t.Errorf("unchanged check made %d requests, want 1", n)
	}
}

// The GitHub fixture keeps v1.7.0 and v0.52.x, reads twenty/ tags, and drops
// sdk/ tags, drafts and prereleases.
func TestGitHubFixture(t *testing.T) {
	srv := releasetest.Start(t)
	var n int
	src, err := release.New(config.Release{Source: "github", URL: srv.URL, GithubRepo: releasetest.GitHubRepo}, "", counting(&n))
	if err != nil {
		t.Fatal(err)
	}
	got, err := src.Releases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"v1.7.0", "v0.52.0", "v2.10.0", "v2.43.1"} {
		if !has(got, v) {
			t.Errorf("%s missing", v)
		}
	}
	if has(got, "v2.44.0") || has(got, "v0.1.0") || has(got, "v0.2.0") {
		t.Error("a draft, prerelease or sdk/ release got through")
	}
	hub := demoReleases(t)
	if len(got) <= len(hub) {
		t.Errorf("github has %d releases, want more than Docker Hub's %d", len(got), len(hub))
	}
	for i := 1; i < len(got); i++ {
		if !got[i-1].Version.Less(got[i].Version) {
			t.Fatalf("not sorted and unique at %d: %s, %s", i, got[i-1].Version, got[i].Version)
		}
	}
	if n != 3 {
		t.Errorf("first check made %d requests, want 3", n)
	}
	n = 0
	if _, err := src.Releases(context.Background()); err != nil || n != 1 {
		t.Errorf("unchanged check: err %v, %d requests, want 1", err, n)
	}
}

// The file source reads the demo file as is.
func TestFileSourceDemo(t *testing.T) {
	src, err := release.New(config.Release{Source: "file", File: releasetest.DemoReleaseFile()}, "", release.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := src.Releases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(demoReleases(t)) || src.Name() != "file" {
		t.Errorf("got %d releases from %s", len(got), src.Name())
	}
}

// BenchmarkUnchangedCheck measures one check of an unchanged feed (the
// daemon's steady state): one conditional request answered 304.
func BenchmarkUnchangedCheck(b *testing.B) {
	srv := releasetest.Start(b)
	for _, cfg := range []config.Release{
		{Source: "dockerhub", URL: srv.URL, Image: releasetest.Image},
		{Source: "github", URL: srv.URL, GithubRepo: releasetest.GitHubRepo},
	} {
		b.Run(cfg.Source, func(b *testing.B) {
			var n int
			src, err := release.New(cfg, "", counting(&n))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := src.Releases(context.Background()); err != nil {
				b.Fatal(err)
			}
			n = 0
			for b.Loop() {
				if _, err := src.Releases(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/float64(b.N), "requests/check")
		})
	}
}
