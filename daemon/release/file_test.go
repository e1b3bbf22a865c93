package release

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/config"
)

func TestParseFile(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // versions joined by space
		wantErr  string
	}{
		{"versions and times", "# releases\n\nv1.22.6 2025-07-30T12:00:00Z\n  v1.9.0\ntwenty/v2.10.0 2026-01-01T00:00:00+01:00\n", "v1.9.0 v1.22.6 v2.10.0", ""},
		{"empty", "\n# nothing\n", "", ""},
		{"alias", "v1.0.0\nlatest\n", "", "releases.txt:2: \"latest\" is not a release version"},
		{"minor alias", "v1.7\n", "", "releases.txt:1: \"v1.7\" is not a release version"},
		{"bad time", "v1.0.0 yesterday\n", "", "releases.txt:1: \"yesterday\" is not an RFC 3339 time"},
		{"extra field", "v1.0.0 2025-07-30T12:00:00Z extra\n", "", "releases.txt:1: \"v1.0.0 2025-07-30T12:00:00Z extra\": want \"vX.Y.Z\" optionally followed by an RFC 3339 time, found 3 fields"},
		{"duplicate", "v1.0.0\n\nv1.0.0\n", "", "releases.txt:3: v1.0.0 is already listed on line 1"},
		{"sdk", "sdk/v1.0.0\n", "", "releases.txt:1: \"sdk/v1.0.0\""},
		{"every error", "x\ny\n", "", "releases.txt:2:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rels, err := ParseFile("releases.txt", []byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rels {
				got = append(got, r.Version.String())
			}
			if strings.Join(got, " ") != tt.want {
				t.Fatalf("got %v, want %s", got, tt.want)
			}
		})
	}
	rels, _ := ParseFile("f", []byte("twenty/v2.10.0 2026-01-01T00:00:00+01:00\n"))
	if rels[0].Tag != "twenty/v2.10.0" || !rels[0].Published.Equal(time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("release = %+v", rels[0])
	}
}

// A relative release.file is read from the config's folder, and re-read on
// every check.
func TestFileSourceRelativeAndReread(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "releases.txt")
	if err := os.WriteFile(p, []byte("v1.0.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := New(config.Release{Source: "file", File: "releases.txt"}, "", Options{ConfigDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if rels, err := src.Releases(context.Background()); err != nil || len(rels) != 1 {
		t.Fatalf("%v %v", rels, err)
	}
	_ = os.WriteFile(p, []byte("v1.0.0\nv1.1.0\n"), 0o644)
	if rels, err := src.Releases(context.Background()); err != nil || len(rels) != 2 {
		t.Fatalf("after edit: %v %v", rels, err)
	}
	_ = os.Remove(p)
	if _, err := src.Releases(context.Background()); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := New(config.Release{Source: "file"}, "", Options{}); err == nil {
		t.Fatal("no file: want error")
	}
	if _, err := New(config.Release{Source: "ftp"}, "", Options{}); err == nil {
		t.Fatal("unknown source: want error")
	}
}
